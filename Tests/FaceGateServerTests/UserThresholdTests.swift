import FaceGateCore
import FaceGateServer
import Foundation
import Testing

/// `POST /v1/users` applies the CLI's per-user threshold policy (`IdentityThreshold.checkPerUser`): in range, no
/// looser than the global threshold unless `force`, and `force` only from an admin key (the CLI's `--force`).
@Suite("Server per-user threshold policy", .serialized, .enabled(if: Paths.hasModels, "face models missing — run `make models`"))
struct UserThresholdTests {
    @Test("a looser per-user threshold needs force from an admin key; out-of-range values are refused even forced")
    func looserThresholdNeedsAdminForce() async throws {
        try await Harness.with(Harness.config()) { server, client in
            let enroll = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            await server.keys.invalidate()
            let global = IdentityThreshold.default

            // Stricter than the global threshold: any enroll key may set it.
            let strict = try await client.json(.post, "/v1/users", key: enroll, body: ["name": "strict", "threshold": global - 0.1])
            #expect(strict.status == 201, "\(strict.json)")
            #expect(abs((strict.json["threshold"] as? Double ?? 0) - (global - 0.1)) < 1e-9)

            // Looser: refused without force, with a message saying how to allow it.
            let loose = try await client.json(.post, "/v1/users", key: admin, body: ["name": "loose", "threshold": global + 0.1])
            #expect(loose.status == 400)
            let message = ((loose.json["error"] as? [String: Any])?["message"] as? String) ?? "\(loose.json)"
            #expect(message.contains("looser") && message.contains("force"), "\(message)")

            // force from an enroll key: forbidden (forcing is an admin's decision).
            let notAdmin = try await client.json(.post, "/v1/users", key: enroll, body: ["name": "loose", "threshold": global + 0.1, "force": true])
            #expect(notAdmin.status == 403)

            // force from an admin key: accepted and stored.
            let forced = try await client.json(.post, "/v1/users", key: admin, body: ["name": "loose", "threshold": global + 0.1, "force": true])
            #expect(forced.status == 201, "\(forced.json)")
            let listed = try await client.json(.get, "/v1/users", key: admin)
            let users = try #require(listed.json["users"] as? [[String: Any]])
            let stored = users.first { $0["name"] as? String == "loose" }?["threshold"] as? Double
            #expect(abs((stored ?? 0) - (global + 0.1)) < 1e-9, "\(users)")

            // Out of range (the 7): refused even forced by an admin.
            let seven = try await client.json(.post, "/v1/users", key: admin, body: ["name": "seven", "threshold": 7, "force": true])
            #expect(seven.status == 400)
            let after = try #require(try await client.json(.get, "/v1/users", key: admin).json["users"] as? [[String: Any]])
            #expect(!after.contains { $0["name"] as? String == "seven" })
        }
    }
}
