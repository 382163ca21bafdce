import Foundation

/// PAD metrics per source (a camera/person/recording session kept whole) and leave-one-source-out operating points.
/// Frames or crops of one source are near-duplicates: a threshold is never chosen on the source it is judged on.
public enum PadBySource {
    public struct Row: Sendable, Hashable {
        public var source: String
        /// The source's own metrics at the system's decision (`acceptedAsLive`).
        public var metrics: PadMetrics
        /// Score threshold chosen on every other source's bona fide presentations for the target BPCER (nil: the
        /// other sources have no bona fide presentation).
        public var threshold: Double?
        /// This source judged at that threshold (accept when score ≥ threshold).
        public var heldOut: PadMetrics?
    }

    /// The highest threshold whose BPCER on `bonaFide` scores stays ≤ `target` (accept when score ≥ threshold): the
    /// strictest operating point that rejects at most that share of genuine presentations. Nil without scores.
    public static func threshold(bonaFide scores: [Double], targetBPCER target: Double) -> Double? {
        guard !scores.isEmpty else { return nil }
        let s = scores.sorted()
        // Rejecting the k lowest scores: k ≤ floor(target · n); the threshold is the (k+1)-th lowest score.
        let k = min(s.count - 1, Int((max(0, target) * Double(s.count)).rounded(.down) + 1e-9))
        return s[k]
    }

    /// Per-source metrics, and each source judged at the threshold picked on all the others.
    public static func evaluate(_ samples: [PadSample], sources: [String], targetBPCER: Double) -> [Row] {
        precondition(samples.count == sources.count)
        let names = Array(Set(sources)).sorted()
        return names.map { name in
            let mine = zip(samples, sources).filter { $0.1 == name }.map(\.0)
            let others = zip(samples, sources).filter { $0.1 != name }.map(\.0)
            let t = threshold(bonaFide: others.filter(\.isBonaFide).map(\.score), targetBPCER: targetBPCER)
            let held = t.map { t in PadMetrics(mine.map { PadSample(label: $0.label, score: $0.score, acceptedAsLive: $0.score >= t, path: $0.path) }) }
            return Row(source: name, metrics: PadMetrics(mine), threshold: t, heldOut: held)
        }
    }

    /// A classifier's per-crop scores (`facegate evaluate --by-source`: a trained model's P(real) on labelled crops)
    /// as presentations: `labels[i] == realLabel` is bona fide, any other label its attack species; accepted at the
    /// model's own `threshold` (score ≥ threshold). Then `evaluate(_:sources:targetBPCER:)`.
    public static func evaluate(scores: [Double], labels: [String], realLabel: String, sources: [String],
                                threshold: Double, targetBPCER: Double) -> [Row] {
        precondition(scores.count == labels.count && scores.count == sources.count)
        let samples = zip(scores, labels).map { s, l in
            PadSample(label: l == realLabel ? PadSample.bonaFide : l, score: s, acceptedAsLive: s >= threshold)
        }
        return evaluate(samples, sources: sources, targetBPCER: targetBPCER)
    }

    /// The source of a manifest path: the first path component named like a fixture repository (`owner__repo`), else
    /// the parent directory's name.
    public static func source(ofPath path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        if let repo = parts.first(where: { $0.contains("__") }) { return repo }
        return parts.dropLast().last ?? path
    }
}
