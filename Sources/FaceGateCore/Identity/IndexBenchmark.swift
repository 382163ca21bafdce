import Foundation

/// Deterministic generator of random unit vectors (SplitMix64 + Box–Muller), for benchmarks and tests.
public struct RandomUnitVectors: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    private mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

    /// A vector uniformly distributed on the unit sphere in `dimension` dimensions.
    public mutating func vector(dimension: Int = Embedding.dimension) -> [Float] {
        var v = [Float](repeating: 0, count: dimension)
        var n: Double = 0
        var d = 0
        while d < dimension {
            let r = (-2 * log(uniform())).squareRoot(), t = 2 * Double.pi * uniform()
            let a = r * cos(t), b = r * sin(t)
            v[d] = Float(a); n += a * a
            if d + 1 < dimension { v[d + 1] = Float(b); n += b * b }
            d += 2
        }
        let inv = Float(1 / n.squareRoot())
        for i in 0..<dimension { v[i] *= inv }
        return v
    }

    public mutating func embedding() -> Embedding { Embedding(vector()) }
}

/// Numbers from one 1:N index benchmark run (`facegate bench --gallery N`).
public struct IndexBenchmarkResult: Sendable, Codable, CustomStringConvertible {
    public var templates: Int
    public var users: Int
    public var queries: Int
    public var threads: [Int]
    /// p50 / p99 identify latency in milliseconds, one entry per thread count in `threads`.
    public var p50ms: [Double]
    public var p99ms: [Double]
    /// Fraction of `recallQueries` whose nearest template equals the exact float32 brute-force nearest.
    public var recallAt1: Double
    /// Same, counting an answer as correct when its exact distance is within `IndexBenchmark.tieTolerance` of the
    /// exact nearest (a tie at float32 rounding level).
    public var recallAt1WithinTolerance: Double
    public var recallQueries: Int
    /// Index storage (GalleryIndex.memoryBytes) and resident-set growth while building it, in MB.
    public var indexMB: Double
    public var rssGrowthMB: Double?
    /// Seconds to build the index from float32 embeddings (quantisation + insertion).
    public var loadSeconds: Double

    public var description: String {
        var s = "1:N index, \(templates) templates (\(users) users), \(queries) random queries\n"
        for (k, t) in threads.enumerated() {
            s += String(format: "  identify, %d thread%@: p50 %.2f ms, p99 %.2f ms\n", t, t == 1 ? "" : "s", p50ms[k], p99ms[k])
        }
        s += String(format: "  recall@1 vs exact float32: %.4f (%d queries; %.4f counting ties within %.0e)\n",
                    recallAt1, recallQueries, recallAt1WithinTolerance, IndexBenchmark.tieTolerance)
        s += String(format: "  index memory: %.1f MB", indexMB)
        if let r = rssGrowthMB { s += String(format: " (RSS growth %.1f MB)", r) }
        s += String(format: "\n  load (build from float32): %.2f s", loadSeconds)
        return s
    }
}

/// The 1:N benchmark: random unit vectors, latency percentiles, recall against exact float32, memory and load time.
public enum IndexBenchmark {
    /// Templates per synthetic user: guided enrollment keeps about five (one per pose bucket).
    public static let defaultTemplatesPerUser = 5

