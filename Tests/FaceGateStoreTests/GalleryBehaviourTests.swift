import FaceGateCore
import Foundation
import Testing
@testable import FaceGateStore

/// The same behaviour suite for both backends. Each `@Test` below runs one scenario on one backend; PostgreSQL
/// scenarios are cancelled (skipped) with a message when FACEGATE_TEST_POSTGRES_URL is unset.
enum Scenarios {
    static func enrollListShowRenameRemove(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            var f = Faces(seed: 1)
            let alice = f.templates(of: f.person(), count: 3), bob = f.templates(of: f.person(), count: 2)
            let s = try await g.enroll(Enrollment(name: "alice", templates: alice, thumbnailJPEG: Data([0xFF, 0xD8, 1, 2, 3])))
            #expect(s.name == "alice" && s.templateCount == 3 && s.hasThumbnail)
            try await g.enroll(Enrollment(name: "bob", templates: bob, threshold: 0.45))
            let list = try await g.listUsers()
            #expect(list.map(\.name) == ["alice", "bob"])
            #expect(list[1].threshold == 0.45 && list[0].threshold == nil)
            let a = try await g.user(named: "alice")
            #expect(a.templates.map(\.template) == alice)   // exact round trip, metadata included
            #expect(try await g.thumbnail(user: "alice") == Data([0xFF, 0xD8, 1, 2, 3]))
            #expect(try await g.thumbnail(user: "bob") == nil)
            #expect(try await g.user(key: a.key)?.name == "alice")

            await #expect(throws: GalleryError.userExists("alice")) { try await g.enroll(Enrollment(name: "alice", templates: bob)) }
            try await g.enroll(Enrollment(name: "alice", templates: bob, mode: .append))
            #expect(try await g.user(named: "alice").templates.count == 5)
            try await g.enroll(Enrollment(name: "alice", templates: alice, mode: .replace))
            #expect(try await g.user(named: "alice").templates.count == 3)

            try await g.renameUser("alice", to: "carol")
            let c = try await g.user(named: "carol")
            #expect(c.key == a.key)                     // stable key survives rename; templates still decrypt
            #expect(c.templates.map(\.template) == alice)
            await #expect(throws: GalleryError.userExists("bob")) { try await g.renameUser("carol", to: "bob") }
            try await g.setThreshold(user: "carol", 0.5)
            #expect(try await g.user(named: "carol").summary.threshold == 0.5)
            try await g.removeUser(named: "carol")
            #expect(try await g.listUsers().map(\.name) == ["bob"])
            await #expect(throws: GalleryError.unknownUser("carol")) { try await g.user(named: "carol") }
            await #expect(throws: GalleryError.unknownUser("zed")) { try await g.removeUser(named: "zed") }
            await #expect(throws: GalleryError.unknownUser("zed")) { try await g.renameUser("zed", to: "x") }
            await #expect(throws: GalleryError.self) { try await g.enroll(Enrollment(name: "", templates: bob)) }
        }
    }

    static func wrongKeyIsAClearError(_ b: Backend) async throws {
        try await withLocation(b) { loc in
            let k1 = GalleryKey.generate(source: "k1"), k2 = GalleryKey.generate(source: "k2")
            var f = Faces(seed: 2)
            let g = try await GalleryFactory.open(loc, key: k1)
            try await g.enroll(Enrollment(name: "alice", templates: f.templates(of: f.person())))
            await g.close()
            await #expect(throws: GalleryError.wrongKey(expected: k1.fingerprint, got: k2.fingerprint, source: "k2")) {
                _ = try await GalleryFactory.open(loc, key: k2)
            }
            // Still opens with the right key.
            let again = try await GalleryFactory.open(loc, key: k1)
            #expect(try await again.listUsers().count == 1)
            await again.close()
        }
    }

    static func corruptedRowIsAClearError(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            var f = Faces(seed: 3)
            try await g.enroll(Enrollment(name: "alice", templates: f.templates(of: f.person())))
            try await g.enroll(Enrollment(name: "bob", templates: f.templates(of: f.person())))
            // Flip the bytes of one ciphertext (SQLite and PostgreSQL spell the byte functions differently).
            let flip = b == .sqlite
                ? "UPDATE templates SET embedding = randomblob(length(embedding)) WHERE id = (SELECT MIN(t.id) FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'bob')"
                : "UPDATE templates SET embedding = set_byte(embedding, 20, get_byte(embedding, 20) # 1) WHERE id = (SELECT MIN(t.id) FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'bob')"
            try await rawExecute(g, flip)
            _ = try await g.user(named: "alice")   // other users unaffected
            await #expect { try await g.user(named: "bob") } throws: { e in
                guard case GalleryError.corruptRecord(let u, _) = e else { return false }
                return u == "bob"
            }
            await #expect(throws: GalleryError.self) { try await g.allUsers() }
            // Swapping a ciphertext to another user is detected too (records are bound to their user).
            try await g.removeUser(named: "bob")
            try await g.enroll(Enrollment(name: "bob", templates: f.templates(of: f.person())))
            try await rawExecute(g, "UPDATE templates SET embedding = (SELECT embedding FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'alice' ORDER BY t.id LIMIT 1) WHERE id = (SELECT MIN(t.id) FROM templates t JOIN users u ON u.id = t.user_id WHERE u.name = 'bob')")
            await #expect(throws: GalleryError.self) { try await g.user(named: "bob") }
        }
    }

    static func emptyGalleryAndUnknownUser(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            await #expect(throws: GalleryError.emptyGallery) { try await g.requireUsers() }
            let svc = IdentityIndexService(gallery: g)
            var f = Faces(seed: 4)
            await #expect(throws: IdentityError.emptyGallery) { try await svc.identify(f.sample(of: f.person())) }
            await #expect(throws: GalleryError.unknownUser("nobody")) { try await svc.verify(user: "nobody", probe: f.sample(of: f.person())) }
        }
    }

    /// A failure inside the enrollment transaction (the third template is invalid) leaves no trace of the user.
    static func enrollmentIsAtomic(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            var f = Faces(seed: 5)
            let p = f.person()
            var ts = f.templates(of: p, count: 3)
            ts[2].embedding.values[7] = .nan
            await #expect(throws: GalleryError.self) { try await g.enroll(Enrollment(name: "half", templates: ts, thumbnailJPEG: Data([1]))) }
            #expect(try await g.listUsers().isEmpty)
            #expect(try await g.latestChange() == 0)
            // Replacing an existing user with a bad set keeps the old templates.
            try await g.enroll(Enrollment(name: "whole", templates: f.templates(of: p, count: 2)))
            await #expect(throws: GalleryError.self) { try await g.enroll(Enrollment(name: "whole", templates: ts, mode: .replace)) }
            #expect(try await g.user(named: "whole").templates.count == 2)
        }
    }

    static func keyRotationReencryptsEverything(_ b: Backend) async throws {
        try await withLocation(b) { loc in
            let k1 = GalleryKey.generate(source: "old"), k2 = GalleryKey.generate(source: "new")
            var f = Faces(seed: 6)
            let ts = f.templates(of: f.person())
            let g = try await GalleryFactory.open(loc, key: k1)
            try await g.enroll(Enrollment(name: "alice", templates: ts, thumbnailJPEG: Data("jpeg".utf8)))
            try await g.enroll(Enrollment(name: "bob", templates: f.templates(of: f.person())))
            #expect(try await g.rotateKey(to: k2) == 7)   // 6 templates + 1 thumbnail
            #expect(g.keyFingerprint == k2.fingerprint)
            #expect(try await g.user(named: "alice").templates.map(\.template) == ts)
            await g.close()
            await #expect(throws: GalleryError.self) { _ = try await GalleryFactory.open(loc, key: k1) }
            let h = try await GalleryFactory.open(loc, key: k2)
            #expect(try await h.user(named: "alice").templates.map(\.template) == ts)
            #expect(try await h.thumbnail(user: "alice") == Data("jpeg".utf8))
            await h.close()
        }
    }

    static func exportImportRoundTrip(_ b: Backend) async throws {
        let key = GalleryKey.generate(source: "k")
        try await withGallery(b, key: key) { g, _ in
            var f = Faces(seed: 7)
            try await g.enroll(Enrollment(name: "alice", templates: f.templates(of: f.person()), thumbnailJPEG: Data("t".utf8), threshold: 0.5))
            try await g.enroll(Enrollment(name: "bob", templates: f.templates(of: f.person(), count: 1)))
            let sealed = try await GalleryExport.export(g, key: key)
            #expect(!String(decoding: sealed, as: UTF8.self).contains("\"embedding\""))
            let plain = try await GalleryExport.export(g, key: key, plaintext: true)
            let original = try await g.allUsers()
            // Same key: the sealed export imports into a fresh gallery of the same backend.
            try await withGallery(b, key: key) { h, _ in
                #expect(try await GalleryExport.importUsers(sealed, into: h, key: key) == 2)
                let got = try await h.allUsers()
                #expect(got.map(\.name) == original.map(\.name))
                #expect(got.map(\.key) == original.map(\.key))
                #expect(got.map { $0.templates.map(\.template) } == original.map { $0.templates.map(\.template) })
                #expect(try await h.thumbnail(user: "alice") == Data("t".utf8))
                #expect(try await h.user(named: "alice").summary.threshold == 0.5)
                await #expect(throws: GalleryError.userExists("alice")) { try await GalleryExport.importUsers(sealed, into: h, key: key) }
                #expect(try await GalleryExport.importUsers(sealed, into: h, key: key, replace: true) == 2)
                #expect(try await h.user(named: "alice").templates.count == 3)
            }
            // Another key: the sealed export is refused, the plaintext one imports.
            let other = GalleryKey.generate(source: "other")
            try await withGallery(b, key: other) { (h: any Gallery, _: GalleryLocation) async throws -> Void in
                var refused = false
                do { try await GalleryExport.importUsers(sealed, into: h, key: other) } catch is GalleryError { refused = true }
                #expect(refused)
                let empty = try await h.listUsers()
                #expect(empty.isEmpty)
                let n = try await GalleryExport.importUsers(plain, into: h, key: other)
                #expect(n == 2)
                let bob = try await h.user(named: "bob")
                #expect(bob.templates.map(\.template) == original[1].templates.map(\.template))
            }
        }
    }

    static func identifyAndVerifyThroughTheIndex(_ b: Backend) async throws {
        try await withGallery(b) { g, _ in
            var f = Faces(seed: 8)
            var people: [String: [Float]] = [:]
            for i in 0..<15 {
                let p = f.person(); people["p\(i)"] = p
                try await g.enroll(Enrollment(name: "p\(i)", templates: f.templates(of: p, count: 4)))
            }
            let svc = IdentityIndexService(gallery: g, threads: 1)
            try await svc.load()
            let (templates, users) = (await svc.templateCount, await svc.userCount)
            #expect(templates == 60 && users == 15)
            for (name, p) in people {
                let r = try await svc.identify(f.sample(of: p))
                #expect(r.user == name)
                #expect(try await svc.verify(user: name, probe: f.sample(of: p)).match)
                #expect(!(try await svc.verify(user: name, probe: f.sample(of: f.person())).match))
            }
            let stranger = try await svc.identify(f.sample(of: f.person()))
            #expect(stranger.user == nil && stranger.candidates.count == 5)
            // A per-user threshold tighter than the distance rejects that user only.
            try await g.setThreshold(user: "p3", 0.01)
            try await svc.refresh()
            let r3 = try await svc.identify(f.sample(of: people["p3"]!))
            #expect(r3.user == nil && r3.candidates.first?.user == "p3" && r3.candidates.first?.threshold == 0.01)
            // Removal and rename reach the index through the change log.
            try await g.removeUser(named: "p4")
            try await g.renameUser("p5", to: "five")
            try await svc.refresh()
            #expect(try await svc.identify(f.sample(of: people["p4"]!)).user == nil)
            #expect(try await svc.identify(f.sample(of: people["p5"]!)).user == "five")
        }
    }

    /// Two gallery instances (as two processes would) share one database: an enrollment through one is
    /// identifiable through the other's following index within a second.
    static func twoInstancesSeeEachOther(_ b: Backend) async throws {
        try await withLocation(b) { loc in
            let key = GalleryKey.generate(source: "shared")
            let a = try await GalleryFactory.open(loc, key: key)
            let bGallery = try await GalleryFactory.open(loc, key: key)
            var f = Faces(seed: 9)
            try await a.enroll(Enrollment(name: "first", templates: f.templates(of: f.person())))
            let follower = IdentityIndexService(gallery: bGallery, threads: 1)
            try await follower.load()
            await follower.startFollowing()
            try await Task.sleep(nanoseconds: 300_000_000)   // let LISTEN attach
            for i in 0..<3 {
                let p = f.person()
                try await a.enroll(Enrollment(name: "late\(i)", templates: f.templates(of: p)))
                let probe = f.sample(of: p)
                let seen = try await waitUntil(seconds: 3) { try await follower.identify(probe).user == "late\(i)" }
                #expect(seen != nil, "enrollment through instance A never reached instance B's index")
                if let s = seen { #expect(s < 1.0, "instance B saw the enrollment after \(s) s (target < 1 s)") }
            }
            try await a.removeUser(named: "late0")
            let gone = try await waitUntil(seconds: 3) { await follower.userCount == 3 }
            #expect(gone != nil && gone! < 1.0)
            await follower.stopFollowing()
            await a.close(); await bGallery.close()
        }
    }
}

