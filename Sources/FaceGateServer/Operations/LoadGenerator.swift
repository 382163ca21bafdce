import FaceGateCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HummingbirdWSClient
import Logging
import NIOCore

/// Streams frames from many concurrent sessions at a server on loopback and measures frame-to-answer latency.
/// Bounded: at most `maxSessions` sessions and `maxDuration` seconds per run.
public struct LoadGenerator: Sendable {
    public static let maxSessions = 200
    public static let maxDuration = 120.0

    public struct Result: Sendable, Codable {
        public var sessions: Int
        public var offeredFPS: Double
        public var seconds: Double
        public var answered: Int
        public var dropped: Int
        public var answeredPerSecond: Double
        public var p50ms: Double
        public var p90ms: Double
        public var p99ms: Double
        public var maxms: Double
        public var closedEarly: Int
        /// CPU time of this process (server + load generator, all threads) during the run, seconds.
        public var cpuSeconds: Double
        /// `cpuSeconds` per answered frame, milliseconds: the cost of a frame independent of what else the machine
        /// runs (throughput on a shared machine depends on the other jobs; this does not, much).
        public var cpuMsPerFrame: Double
    }

    public let port: Int
    /// JPEG frames looped by every session.
    public let frames: [Data]
    public let key: String?

    public init(port: Int, frames: [Data], key: String? = nil) { self.port = port; self.frames = frames; self.key = key }

    final class Stats: @unchecked Sendable {
        let lock = NSLock()
        var latencies: [Double] = []
        var answered = 0, dropped = 0, closedEarly = 0
        func add(_ ms: Double) { lock.withLock { latencies.append(ms); answered += 1 } }
        func drop() { lock.withLock { dropped += 1 } }
        func early() { lock.withLock { closedEarly += 1 } }
    }

    final class Sent: @unchecked Sendable {
        let lock = NSLock()
        var at: [Double: UInt64] = [:]
        func put(_ t: Double, _ ns: UInt64) { lock.withLock { at[t] = ns } }
        func take(_ t: Double) -> UInt64? { lock.withLock { at.removeValue(forKey: t) } }
    }

    /// Creates a session over HTTP (plan that the frames never complete, so the stream lasts the whole run).
    func createSession() async throws -> String {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/sessions")!)
        req.httpMethod = "POST"
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key { req.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        req.httpBody = Data(#"{"plan":["turn-left"]}"#.utf8)
        let (data, resp) = try await URLSession.shared.data(for: req)
        guard (resp as? HTTPURLResponse)?.statusCode == 201,
              let o = try JSONSerialization.jsonObject(with: data) as? [String: Any], let ws = o["websocket"] as? String else {
            throw FaceGateError.runtime("session creation failed: \(String(decoding: data, as: UTF8.self))")
        }
        return String(ws.drop(while: { $0 != "/" }).dropFirst(2).drop(while: { $0 != "/" }))
    }

    /// Runs `sessions` streams at `fps` each for `seconds`.
    public func run(sessions: Int, fps: Double, seconds: Double) async throws -> Result {
        precondition(!frames.isEmpty)
        let n = min(max(1, sessions), Self.maxSessions)
        let secs = min(max(1, seconds), Self.maxDuration)
        var paths: [String] = []
        for _ in 0..<n { paths.append(try await createSession()) }
        let stats = Stats()
        let cpu0 = Self.processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let frames = self.frames, port = self.port
        await withTaskGroup(of: Void.self) { group in
            for (i, path) in paths.enumerated() {
                group.addTask {
                    let sent = Sent()
                    let finished = ManagedFlag()
                    do {
                        _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", configuration: .init(maxFrameSize: 1 << 22),
                                                              logger: Logger(label: "bench")) { inbound, outbound, _ in
                            let reader = Task {
                                for try await m in inbound.messages(maxSize: 1 << 20) {
                                    guard case .text(let s) = m, let o = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any],
                                          let type = o["type"] as? String else { continue }
                                    if type == "frame", let t = o["t"] as? Double, let ns = sent.take(t) {
                                        stats.add(Double(DispatchTime.now().uptimeNanoseconds - ns) / 1e6)
                                    } else if type == "dropped", let t = o["t"] as? Double {
                                        _ = sent.take(t); stats.drop()
                                    } else if type == "result" || type == "error" {
                                        finished.set()
                                    }
                                }
                            }
                            // Stagger session starts over one frame interval.
                            try await Task.sleep(for: .milliseconds(Int(1000 / fps * Double(i) / Double(n))))
                            let t0 = DispatchTime.now().uptimeNanoseconds
                            var k = 0
                            while !finished.isSet {
                                let due = t0 + UInt64(Double(k) * 1e9 / fps)
                                let now = DispatchTime.now().uptimeNanoseconds
                                if now - start > UInt64(secs * 1e9) { break }
                                if due > now { try await Task.sleep(for: .nanoseconds(Int(due - now))) }
                                let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 + 1
                                var b = ByteBuffer()
                                b.writeInteger(ms.bitPattern, endianness: .big)
                                b.writeBytes(frames[k % frames.count])
                                sent.put(ms, DispatchTime.now().uptimeNanoseconds)
                                try await outbound.write(.binary(b))
                                k += 1
                            }
                            if finished.isSet { stats.early() }
                            try? await Task.sleep(for: .milliseconds(300))   // let the last answers arrive
                            try await outbound.write(.text(#"{"type":"cancel"}"#))
                            _ = try? await reader.value
                        }
                    } catch {
                        stats.early()
                    }
                }
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = Self.processCPUSeconds() - cpu0
        let sorted = stats.latencies.sorted()
        func q(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))] }
        return Result(sessions: n, offeredFPS: Double(n) * fps, seconds: (elapsed * 10).rounded() / 10, answered: stats.answered,
                      dropped: stats.dropped, answeredPerSecond: (Double(stats.answered) / min(elapsed, secs) * 10).rounded() / 10,
                      p50ms: q(0.5), p90ms: q(0.9), p99ms: q(0.99), maxms: sorted.last ?? 0, closedEarly: stats.closedEarly,
                      cpuSeconds: (cpu * 100).rounded() / 100,
                      cpuMsPerFrame: stats.answered == 0 ? 0 : (cpu * 1000 / Double(stats.answered) * 100).rounded() / 100)
    }

    /// User + system CPU time of this process (all threads), seconds.
    public static func processCPUSeconds() -> Double {
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(ru.ru_utime) + s(ru.ru_stime)
    }

    /// Resident memory of this process, bytes (Linux /proc/self/statm).
    public static func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let parts = s.split(separator: " ")
        guard parts.count > 1, let pages = Int(parts[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    func set() { lock.withLock { v = true } }
    var isSet: Bool { lock.withLock { v } }
}
