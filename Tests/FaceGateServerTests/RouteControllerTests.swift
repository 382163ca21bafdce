import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import FaceGateServer

/// #18 item 6 (server): routes on route groups guarded by a scope middleware, typed errors answered by one mapping,
/// the browser's result message chosen from the typed ending, uploaded photos through `EnrollmentSession`.
@Suite("Server routes: scope groups, typed errors, uploads through EnrollmentSession (#18)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models or test images missing — run `make models testdata`"))
struct RouteControllerTests {
    /// Every key-guarded route with the scope it needs: no key → 401, a key one scope below → 403 naming the scope,
    /// the needed key → past the guard (the route's own answer). Capability and public routes answer without a key.
    @Test("each /v1 route's group enforces its scope; capability and public routes need no key")
    func scopeGroups() async throws {
        try await Harness.with(Harness.config()) { server, client in
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            let enroll = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            await server.keys.invalidate()
            let keyFor: [APIScope: String] = [.verify: verify, .enroll: enroll, .admin: admin]
            let below: [APIScope: String?] = [.verify: nil, .enroll: verify, .admin: enroll]
            // (method, path, scope, the route's own status with the needed key)
            let routes: [(HTTPRequest.Method, String, APIScope, Int)] = [
                (.post, "/v1/sessions", .verify, 201),
                (.get, "/v1/sessions/nope", .verify, 404),
                (.post, "/v1/verify", .verify, 400),
                (.post, "/v1/identify", .verify, 400),
                (.get, "/v1/users", .enroll, 200),
                (.post, "/v1/users", .enroll, 400),
                (.post, "/v1/users/nobody/templates", .enroll, 404),
                (.post, "/v1/users/nobody/enrollment-links", .enroll, 404),
                (.delete, "/v1/users/nobody", .admin, 404),
                (.get, "/v1/audit", .admin, 404),
            ]
            for (method, path, scope, own) in routes {
                let body: [String: Any]? = method == .post ? [:] : nil
                let none = try await client.json(method, path, body: body)
                #expect(none.status == 401 && errorCode(none.json) == "unauthorized", "\(method) \(path) without a key: \(none.status) \(none.json)")
                if let key = below[scope]! {
                    let r = try await client.json(method, path, key: key, body: body)
                    let message = (r.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(r.status == 403 && errorCode(r.json) == "forbidden" && message.contains("'\(scope.rawValue)'"),
                            "\(method) \(path) with a key below \(scope): \(r.status) \(r.json)")
                }
                let ok = try await client.json(method, path, key: keyFor[scope]!, body: body)
                #expect(ok.status == own, "\(method) \(path) with a \(scope) key: \(ok.status) \(ok.json)")
                // A higher scope passes the same guard.
                let adm = try await client.json(method, path, key: admin, body: body)
                #expect(adm.status != 401 && adm.status != 403, "\(method) \(path) with an admin key: \(adm.status)")
            }
            // Capability routes (token in the URL) and public routes: no key, no 401.
            #expect(try await client.json(.get, "/v1/enrollments/nope").status == 404)
            #expect(try await client.json(.post, "/v1/enrollments/nope/sessions").status == 404)
            #expect(try await client.json(.get, "/v1/sessions/nope/stream?token=x").status == 404)
            #expect(try await client.json(.get, "/healthz").status == 200)
            #expect(try await client.json(.get, "/readyz").status == 200)
        }
    }

    /// One mapping for `FaceGateError`: the input's fault is 422 with the error's own text; the server's own
    /// failure is 500 `internal` without its detail (which could name paths or models).
    @Test("FaceGateError answers: 422 with a code for bad input, 500 'internal' without detail for server failures")
    func faceGateErrorAnswers() {
        let cases: [(FaceGateError, Int, String)] = [
            (.noFace("image 0"), 422, "no_face"),
            (.multipleFaces(count: 2, source: "image 0"), 422, "multiple_faces"),
            (.faceTooSmall(pixels: 20, minimum: 80, source: "image 0"), 422, "face_too_small"),
            (.unreadableMedia(path: "image 0", detail: "truncated"), 422, "unreadable_image"),
            (.badInput("bad"), 422, "bad_image"),
            (.missingFile("/x"), 422, "bad_image"),
            (.runtime("sqlite /secret/path busy"), 500, "internal"),
            (.modelMissing(name: "arcface", path: "/models/a.onnx", fix: "make models"), 500, "internal"),
            (.modelCorrupt(name: "arcface", path: "/models/a.onnx", fix: "make models"), 500, "internal"),
            (.cameraUnavailable("/dev/video0"), 500, "internal"),
        ]
        for (e, status, code) in cases {
            #expect(Int(e.status.code) == status, "\(e)")
            #expect(e.apiError.status == e.status && e.apiError.code == code, "\(e) → \(e.apiError.code)")
            if status == 422 { #expect(e.apiError.message == e.description) }
            else { #expect(!e.apiError.message.contains("/"), "a server failure leaks its detail: \(e.apiError.message)") }
        }
    }

    /// The browser's last message comes from the typed ending: every liveness failure has one, none tells a scorer
    /// anything (no numbers, no cue names, no failure text), and a presentation attack, an unconfirmed face and a
    /// replay that ended early all read alike.
    @Test("the result message is chosen from the typed ending and reveals nothing")
    func publicMessages() {
        let failures: [LivenessFailure] = [
            .noStableFace(hint: "face too small"), .challengeTimeout(challenge: .blink, seconds: 5),
            .noReturnToNeutral(challenge: .turnLeft), .wrongAction(expected: .turnLeft, performed: .turnRight),
            .reactionTooFast(challenge: .blink, latencyMs: 90), .insufficientSignal(challenge: .blink, detail: "eyes not measurable"),
            .faceLost(seconds: 1.5), .multipleFaces(count: 2), .identityChanged(distance: 0.71, threshold: 0.4),
            .sessionTimeout(seconds: 30), .inputEnded(challenge: nil), .presentationAttack(cues: []), .notConfirmed(cues: []),
        ]
        var endings: [SessionEnding] = [.verified, .enrolled, .noMatch, .notLive(nil), .identityStepFailed(.liveness), .identityStepFailed(.enroll)]
        endings += failures.map { .notLive($0) }
        for e in endings {
            let m = e.message
            #expect(!m.isEmpty)
            #expect(m.allSatisfy { !$0.isNumber }, "\(e): \(m)")
            if case .notLive(let f?) = e { #expect(m != f.description && !m.contains(f.code), "\(e): \(m)") }
        }
        let generic = SessionEnding.notLive(nil).message
        #expect(SessionEnding.notLive(.presentationAttack(cues: [])).message == generic)
        #expect(SessionEnding.notLive(.notConfirmed(cues: [])).message == generic)
        #expect(SessionEnding.notLive(.inputEnded(challenge: .blink)).message == generic)
        #expect(SessionEnding.notLive(.identityChanged(distance: 0.7, threshold: 0.4)).message == SessionEnding.noMatch.message)
        #expect(SessionEnding.identityStepFailed(.enroll).message != SessionEnding.identityStepFailed(.liveness).message)
    }

    /// An uploaded photo goes through `EnrollmentSession` (the CLI's `enroll --images` path): a darkened photo is
    /// refused by the server with the rejection `EnrollmentSession.sample(still:…)` gives the same image at the same
    /// quality level, and nothing is stored; the original photo enrolls; the same face as another user is 409.
    @Test("uploads: the enrollment gate's own rejection (422), then the duplicate-face check (409)")
    func uploadsThroughEnrollmentSession() async throws {
        let dir = Paths.tempDir("fg-upload-gate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = try Image.read(Paths.testImage("obama.jpg"))
        let dark = original.clone()
        dark.withBGRBytes { px in for k in px.indices { px[k] = UInt8(Double(px[k]) * 0.25) } }
        let darkPath = dir + "/dark.png"
        try dark.write(darkPath)
        let darkB64 = try base64Image(darkPath)
        try await Harness.with(Harness.config()) { server, client in
            let gate = server.uploadGate
            let decoded = try Image.read(darkPath)
            let expected = try await server.pool.run { engine in
                EnrollmentSession.sample(still: decoded, source: "image 0", engine: engine, gate: gate)
            }
            #expect(!expected.accepted)
            let refused = try await client.json(.post, "/v1/users", body: ["name": "dark", "images": [darkB64]])
            #expect(refused.status == 422 && errorCode(refused.json) == expected.rejections.first?.code, "\(refused.json)")
            #expect(errorCode(refused.json) == "too_dark", "\(refused.json)")
            #expect(try await server.gallery.listUsers().isEmpty)

            let obama = try base64Image(Paths.testImage("obama.jpg"))
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [obama]]).status == 201)
            let twice = try await client.json(.post, "/v1/users", body: ["name": "obama-again", "images": [try base64Image(Paths.testImage("obama2.jpg"))]])
            #expect(twice.status == 409 && errorCode(twice.json) == "face_belongs_to_other_user", "\(twice.json)")
            #expect(try await server.gallery.listUsers().map(\.name) == ["obama"])
        }
    }

    /// A stream cut by the session's expiry is denied as a timeout, and that one decision is counted by the lockout as
    /// it is audited (before: audited as a counted `timeout`, but the lockout was never settled).
    @Test("an expired stream counts as a failed attempt for the lockout")
    func expiredStreamCounts() async throws {
        let obama = try base64Image(Paths.testImage("obama.jpg"))
        let still = Array(try #require(Image.read(Paths.testImage("obama.jpg")).limited(maxSide: 640).jpeg(quality: 80)))
        let policy = LockoutPolicy(maxFailures: 1, window: 120, duration: 600)
        try await Harness.with(Harness.config { $0.lockout = policy; $0.sessionTTL = 2 }) { _, client in
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [obama]]).status == 201)
            let created = try await client.json(.post, "/v1/sessions", body: ["user": "obama", "plan": ["blink"]])
            #expect(created.status == 201, "\(created.json)")
            let ws = try #require(created.json["websocket"] as? String)
            // A still photo at 10 fps for 4 s: calibrates, then waits for a blink that never comes; the 2 s TTL ends it.
            let frames = (0..<40).map { (Double($0) * 0.1, still) }
            let out = try await streamFrames(port: client.port!, websocket: ws, frames: frames)
            #expect(out.closeCode == 4410, "close \(String(describing: out.closeCode)), \(out.messages.suffix(2))")
            let st = try await client.json(.get, "/v1/sessions/\(created.json["id"] as! String)")
            #expect(st.json["status"] as? String == "expired")
            let next = try await client.json(.post, "/v1/sessions", body: ["user": "obama"])
            #expect(next.status == 423 && errorCode(next.json) == "locked_out", "\(next.status) \(next.json)")
        }
    }
}
