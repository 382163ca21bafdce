import Foundation

/// Latency samples of one benchmark stage.
public struct LatencySamples: Sendable {
    public var name: String
    /// Wall-clock milliseconds per sample.
    public var millis: [Double] = []
    /// CPU milliseconds of the calling thread per sample (robust against other processes on a shared machine).
    public var cpuMillis: [Double] = []
    public init(name: String) { self.name = name }

    /// CPU time of the calling thread, milliseconds.
    public static func threadCPUMillis() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
    }

    public mutating func time<T>(_ body: () throws -> T) rethrows -> T {
        let c0 = Self.threadCPUMillis()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let v = try body()
        millis.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        cpuMillis.append(Self.threadCPUMillis() - c0)
        return v
    }
    /// Records an externally measured sample.
    public mutating func record(millis m: Double, cpuMillis c: Double? = nil) {
        millis.append(m)
        cpuMillis.append(c ?? m)
    }
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted()
        let i = min(s.count - 1, max(0, Int((p / 100 * Double(s.count - 1)).rounded())))
        return s[i]
    }
    public func percentile(_ p: Double) -> Double { Self.percentile(millis, p) }
    public var median: Double { percentile(50) }
    public var p90: Double { percentile(90) }
    public var p99: Double { percentile(99) }
    public var cpuMedian: Double { Self.percentile(cpuMillis, 50) }
    public var cpuP90: Double { Self.percentile(cpuMillis, 90) }
}
