import FaceGate
import FaceGateCore
import FaceGateServer
import HummingbirdTesting
import Foundation
import Testing

/// Server enrollment sessions run `facegate enroll`'s checks (#18): the session's identity anchors pass the
/// enrollment quality gate before they become templates (they were stored without one).
@Suite("Server enrollment sessions", .serialized, .enabled(if: Paths.hasModels, "face models missing — run `make models`"))
struct EnrollmentSessionTests {
    /// Enrolls `user` (pending) through a one-time link session streaming `frames`; returns the stream's result.
    func enroll(_ user: String, frames: [(Double, [UInt8])], client: any TestClientProtocol) async throws -> [String: Any] {
        #expect(try await client.json(.post, "/v1/users", body: ["name": user]).status == 201)
        let link = try await client.json(.post, "/v1/users/\(user)/enrollment-links")
        let token = try #require(link.json["token"] as? String, "\(link.json)")
        let s = try await client.json(.post, "/v1/enrollments/\(token)/sessions")
        let ws = try #require(s.json["websocket"] as? String, "\(s.json)")
        let out = try await streamFrames(port: client.port!, websocket: ws, frames: frames)
        return try #require(out.result, "no result; messages: \(out.messages.suffix(3))")
    }

    @Test("a live but blurred recording is refused by the enrollment quality gate; the sharp recording enrolls")
    func qualityGateOnSessionAnchors() async throws {
        guard Paths.hasFixtures else { try Test.cancel("fixtures missing — ../shared/fixtures must sit beside the repo") }
        let dir = Paths.tempDir("fg-enroll-gate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Gaussian blur σ 4: the blink is still seen (liveness passes, checked with `facegate liveness`), but every
        // face is below the standard gate's sharpness (`facegate enroll` rejects all 72 sampled frames as blurry).
        let blurred = dir + "/blur.mp4"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-v", "error", "-y", "-i", Paths.fixture(Paths.blinkVideo), "-t", "8", "-vf", "gblur=sigma=4",
                       "-pix_fmt", "yuv420p", blurred]
        try p.run(); p.waitUntilExit()
        try #require(p.terminationStatus == 0, "ffmpeg failed")
        let c = Harness.config {
            $0.challenges = 1; $0.challengeTypes = [.blink]; $0.livenessMode = .active; $0.useInstalledPadModels = false
        }
        try await Harness.with(c) { server, client in
            let good = try await enroll("sharp", frames: try videoFrames(Paths.fixture(Paths.blinkVideo), limit: 120, every: 2), client: client)
            #expect(good["passed"] as? Bool == true, "\(good)")
            let bad = try await enroll("blurry", frames: try videoFrames(blurred, limit: 120, every: 2), client: client)
            #expect(bad["passed"] as? Bool == false, "\(bad)")
            // the identity step runs only after a live result: the refusal is the gate's
            #expect(bad["reason"] as? String == "enroll_failed", "\(bad)")
            let users = try await client.json(.get, "/v1/users").json["users"] as? [[String: Any]] ?? []
            #expect((users.first { $0["name"] as? String == "sharp" }?["templates"] as? Int ?? 0) >= 1, "\(users)")
            #expect(users.first { $0["name"] as? String == "blurry" }?["templates"] as? Int == 0, "\(users)")
        }
    }
}
