import FaceGateCore
import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing
@testable import FaceGateStore

// #17: stored templates are sealed under v2 associated data (user, name, threshold, key version, row id); v1 galleries
// migrate on open; `rotateKey` re-seals the server's session blobs; a long-running instance reloads a rotated key.

@Suite struct SQLiteTemplateAADTests {
    @Test func v1GalleryMigratesOnOpen() async throws { try await TemplateAADScenarios.v1GalleryMigratesOnOpen(.sqlite) }
    @Test func movedOrRelabelledRowsFailToOpen() async throws { try await TemplateAADScenarios.movedOrRelabelledRowsFailToOpen(.sqlite) }
    @Test func renameThresholdAndAppendKeepTemplatesOpen() async throws { try await TemplateAADScenarios.renameThresholdAndAppendKeepTemplatesOpen(.sqlite) }
    @Test func rotationResealsSessionBlobs() async throws { try await TemplateAADScenarios.rotationResealsSessionBlobs(.sqlite) }
    @Test func otherInstanceReloadsRotatedKey() async throws { try await TemplateAADScenarios.otherInstanceReloadsRotatedKey(.sqlite) }
}

@Suite struct PostgresTemplateAADTests {
    @Test func v1GalleryMigratesOnOpen() async throws { try await TemplateAADScenarios.v1GalleryMigratesOnOpen(.postgres) }
    @Test func movedOrRelabelledRowsFailToOpen() async throws { try await TemplateAADScenarios.movedOrRelabelledRowsFailToOpen(.postgres) }
    @Test func renameThresholdAndAppendKeepTemplatesOpen() async throws { try await TemplateAADScenarios.renameThresholdAndAppendKeepTemplatesOpen(.postgres) }
    @Test func rotationResealsSessionBlobs() async throws { try await TemplateAADScenarios.rotationResealsSessionBlobs(.postgres) }
    @Test func otherInstanceReloadsRotatedKey() async throws { try await TemplateAADScenarios.otherInstanceReloadsRotatedKey(.postgres) }
}

/// Holds the "key file" a reloading instance reads.
final class KeyBox: @unchecked Sendable {
    private let lock = NSLock()
    private var k: GalleryKey
    init(_ k: GalleryKey) { self.k = k }
    var key: GalleryKey {
        get { lock.withLock { k } }
        set { lock.withLock { k = newValue } }
    }
}

enum TemplateAADScenarios {
    static func blobLiteral(_ d: Data, _ b: Backend) -> String {
        let hex = d.map { String(format: "%02x", $0) }.joined()
        return b == .sqlite ? "X'\(hex)'" : "'\\x\(hex)'::bytea"
    }

