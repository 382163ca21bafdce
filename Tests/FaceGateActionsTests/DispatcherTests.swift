import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Logging
import Testing

@Suite(.serialized, .enabled(if: HelperProcess.hasAiosmtpd, "aiosmtpd missing: pip install aiosmtpd (make test installs it)"))
struct DispatcherTests {
    struct Setup {
        var dir: URL
        var smtpPort: Int
        var hookPort: Int
        var marker: URL
        var config: FaceGateConfig
    }

    func setup(_ name: String, lockExit: Int = 0, extra: String = "") throws -> Setup {
        let dir = TestPaths.tempDir(name)
        let smtpPort = freeLoopbackPort(), hookPort = freeLoopbackPort()
        let marker = dir.appendingPathComponent("locked.marker")
        let script = dir.appendingPathComponent("lock.sh")
        try "#!/bin/sh\necho \"$@\" >> '\(marker.path)'\nexit \(lockExit)\n".write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        try "hook-secret\n".write(to: dir.appendingPathComponent("hook.secret"), atomically: true, encoding: .utf8)
        let toml = """
        [store]
        database = "\(dir.path)/facegate.sqlite"
        key_file = "\(dir.path)/facegate.key"
        [voice]
        enabled = "off"
        save_dir = "\(dir.path)/voice"
        [mail]
        enabled = true
        smtp_url = "smtp://127.0.0.1:\(smtpPort)"
        security = "none"
        from = "facegate@test.local"
        to = ["owner@test.local"]
        location = "Lab 2"
        [lock]
        enabled = true
        command = "\(script.path) --now"
        fallback = ""
        [webhooks]
        urls = ["http://127.0.0.1:\(hookPort)/hook"]
        secret_file = "\(dir.path)/hook.secret"
        # AsyncHTTPClient keeps retrying a refused connection until the request deadline: keep it short here.
        timeout = "2s"
        [audit]
        file = "\(dir.path)/audit.jsonl"
        [actions]
        spool_dir = "\(dir.path)/spool"
        \(extra)
        """
        let loaded = ConfigLoader.resolve(text: toml, path: "test.toml", environment: [:], overrides: [:])
        #expect(loaded.isValid, "\(loaded.issues)")
        try GalleryKey.create(file: "\(dir.path)/facegate.key")
        return Setup(dir: dir, smtpPort: smtpPort, hookPort: hookPort, marker: marker,
                     config: try FaceGateConfig(loaded, environment: [:]))
    }