@Suite struct SQLiteGalleryTests {
    @Test func enrollListShowRenameRemove() async throws { try await Scenarios.enrollListShowRenameRemove(.sqlite) }
    @Test func wrongKey() async throws { try await Scenarios.wrongKeyIsAClearError(.sqlite) }
    @Test func corruptedRow() async throws { try await Scenarios.corruptedRowIsAClearError(.sqlite) }
    @Test func emptyGalleryAndUnknownUser() async throws { try await Scenarios.emptyGalleryAndUnknownUser(.sqlite) }
    @Test func enrollmentIsAtomic() async throws { try await Scenarios.enrollmentIsAtomic(.sqlite) }
    @Test func keyRotation() async throws { try await Scenarios.keyRotationReencryptsEverything(.sqlite) }
    @Test func exportImport() async throws { try await Scenarios.exportImportRoundTrip(.sqlite) }
    @Test func identifyAndVerify() async throws { try await Scenarios.identifyAndVerifyThroughTheIndex(.sqlite) }
    @Test func twoInstancesSeeEachOther() async throws { try await Scenarios.twoInstancesSeeEachOther(.sqlite) }
}

@Suite struct PostgresGalleryTests {
    @Test func enrollListShowRenameRemove() async throws { try await Scenarios.enrollListShowRenameRemove(.postgres) }
    @Test func wrongKey() async throws { try await Scenarios.wrongKeyIsAClearError(.postgres) }
    @Test func corruptedRow() async throws { try await Scenarios.corruptedRowIsAClearError(.postgres) }
    @Test func emptyGalleryAndUnknownUser() async throws { try await Scenarios.emptyGalleryAndUnknownUser(.postgres) }
    @Test func enrollmentIsAtomic() async throws { try await Scenarios.enrollmentIsAtomic(.postgres) }
    @Test func keyRotation() async throws { try await Scenarios.keyRotationReencryptsEverything(.postgres) }
    @Test func exportImport() async throws { try await Scenarios.exportImportRoundTrip(.postgres) }
    @Test func identifyAndVerify() async throws { try await Scenarios.identifyAndVerifyThroughTheIndex(.postgres) }
    @Test func twoInstancesSeeEachOther() async throws { try await Scenarios.twoInstancesSeeEachOther(.postgres) }
}
