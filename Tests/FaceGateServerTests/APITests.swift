import FaceGate
import FaceGateCore
import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import NIOCore
import Testing

@Suite("Server API", .serialized, .enabled(if: Paths.hasModels, "face models missing — run `make models`"))
struct APITests {
    @Test("operations: healthz, readyz, metrics, openapi, pages with CSP")
    func operations() async throws {
        try await Harness.with(Harness.config()) { _, client in
            #expect(try await client.json(.get, "/healthz").status == 200)
            let ready = try await client.json(.get, "/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["status"] as? String == "ready")
            #expect(ready.json["workers"] as? Int == 1)
            let m = try await client.execute(uri: "/metrics", method: .get)
            let text = String(buffer: m.body)
            for name in ["facegate_frame_latency_seconds_bucket", "facegate_queue_depth", "facegate_sessions_total{outcome=\"failed\"}",
                         "facegate_active_sessions", "facegate_sessions_shed_total"] {
                #expect(text.contains(name), "metrics lack \(name)")
            }
            let api = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(String(buffer: api.body).hasPrefix("openapi: 3.1"))
            for page in ["/", "/enroll"] {
                let p = try await client.execute(uri: page, method: .get)
                #expect(p.status == .ok)
                #expect(p.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
                #expect(String(buffer: p.body).contains("<html lang=\"en\">"))
            }
            for asset in ["/app.js", "/style.css"] { #expect(try await client.execute(uri: asset, method: .get).status == .ok) }
            #expect(try await client.json(.get, "/nope").status == 404)
        }
    }

    @Test("OpenAPI document lists exactly the router's routes")
    func openAPIMatchesRouter() async throws {
        let s = try await Harness.server(Harness.config())
        defer { Task { await s.shutdown() } }
        let routes = Set(s.router().routes.map { "\($0.method.rawValue.uppercased()) \($0.path)" })
        let doc = try String(contentsOf: Paths.repo.appendingPathComponent("Sources/FaceGateServer/Public/openapi.yaml"), encoding: .utf8)
        var documented = Set<String>()
        var inPaths = false, current: String?
        for line in doc.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") { current = String(line.dropFirst(2).dropLast()); continue }
            let t = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    "), !line.hasPrefix("     "), ["get:", "post:", "delete:", "put:", "patch:"].contains(t), let c = current {
                documented.insert("\(t.dropLast().uppercased()) \(c)")
            }
        }
        #expect(!documented.isEmpty)
        #expect(routes == documented, "router only: \(routes.subtracting(documented).sorted()); document only: \(documented.subtracting(routes).sorted())")
    }

    @Test("keys: local mode without keys; then 401 without/with a bad key, 403 on scope, revoked key refused")
    func keysAndScopes() async throws {
        try await Harness.with(Harness.config()) { server, client in
            // No key exists and we are on loopback: local mode.
            #expect(try await client.json(.post, "/v1/sessions", body: [:]).status == 201)
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            await server.keys.invalidate()
            let none = try await client.json(.post, "/v1/sessions", body: [:])
            #expect(none.status == 401)
            #expect(errorCode(none.json) == "unauthorized")
            #expect(try await client.json(.post, "/v1/sessions", key: "fgk.000000000000.wrongwrongwrongwrongwrongwrong", body: [:]).status == 401)
            #expect(try await client.json(.post, "/v1/sessions", key: verify + "x", body: [:]).status == 401)
            #expect(try await client.json(.post, "/v1/sessions", key: verify, body: [:]).status == 201)
            // X-API-Key works too.
            #expect(try await client.json(.post, "/v1/sessions", body: [:], headers: [HTTPField.Name("X-API-Key")!: verify]).status == 201)
            let forbidden = try await client.json(.delete, "/v1/users/nobody", key: verify)
            #expect(forbidden.status == 403)
            #expect(try await client.json(.get, "/v1/users", key: verify).status == 403)
            #expect(try await client.json(.get, "/v1/users", key: admin).status == 200)
            let seeded = try await client.json(.post, "/v1/sessions", key: verify, body: ["plan": ["blink"]])
            #expect(seeded.status == 403)
            #expect(try await client.json(.post, "/v1/sessions", key: admin, body: ["plan": ["blink"]]).status == 201)
            let id = APIKeys.id(of: verify)!
            #expect(try await server.store.revokeKey(id: id, at: Date()))
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/sessions", key: verify, body: [:]).status == 401)
            // Keys are stored hashed: the plaintext is nowhere in the record.
            let rec = try await server.store.key(id: id)!
            #expect(rec.hash == Secrets.sha256Hex(verify))
            #expect(!rec.hash.contains(verify))
        }
    }

