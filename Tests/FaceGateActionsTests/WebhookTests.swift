import FaceGateActions
import FaceGateCore
import Foundation
import Logging
import Testing

@Suite(.serialized, .enabled(if: HelperProcess.hasPython, "python3 is needed for the loopback webhook receiver"))
struct WebhookTests {
    func received(_ dir: URL) throws -> [[String: Any]] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
        return try names.sorted { Int($0.dropLast(5))! < Int($1.dropLast(5))! }.map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent($0))) as! [String: Any]
        }
    }

    @Test func signedEventsAreDelivered() async throws {
        let dir = TestPaths.tempDir("hook")
        let port = freeLoopbackPort()
        let inbox = dir.appendingPathComponent("inbox")
        let server = try HelperProcess(python: "webhook_sink.py", ["--port", "\(port)", "--out", inbox.path, "--secret", "hook-secret"])
        defer { server.stop() }
        let spool = try Spool(directory: dir.appendingPathComponent("spool"))
        let queue = WebhookQueue(spool: spool, urls: ["http://127.0.0.1:\(port)/facegate"], events: Set(WebhookEventKind.allCases))
        let d = spoofDecision()
        #expect(try queue.enqueue(WebhookEvent(decision: d, host: "gate-1")) == 1)
        try queue.enqueue(WebhookEvent(decision: .authorized(user: "bob", source: "camera:0", distance: 0.4), host: "gate-1"))
        try queue.enqueue(WebhookEvent(galleryEvent: .enrolled, user: "carol", host: "gate-1"))
        try queue.enqueue(WebhookEvent(galleryEvent: .removed, user: "carol", host: "gate-1"))
        try queue.enqueue(WebhookEvent(decision: .denied(.unknownFace, source: "camera:0"), host: "gate-1"))
        let worker = SpoolWorker(spool: spool, policy: RetryPolicy(maxAge: 60),
                                 deliverer: WebhookDeliverer(secret: "hook-secret", timeout: 5), logger: Logger(label: "test.hook"))
        #expect(await worker.flush(timeout: 20))
        let got = try received(inbox)
        #expect(got.count == 5)
        #expect(got.allSatisfy { $0["signature_valid"] as? Bool == true })
        let events = got.map { ($0["headers"] as! [String: String])["X-FaceGate-Event"] ?? "" }
        #expect(events == ["spoof", "authorized", "enrolled", "removed", "denied"])
        let first = try JSONSerialization.jsonObject(with: Data((got[0]["body"] as! String).utf8)) as! [String: Any]
        #expect(first["event"] as? String == "spoof")
        #expect(first["decision_id"] as? String == d.id.uuidString.lowercased())
        #expect(first["claimed_user"] as? String == "alice")
        #expect(first["reason"] as? String == "spoof")
        #expect(first["snapshotJPEG"] == nil && first["snapshot_jpeg"] == nil)
        #expect(got[0]["path"] as? String == "/facegate")
    }

    @Test func wrongSecretFailsVerification() async throws {
        let dir = TestPaths.tempDir("hookbad")
        let port = freeLoopbackPort()
        let inbox = dir.appendingPathComponent("inbox")
        let server = try HelperProcess(python: "webhook_sink.py", ["--port", "\(port)", "--out", inbox.path, "--secret", "right"])
        defer { server.stop() }
        let spool = try Spool(directory: dir.appendingPathComponent("spool"))
        try WebhookQueue(spool: spool, urls: ["http://127.0.0.1:\(port)/"], events: [.denied])
            .enqueue(WebhookEvent(decision: .denied(.timeout, source: "camera:0"), host: "h"))
        let worker = SpoolWorker(spool: spool, policy: RetryPolicy(maxAge: 60),
                                 deliverer: WebhookDeliverer(secret: "wrong", timeout: 5), logger: Logger(label: "t"))
        #expect(await worker.flush(timeout: 10))
        let got = try received(inbox)
        #expect(got.count == 1 && got[0]["signature_valid"] as? Bool == false)
    }

    @Test func non2xxIsRetriedThenExpiresToFailed() async throws {
        let dir = TestPaths.tempDir("hook500")
        let port = freeLoopbackPort()
        let server = try HelperProcess(python: "webhook_sink.py", ["--port", "\(port)", "--out", dir.appendingPathComponent("inbox").path, "--status", "503"])
        defer { server.stop() }
        let spool = try Spool(directory: dir.appendingPathComponent("spool"))
        try WebhookQueue(spool: spool, urls: ["http://127.0.0.1:\(port)/"], events: [.denied])
            .enqueue(WebhookEvent(decision: .denied(.timeout, source: "camera:0"), host: "h"))
        let worker = SpoolWorker(spool: spool, policy: RetryPolicy(initialDelay: 0.1, maxDelay: 0.2, maxAge: 3),
                                 deliverer: WebhookDeliverer(secret: "s", timeout: 5), logger: Logger(label: "t"))
        // maxAge leaves room for a slow first request (a debug build's HTTP client start-up takes up to ~1 s).
        _ = await worker.flush(timeout: 6)
        #expect(spool.pending().isEmpty)
        let failed = spool.failed()
        #expect(failed.count == 1)
        #expect(failed.first?.lastError?.contains("HTTP 503") == true)
        #expect((failed.first?.attempts ?? 0) >= 2)
        #expect(await worker.expired == 1)
    }

    @Test func signatureIsHMACSHA256OverTimestampAndBody() {
        // Expected value computed independently with Python:
        // hmac.new(b"Jefe", b"1700000000.{}", hashlib.sha256).hexdigest()
        let s = WebhookSigner(secret: "Jefe")
        let sig = s.signature(body: Data("{}".utf8), timestamp: 1_700_000_000)
        #expect(sig == "sha256=d3793e2b4103edfbd98cc19591832f5fad701d413db9fcae0ae7dab8184ed207")
        #expect(s.verify(body: Data("{}".utf8), timestamp: 1_700_000_000, signature: sig))
        #expect(!s.verify(body: Data("{ }".utf8), timestamp: 1_700_000_000, signature: sig))
        #expect(!s.verify(body: Data("{}".utf8), timestamp: 1_700_000_001, signature: sig))
    }
}
