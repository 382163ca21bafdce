import FaceGate
import FaceGateCore
import FaceGateServer
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import NIOCore
import Testing

/// Headless Chromium with a fake camera fed from a .y4m file drives the real page against a real server.
enum Browser {
    static let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    static var executable: String? { candidates.first { FileManager.default.isExecutableFile(atPath: $0) } }
    static var hasFFmpeg: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") }
    static var available: Bool { executable != nil && hasFFmpeg && Paths.hasFixtures && Paths.hasModels }

    static func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-hide_banner", "-loglevel", "error", "-y"] + args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw FaceGateError.runtime("ffmpeg \(args) failed") }
    }

    /// A live recording as the fake camera, at a webcam's 30 fps (the page picks its own rate from it): the first
    /// 5.5 s of the blink clip, which Chromium loops. Read by hand (docs/active-liveness.md manifest): blinks at
    /// 0.43, 1.63, 3.40 and 4.62 s, frontal and still throughout, so wherever the loop is when the prompt appears a
    /// clear blink follows within ≈ 2 s (the clip's later part holds the eyes closed for seconds: not a camera
    /// a blink test should loop).
    static func liveY4M(_ dir: String) throws -> String {
        let out = dir + "/live.y4m"
        try ffmpeg(["-i", Paths.fixture(Paths.blinkVideo), "-t", "5.5", "-vf", "scale=360:640,fps=30", "-pix_fmt", "yuv420p", out])
        return out
    }

    /// A still photo as the fake camera: the clip's first frame, held for 12 s.
    static func stillY4M(_ dir: String) throws -> String {
        let png = dir + "/still.png", out = dir + "/still.y4m"
        try ffmpeg(["-i", Paths.fixture(Paths.blinkVideo), "-frames:v", "1", "-vf", "scale=360:640", png])
        try ffmpeg(["-loop", "1", "-i", png, "-t", "12", "-r", "15", "-pix_fmt", "yuv420p", out])
        return out
    }

    final class Session: @unchecked Sendable {
        let process: Process
        let browserURL: String
        init(process: Process, browserURL: String) { self.process = process; self.browserURL = browserURL }
        func stop() { if process.isRunning { process.terminate() }; process.waitUntilExit() }

        /// PNG screenshot of the page through the DevTools protocol (browser endpoint: find the page target,
        /// attach in flat mode, capture).
        func screenshot(to path: String) async throws {
            let box = MessageBox()
            _ = try await WebSocketClient.connect(url: browserURL, configuration: .init(maxFrameSize: 1 << 24), logger: .init(label: "cdp")) { inbound, outbound, _ in
                var it = inbound.messages(maxSize: 1 << 26).makeAsyncIterator()
                func call(_ id: Int, _ method: String, _ params: [String: Any], session: String? = nil) async throws -> [String: Any] {
                    var msg: [String: Any] = ["id": id, "method": method, "params": params]
                    if let session { msg["sessionId"] = session }
                    try await outbound.write(.text(String(decoding: try JSONSerialization.data(withJSONObject: msg), as: UTF8.self)))
                    while let m = try await it.next() {
                        if case .text(let s) = m, let o = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], o["id"] as? Int == id {
                            return o["result"] as? [String: Any] ?? [:]
                        }
                    }
                    return [:]
                }
                let targets = try await call(1, "Target.getTargets", [:])["targetInfos"] as? [[String: Any]] ?? []
                guard let page = targets.first(where: { $0["type"] as? String == "page" })?["targetId"] as? String else { return }
                guard let sid = try await call(2, "Target.attachToTarget", ["targetId": page, "flatten": true])["sessionId"] as? String else { return }
                box.add(try await call(3, "Page.captureScreenshot", ["format": "png"], session: sid))
                try await outbound.close(.normalClosure, reason: nil)
            }
            guard let b64 = box.all.first?["data"] as? String, let png = Data(base64Encoded: b64) else {
                throw FaceGateError.runtime("no screenshot data")
            }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try png.write(to: URL(fileURLWithPath: path))
        }
    }

    static func launch(url: String, camera: String, profile: String) throws -> Session {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable!)
        p.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
                       "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                       "--use-file-for-fake-video-capture=\(camera)",
                       // a headless page counts as hidden: keep its timers and rendering at full rate
                       "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                       "--disable-backgrounding-occluded-windows", "--remote-debugging-port=0", "--remote-allow-origins=*",
                       "--user-data-dir=\(profile)", "--window-size=420,860", url]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…"
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let d = err.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
            if let r = text.range(of: "DevTools listening on "), text[r.upperBound...].contains("\n") {
                let url = String(text[r.upperBound...].prefix { !$0.isWhitespace })
                // Keep draining stderr so Chromium never blocks on a full pipe.
                DispatchQueue.global().async { while !err.fileHandleForReading.availableData.isEmpty {} }
                return Session(process: p, browserURL: url)
            }
        }
        p.terminate()
        throw FaceGateError.runtime("chromium did not start: \(text.suffix(500))")
    }

    /// Frames the server processed per second of capture time in a decided session: the last evidence frame's index
    /// over its timestamp (seconds since the session's first frame); nil without evidence.
    static func processedRate(_ session: [String: Any]) -> Double? {
        let ev = ((session["decision"] as? [String: Any])?["evidence"] as? [[String: Any]]) ?? []
        guard let last = ev.max(by: { ($0["timestamp"] as? Double ?? 0) < ($1["timestamp"] as? Double ?? 0) }),
              let i = last["index"] as? Int, let t = last["timestamp"] as? Double, t > 1 else { return nil }
        return Double(i) / t
    }

    /// Opens the page on a session with a seeded plan and waits for the server's decision: the final status, the
    /// session's JSON (reason, frames, challenges) for the failure message, and the processed frame rate.
    static func run(client: any TestClientProtocol, camera: String, plan: [String], name: String, duringShot: Bool = false) async throws -> (status: String, session: String, rate: Double?) {
        let created = try await client.json(.post, "/v1/sessions", body: ["plan": plan])
        let id = try #require(created.json["id"] as? String)
        // The test client sends "Host: localhost" without a port: rebuild the page URL on the real port.
        let fragment = (created.json["url"] as! String).split(separator: "#", maxSplits: 1).last!
        let page = "http://127.0.0.1:\(client.port!)/#\(fragment)&autostart=1"
        let profile = Paths.tempDir("chromium-profile")
        let b = try launch(url: page, camera: camera, profile: profile)
        defer { b.stop(); try? FileManager.default.removeItem(atPath: profile) }
        let dir = Paths.artifacts.path
        var status = "created", shotTaken = false, last: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(500))
            last = try await client.json(.get, "/v1/sessions/\(id)").json
            status = last["status"] as? String ?? "?"
            // A screenshot pauses the page's capture for a moment (a face gap): only during the run expected to fail.
            if status == "in_progress" && !shotTaken && (duringShot || ProcessInfo.processInfo.environment["FACEGATE_DEBUG_SHOTS"] != nil) {
                try? await Task.sleep(for: .seconds(2))
                do { try await b.screenshot(to: "\(dir)/\(name)-during.png") } catch { print("screenshot failed: \(error)") }
                shotTaken = true
            }
            if ["succeeded", "failed", "expired"].contains(status) { break }
        }
        try? await Task.sleep(for: .milliseconds(700))   // let the page render the result
        do { try await b.screenshot(to: "\(dir)/\(name)-result.png") } catch { print("screenshot failed: \(error)") }
        let text = (try? JSONSerialization.data(withJSONObject: last, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return (status, text, processedRate(last))
    }
}

