import FaceGateActions
import FaceGateCore
import FaceGateVision
import Foundation
import Logging
import Testing

/// A real JPEG (gradient with a box) made with the native image layer.
func sampleJPEG() -> Data {
    let img = Image(width: 160, height: 120, color: Color(40, 80, 120))
    img.fillRect(Rect(x: 50, y: 30, width: 60, height: 60), color: Color(220, 180, 150))
    return img.jpeg(quality: 85)!
}

func spoofDecision(jpeg: Data? = sampleJPEG()) -> Decision {
    .denied(.spoof, source: "file:/tmp/replay.mp4", claimedUser: "alice", matchedUser: "alice", distance: 0.31,
            threshold: 0.6,
            cues: [CueSummary(name: "moire", verdict: .spoof, score: 0.91, note: "screen pattern"),
                   CueSummary(name: "blink", verdict: .abstain)],
            challenges: [ChallengeRecord(name: "turn_left", prompt: "Turn your head left", result: .failed, startedAt: 0.4, duration: 2.2)],
            snapshotJPEG: jpeg)
}

@Suite(.serialized, .enabled(if: HelperProcess.hasAiosmtpd, "aiosmtpd missing: pip install aiosmtpd (make test installs it)"))
struct MailTests {
    @Test func alertIsDeliveredWithHeadersBodyAndAttachment() async throws {
        let dir = TestPaths.tempDir("mail")
        let port = freeLoopbackPort()
        let server = try HelperProcess(python: "smtp_sink.py", ["--port", "\(port)", "--out", dir.appendingPathComponent("inbox").path])
        defer { server.stop() }

        let spool = try Spool(directory: dir.appendingPathComponent("spool/mail"))
        let queue = MailQueue(spool: spool, from: "facegate@test.local", to: ["owner@test.local", "second@test.local"],
                              subject: "FaceGate: unauthorized attempt on {host} ({reason})",
                              location: .init(text: "Office 3.14", latitude: 48.8584, longitude: 2.2945))
        let d = spoofDecision()
        let host = HostInfo.current()
        try queue.enqueue(d, host: host)
        #expect(spool.pending().count == 1)

        let worker = SpoolWorker(spool: spool, policy: RetryPolicy(maxAge: 60),
                                 deliverer: MailDeliverer(client: SMTPClient(url: "smtp://127.0.0.1:\(port)", security: .none, timeout: 10)),
                                 logger: Logger(label: "test.mail"))
        #expect(await worker.flush(timeout: 20))
        #expect(spool.pending().isEmpty)

        let inbox = dir.appendingPathComponent("inbox")
        let eml = inbox.appendingPathComponent("1.eml").path
        #expect(FileManager.default.fileExists(atPath: eml))
        let env = try JSONSerialization.jsonObject(with: Data(contentsOf: inbox.appendingPathComponent("1.json"))) as! [String: Any]
        #expect(env["mail_from"] as? String == "facegate@test.local")
        #expect(env["rcpt_tos"] as? [String] == ["owner@test.local", "second@test.local"])

        let m = try parseEML(eml)
        #expect((m["subject"] as? String) == "FaceGate: unauthorized attempt on \(host.hostname) (spoof detected)")
        #expect((m["from"] as? String)?.contains("facegate@test.local") == true)
        #expect((m["to"] as? String)?.contains("owner@test.local") == true)
        #expect((m["message_id"] as? String)?.contains(d.id.uuidString.lowercased()) == true)
        #expect(m["content_type"] as? String == "multipart/mixed")
        let parts = m["parts"] as! [[String: Any]]
        let text = parts.first { $0["type"] as? String == "text/plain" }?["text"] as? String ?? ""
        for needle in [host.hostname, "Office 3.14", "48.858400, 2.294500", "alice", "spoof detected", "moire: spoof (0.910)",
                       "Turn your head left", "file:/tmp/replay.mp4"] {
            #expect(text.contains(needle), "body lacks \(needle)")
        }
        if let a = host.addresses.first { #expect(text.contains(a.address)) }
        let jpeg = parts.first { $0["type"] as? String == "image/jpeg" }
        #expect(jpeg?["filename"] as? String == "snapshot-\(d.id.uuidString.lowercased()).jpg")
        let bytes = Data(base64Encoded: jpeg?["b64"] as? String ?? "")
        #expect(bytes == d.snapshotJPEG)
        #expect(try Image.decode(bytes ?? Data()).width == 160)
    }

    @Test func starttlsWithAuthentication() async throws {
        let dir = TestPaths.tempDir("mailtls")
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let (rc, out) = try runCommand(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                                        "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(rc == 0, "openssl: \(out)")
        let port = freeLoopbackPort()
        let inbox = dir.appendingPathComponent("inbox")
        let server = try HelperProcess(python: "smtp_sink.py", ["--port", "\(port)", "--out", inbox.path, "--cert", cert, "--key", key,
                                                                "--user", "owner", "--password", "pa55 word"])
        defer { server.stop() }
        let msg = AlertMessage(decision: spoofDecision(), host: .current(), location: .init(text: nil, latitude: nil, longitude: nil),
                               from: "fg@test.local", to: ["owner@test.local"], subjectTemplate: "x").rendered()

        // Wrong password: a typed error, nothing delivered.
        let bad = SMTPClient(url: "smtp://127.0.0.1:\(port)", security: .starttls, user: "owner", password: "nope", caFile: cert, timeout: 10)
        #expect(throws: ActionError.self) { try bad.send(from: "fg@test.local", to: ["owner@test.local"], message: msg) }
        // Plain text to a server that requires STARTTLS: refused.
        let plain = SMTPClient(url: "smtp://127.0.0.1:\(port)", security: .none, user: "owner", password: "pa55 word", timeout: 10)
        #expect(throws: ActionError.self) { try plain.send(from: "fg@test.local", to: ["owner@test.local"], message: msg) }
        // Untrusted certificate (no ca_file): refused.
        let untrusted = SMTPClient(url: "smtp://127.0.0.1:\(port)", security: .starttls, user: "owner", password: "pa55 word", timeout: 10)
        #expect(throws: ActionError.self) { try untrusted.send(from: "fg@test.local", to: ["owner@test.local"], message: msg) }

        let good = SMTPClient(url: "smtp://127.0.0.1:\(port)", security: .starttls, user: "owner", password: "pa55 word", caFile: cert, timeout: 10)
        try good.send(from: "fg@test.local", to: ["owner@test.local"], message: msg)
        let env = try JSONSerialization.jsonObject(with: Data(contentsOf: inbox.appendingPathComponent("1.json"))) as! [String: Any]
        #expect(env["tls"] as? Bool == true)
        #expect(env["auth"] as? Bool == true)
        #expect(!FileManager.default.fileExists(atPath: inbox.appendingPathComponent("2.json").path))
    }

    @Test func serverDownThenUpIsRetriedWithBackoff() async throws {
        let dir = TestPaths.tempDir("mailretry")
        let port = freeLoopbackPort()
        let spool = try Spool(directory: dir.appendingPathComponent("spool"))
        let queue = MailQueue(spool: spool, from: "fg@test.local", to: ["owner@test.local"], subject: "s",
                              location: .init(text: nil, latitude: nil, longitude: nil))
        try queue.enqueue(spoofDecision(), host: .current())
        let worker = SpoolWorker(spool: spool, policy: RetryPolicy(initialDelay: 0.2, maxDelay: 1, maxAge: 60),
                                 deliverer: MailDeliverer(client: SMTPClient(url: "smtp://127.0.0.1:\(port)", security: .none, timeout: 5)),
                                 logger: Logger(label: "test.mail"))
        await worker.drainOnce()
        let after1 = spool.pending()
        #expect(after1.count == 1 && after1[0].attempts == 1)
        #expect(after1[0].lastError?.contains("curl") == true)

        let inbox = dir.appendingPathComponent("inbox")
        let server = try HelperProcess(python: "smtp_sink.py", ["--port", "\(port)", "--out", inbox.path])
        defer { server.stop() }
        #expect(await worker.flush(timeout: 10))
        #expect(FileManager.default.fileExists(atPath: inbox.appendingPathComponent("1.eml").path))
    }
}
