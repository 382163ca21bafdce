import Foundation

/// The one rule that turns a sample of bona-fide scores into an operating point for a target BPCER: used by
/// `facegate calibrate-pad` (`PadCalibration`), `evaluate-pad --by-source` and `evaluate --by-source` (`PadBySource`).
///
/// **Rank rule (split-conformal).** With n bona-fide scores and a new bona-fide presentation from the same population
/// (exchangeable), the new score's rank among the n + 1 is uniform, so accepting when score ≥ the k-th lowest sample
/// score refuses it with probability at most k / (n + 1). The strictest threshold whose expected BPCER on new
/// presentations stays within the target is therefore the k-th lowest score with k = ⌊target · (n + 1)⌋; it refuses
/// k − 1 of the sample itself.
///
/// **Unresolved.** When k = 0 — fewer than `minimumSamples` scores (19 for 5 %) — every sample score as a threshold
/// has an expected BPCER above the target (the lowest of n refuses 1 / (n + 1) of new presentations: 20 % for n = 4):
/// the sample cannot resolve the target. Then no threshold is picked and the caller keeps its shipped default
/// operating point, and says so. (The empirical quantile this replaces — the (⌊target · n⌋ + 1)-th lowest — has
/// expected BPCER (⌊target · n⌋ + 1) / (n + 1), above the target for every n: 20 % at n = 4, 7.3 % at n = 40.)
///
/// The guarantee is on average over samples, for presentations like the sample's: a threshold picked on other
/// cameras or people (leave-one-source-out) carries none for the held-out source — that is what the held-out
/// columns measure.
public enum PadOperatingPoint {
    public struct Pick: Sendable, Hashable, Codable {
        /// Bona-fide scores used (finite ones).
        public var samples: Int
        public var targetBPCER: Double
        /// k: the threshold is the k-th lowest score (1-based); 0 when unresolved.
        public var rank: Int
        /// The k-th lowest score (accept when score ≥ it); nil when unresolved.
        public var threshold: Double?
        /// Expected share of new bona-fide presentations refused at `threshold`, k / (n + 1); nil when unresolved.
        public var expectedBPCER: Double?
        public var resolved: Bool { threshold != nil }
        /// Sample scores strictly below the threshold (refused by it).
        public var refusedInSample: Int
    }

    /// The fewest bona-fide scores that resolve `target`: the smallest n with ⌊target · (n + 1)⌋ ≥ 1, i.e. ⌈1/target⌉ − 1
    /// (19 for 5 %, 9 for 10 %). Nil for a target ≤ 0: no finite sample resolves "refuse none".
    public static func minimumSamples(targetBPCER target: Double) -> Int? {
        guard target.isFinite, target > 0 else { return nil }
        return max(1, Int((1 / min(1, target) - 1e-9).rounded(.up)) - 1)
    }

    /// Picks the operating point for `target` on `scores` (higher = more live; non-finite scores are ignored).
    public static func pick(bonaFide scores: [Double], targetBPCER: Double) -> Pick {
        let s = scores.filter(\.isFinite).sorted()
        let n = s.count
        let target = targetBPCER.isFinite ? min(1, max(0, targetBPCER)) : 0
        // + 1e-9: 0.05 · 20 must count as 1 whatever the binary rounding.
        let k = min(n, Int((target * Double(n + 1) + 1e-9).rounded(.down)))
        guard k >= 1 else { return Pick(samples: n, targetBPCER: target, rank: 0, threshold: nil, expectedBPCER: nil, refusedInSample: 0) }
        let t = s[k - 1]
        return Pick(samples: n, targetBPCER: target, rank: k, threshold: t, expectedBPCER: Double(k) / Double(n + 1),
                    refusedInSample: s.filter { $0 < t }.count)
    }
}