@Suite("Browser", .serialized, .enabled(if: Browser.available, "needs chromium, ffmpeg, ../shared/fixtures and models"))
struct BrowserTests {
    /// Live runs per test run: 10 in a row in CI (#14 item 5; 4–6 s each, ≈ 65 s with the still photo on the
    /// 2-core machine); FACEGATE_BROWSER_RUNS=N for another count.
    static let liveRuns = Int(ProcessInfo.processInfo.environment["FACEGATE_BROWSER_RUNS"] ?? "") ?? 10
    /// The page sends 15 fps (app.js FPS); what reaches the detectors must stay within their supported 10–60 fps.
    static let minProcessedFPS = 10.0

    @Test("headless Chromium: a live recording passes a blink session every time at the page's own rate; a still photo fails")
    func liveAndStill() async throws {
        let dir = Paths.tempDir("fgbrowser")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let live = try Browser.liveY4M(dir)
        let still = try Browser.stillY4M(dir)
        // The default 5 s per challenge: the looping camera blinks at least twice in any 5 s window.
        try await Harness.with(Harness.config { $0.workers = 2 }) { server, client in
            func counter(_ name: String) -> Int {
                let line = server.metrics.render().split(separator: "\n").first { $0.hasPrefix(name + " ") }
                return line.flatMap { Int(Double($0.split(separator: " ").last ?? "") ?? 0) } ?? 0
            }
            for i in 1...Self.liveRuns {
                let ok = try await Browser.run(client: client, camera: live, plan: ["blink"], name: i == 1 ? "live-blink" : "live-blink-\(i)")
                // What the server received: frames processed and skipped so far (a diagnosis line in the log).
                print("browser live run \(i)/\(Self.liveRuns): \(ok.status); \(ok.rate.map { String(format: "%.1f", $0) } ?? "?") fps processed; frames processed \(counter("facegate_frames_total")), skipped \(counter("facegate_frames_dropped_total")), skipped during a challenge \(counter("facegate_challenge_frames_dropped_total")) (all runs so far)")
                #expect(ok.status == "succeeded", "live run \(i) of \(Self.liveRuns): \(ok.session)")
                if let r = ok.rate { #expect(r >= Self.minProcessedFPS, "live run \(i): the detectors got \(r) fps") }
            }
            #expect(counter("facegate_challenge_frames_dropped_total") == 0, "a frame of a pending challenge was skipped")
            // The still photo must fail because no blink came (timeout), not because of a face gap: a screenshot
            // taken during the session pauses the page's capture, so none is taken on this run.
            let bad = try await Browser.run(client: client, camera: still, plan: ["blink"], name: "still-photo")
            #expect(bad.status == "failed", "still photo: \(bad.session)")
            #expect(bad.session.contains("\"reason\":\"timeout\""), "still photo should time out waiting for a blink: \(bad.session)")
        }
        #expect(FileManager.default.fileExists(atPath: Paths.artifacts.path + "/live-blink-result.png"))
    }
}
