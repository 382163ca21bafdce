import FaceGate
import FaceGateCore
@testable import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import HummingbirdTesting
import Testing

// #17 remainder (session 7): each test runs the attack against a live server on loopback and checks it now fails.

// MARK: deleting a user ends everything keyed to them

@Suite("Server security: deleting a user (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct UserDeletionTests {
    @Test("SQLite: links, unfinished sessions and unused session results die with the user (also when the name is re-created)")
    func sqlite() async throws { try await UserDeletion.run(db: nil) }

    @Test("PostgreSQL: the same", .enabled(if: Postgres.url != nil, "set FACEGATE_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
    func postgres() async throws { try await UserDeletion.run(db: try Postgres.freshDatabase()) }
}

enum UserDeletion {
    static func run(db: GalleryLocation?) async throws {
        let key = GalleryKey.generate()
        let obama = try base64Image(Paths.testImage("obama.jpg"))
        try await Harness.with(Harness.config(db: db), key: key) { server, client in
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "victim", "images": [obama]]).status == 201)
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "later"]).status == 201)   // pending
            // Issued before the deletion: two links, a session not yet streamed, a succeeded session not yet used.
            let link = try #require(try await client.json(.post, "/v1/users/victim/enrollment-links", key: admin).json["token"] as? String)
            let pendingLink = try #require(try await client.json(.post, "/v1/users/later/enrollment-links", key: admin).json["token"] as? String)
            let created = try await client.json(.post, "/v1/sessions", key: verify, body: ["user": "victim"])
            #expect(created.status == 201, "\(created.json)")
            let createdID = try #require(created.json["id"] as? String)
            let ws = try #require(created.json["websocket"] as? String)
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            let succeeded = UUID().uuidString.lowercased(), now = Date()
            let spec = SessionSpec(mode: .liveness, user: "victim", nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: verify),
                                   enrollLink: nil, source: "127.0.0.1", liveness: "active")
            try await server.store.insertSession(SessionRecord(id: succeeded, tokenHash: "x", status: .created, created: now,
                                                               expires: now.addingTimeInterval(120), updated: now, instance: nil, spec: spec,
                                                               outcome: nil, embeddings: nil, consumed: false))
            try await server.store.finishSession(id: succeeded, status: .succeeded, outcome: nil,
                                                 embeddings: try BlobSealer(key: key).seal(try JSONEncoder().encode([probe])), now: now)

            #expect(try await client.json(.delete, "/v1/users/victim", key: admin).status == 204)
            #expect(try await client.json(.delete, "/v1/users/later", key: admin).status == 204)
            // The same name is created again (another person, or the same one re-enrolled by the backend).
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "victim", "images": [obama]]).status == 201)
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "later"]).status == 201)

            // The old links do not open the new accounts.
            for t in [link, pendingLink] {
                #expect(try await client.json(.get, "/v1/enrollments/\(t)").status == 404)
                let start = try await client.json(.post, "/v1/enrollments/\(t)/sessions", body: [:])
                #expect(start.status == 404, "\(start.json)")
            }
            // The session created for the deleted user cannot be streamed; its unused result cannot be used.
            #expect(try await server.store.session(id: createdID)?.status == .expired)
            let path = String(ws.drop(while: { $0 != "/" }).dropFirst(2).drop(while: { $0 != "/" }))
            let upgrade = try await client.execute(uri: path, method: .get)
            #expect(upgrade.status == .gone, "\(upgrade.status)")
            let replay = try await client.json(.post, "/v1/verify", key: verify, body: ["user": "victim", "session": succeeded])
            #expect(replay.status == 409 && errorCode(replay.json) == "already_used", "\(replay.status) \(replay.json)")
            #expect(try await server.store.session(id: succeeded)?.embeddings == nil)
        }
    }
}

// MARK: /v1/verify tells a verify key only the decision

@Suite("Server security: verify answers (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct VerifyAnswerTests {
    @Test("a verify key gets {user, match} from /v1/verify; distance and threshold only go to admin keys")
    func decisionOnly() async throws {
        try await Harness.with(Harness.config()) { server, client in
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            let enroll = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
            await server.keys.invalidate()
            let obama = try base64Image(Paths.testImage("obama.jpg"))
            let obama2 = try base64Image(Paths.testImage("obama2.jpg")), biden = try base64Image(Paths.testImage("biden.jpg"))
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [obama]]).status == 201)
            for k in [verify, enroll] {
                for (img, match) in [(obama2, true), (biden, false)] {
                    let r = try await client.json(.post, "/v1/verify", key: k, body: ["user": "obama", "image": img])
                    #expect(r.status == 200 && r.json["match"] as? Bool == match, "\(r.json)")
                    #expect(r.json["distance"] == nil && r.json["threshold"] == nil, "\(r.json)")
                }
            }
            let a = try await client.json(.post, "/v1/verify", key: admin, body: ["user": "obama", "image": obama2])
            #expect(a.json["distance"] as? Double != nil && a.json["threshold"] as? Double != nil, "\(a.json)")
        }
    }
}

// MARK: a face is added only to its own identity

