@testable import FaceGateCore
import Foundation
import Testing
@testable import FaceGateStore

/// The streaming index load (`Gallery.loadIndex`): same index as building it from decrypted records, on both
/// backends; damaged rows are reported with the user's name; a failed reload keeps the previous index.
enum IndexLoadScenarios {
    static func streamingLoadMatchesRecords(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            var f = Faces(seed: 21)
            var people: [String: [Float]] = [:]
            // Several loader batches (of `batchRows`) for both workers; counts 1…9 per user.
            for batch in 0..<3 {
                var es: [Enrollment] = []
                for i in 0..<60 {
                    let p = f.person(), name = "u\(batch)_\(i)"
                    people[name] = p
                    es.append(Enrollment(name: name, templates: f.templates(of: p, count: 1 + (i % 9)), threshold: i % 50 == 0 ? 0.3 : nil))
                }
                try await g.enroll(batch: es)
            }
            try await g.enroll(Enrollment(name: "empty", templates: [], mode: .append))   // a user without templates
            let records = try await g.allUsers()
            let total = records.reduce(0) { $0 + $1.templates.count }
            let batchRows = 64
            #expect(total > 10 * batchRows)
            for threads in [1, 2] {
                let loaded = try await load(g, threads: threads, batchRows: batchRows)
                let index = loaded.index
                #expect(loaded.changeSeq == (try await g.latestChange()))
                #expect(index.templateCount == total && index.userCount == records.count - 1)
                #expect(index.user(key: records.first { $0.name == "empty" }!.key) == nil)
                // Every user keeps name and threshold; stored templates (a sample: debug-build scans are slow) are
                // found at distance ~0 under their own user.
                for r in records where !r.templates.isEmpty {
                    #expect(index.user(key: r.key)?.name == r.name)
                    #expect(index.user(key: r.key)?.threshold == r.summary.threshold)
                }
                for r in stride(from: 0, to: records.count, by: 7).map({ records[$0] }) {
                    for t in r.templates {
                        let hit = try #require(try index.nearestTemplates(t.template.embedding, k: 1).first)
                        #expect(hit.user == r.key && hit.distance < 1e-4)
                    }
                }
                // And agrees with an index built from the decrypted records (the pre-streaming path).
                let reference = GalleryIndex()
                for r in records where !r.templates.isEmpty {
                    try reference.upsert(GalleryIndex.User(key: r.key, name: r.name, threshold: r.summary.threshold), templates: r.embeddings)
                }
                for name in people.keys.sorted().prefix(20) {
                    let probe = f.sample(of: people[name]!)
                    let a = try index.identify(probe), e = try reference.identify(probe)
                    #expect(e.candidates.first?.user == name)
                    #expect(a.user == e.user)
                    #expect(a.candidates.map(\.user) == e.candidates.map(\.user))
                    #expect(zip(a.candidates, e.candidates).allSatisfy { abs($0.distance - $1.distance) < 1e-9 })
                }
            }
        }
    }

    static func load(_ g: any Gallery, threads: Int, batchRows: Int) async throws -> LoadedIndex {
        if let s = g as? SQLiteGallery { return try await s.loadIndex(threads: threads, batchRows: batchRows) }
        return try await #require(g as? PostgresGallery).loadIndex(threads: threads, batchRows: batchRows)
    }

    static func damagedRowFailsTheLoadAndKeepsTheOldIndex(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            var f = Faces(seed: 22)
            let alice = f.person()
            try await g.enroll(Enrollment(name: "alice", templates: f.templates(of: alice)))
            try await g.enroll(Enrollment(name: "bob", templates: f.templates(of: f.person())))
            let svc = IdentityIndexService(gallery: g, threads: 2)
            try await svc.load()
            let flip = b == .sqlite
                ? "UPDATE templates SET embedding = randomblob(length(embedding)) WHERE id = (SELECT MIN(t.id) FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'bob')"
                : "UPDATE templates SET embedding = set_byte(embedding, 20, get_byte(embedding, 20) # 1) WHERE id = (SELECT MIN(t.id) FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'bob')"
            try await rawExecute(g, flip)
            await #expect { try await g.loadIndex(threads: 2) } throws: { e in
                guard case GalleryError.corruptRecord(let u, _) = e else { return false }
                return u == "bob"
            }
            // A truncated ciphertext is reported too (wrong length, before decryption).
            let cut = b == .sqlite
                ? "UPDATE templates SET embedding = substr(embedding, 1, 100) WHERE id = (SELECT MIN(t.id) FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'alice')"
                : "UPDATE templates SET embedding = substring(embedding from 1 for 100) WHERE id = (SELECT MIN(t.id) FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'alice')"
            try await rawExecute(g, cut)
            await #expect(throws: GalleryError.self) { try await svc.load() }
            // The service still answers from the index it had.
            #expect(try await svc.identify(f.sample(of: alice)).user == "alice")
            #expect(await svc.templateCount == 6)
        }
    }
}