    @Test("security: refuses a non-loopback bind without keys; rate limits; body size limit; CORS allow-list")
    func security() async throws {
        let off = try await Harness.server(Harness.config { $0.host = "0.0.0.0" })
        await #expect(throws: ServerStartError.self) { try await off.checkBindPolicy() }
        _ = try await APIKeys.create(in: off.store, name: "a", scope: .admin)
        await off.keys.invalidate()
        try await off.checkBindPolicy()   // with a key it may bind
        await off.shutdown()

        let c = Harness.config {
            $0.ipRate = .init(rate: 0.5, burst: 4)
            $0.maxBodyBytes = 4096
            $0.corsOrigins = ["https://app.example"]
        }
        try await Harness.with(c) { _, client in
            let big = String(repeating: "A", count: 8000)
            let tooLarge = try await client.json(.post, "/v1/users", body: ["name": "x", "images": [big]])
            #expect(tooLarge.status == 413)
            #expect(errorCode(tooLarge.json) == "too_large")
            let pre = try await client.execute(uri: "/v1/sessions", method: .options,
                                               headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST"])
            #expect(pre.status == .noContent)
            #expect(pre.headers[.accessControlAllowOrigin] == "https://app.example")
            let other = try await client.execute(uri: "/healthz", method: .get, headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let allowed = try await client.execute(uri: "/healthz", method: .get, headers: [.origin: "https://app.example"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example")
            var statuses: [Int] = []
            var retry: String?
            for _ in 0..<6 {
                let r = try await client.json(.post, "/v1/sessions", body: [:])
                statuses.append(r.status)
                if r.status == 429 { retry = r.headers[.retryAfter] }
            }
            #expect(statuses.contains(429), "statuses: \(statuses)")
            #expect(retry != nil)
        }
    }

    @Test("sessions: create, validation, status, stream errors over HTTP, expiry, load shedding")
    func sessionsHTTP() async throws {
        try await Harness.with(Harness.config { $0.sessionTTL = 2 }) { server, client in
            let created = try await client.json(.post, "/v1/sessions", body: ["challenges": 2])
            #expect(created.status == 201)
            let id = try #require(created.json["id"] as? String)
            let ws = try #require(created.json["websocket"] as? String)
            #expect(ws.hasPrefix("ws://") && ws.contains("/v1/sessions/\(id)/stream?token="))
            #expect(created.json["expiresAt"] != nil)
            let st = try await client.json(.get, "/v1/sessions/\(id)")
            #expect(st.status == 200)
            #expect(st.json["status"] as? String == "created")
            #expect(st.json["challenges"] == nil, "the plan must not be revealed before the session ends")
            #expect(try await client.json(.get, "/v1/sessions/unknown").status == 404)
            #expect(try await client.json(.post, "/v1/sessions", body: ["challenges": 0]).status == 400)
            #expect(try await client.json(.post, "/v1/sessions", body: ["challenges": 9]).status == 400)
            #expect(try await client.json(.post, "/v1/sessions", body: ["mode": "turbo"]).status == 422)
            #expect(try await client.json(.post, "/v1/sessions", body: ["user": "ghost"]).status == 404)
            #expect(try await client.json(.post, "/v1/sessions", body: ["plan": ["fly"]]).status == 400)
            let malformed = try await client.execute(uri: "/v1/sessions", method: .post, headers: [.contentType: "application/json"],
                                                     body: ByteBuffer(string: "{not json"))
            #expect(malformed.status == .badRequest)
            let token = String(ws.split(separator: "=").last!)
            #expect(try await client.json(.get, "/v1/sessions/\(id)/stream?token=\(token)").status == 426)
            #expect(try await client.json(.get, "/v1/sessions/\(id)/stream?token=wrong").status == 401)
            #expect(try await client.json(.get, "/v1/sessions/\(id)/stream").status == 401)
            try await Task.sleep(for: .milliseconds(2300))
            #expect(try await client.json(.get, "/v1/sessions/\(id)").json["status"] as? String == "expired")
            let gone = try await client.json(.get, "/v1/sessions/\(id)/stream?token=\(token)")
            #expect(gone.status == 410)
            #expect(errorCode(gone.json) == "expired")
            _ = server
        }
        try await Harness.with(Harness.config { $0.sessionsPerWorker = 0 }) { server, client in
            let shed = try await client.json(.post, "/v1/sessions", body: [:])
            #expect(shed.status == 503)
            #expect(shed.headers[.retryAfter] != nil)
            #expect(server.metrics.render().contains("facegate_sessions_shed_total 1"))
        }
    }

    /// Opens a session and runs `custom` on its stream.
    func streamCase(_ client: any TestClientProtocol, body: [String: Any] = [:],
                    _ custom: @escaping @Sendable (WebSocketOutboundWriter) async throws -> Void) async throws -> (StreamOutcome, String) {
        let created = try await client.json(.post, "/v1/sessions", body: body)
        let ws = try #require(created.json["websocket"] as? String)
        return (try await streamFrames(port: client.port!, websocket: ws, frames: [], custom: custom), created.json["id"] as! String)
    }

    @Test("stream errors: malformed, oversized, wrong order, ahead of real time, too slow, single use")
    func streamErrors() async throws {
        guard Paths.hasTestImages else { try Test.cancel("test images missing — run `make testdata`") }
        let jpeg = try [UInt8](Image.read(Paths.testImage("obama.jpg")).limited(maxSide: 640).jpeg(quality: 80)!)
        #expect(jpeg.count < 200_000)
        // Lockout off: this test fails many sessions from one address on purpose.
        try await Harness.with(Harness.config { $0.maxFrameBytes = 200_000; $0.frameTimeout = 1; $0.lockoutEnabled = false }) { server, client in
            let (m, id) = try await streamCase(client) { out in try await out.write(.binary(ByteBuffer(bytes: [1, 2, 3]))) }
            #expect(m.closeCode == 4400)
            #expect(m.messages.contains { $0["type"] as? String == "ready" })
            let st = try await client.json(.get, "/v1/sessions/\(id)")
            #expect(st.json["status"] as? String == "failed")
            #expect((st.json["decision"] as? [String: Any])?["reason"] as? String == "malformed_frame")

            let (notJPEG, _) = try await streamCase(client) { out in try await out.write(.binary(frameMessage(ms: 1, Array(repeating: 7, count: 100)))) }
            #expect(notJPEG.closeCode == 4400)
            let (text, _) = try await streamCase(client) { out in try await out.write(.text("hello")) }
            #expect(text.closeCode == 4400)

            let (big, _) = try await streamCase(client) { out in
                try await out.write(.binary(frameMessage(ms: 1, [0xFF, 0xD8] + Array(repeating: 0, count: 250_000))))
            }
            #expect(big.closeCode == 4413)

            let (order, _) = try await streamCase(client) { out in
                try await out.write(.binary(frameMessage(ms: 1000, jpeg)))
                try await out.write(.binary(frameMessage(ms: 900, jpeg)))
            }
            #expect(order.closeCode == 4409)
            #expect(order.messages.contains { $0["type"] as? String == "error" && $0["code"] as? String == "out_of_order" })

            let (ahead, _) = try await streamCase(client) { out in
                try await out.write(.binary(frameMessage(ms: 0, jpeg)))
                try await out.write(.binary(frameMessage(ms: 10_000, jpeg)))   // 10 s of "capture" in no time
            }
            #expect(ahead.closeCode == 4422)

            let (slow, _) = try await streamCase(client) { out in
                try await out.write(.binary(frameMessage(ms: 0, jpeg)))
                try await Task.sleep(for: .milliseconds(2500))
            }
            #expect(slow.closeCode == 4408)
            #expect(slow.messages.contains { $0["type"] as? String == "frame" }, "the first frame is answered")

            // Single use: a second connection to a used session is refused before upgrade.
            let created = try await client.json(.post, "/v1/sessions", body: [:])
            let ws = created.json["websocket"] as! String
            _ = try await streamFrames(port: client.port!, websocket: ws, frames: []) { out in try await out.write(.text("{\"type\":\"cancel\"}")) }
            await #expect(throws: (any Error).self) {
                _ = try await streamFrames(port: client.port!, websocket: ws, frames: []) { _ in }
            }
            let token = String(ws.split(separator: "=").last!)
            #expect(try await client.json(.get, "/v1/sessions/\(created.json["id"] as! String)/stream?token=\(token)").status == 409)
            #expect(server.metrics.render().contains("facegate_frames_rejected_total"))
        }
        try await Harness.with(Harness.config { $0.sessionTTL = 1.5; $0.lockoutEnabled = false }) { _, client in
            let (exp, _) = try await streamCase(client) { out in
                for i in 0..<40 {
                    try await out.write(.binary(frameMessage(ms: Double(i) * 100, jpeg)))
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(exp.closeCode == 4410)
        }
    }

    @Test("a recorded live blink passes a seeded blink session; its frames enroll a user; a second session verifies once")
    func liveSessionEndToEnd() async throws {
        guard Paths.hasFixtures else { try Test.cancel("fixtures missing — ../shared/fixtures must sit beside the repo") }
        let frames = try videoFrames(Paths.fixture(Paths.blinkVideo), limit: 170, every: 2)   // ~14 s at 12 fps
        try await Harness.with(Harness.config()) { server, client in
            let created = try await client.json(.post, "/v1/sessions", body: ["plan": ["blink"]])
            let id = try #require(created.json["id"] as? String)
            let out = try await streamFrames(port: client.port!, websocket: created.json["websocket"] as! String, frames: frames)
            let result = try #require(out.result, "no result; messages: \(out.messages.suffix(3))")
            #expect(result["passed"] as? Bool == true, "\(result)")
            #expect(out.closeCode == 1000)
            // The browser only sees pass/fail: no score, distance or threshold in any message.
            for m in out.messages { #expect(m["distance"] == nil && m["threshold"] == nil && m["score"] == nil) }
            #expect(out.messages.contains { ($0["prompt"] as? [String: Any])?["challenge"] as? String == "blink" })
            let st = try await client.json(.get, "/v1/sessions/\(id)")
            #expect(st.json["status"] as? String == "succeeded")
            let decision = try #require(st.json["decision"] as? [String: Any])
            #expect(decision["live"] as? Bool == true)
            #expect((decision["evidence"] as? [Any])?.isEmpty == false)
            #expect(st.json["challenges"] as? [String] == ["blink"])

            #expect(try await client.json(.post, "/v1/users", body: ["name": "blinker"]).status == 201)
            let add = try await client.json(.post, "/v1/users/blinker/templates", body: ["session": id])
            #expect(add.status == 201, "\(add.json)")
            #expect((add.json["added"] as? Int ?? 0) >= 1)
            #expect(try await client.json(.post, "/v1/users/blinker/templates", body: ["session": id]).status == 409)
            // A session's result serves one decision (#17): the enrollment used it up.
            let replay = try await client.json(.post, "/v1/verify", body: ["user": "blinker", "session": id])
            #expect(replay.status == 409 && errorCode(replay.json) == "already_used", "\(replay.json)")
            // A second live session for the user: verified during the stream, then once by session.
            let second = try await client.json(.post, "/v1/sessions", body: ["plan": ["blink"], "user": "blinker"])
            let id2 = try #require(second.json["id"] as? String)
            let out2 = try await streamFrames(port: client.port!, websocket: second.json["websocket"] as! String, frames: frames)
            #expect(out2.result?["passed"] as? Bool == true, "\(out2.messages.suffix(3))")
            let v = try await client.json(.post, "/v1/verify", body: ["user": "blinker", "session": id2])
            #expect(v.json["match"] as? Bool == true, "\(v.json)")
            #expect(try await client.json(.post, "/v1/identify", body: ["session": id2]).status == 409)
            #expect(server.metrics.render().contains("facegate_sessions_total{outcome=\"succeeded\"} 2"))
        }
    }

    @Test("identity API: users from images, list, verify, identify, reject unknown, errors, delete, enrollment links, lockout")
    func identity() async throws {
        guard Paths.hasTestImages else { try Test.cancel("test images missing — run `make testdata`") }
        let obama = try base64Image(Paths.testImage("obama.jpg"))
        let obama2 = try base64Image(Paths.testImage("obama2.jpg"))
        let biden = try base64Image(Paths.testImage("biden.jpg"))
        let c = Harness.config { $0.lockout = LockoutPolicy(maxFailures: 3, window: 60, duration: 60) }
        try await Harness.with(c) { server, client in
            let made = try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [obama]])
            #expect(made.status == 201, "\(made.json)")
            #expect(made.json["templates"] as? Int == 1)
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama"]).status == 409)
            #expect(try await client.json(.post, "/v1/users", body: ["name": ""]).status == 400)
            #expect(try await client.json(.post, "/v1/users", body: ["nome": "x"]).status == 400)
            let pending = try await client.json(.post, "/v1/users", body: ["name": "biden"])
            #expect(pending.json["pending"] as? Bool == true)
            let listed = try await client.json(.get, "/v1/users")
            let users = try #require(listed.json["users"] as? [[String: Any]])
            #expect(users.map { $0["name"] as? String } == ["biden", "obama"])
            #expect(try await client.json(.post, "/v1/users/biden/templates", body: ["images": [biden]]).status == 201)
            #expect(try await client.json(.post, "/v1/users/nobody/templates", body: ["images": [biden]]).status == 404)
            #expect(try await client.json(.post, "/v1/users/biden/templates", body: [:]).status == 400)

            let v = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": obama2])
            #expect(v.status == 200)
            #expect(v.json["match"] as? Bool == true)
            #expect((v.json["distance"] as? Double ?? 1) < (v.json["threshold"] as? Double ?? 0))
            let id1 = try await client.json(.post, "/v1/identify", body: ["image": obama2])
            #expect(id1.json["user"] as? String == "obama")
            #expect(try await client.json(.post, "/v1/verify", body: ["user": "ghost", "image": obama2]).status == 404)
            let bad64 = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": "%%%"])
            #expect(bad64.status == 400)
            let noFace = try await client.json(.post, "/v1/identify", body: ["image": Data(count: 100).base64EncodedString()])
            #expect(noFace.status == 422)
            #expect(try await client.json(.post, "/v1/identify", body: [:]).status == 400)

            // Enrollment links: one-time.
            let link = try await client.json(.post, "/v1/users/obama/enrollment-links")
            #expect(link.status == 201)
            let token = try #require(link.json["token"] as? String)
            #expect((link.json["url"] as? String)?.contains("/enroll#link=") == true)
            #expect(try await client.json(.get, "/v1/enrollments/\(token)").json["user"] as? String == "obama")
            let s = try await client.json(.post, "/v1/enrollments/\(token)/sessions")
            #expect(s.status == 201)
            let sid = try #require(s.json["id"] as? String)
            #expect(try await client.json(.get, "/v1/sessions/\(sid)").json["mode"] as? String == "enroll")
            let again = try await client.json(.post, "/v1/enrollments/\(token)/sessions")
            #expect(again.status == 410)
            #expect(errorCode(again.json) == "link_used")
            #expect(try await client.json(.get, "/v1/enrollments/nope").status == 404)

            // Lockout: 3 failed verifications lock the claimed user.
            for _ in 0..<3 {
                let r = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": biden])
                #expect(r.json["match"] as? Bool == false)
            }
            let locked = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": obama2])
            #expect(locked.status == 423)
            #expect(errorCode(locked.json) == "locked_out")
            #expect(locked.headers[.retryAfter] != nil)

            #expect(try await client.json(.delete, "/v1/users/biden").status == 204)
            #expect(try await client.json(.delete, "/v1/users/biden").status == 404)
            #expect(await server.index.userCount == 1)
        }
    }
}