@Suite("Server security: whose face is enrolled (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct EnrollmentConflictTests {
    @Test("uploads and {\"session\"} templates: a face enrolled as another user, or not matching the user's templates, is refused 409 unless an admin forces it")
    func uploadsAndSessions() async throws {
        let key = GalleryKey.generate()
        try await Harness.with(Harness.config(), key: key) { server, client in
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            let enroll = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
            await server.keys.invalidate()
            let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
            let biden = try base64Image(Paths.testImage("biden.jpg"))
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [obama]]).status == 201)
            #expect(try await client.json(.post, "/v1/users", key: enroll, body: ["name": "biden", "images": [biden]]).status == 201)

            // A second identity for an enrolled face: refused, by upload and by a live session's frames.
            let alias = try await client.json(.post, "/v1/users", key: enroll, body: ["name": "alias", "images": [obama2]])
            #expect(alias.status == 409 && errorCode(alias.json) == "face_belongs_to_other_user", "\(alias.status) \(alias.json)")
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            func session(owner: String) async throws -> String {
                let id = UUID().uuidString.lowercased(), now = Date()
                let spec = SessionSpec(mode: .liveness, user: nil, nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: owner),
                                       enrollLink: nil, source: "127.0.0.1", liveness: "active")
                try await server.store.insertSession(SessionRecord(id: id, tokenHash: "x", status: .created, created: now, expires: now.addingTimeInterval(120),
                                                                   updated: now, instance: nil, spec: spec, outcome: nil, embeddings: nil, consumed: false))
                try await server.store.finishSession(id: id, status: .succeeded, outcome: nil,
                                                     embeddings: try BlobSealer(key: key).seal(try JSONEncoder().encode([probe])), now: now)
                return id
            }
            #expect(try await client.json(.post, "/v1/users", key: enroll, body: ["name": "pending"]).status == 201)
            let bySession = try await client.json(.post, "/v1/users/pending/templates", key: enroll, body: ["session": try await session(owner: enroll)])
            #expect(bySession.status == 409 && errorCode(bySession.json) == "face_belongs_to_other_user", "\(bySession.status) \(bySession.json)")
            let onBiden = try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [obama2]])
            #expect(onBiden.status == 409, "\(onBiden.json)")

            // Someone adding their face to another enrolled account (their face enrolled nowhere else).
            #expect(try await client.json(.delete, "/v1/users/obama", key: admin).status == 204)
            let intruder = try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["session": try await session(owner: enroll)])
            #expect(intruder.status == 409 && errorCode(intruder.json) == "face_does_not_match_user", "\(intruder.status) \(intruder.json)")
            let byImage = try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [obama2]])
            #expect(byImage.status == 409 && errorCode(byImage.json) == "face_does_not_match_user", "\(byImage.json)")
            // The same person adds templates; an admin may force the rest; an enroll key may not force.
            #expect(try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [biden]]).status == 201)
            #expect(try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [obama2], "force": true]).status == 403)
            #expect(try await client.json(.post, "/v1/users/biden/templates", key: admin, body: ["images": [obama2], "force": true]).status == 201)
            let users = try await client.json(.get, "/v1/users", key: admin).json["users"] as? [[String: Any]] ?? []
            #expect(users.first { $0["name"] as? String == "biden" }?["templates"] as? Int == 3, "\(users)")
        }
    }

    @Test("enrollment links: a live person streaming into another enrolled user's link, or into a second identity, is refused")
    func links() async throws {
        guard Paths.hasFixtures else { try Test.cancel("fixtures missing — ../shared/fixtures must sit beside the repo") }
        let c = Harness.config {
            $0.challenges = 1; $0.challengeTypes = [.blink]; $0.livenessMode = .active; $0.useInstalledPadModels = false
        }
        let frames = try videoFrames(Paths.fixture(Paths.blinkVideo), limit: 120, every: 2)
        try await Harness.with(c) { server, client in
            func stream(_ user: String) async throws -> [String: Any] {
                let link = try await client.json(.post, "/v1/users/\(user)/enrollment-links")
                let token = try #require(link.json["token"] as? String, "\(link.json)")
                let s = try await client.json(.post, "/v1/enrollments/\(token)/sessions")
                let ws = try #require(s.json["websocket"] as? String, "\(s.json)")
                let out = try await streamFrames(port: client.port!, websocket: ws, frames: frames)
                return try #require(out.result, "no result; messages: \(out.messages.suffix(3))")
            }
            func templates(_ user: String) async throws -> Int? {
                let users = try await client.json(.get, "/v1/users").json["users"] as? [[String: Any]] ?? []
                return users.first { $0["name"] as? String == user }?["templates"] as? Int
            }
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [try base64Image(Paths.testImage("obama.jpg"))]]).status == 201)
            // The person of the clip on obama's link: live, but not obama.
            let intruder = try await stream("obama")
            #expect(intruder["passed"] as? Bool == false && intruder["reason"] as? String == "enroll_failed", "\(intruder)")
            #expect(try await templates("obama") == 1)
            // The person enrolls as themself, then tries a second identity through another link.
            #expect(try await client.json(.post, "/v1/users", body: ["name": "blinker"]).status == 201)
            #expect(try await stream("blinker")["passed"] as? Bool == true)
            #expect(try await client.json(.post, "/v1/users", body: ["name": "alias"]).status == 201)
            let alias = try await stream("alias")
            #expect(alias["passed"] as? Bool == false && alias["reason"] as? String == "enroll_failed", "\(alias)")
            #expect(try await templates("alias") == 0)
            _ = server
        }
    }
}
