import Foundation

/// Token buckets keyed by API key id or client address. In-memory per instance: behind a load balancer with N
/// instances the effective limit is up to N times the configured one (documented in docs/server.md).
public final class RateLimiter: @unchecked Sendable {
    public struct Limit: Sendable, Hashable {
        /// Sustained requests per second.
        public var rate: Double
        /// Requests allowed in a burst.
        public var burst: Double
        public init(rate: Double, burst: Double) { self.rate = rate; self.burst = burst }
    }

    private struct Bucket { var tokens: Double; var at: Double }
    private var buckets: [String: Bucket] = [:]
    private let lock = NSLock()
    public let limit: Limit
    /// Buckets kept before idle ones are swept (bounds memory under a flood of distinct addresses).
    static let maxBuckets = 100_000

    public init(_ limit: Limit) { self.limit = limit }

    /// Takes one token for `key`; returns nil when allowed, else the seconds to wait.
    public func take(_ key: String, now: Double = Date().timeIntervalSince1970) -> Double? {
        lock.withLock {
            if buckets.count > Self.maxBuckets {
                buckets = buckets.filter { now - $0.value.at < limit.burst / max(limit.rate, 1e-9) }
            }
            var b = buckets[key] ?? Bucket(tokens: limit.burst, at: now)
            b.tokens = min(limit.burst, b.tokens + (now - b.at) * limit.rate)
            b.at = now
            if b.tokens >= 1 {
                b.tokens -= 1
                buckets[key] = b
                return nil
            }
            buckets[key] = b
            return (1 - b.tokens) / max(limit.rate, 1e-9)
        }
    }
}