@Suite struct SQLiteIndexLoadTests {
    @Test func streamingLoadMatchesRecords() async throws { try await IndexLoadScenarios.streamingLoadMatchesRecords(.sqlite) }
    @Test func damagedRow() async throws { try await IndexLoadScenarios.damagedRowFailsTheLoadAndKeepsTheOldIndex(.sqlite) }
}

@Suite struct PostgresIndexLoadTests {
    @Test func streamingLoadMatchesRecords() async throws { try await IndexLoadScenarios.streamingLoadMatchesRecords(.postgres) }
    @Test func damagedRow() async throws { try await IndexLoadScenarios.damagedRowFailsTheLoadAndKeepsTheOldIndex(.postgres) }
}

@Test func bulkEntriesEqualUpsertedOnes() throws {
    var g = RandomUnitVectors(seed: 23)
    let users = (0..<50).map { GalleryIndex.User(key: UUID(), name: "u\($0)") }
    let vectors = users.indices.map { k in (0..<(1 + k % 4)).map { _ in g.vector().map { $0 * 0.7 } } }
    let upserted = GalleryIndex(), bulk = GalleryIndex()
    for (u, vs) in zip(users, vectors) { try upserted.upsert(u, templates: vs.map(Embedding.init)) }
    let starts = bulk.reserveBulk(users: users, templateCounts: vectors.map(\.count))
    // Fill in reverse order: entries are independent of each other.
    for k in users.indices.reversed() {
        for (j, v) in vectors[k].enumerated() { #expect(v.withUnsafeBufferPointer { bulk.setEntry(starts[k] + j, $0.baseAddress!) }) }
    }
    #expect(bulk.templateCount == upserted.templateCount && bulk.userCount == 50)
    for e in 0..<bulk.templateCount { #expect(bulk.reconstruct(e) == upserted.reconstruct(e)) }
    var nan = [Float](repeating: 0.1, count: 128); nan[5] = .nan
    let other = GalleryIndex()
    let s = other.reserveBulk(users: [users[0]], templateCounts: [1])
    #expect(!nan.withUnsafeBufferPointer { other.setEntry(s[0], $0.baseAddress!) })
}

@Test func fastUUIDParserAgreesWithFoundation() {
    for _ in 0..<500 {
        let u = UUID()
        #expect(SealedIndexBuilder.parseUUID(u.uuidString) == u)
        #expect(SealedIndexBuilder.parseUUID(u.uuidString.lowercased()) == u)
    }
    for bad in ["", "not-a-uuid", "E621E1F8-C36C-495A-93FC-0C247A3E6E5", "E621E1F8-C36C-495A-93FC-0C247A3E6E5G", "E621E1F8C36C-495A-93FC-0C247A3E6E5FF"] {
        #expect(SealedIndexBuilder.parseUUID(bad) == UUID(uuidString: bad))
    }
}

@Test func sqliteGalleryFilesArePrivate() async throws {
    try await withGallery(.sqlite) { g, loc in
        var f = Faces(seed: 24)
        try await g.enroll(Enrollment(name: "alice", templates: f.templates(of: f.person())))
        guard case .sqlite(let path) = loc else { return }
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            let mode = try FileManager.default.attributesOfItem(atPath: path + suffix)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path + suffix) has mode \(String(mode ?? 0, radix: 8))")
        }
    }
}
