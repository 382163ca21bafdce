import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
@testable import FaceGateServer
import FaceGateStore
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import NIOCore
import Testing

/// Loopback receivers for the actions' deliveries: the actions tests' Python webhook sink (verifies the HMAC
/// independently) and aiosmtpd SMTP sink, started by the test.
enum Receivers {
    static let support = Paths.repo.appendingPathComponent("Tests/FaceGateActionsTests/Support")

    static func python(_ module: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import \(module)"]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
    static let hasPython = python("http.server")
    static let hasAiosmtpd = python("aiosmtpd")

    /// A free TCP port on 127.0.0.1 (bind port 0, read it back).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Files `<n>.<ext>` written by a sink, in arrival order.
    static func received(_ dir: String, ext: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix("." + ext) && !$0.hasPrefix(".") }
        return names.sorted { Int($0.split(separator: ".")[0]) ?? 0 < Int($1.split(separator: ".")[0]) ?? 0 }.map { dir + "/" + $0 }
    }

    static func webhooks(_ dir: String) -> [[String: Any]] {
        received(dir, ext: "json").compactMap { (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0)))) as? [String: Any] }
    }
}

/// `python3 SCRIPT args…` until stopped; ready once it prints READY.
final class SinkProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe()

    init(_ script: String, _ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Receivers.support.appendingPathComponent(script).path] + args
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        let end = Date().addingTimeInterval(20)
        var seen = Data()
        while Date() < end, process.isRunning {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains("READY") { return }
        }
        stop()
        throw FaceGateError.runtime("\(script) did not start: \(String(decoding: seen, as: UTF8.self))")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    deinit { stop() }
}