    @Test func decisionReturnsImmediatelyWhileEndpointsAreDownAndAlertsArriveLater() async throws {
        let s = try setup("dispatch")
        let dispatcher = try ActionDispatcher(config: s.config, logger: Logger(label: "test.dispatch"))
        let d = spoofDecision()

        let clock = ContinuousClock()
        var receipt: DispatchReceipt? = nil
        let elapsed = clock.measure { receipt = dispatcher.dispatch(d) }
        // Synchronous part: audit in SQLite and two fsync'd spool files. Nothing waits on the network:
        // a connection attempt alone would take longer than this bound on a dead port with retries.
        #expect(elapsed < .milliseconds(1500), "dispatch took \(elapsed)")
        print("dispatch (endpoints down) took \(elapsed)")
        #expect(receipt?.mailQueued == true)
        #expect(receipt?.webhooksQueued == 1)
        #expect(receipt?.errors.isEmpty == true)
        #expect(receipt?.audit?.snapshot != nil)

        // The background workers try the dead endpoints and keep the items queued.
        let mailSpool = try Spool(directory: s.dir.appendingPathComponent("spool/mail"))
        let hookSpool = try Spool(directory: s.dir.appendingPathComponent("spool/webhooks"))
        let triedBoth = await waitUntil(15) {
            (mailSpool.pending().first?.attempts ?? 0) >= 1 && (hookSpool.pending().first?.attempts ?? 0) >= 1
        }
        #expect(triedBoth, "workers did not attempt delivery")
        #expect(mailSpool.pending().count == 1)
        #expect(hookSpool.pending().count == 1)

        // Endpoints come back.
        let inbox = s.dir.appendingPathComponent("inbox"), hooks = s.dir.appendingPathComponent("hooks")
        let smtp = try HelperProcess(python: "smtp_sink.py", ["--port", "\(s.smtpPort)", "--out", inbox.path])
        defer { smtp.stop() }
        let http = try HelperProcess(python: "webhook_sink.py", ["--port", "\(s.hookPort)", "--out", hooks.path, "--secret", "hook-secret"])
        defer { http.stop() }
        let (outcomes, pendingMail, pendingHooks) = await dispatcher.finish(timeout: 20)
        await dispatcher.stop()
        #expect(pendingMail == 0 && pendingHooks == 0)
        #expect(FileManager.default.fileExists(atPath: inbox.appendingPathComponent("1.eml").path))
        let hook = try JSONSerialization.jsonObject(with: Data(contentsOf: hooks.appendingPathComponent("1.json"))) as! [String: Any]
        #expect(hook["signature_valid"] as? Bool == true)

        // Lock ran, voice file written, audit in DB and JSONL.
        #expect(try String(contentsOf: s.marker, encoding: .utf8) == "--now\n")
        #expect(outcomes.contains { $0.action == .lock && $0.ok })
        let wavs = try FileManager.default.contentsOfDirectory(atPath: s.dir.appendingPathComponent("voice").path)
        #expect(wavs.count == 1 && wavs[0].hasSuffix("-denied.wav"))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng") {
            let wav = try WAVAudio(data: Data(contentsOf: s.dir.appendingPathComponent("voice/\(wavs[0])")))
            #expect(wav.duration > 0.4 && wav.activeFraction() > 0.3)
        }
        let jsonl = try String(contentsOf: s.dir.appendingPathComponent("audit.jsonl"), encoding: .utf8)
        #expect(jsonl.contains(d.id.uuidString.lowercased()))
        #expect(try dispatcher.audit?.records(AuditQuery()).first?.reason == .spoof)
    }

    @Test func authorizedDecisionNeitherMailsNorLocks() async throws {
        let s = try setup("dispatch-ok")
        let dispatcher = try ActionDispatcher(config: s.config, logger: Logger(label: "test"))
        let r = dispatcher.dispatch(.authorized(user: "bob", source: "camera:0", distance: 0.3))
        #expect(!r.mailQueued && r.webhooksQueued == 1)
        let (outcomes, _, _) = await dispatcher.finish(timeout: 0.5)
        await dispatcher.stop()
        #expect(!FileManager.default.fileExists(atPath: s.marker.path))
        #expect(!outcomes.contains { $0.action == .lock })
        let wavs = try FileManager.default.contentsOfDirectory(atPath: s.dir.appendingPathComponent("voice").path)
        #expect(wavs.count == 1 && wavs[0].hasSuffix("-authorized.wav"))
    }

    /// (Lockout is no longer a dispatcher action: `LockoutGate`, tested in LockoutGateTests and LockoutStoreTests.)
    @Test func failingLockIsReported() async throws {
        let s = try setup("dispatch-fail", lockExit: 4)
        let dispatcher = try ActionDispatcher(config: s.config, logger: Logger(label: "test"))
        dispatcher.dispatch(.denied(.unknownFace, source: "camera:0", claimedUser: "alice"))
        dispatcher.dispatch(.denied(.unknownFace, source: "camera:0", claimedUser: "alice"))
        let (outcomes, _, _) = await dispatcher.finish(timeout: 0.2)
        await dispatcher.stop()
        let lockFailures = outcomes.filter { $0.action == .lock && !$0.ok }
        #expect(lockFailures.count == 2)
        #expect(lockFailures.first?.message.contains("status 4") == true)
    }
}
