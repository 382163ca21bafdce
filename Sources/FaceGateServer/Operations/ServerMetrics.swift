import Foundation
import Prometheus

/// The server's Prometheus metrics, in a registry of its own (several servers in one test process do not mix).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Frame-to-answer buckets (seconds): fine steps where the 100 ms p99 target lies.
    static let frameBuckets: [Double] = [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5]
    static let requestBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    public let frameLatency: ValueHistogram
    public let framesTotal: Counter
    public let framesDropped: Counter
    /// Frames skipped while a challenge was pending (hold-still or challenge): 0 unless a session's backlog passed
    /// `maxInFlightDuringChallenge` or `maxQueuedBytesPerSession` (an overloaded server).
    public let challengeFramesDropped: Counter
    public let framesRejected: Counter
    public let queueDepth: Gauge
    public let activeSessions: Gauge
    public let shed: Counter
    private let outcomes: [SessionStatus: Counter]
    private let reqLock = NSLock()
    nonisolated(unsafe) private var requests: [String: Counter] = [:]
    public let requestLatency: ValueHistogram

    public init() {
        frameLatency = registry.makeValueHistogram(name: "facegate_frame_latency_seconds", buckets: Self.frameBuckets,
                                                   help: "Time from receiving a frame to sending its answer.")
        framesTotal = registry.makeCounter(name: "facegate_frames_total", help: "Frames processed.")
        framesDropped = registry.makeCounter(name: "facegate_frames_dropped_total",
                                             help: "Frames skipped because the session already had frames queued.")
        challengeFramesDropped = registry.makeCounter(name: "facegate_challenge_frames_dropped_total",
                                                      help: "Frames skipped while a challenge was pending (backlog past its bound).")
        framesRejected = registry.makeCounter(name: "facegate_frames_rejected_total",
                                              help: "Frames that closed the stream (malformed, too large, out of order).")
        queueDepth = registry.makeGauge(name: "facegate_queue_depth", help: "Jobs queued or running on the face workers.")
        activeSessions = registry.makeGauge(name: "facegate_active_sessions", help: "Sessions streaming on this instance.")
        shed = registry.makeCounter(name: "facegate_sessions_shed_total", help: "New sessions refused with 503 because the instance was saturated.")
        var o: [SessionStatus: Counter] = [:]
        for s in SessionStatus.allCases where s.isFinal {
            o[s] = registry.makeCounter(name: "facegate_sessions_total", labels: [("outcome", s.rawValue)],
                                        help: "Finished sessions by outcome.")
        }
        outcomes = o
        requestLatency = registry.makeValueHistogram(name: "facegate_http_request_duration_seconds", buckets: Self.requestBuckets,
                                                     help: "HTTP request duration.")
    }

    public func sessionFinished(_ s: SessionStatus) { outcomes[s]?.increment() }

    public func request(route: String, method: String, status: Int) {
        let k = "\(method) \(route) \(status)"
        let c: Counter = reqLock.withLock {
            if let c = requests[k] { return c }
            let c = registry.makeCounter(name: "facegate_http_requests_total",
                                         labels: [("route", route), ("method", method), ("status", String(status))],
                                         help: "HTTP requests by route and status.")
            requests[k] = c
            return c
        }
        c.increment()
    }

    public func render() -> String { registry.emitToString() }
}
