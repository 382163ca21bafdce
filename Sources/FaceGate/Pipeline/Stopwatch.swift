import Foundation

/// Latency samples of one benchmark stage.
public struct LatencySamples: Sendable {
    public var name: String
    public var millis: [Double] = []
    public init(name: String) { self.name = name }

    public mutating func time<T>(_ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let v = try body()
        millis.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        return v
    }
    public func percentile(_ p: Double) -> Double {
        guard !millis.isEmpty else { return .nan }
        let s = millis.sorted()
        let i = min(s.count - 1, max(0, Int((p / 100 * Double(s.count - 1)).rounded())))
        return s[i]
    }
    public var median: Double { percentile(50) }
    public var p90: Double { percentile(90) }
    public var p99: Double { percentile(99) }
}
