import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateCore
import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import Logging

struct BenchServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-server",
        abstract: "Load-test the server on loopback: frames/s across concurrent sessions, frame-to-answer latency, memory per session.",
        discussion: """
        Starts an in-process server on 127.0.0.1 (temporary SQLite, one worker per core), then:
          1. saturation: --sessions streams at --fps each for --duration s → capacity C (answered frames/s);
          2. 50 % and 100 % of C (sessions × fps), reporting p50/p90/p99 frame-to-answer latency.
        The load generator runs in the same process and shares the cores. Build with -c release.
        Example: facegate bench-server --video ../shared/fixtures/motion/repeating__Blink-Detector/video.mp4 --json
        """)

    @Option(help: "Video whose frames every session streams (looped; resized to ≤ 640 px).") var video: String?
    @Option(help: "Image streamed repeatedly when no --video is given.") var image: String?
    @Option(help: "Sessions for the saturation run (≤ 200).") var sessions = 24
    @Option(help: "Frames per second each session sends.") var fps = 15.0
    @Option(help: "Seconds per run (≤ 120).") var duration = 20.0
    @Option(help: "Worker threads (default: one per core).") var workers: Int?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var modelOptions: ModelOptions

    struct Output: Encodable {
        var workers: Int
        var frameBytes: Int
        var saturation: LoadGenerator.Result
        var capacityFPS: Double
        var half: LoadGenerator.Result
        var full: LoadGenerator.Result
        var rssIdleBytes: Int
        var rssPerSessionBytes: Int
        /// 1/5/15-minute load average at the end (other jobs on the machine).
        var loadAverage: String
    }

    func run() async throws {
        try await reportingErrors {
            guard sessions >= 1, sessions <= LoadGenerator.maxSessions else { throw FaceGateError.badInput("--sessions must be 1…\(LoadGenerator.maxSessions)") }
            guard fps > 0, fps <= 30 else { throw FaceGateError.badInput("--fps must be in (0, 30]") }
            guard duration >= 2, duration <= LoadGenerator.maxDuration else { throw FaceGateError.badInput("--duration must be 2…\(Int(LoadGenerator.maxDuration))") }
            LoggingSystem.bootstrap { label in var h = StreamLogHandler.standardError(label: label); h.logLevel = .warning; return h }
            let frames = try loadFrames()
            NativeRuntime.setThreads(1)
            let dir = NSTemporaryDirectory() + "facegate-bench-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var c = ServerConfiguration(database: .sqlite(path: dir + "/bench.sqlite"))
            c.host = "127.0.0.1"; c.port = 0
            if let w = workers { c.workers = max(1, w) }
            c.models = modelOptions.directory
            c.detector = DetectorChoice(modelOptions.detector)
            // Sessions must last the whole run: no challenge or session timeout, no shedding, no rate limit.
            c.liveness = LivenessConfiguration(challengeTimeout: 1e6, sessionTimeout: 1e6, calibrationTimeout: 1e6)
            c.sessionTTL = 3600
            c.sessionsPerWorker = 1000
            c.maxQueuePerWorker = 100_000
            c.ipRate = .init(rate: 10_000, burst: 10_000)
            c.lockoutEnabled = false
            // Actions as `facegate serve` runs them with the default configuration (audit on, no webhooks or mail).
            let server = try await FaceGateServer(config: c, galleryKey: GalleryKey.generate(), actions: .defaults)
            let (port, stop) = try await server.start()
            let gen = LoadGenerator(port: port, frames: frames)
            let rss0 = LoadGenerator.residentBytes()
            progress("saturation: \(sessions) sessions × \(fps) fps for \(Int(duration)) s")
            let sampler = Task { () -> Int in
                try? await Task.sleep(for: .seconds(duration / 2))
                return LoadGenerator.residentBytes()
            }
            let sat = try await gen.run(sessions: sessions, fps: fps, seconds: duration)
            let rssMid = await sampler.value
            let cap = sat.answeredPerSecond
            let halfN = max(1, Int((cap * 0.5 / fps).rounded()))
            let fullN = max(1, Int((cap / fps).rounded()))
            progress("50 %: \(halfN) sessions"); let half = try await gen.run(sessions: halfN, fps: fps, seconds: duration)
            progress("100 %: \(fullN) sessions"); let full = try await gen.run(sessions: fullN, fps: fps, seconds: duration)
            await stop()
            let out = Output(workers: server.pool.count, frameBytes: frames.map(\.count).reduce(0, +) / frames.count, saturation: sat,
                             capacityFPS: cap, half: half, full: full, rssIdleBytes: rss0,
                             rssPerSessionBytes: max(0, (rssMid - rss0) / max(1, sessions)), loadAverage: Self.loadAverage())
            if json { print(jsonLine(out)); return }
            print("workers \(out.workers), mean frame \(formatBytes(out.frameBytes)), idle RSS \(formatBytes(rss0)), per session ≈ \(formatBytes(out.rssPerSessionBytes))")
            print("run          sessions  offered/s  answered/s  dropped   p50 ms   p90 ms   p99 ms  CPU ms/frame")
            for (n, r) in [("saturation", sat), ("50 % load", half), ("100 % load", full)] {
                print(String(format: "%-12@ %8d %10.0f %11.1f %8d %8.1f %8.1f %8.1f %13.2f", n as NSString, r.sessions, r.offeredFPS,
                             r.answeredPerSecond, r.dropped, r.p50ms, r.p90ms, r.p99ms, r.cpuMsPerFrame))
            }
            print(String(format: "load average during the runs: %@ (other processes share the cores; CPU ms/frame includes the load generator)",
                         Self.loadAverage() as NSString))
        }
    }

    func progress(_ s: String) { if !json { printError(s) } }

    /// /proc/loadavg's 1/5/15-minute averages ("?" when unreadable).
    static func loadAverage() -> String {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
        return s.split(separator: " ").prefix(3).joined(separator: " ")
    }

    func loadFrames() throws -> [Data] {
        var out: [Data] = []
        if let v = video {
            let r = try VideoReader.open(v)
            while out.count < 150, let f = try r.next() { out.append(f.image.limited(maxSide: 640).jpeg(quality: 80)!) }
        } else {
            let path = image ?? BenchCommand.defaultImageCandidates.first { FileManager.default.fileExists(atPath: $0) }
            guard let path else { throw FaceGateError.badInput("pass --video F or --image F") }
            out = [try Image.read(path).limited(maxSide: 640).jpeg(quality: 80)!]
        }
        guard !out.isEmpty else { throw FaceGateError.badInput("no frames in the input") }
        return out
    }
}