    /// (id, blob) rows of a raw query.
    static func rawBlobs(_ g: any Gallery, _ sql: String) async throws -> [(Int64, Data)] {
        if let s = g as? SQLiteGallery {
            return try await s.pool.read { db in try Row.fetchAll(db, sql: sql).map { ($0[0] as Int64, $0[1] as Data) } }
        }
        let p = try #require(g as? PostgresGallery)
        return try await p.client.withConnection { c in
            var out: [(Int64, Data)] = []
            for try await r in try await c.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "t")).decode((Int64, Data).self) { out.append(r) }
            return out
        }
    }

    static func meta(_ g: any Gallery, _ key: String) async throws -> String? {
        if let s = g as? SQLiteGallery {
            return try await s.pool.read { db in try String.fetchOne(db, sql: "SELECT CAST(value AS TEXT) FROM meta WHERE key = ?", arguments: [key]) }
        }
        let p = try #require(g as? PostgresGallery)
        return try await p.client.withConnection { c in
            var out: String?
            for try await v in try await c.query("SELECT value FROM meta WHERE key = \(key)", logger: Logger(label: "t")).decode(Data.self) {
                out = String(data: v, encoding: .utf8)
            }
            return out
        }
    }

    static func isCorrupt(_ e: any Error) -> Bool { if case GalleryError.corruptRecord = e { return true }; return false }

    static func enrollThree(_ g: any Gallery) async throws {
        var f = Faces(seed: 17)
        for (i, name) in ["ada", "bob", "cy"].enumerated() {
            let p = f.person()
            try await g.enroll(Enrollment(name: name, templates: f.templates(of: p, count: i + 2),
                                          threshold: i == 1 ? 0.4 : nil))
        }
    }

    /// A gallery written by the previous release (v1 associated data: the user only, no marker, no key version) is
    /// re-sealed on open in one transaction; every template opens and identifies afterwards.
    static func v1GalleryMigratesOnOpen(_ b: Backend) async throws {
        let key = GalleryKey.generate(source: "test")
        try await withLocation(b) { loc in
            let g = try await GalleryFactory.open(loc, key: key)
            try await enrollThree(g)
            let before = try await g.allUsers()
            // Rewrite it as v1 wrote it.
            for u in before {
                for t in u.templates {
                    let v1 = try RecordCrypto.sealTemplate(t.template.embedding, user: u.key, key: key)
                    try await rawExecute(g, "UPDATE templates SET embedding = \(blobLiteral(v1, b)) WHERE id = \(t.id)")
                }
            }
            try await rawExecute(g, "DELETE FROM meta WHERE key IN ('template_aad', 'key_version')")
            await g.close()

            let m = try await GalleryFactory.open(loc, key: key)
            #expect(try await meta(m, "template_aad") == "2")
            #expect(try await meta(m, "key_version") == "1")
            let after = try await m.allUsers()
            #expect(after == before)
            let loaded = try await m.loadIndex(threads: 2)
            for u in before {
                let r = try loaded.index.identify(u.templates[0].template.embedding, policy: IdentityPolicy())
                #expect(r.user == u.name)
            }
            // The v1 boxes are gone: a row's stored box no longer opens under v1 associated data.
            let rows = try await rawBlobs(m, "SELECT id, embedding FROM templates ORDER BY id")
            #expect(rows.count == 9)
            #expect(RecordCrypto.open(rows[0].1, aad: RecordCrypto.templateAAD(before[0].key), key: key) == nil)
            await m.close()
        }
    }

    /// The attacks v1 let through: a ciphertext moved to another row of the same user, two users' names swapped in
    /// the users table, a threshold raised in the database. Each now fails to open (corruptRecord), by row and in bulk.
    static func movedOrRelabelledRowsFailToOpen(_ b: Backend) async throws {
        for attack in ["swap rows", "swap names", "raise threshold"] {
            try await withGallery(b) { g, _ in
                try await enrollThree(g)
                let bob = try await g.user(named: "bob")
                switch attack {
                case "swap rows":
                    let rows = try await rawBlobs(g, "SELECT id, embedding FROM templates WHERE id IN (\(bob.templates[0].id), \(bob.templates[1].id)) ORDER BY id")
                    try #require(rows.count == 2)
                    try await rawExecute(g, "UPDATE templates SET embedding = \(blobLiteral(rows[1].1, b)) WHERE id = \(rows[0].0)")
                    try await rawExecute(g, "UPDATE templates SET embedding = \(blobLiteral(rows[0].1, b)) WHERE id = \(rows[1].0)")
                case "swap names":
                    try await rawExecute(g, "UPDATE users SET name = 'tmp' WHERE name = 'ada'")
                    try await rawExecute(g, "UPDATE users SET name = 'ada' WHERE name = 'bob'")
                    try await rawExecute(g, "UPDATE users SET name = 'bob' WHERE name = 'tmp'")
                default:
                    try await rawExecute(g, "UPDATE users SET threshold = 0.8 WHERE name = 'bob'")
                }
                await #expect(throws: (any Error).self, "\(attack): bob") {
                    do { _ = try await g.user(named: "bob") } catch { #expect(isCorrupt(error), "\(attack): \(error)"); throw error }
                }
                await #expect(throws: (any Error).self, "\(attack): bulk load") {
                    do { _ = try await g.loadIndex(threads: 2) } catch { #expect(isCorrupt(error), "\(attack): \(error)"); throw error }
                }
                await #expect(throws: (any Error).self, "\(attack): allUsers") {
                    do { _ = try await g.allUsers() } catch { #expect(isCorrupt(error), "\(attack): \(error)"); throw error }
                }
                // cy was not touched.
                #expect(try await g.user(named: "cy").templates.count == 4)
            }
        }
    }

    /// Legitimate changes of what the associated data binds re-seal the templates in the same transaction.
    static func renameThresholdAndAppendKeepTemplatesOpen(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            try await enrollThree(g)
            var f = Faces(seed: 99)
            let before = try await g.user(named: "bob").embeddings
            try await g.renameUser("bob", to: "robert")
            try await g.setThreshold(user: "robert", 0.35)
            try await g.setThreshold(user: "ada", nil)   // unchanged (nil → nil)
            try await g.enroll(Enrollment(name: "robert", templates: f.templates(of: f.person(), count: 1), threshold: 0.3, mode: .append))
            let r = try await g.user(named: "robert")
            #expect(Array(r.embeddings.prefix(3)) == before && r.templates.count == 4 && r.summary.threshold == 0.3)
            let loaded = try await g.loadIndex(threads: 1)
            #expect(try loaded.index.identify(before[0], policy: IdentityPolicy()).user == "robert")
            #expect(try await g.allUsers().map(\.templates.count) == [2, 4, 4])
        }
    }

    /// `rotateKey` re-seals the server's session blobs kept in the same database (sealed without associated data):
    /// a session result inside its window still opens after the rotation; the key version goes up.
    static func rotationResealsSessionBlobs(_ b: Backend) async throws {
        let old = GalleryKey.generate(source: "old"), new = GalleryKey.generate(source: "new")
        try await withGallery(b, key: old) { g, _ in
            try await enrollThree(g)
            let blob = Data("session embeddings".utf8)
            try await rawExecute(g, "CREATE TABLE server_sessions (id TEXT PRIMARY KEY, embeddings \(b == .sqlite ? "BLOB" : "BYTEA"))")
            try await rawExecute(g, "INSERT INTO server_sessions VALUES ('live', \(blobLiteral(try RecordCrypto.sealUnbound(blob, key: old), b))), ('used', NULL), ('junk', \(blobLiteral(Data(repeating: 7, count: 40), b)))")
            let n = try await g.rotateKey(to: new)
            #expect(n == 9 + 1)
            #expect(try await meta(g, "key_version") == "2")
            let rows = try await rawBlobs(g, "SELECT 0, embeddings FROM server_sessions WHERE id = 'live'")
            #expect(RecordCrypto.openUnbound(try #require(rows.first).1, key: new) == blob)
            #expect(try await rawBlobs(g, "SELECT 0, embeddings FROM server_sessions WHERE embeddings IS NOT NULL").count == 1)
            #expect(try await g.allUsers().map(\.templates.count) == [2, 3, 4])
            _ = try await g.loadIndex(threads: 2)
        }
    }

    /// A long-running instance (the server) with a key loader adopts the key another process rotated to: the call
    /// that meets the rotation fails with wrongKey, the next ones succeed, and writes are sealed under the new key.
    static func otherInstanceReloadsRotatedKey(_ b: Backend) async throws {
        let old = GalleryKey.generate(source: "old"), new = GalleryKey.generate(source: "new")
        try await withLocation(b) { loc in
            let serving = try await GalleryFactory.open(loc, key: old)
            try await enrollThree(serving)
            let file = KeyBox(old)
            serving.setKeyLoader { file.key }
            let rotator = try await GalleryFactory.open(loc, key: old)
            try await rotator.rotateKey(to: new)
            await rotator.close()
            // The key file still holds the old key (keys rotate installs it after the commit): no reload yet.
            await #expect(throws: GalleryError.self) { _ = try await serving.user(named: "ada") }
            #expect(serving.keyFingerprint == old.fingerprint)
            file.key = new
            await #expect(throws: GalleryError.self) { _ = try await serving.user(named: "ada") }   // this call reloads
            #expect(serving.keys.map(\.fingerprint) == [new.fingerprint, old.fingerprint])
            #expect(try await serving.user(named: "ada").templates.count == 2)
            var f = Faces(seed: 5)
            try await serving.enroll(Enrollment(name: "dee", templates: f.templates(of: f.person(), count: 1)))
            _ = try await serving.loadIndex(threads: 2)
            // A wrong key in the file is never adopted.
            file.key = GalleryKey.generate(source: "stranger")
            #expect(await serving.reloadKey() == false)
            await serving.close()
            let check = try await GalleryFactory.open(loc, key: new)
            #expect(try await check.allUsers().map(\.templates.count) == [2, 3, 4, 1])
            await check.close()
        }
    }
}
