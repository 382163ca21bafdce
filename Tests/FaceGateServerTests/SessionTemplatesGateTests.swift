import FaceGate
import FaceGateCore
@testable import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import Testing

/// `POST /v1/users/{id}/templates {"session": …}` stores only the anchors that passed the enrollment quality gate
/// when the session ended (#18: they were stored ungated). The gate itself is `EnrollmentSession.admissible`
/// (RuntimeSessionTests); here the route honours what the session recorded.
@Suite("Server: session templates pass the enrollment gate (#18)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct SessionTemplatesGateTests {
    @Test("only the recorded admissible anchors become templates; none → 422 no_usable_sample and the session is not used up")
    func onlyAdmissibleAnchors() async throws {
        let key = GalleryKey.generate()
        try await Harness.with(Harness.config(), key: key) { server, client in
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [try base64Image(Paths.testImage("obama.jpg"))]]).status == 201)
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            func session(admissible: [Int]) async throws -> String {
                let id = UUID().uuidString.lowercased(), now = Date()
                let spec = SessionSpec(mode: .liveness, user: nil, nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: admin),
                                       enrollLink: nil, source: "127.0.0.1", liveness: "active")
                try await server.store.insertSession(SessionRecord(id: id, tokenHash: "x", status: .created, created: now, expires: now.addingTimeInterval(120),
                                                                   updated: now, instance: nil, spec: spec, outcome: nil, embeddings: nil, consumed: false))
                var outcome = SessionOutcome.empty
                outcome.passed = true; outcome.live = true; outcome.enrollableAnchors = admissible
                try await server.store.finishSession(id: id, status: .succeeded, outcome: outcome,
                                                     embeddings: try BlobSealer(key: key).seal(try JSONEncoder().encode([probe, probe, probe])), now: now)
                return id
            }
            let none = try await session(admissible: [])
            let refused = try await client.json(.post, "/v1/users/obama/templates", key: admin, body: ["session": none])
            #expect(refused.status == 422 && errorCode(refused.json) == "no_usable_sample", "\(refused.status) \(refused.json)")
            #expect(try await server.store.session(id: none)?.consumed == false, "a refused session was used up")

            let one = try await session(admissible: [1])
            let added = try await client.json(.post, "/v1/users/obama/templates", key: admin, body: ["session": one])
            #expect(added.status == 201 && added.json["added"] as? Int == 1, "\(added.status) \(added.json)")
        }
    }
}