/// Polls every 100 ms until `condition` holds or `timeout` seconds pass (generous: the machine is shared).
func eventually(_ timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// A server whose actions come from a real `facegate.toml` (webhooks to a loopback sink, mail to a loopback SMTP
/// sink, audit also as JSON lines), as `facegate serve --config FILE` builds it.
struct ActionsRig {
    let dir: String
    let hookInbox: String
    let mailInbox: String
    let secret = "server-hook-secret"
    let toml: String

    init(mail: Bool) throws {
        dir = Paths.tempDir("fgactions")
        hookInbox = dir + "/hooks"
        mailInbox = dir + "/mail"
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/hook.secret"))
        var toml = """
            [webhooks]
            urls = ["http://127.0.0.1:{HOOKPORT}/facegate"]
            secret_file = "\(dir)/hook.secret"
            timeout = "5s"

            [audit]
            file = "\(dir)/audit.jsonl"

            [lock]
            # Must never run on a server, whatever the file says (the test would see the marker file).
            enabled = true
            command = "touch \(dir)/LOCKED"
            fallback = ""

            [voice]
            enabled = "on"
            save_dir = "\(dir)/voice"

            [actions]
            spool_dir = "\(dir)/spool"

            """
        if mail {
            toml += """
                [mail]
                enabled = true
                smtp_url = "smtp://127.0.0.1:{MAILPORT}"
                security = "none"
                from = "facegate@test.local"
                to = ["owner@test.local"]
                subject = "FaceGate server: {reason} ({user})"
                timeout = "10s"

                """
        }
        self.toml = toml
    }

    /// Writes the file with the sinks' ports and loads it like `facegate serve --config` does.
    func load(hookPort: Int, mailPort: Int) throws -> FaceGateConfig {
        let path = dir + "/facegate.toml"
        try toml.replacingOccurrences(of: "{HOOKPORT}", with: "\(hookPort)").replacingOccurrences(of: "{MAILPORT}", with: "\(mailPort)")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return try FaceGateConfig.load(explicit: path, environment: [:])
    }
}

@Suite("Server actions", .serialized, .enabled(if: Paths.hasModels, "face models missing — run `make models`"))
struct ServerActionsTests {
    // MARK: mapping (no server)

    @Test("decisions: reason codes, session/verify/identify mapping, context references, JPEG-only upload snapshots")
    func mapping() throws {
        // Typed where the session ends (#18): stream close codes, and a liveness result through the core's one table.
        #expect(StreamCloseCode.tooSlow.denialReason == .cancelled)          // abandoned like a disconnect: not counted
        #expect(StreamCloseCode.aheadOfRealTime.denialReason == .spoof)      // what a replayed recording produces
        #expect(StreamCloseCode.expired.denialReason == .timeout)
        for c in [StreamCloseCode.malformedFrame, .outOfOrder, .frameTooLarge, .tooManyFrames] {
            #expect(c.denialReason == .error && !c.denialReason.countsAsFailure, "\(c)")   // a broken stream is no attack on a user
        }
        let plan = try ChallengePlan(explicit: [.blink])
        for f in LivenessFailure.representatives {
            let r = LivenessResult(live: false, plan: plan, challenges: [], failure: f, frames: 30, evidence: [], baseline: nil)
            #expect(r.denialReason == f.denialReason, "\(f.code)")
            #expect(SessionOutcome.from(r).denial == f.denialReason, "\(f.code)")
        }
        // not live without a recorded failure: the passive cues said so
        #expect(LivenessResult(live: false, plan: plan, challenges: [], failure: nil, frames: 30, evidence: [], baseline: nil).denialReason == .spoof)
        #expect(LivenessResult(live: true, plan: plan, challenges: [], failure: nil, frames: 30, evidence: [], baseline: nil).denialReason == nil)

        let sid = UUID().uuidString.lowercased()
        let ctx = ServerDecisions.Context(session: sid, apiKey: "0123456789ab", clientIP: "192.0.2.7", instance: "i1", route: "r")
        let spec = SessionSpec(mode: .liveness, user: "alice", nonce: nil, challenges: ["blink"], allowed: [], keyID: "0123456789ab",
                               enrollLink: nil, source: "192.0.2.7")
        var o = SessionOutcome(passed: true, live: true, reason: nil, detail: nil,
                               challenges: [.init(type: "blink", status: "passed", latencyMs: 640)], frames: 90, verified: true,
                               distance: 0.31, threshold: 0.6, identityDistance: 0.12, evidence: [], enrolledTemplates: nil)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        // The challenges come from the session's typed result (the stored summary strings are for the status API).
        let passed = LivenessResult(live: true, plan: plan, challenges: [ChallengeOutcome(type: .blink, status: .passed, latency: 0.64)],
                                    failure: nil, frames: 90, evidence: [], baseline: nil, identityDistance: 0.12)
        let ok = ServerDecisions.session(id: sid, spec: spec, mode: .liveness, status: .succeeded, outcome: o, result: passed, context: ctx,
                                         started: t0, time: t0.addingTimeInterval(9), snapshotJPEG: nil)
        #expect(ok.id.uuidString.lowercased() == sid)
        #expect(ok.outcome == .authorized && ok.reason == nil)
        #expect(ok.claimedUser == "alice" && ok.matchedUser == "alice")
        #expect(ok.distance == 0.31 && ok.threshold == 0.6 && ok.duration == 9)
        #expect(ok.source == "ws:192.0.2.7")
        #expect(ok.context == ["session": sid, "api_key": "0123456789ab", "client_ip": "192.0.2.7", "instance": "i1", "route": "r"])
        #expect(ok.challenges.map(\.name) == ["blink"] && ok.challenges[0].result == .passed)
        #expect(ok.cues.first?.name == "identity-continuity" && ok.cues.first?.verdict == .live)

        o.passed = false; o.verified = false; o.reason = "no_match"; o.denial = .wrongUser
        let bad = ServerDecisions.session(id: sid, spec: spec, mode: .liveness, status: .failed, outcome: o, result: nil, context: ctx,
                                          started: t0, snapshotJPEG: nil)
        #expect(bad.outcome == .denied && bad.reason == .wrongUser && bad.matchedUser == nil && bad.claimedUser == "alice")
        // A spoof caught by the passive cues: audited and mailed as `spoof` (not `error`), and its webhook fires `spoof`.
        o.reason = "presentation_attack"; o.live = false; o.denial = .spoof
        let padSpoof = ServerDecisions.session(id: sid, spec: spec, mode: .liveness, status: .failed, outcome: o, result: nil, context: ctx,
                                               started: t0, snapshotJPEG: nil)
        #expect(padSpoof.reason == .spoof && padSpoof.headline == "Unauthorized — spoof detected")
        #expect(WebhookEventKind.of(padSpoof) == .spoof)
        // The reason is the typed `denial`, never parsed back from the client-facing code: a code string that says
        // something else changes nothing, and a row without a typed denial is an `error` (not counted).
        o.reason = "no_match"
        let typedSpoof = ServerDecisions.session(id: sid, spec: spec, mode: .liveness, status: .failed, outcome: o, result: nil,
                                                 context: ctx, started: t0, snapshotJPEG: nil)
        #expect(typedSpoof.reason == .spoof && WebhookEventKind.of(typedSpoof) == .spoof)
        o.reason = "presentation_attack"; o.denial = nil
        #expect(ServerDecisions.session(id: sid, spec: spec, mode: .liveness, status: .failed, outcome: o, result: nil,
                                        context: ctx, started: t0, snapshotJPEG: nil).reason == .error)
        var expiredOutcome = SessionOutcome.empty
        expiredOutcome.reason = "expired"; expiredOutcome.denial = StreamCloseCode.expired.denialReason
        let expired = ServerDecisions.session(id: sid, spec: spec, mode: .liveness, status: .expired, outcome: expiredOutcome, result: nil,
                                              context: ctx, started: t0, snapshotJPEG: nil)
        #expect(expired.outcome == .denied && expired.reason == .timeout)
        // The identity-continuity cue is a spoof only when the typed failure says the person changed.
        let changed = LivenessResult(live: false, plan: plan, challenges: [], failure: .identityChanged(distance: 0.7, threshold: 0.6),
                                     frames: 30, evidence: [], baseline: nil)
        o.denial = changed.denialReason
        let swapped = ServerDecisions.session(id: sid, spec: spec, mode: .liveness, status: .failed, outcome: o, result: changed,
                                              context: ctx, started: t0, snapshotJPEG: nil)
        #expect(swapped.reason == .spoof && swapped.cues.first?.verdict == .spoof)

        let v = ServerDecisions.verify(user: "bob", match: false, distance: 0.8, threshold: 0.6, probes: 1, context: ctx, snapshotJPEG: nil)
        #expect(v.outcome == .denied && v.reason == .wrongUser && v.claimedUser == "bob" && v.source == "http:192.0.2.7")
        let i = ServerDecisions.identify(user: "bob", distance: 0.4, threshold: 0.6, probes: 2, context: ctx, snapshotJPEG: nil)
        #expect(i.outcome == .authorized && i.matchedUser == "bob" && i.claimedUser == nil)
        let u = ServerDecisions.identify(user: nil, distance: 0.9, threshold: 0.6, probes: 1, context: ctx, snapshotJPEG: nil)
        #expect(u.outcome == .denied && u.reason == .unknownFace)

        // The audit record and the webhook body carry the references.
        let rec = AuditRecord(ok, snapshotStored: false)
        #expect(rec.context?["session"] == sid)
        let hook = try JSONSerialization.jsonObject(with: WebhookEvent(decision: ok, host: "h").jsonBody()) as! [String: Any]
        #expect((hook["context"] as? [String: String])?["api_key"] == "0123456789ab")

        #expect(ServerDecisions.snapshot(fromUpload: Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2])) != nil)
        #expect(ServerDecisions.snapshot(fromUpload: Data([0x89, 0x50, 0x4E, 0x47, 1, 2])) == nil)   // PNG is not kept
        #expect(ServerDecisions.snapshot(fromUpload: Data(count: ServerDecisions.maxSnapshotBytes + 1)) == nil)
    }

    // MARK: end to end

    @Test("verify, identify and a cancelled session are audited (GET /v1/audit, JSON lines), signed webhooks arrive, mail on denial; no lock or voice")
    func auditWebhooksMail() async throws {
        guard Paths.hasTestImages, Receivers.hasPython else { try Test.cancel("test images or python3 missing — run `make testdata`") }
        let withMail = Receivers.hasAiosmtpd
        let rig = try ActionsRig(mail: withMail)
        let hookPort = Receivers.freePort(), mailPort = Receivers.freePort()
        let hooks = try SinkProcess("webhook_sink.py", ["--port", "\(hookPort)", "--out", rig.hookInbox, "--secret", rig.secret])
        defer { hooks.stop() }
        let smtp = withMail ? try SinkProcess("smtp_sink.py", ["--port", "\(mailPort)", "--out", rig.mailInbox]) : nil
        defer { smtp?.stop() }
        let cfg = try rig.load(hookPort: hookPort, mailPort: mailPort)

        let obama = try Data(contentsOf: URL(fileURLWithPath: Paths.testImage("obama.jpg")))
        let obama2 = try Data(contentsOf: URL(fileURLWithPath: Paths.testImage("obama2.jpg")))
        let biden = try Data(contentsOf: URL(fileURLWithPath: Paths.testImage("biden.jpg")))
        let c = Harness.config { $0.allowImageProbes = true }   // verify-key image probes below (opt-in, #14 item 6)
        let server = try await FaceGateServer(config: c, galleryKey: GalleryKey.generate(), actions: cfg)
        let actions = try #require(server.actions)
        try await server.application().test(.live) { client in
            let admin = try await APIKeys.create(in: server.store, name: "admin", scope: .admin).key
            let verify = try await APIKeys.create(in: server.store, name: "backend", scope: .verify).key
            await server.keys.invalidate()
            let verifyID = try #require(APIKeys.id(of: verify))

            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [obama.base64EncodedString()]]).status == 201)
            let yes = try await client.json(.post, "/v1/verify", key: verify, body: ["user": "obama", "image": obama2.base64EncodedString()])
            #expect(yes.json["match"] as? Bool == true)
            let no = try await client.json(.post, "/v1/verify", key: verify, body: ["user": "obama", "image": biden.base64EncodedString()])
            #expect(no.json["match"] as? Bool == false)
            let unknown = try await client.json(.post, "/v1/identify", key: verify, body: ["image": biden.base64EncodedString()])
            #expect(unknown.status == 200)
            #expect(unknown.json["user"] is NSNull || unknown.json["user"] == nil)

            let created = try await client.json(.post, "/v1/sessions", key: verify, body: [:])
            let sid = try #require(created.json["id"] as? String)
            let out = try await streamFrames(port: client.port!, websocket: created.json["websocket"] as! String, frames: []) { w in
                try await w.write(.text(#"{"type":"cancel"}"#))
            }
            #expect(out.messages.contains { $0["type"] as? String == "error" && $0["code"] as? String == "cancelled" })

            // Audit: visible through the API within a few seconds (written off the response path).
            #expect(try await client.json(.get, "/v1/audit?limit=10", key: verify).status == 403)
            #expect(try await client.json(.get, "/v1/audit?limit=0", key: admin).status == 400)
            var records: [[String: Any]] = []
            let all = try await eventually(30) {
                records = try await client.json(.get, "/v1/audit?limit=10", key: admin).json["records"] as? [[String: Any]] ?? []
                return records.count >= 4
            }
            #expect(all, "audit records: \(records)")
            #expect(records.count == 4)
            // Newest first: session, identify, verify (denied), verify (authorized).
            let session = try #require(records.first { $0["id"] as? String == sid }, "\(records)")
            #expect(session["decision"] as? String == "denied")
            #expect(session["reason"] as? String == "cancelled")
            #expect(session["source"] as? String == "ws:127.0.0.1")
            let sctx = try #require(session["context"] as? [String: String])
            #expect(sctx["session"] == sid && sctx["api_key"] == verifyID && sctx["client_ip"] == "127.0.0.1")
            let granted = try #require(records.first { $0["decision"] as? String == "authorized" })
            #expect(granted["claimed_user"] as? String == "obama" && granted["matched_user"] as? String == "obama")
            #expect((granted["distance"] as? Double ?? 1) < (granted["threshold"] as? Double ?? 0))
            #expect((granted["context"] as? [String: String])?["route"] == "/v1/verify")
            let wrong = try #require(records.first { $0["reason"] as? String == "wrongUser" })
            #expect(wrong["claimed_user"] as? String == "obama")
            let ident = try #require(records.first { $0["reason"] as? String == "unknownFace" })
            #expect((ident["context"] as? [String: String])?["route"] == "/v1/identify")
            // The uploaded probe is the snapshot, sealed with the gallery key.
            let snapRef = try #require(granted["snapshot"] as? String)
            #expect(try actions.dispatcher.audit?.snapshot(snapRef) == obama2)
            let filtered = try await client.json(.get, "/v1/audit?user=obama&decision=authorized", key: admin).json["records"] as? [Any]
            #expect(filtered?.count == 1)

            // The JSON-lines copy has the same records.
            let lines = try String(contentsOfFile: rig.dir + "/audit.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 4)
            #expect(lines.contains { $0.contains(sid) })

            // Webhooks: enrolled + 4 decisions, each signed (checked by the Python receiver).
            var got: [[String: Any]] = []
            #expect(await eventually(60) { got = Receivers.webhooks(rig.hookInbox); return got.count >= 5 }, "webhooks: \(got.count)")
            #expect(got.allSatisfy { $0["signature_valid"] as? Bool == true })
            let events = got.map { ($0["headers"] as? [String: String])?["X-FaceGate-Event"] ?? "" }
            #expect(events.sorted() == ["authorized", "denied", "denied", "denied", "enrolled"], "\(events)")
            let bodies = got.compactMap { try? JSONSerialization.jsonObject(with: Data(($0["body"] as? String ?? "").utf8)) as? [String: Any] }
            let sessionHook = try #require(bodies.first { $0["decision_id"] as? String == sid })
            #expect((sessionHook["context"] as? [String: String])?["session"] == sid)
            #expect(bodies.allSatisfy { $0["snapshotJPEG"] == nil && $0["snapshot"] == nil })

            if withMail {
                // One alert per denial (verify, identify, session), none for the authorized verify.
                #expect(await eventually(60) { Receivers.received(rig.mailInbox, ext: "eml").count >= 3 })
                try? await Task.sleep(for: .milliseconds(500))
                #expect(Receivers.received(rig.mailInbox, ext: "eml").count == 3)
            }
            #expect(actions.counts.dispatched == 4 && actions.counts.failed == 0)
        }
        await server.shutdown()
        // Lock and voice never run on a server.
        #expect(!FileManager.default.fileExists(atPath: rig.dir + "/LOCKED"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: rig.dir + "/voice")) ?? []).isEmpty)
    }

    @Test("a streamed session (recorded blink) is audited under its session id with the outcome it reported, and its webhook is sent")
    func streamedSessionAudited() async throws {
        guard Paths.hasFixtures, Receivers.hasPython else { try Test.cancel("fixtures or python3 missing") }
        let rig = try ActionsRig(mail: false)
        let hookPort = Receivers.freePort()
        let hooks = try SinkProcess("webhook_sink.py", ["--port", "\(hookPort)", "--out", rig.hookInbox, "--secret", rig.secret])
        defer { hooks.stop() }
        let cfg = try rig.load(hookPort: hookPort, mailPort: 0)
        let frames = try videoFrames(Paths.fixture(Paths.blinkVideo), limit: 170, every: 2)   // ~14 s at 12 fps
        let server = try await FaceGateServer(config: Harness.config(), galleryKey: GalleryKey.generate(), actions: cfg)
        let actions = try #require(server.actions)
        try await server.application().test(.live) { client in
            let created = try await client.json(.post, "/v1/sessions", body: ["plan": ["blink"]])
            let sid = try #require(created.json["id"] as? String)
            let out = try await streamFrames(port: client.port!, websocket: created.json["websocket"] as! String, frames: frames)
            let result = try #require(out.result, "no result; messages: \(out.messages.suffix(3))")
            let status = try await client.json(.get, "/v1/sessions/\(sid)").json["status"] as? String
            // Whatever this (real-time, shared-machine) run decided, the audit says the same.
            await actions.drain()
            let rec = try #require(try actions.records(AuditQuery(limit: 5))?.first { $0.id == sid })
            #expect(rec.decision == ((result["passed"] as? Bool == true) ? .authorized : .denied))
            #expect((status == "succeeded") == (rec.decision == .authorized))
            #expect(rec.source == "ws:127.0.0.1")
            #expect(rec.context?["session"] == sid)
            #expect(rec.challenges.map(\.name) == ["blink"])
            #expect(rec.snapshot != nil)                     // the last frame, sealed
            #expect((rec.duration ?? 0) > 1)
            var got: [[String: Any]] = []
            #expect(await eventually(60) { got = Receivers.webhooks(rig.hookInbox); return !got.isEmpty })
            let body = try #require(got.first.flatMap { try? JSONSerialization.jsonObject(with: Data(($0["body"] as? String ?? "").utf8)) as? [String: Any] })
            #expect(body["decision_id"] as? String == sid)
            #expect(body["event"] as? String == (rec.decision == .authorized ? "authorized" : "denied"))
            #expect(got.first?["signature_valid"] as? Bool == true)
        }
        await server.shutdown()
    }
}
