import FaceGate
import FaceGateCore
@testable import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import HummingbirdTesting
import Testing

/// #14 item 6 — liveness comes first wherever identity is decided: `{"image": …}` on `/v1/verify` and `/v1/identify`
/// is a face comparison no liveness check saw (a photo of the person matches), so by default a non-admin key must
/// send a succeeded session; `[server] allow_image_probes = true` lets it, and every answer says what proved the
/// probe live (`"liveness": "session"` or `"not_checked"`). Admin keys keep image probes.
@Suite("Image probes need a liveness session", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models or test images missing — run `make models testdata`"))
struct ImageProbePolicyTests {
    static func keys(_ server: FaceGateServer) async throws -> (admin: String, verify: String, enroll: String) {
        let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
        let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
        let enroll = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
        await server.keys.invalidate()
        return (admin, verify, enroll)
    }

    @Test("by default a verify/enroll key's image probe is 403 image_probe_not_allowed (nothing counted, nothing audited as a match); admin keys may, marked not_checked")
    func refusedByDefault() async throws {
        try await Harness.with(Harness.config { $0.lockout.maxFailures = 1 }) { server, client in
            let k = try await Self.keys(server)
            let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
            let biden = try base64Image(Paths.testImage("biden.jpg"))
            #expect(try await client.json(.post, "/v1/users", key: k.admin, body: ["name": "obama", "images": [obama]]).status == 201)
            // Probes that would be failures (biden as obama, an unknown face) if they were compared.
            for key in [k.verify, k.enroll] {
                for (route, body) in [("/v1/verify", ["user": "obama", "image": biden, "client": "c1"]), ("/v1/identify", ["image": biden, "client": "c1"])] {
                    let r = try await client.json(.post, route, key: key, body: body)
                    #expect(r.status == 403 && errorCode(r.json) == "image_probe_not_allowed", "\(route): \(r.status) \(r.json)")
                    let message = (r.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("POST /v1/sessions") && message.contains("allow_image_probes"), "\(message)")
                }
            }
            // Refused before the lockout: with max_failures 1 a counted refusal would lock user and client now.
            #expect(try await server.lockout.store?.activeLocks(now: Date()).isEmpty ?? true)
            let a = try await client.json(.post, "/v1/verify", key: k.admin, body: ["user": "obama", "image": obama2])
            #expect(a.status == 200 && a.json["match"] as? Bool == true && a.json["liveness"] as? String == "not_checked", "\(a.json)")
            let i = try await client.json(.post, "/v1/identify", key: k.admin, body: ["image": obama2])
            #expect(i.status == 200 && i.json["user"] as? String == "obama" && i.json["liveness"] as? String == "not_checked", "\(i.json)")
            // A body with neither probe is still the 400 of a malformed request, not the policy's 403.
            #expect(try await client.json(.post, "/v1/verify", key: k.verify, body: ["user": "obama"]).status == 400)
        }
    }

    @Test("with [server] allow_image_probes = true a verify key's image probe is answered and marked liveness not_checked; a session probe is marked session")
    func allowedByTheOperator() async throws {
        try await Harness.with(Harness.config { $0.allowImageProbes = true }) { server, client in
            let k = try await Self.keys(server)
            let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
            let biden = try base64Image(Paths.testImage("biden.jpg"))
            #expect(try await client.json(.post, "/v1/users", key: k.admin, body: ["name": "obama", "images": [obama]]).status == 201)
            let v = try await client.json(.post, "/v1/verify", key: k.verify, body: ["user": "obama", "image": obama2])
            #expect(v.status == 200 && v.json["match"] as? Bool == true && v.json["liveness"] as? String == "not_checked", "\(v.json)")
            let i = try await client.json(.post, "/v1/identify", key: k.verify, body: ["image": biden])
            #expect(i.status == 200 && i.json["liveness"] as? String == "not_checked", "\(i.json)")
            // A succeeded session of this key (its sealed anchor embeddings, as a finished stream leaves them).
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            let id = UUID().uuidString.lowercased(), now = Date()
            let spec = SessionSpec(mode: .liveness, user: "obama", nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: k.verify),
                                   enrollLink: nil, source: "127.0.0.1", liveness: "active")
            try await server.store.insertSession(SessionRecord(id: id, tokenHash: "x", status: .created, created: now, expires: now.addingTimeInterval(120),
                                                               updated: now, instance: nil, spec: spec, outcome: nil, embeddings: nil, consumed: false))
            try await server.store.finishSession(id: id, status: .succeeded, outcome: nil,
                                                 embeddings: try BlobSealer(gallery: server.gallery).seal(try JSONEncoder().encode([probe])), now: now)
            let s = try await client.json(.post, "/v1/verify", key: k.verify, body: ["user": "obama", "session": id])
            #expect(s.status == 200 && s.json["match"] as? Bool == true && s.json["liveness"] as? String == "session", "\(s.json)")
        }
    }
}