    public static func run(templates n: Int, templatesPerUser: Int = defaultTemplatesPerUser, queries: Int = 200,
                           recallQueries: Int = 200, threads: [Int] = [1, 2], seed: UInt64 = 42,
                           progress: ((String) -> Void)? = nil) throws -> IndexBenchmarkResult {
        guard n > 0, templatesPerUser > 0, queries > 0 else {
            throw FaceGateError.badInput("benchmark needs a positive gallery size, templates per user and query count")
        }
        let rss0 = residentBytes()
        let index = GalleryIndex(reserve: n)
        var gen = RandomUnitVectors(seed: seed)
        var loadNanos: UInt64 = 0
        var users = 0
        var made = 0
        while made < n {
            let k = min(templatesPerUser, n - made)
            let ts = (0..<k).map { _ in Embedding(gen.vector()) }
            let user = GalleryIndex.User(key: UUID(), name: "user\(users)")
            let t0 = DispatchTime.now().uptimeNanoseconds
            try index.upsert(user, templates: ts)
            loadNanos += DispatchTime.now().uptimeNanoseconds - t0
            users += 1; made += k
            if made % 100_000 == 0 { progress?("built \(made)/\(n)") }
        }
        let rss1 = residentBytes()
        var qgen = RandomUnitVectors(seed: seed ^ 0xA5A5_5A5A_F00D_BEEF)
        let probes = (0..<queries).map { _ in Embedding(qgen.vector()) }

        var p50: [Double] = [], p99: [Double] = []
        for t in threads {
            var times: [Double] = []
            _ = try index.identify(probes[0], threads: t)   // warm-up
            for p in probes {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try index.identify(p, threads: t)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            times.sort()
            p50.append(percentile(times, 0.5)); p99.append(percentile(times, 0.99))
            progress?(String(format: "%d thread(s): p50 %.2f ms", t, p50.last!))
        }

        // Recall: exact float32 brute force over the regenerated gallery (same seed → same vectors, same order).
        let r = min(recallQueries, queries)
        let rq = Array(probes.prefix(r))
        let answers = try rq.map { try index.nearestTemplates($0, k: 1, threads: 1).first?.entry ?? -1 }
        let exact = exactNearest(n: n, seed: seed, probes: rq.map(\.values), answers: answers)
        var hits = 0, tolerantHits = 0
        for k in 0..<r {
            if answers[k] == exact[k].nearest { hits += 1 }
            if exact[k].answerDistance <= exact[k].nearestDistance + tieTolerance { tolerantHits += 1 }
        }
        return IndexBenchmarkResult(
            templates: n, users: users, queries: queries, threads: threads, p50ms: p50, p99ms: p99,
            recallAt1: r > 0 ? Double(hits) / Double(r) : 1,
            recallAt1WithinTolerance: r > 0 ? Double(tolerantHits) / Double(r) : 1, recallQueries: r,
            indexMB: Double(index.memoryBytes) / 1e6,
            rssGrowthMB: (rss0 != nil && rss1 != nil) ? Double(rss1! - rss0!) / 1e6 : nil,
            loadSeconds: Double(loadNanos) / 1e9)
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    /// Distances closer than this are ties: the 16-bit reconstruction moves a distance by up to ~5e-6.
    public static let tieTolerance = 1e-5

    /// For each probe: the exact nearest entry and its float32 distance, and the float32 distance of `answers[k]`
    /// (gallery regenerated from `seed`).
    static func exactNearest(n: Int, seed: UInt64, probes: [[Float]], answers: [Int])
        -> [(nearest: Int, nearestDistance: Double, answerDistance: Double)] {
        var gen = RandomUnitVectors(seed: seed)
        var best = [Float](repeating: .infinity, count: probes.count)
        var arg = [Int](repeating: -1, count: probes.count)
        var answerD = [Float](repeating: .infinity, count: probes.count)
        typealias V = SIMD16<Float>
        let pv: [[V]] = probes.map { p in (0..<8).map { c in V(p[(c * 16)..<(c * 16 + 16)]) } }
        for i in 0..<n {
            let x = gen.vector()
            let xv = (0..<8).map { c in V(x[(c * 16)..<(c * 16 + 16)]) }
            for (k, q) in pv.enumerated() {
                var acc = V()
                for c in 0..<8 { let d = q[c] - xv[c]; acc += d * d }
                let s = acc.sum()
                if s < best[k] { best[k] = s; arg[k] = i }
                if answers[k] == i { answerD[k] = s }
            }
        }
        return (0..<probes.count).map { (arg[$0], Double(best[$0].squareRoot()), Double(answerD[$0].squareRoot())) }
    }

    /// Resident set size of this process (Linux /proc), nil elsewhere.
    public static func residentBytes() -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let f = s.split(separator: " ")
        guard f.count > 1, let pages = Int(f[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
