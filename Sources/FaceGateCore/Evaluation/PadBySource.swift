import Foundation

/// PAD metrics per source (a camera/person/recording session kept whole) and leave-one-source-out operating points.
/// Frames or crops of one source are near-duplicates: a threshold is never chosen on the source it is judged on.
public enum PadBySource {
    public struct Row: Sendable, Hashable {
        public var source: String
        /// The source's own metrics at the system's decision (`acceptedAsLive`).
        public var metrics: PadMetrics
        /// The operating point picked on every other source's bona fide presentations for the target BPCER
        /// (`PadOperatingPoint`; nil: the other sources have no bona fide presentation).
        public var operatingPoint: PadOperatingPoint.Pick?
        /// The threshold the source was judged at (nil: none picked — no other bona fide, or too few to resolve the
        /// target, when the source is judged at the default operating point).
        public var threshold: Double? { operatingPoint?.threshold }
        /// False when the other sources' bona fide presentations are too few to resolve the target
        /// (`PadOperatingPoint.minimumSamples`): the held-out metrics are then the default operating point's.
        public var resolved: Bool { operatingPoint?.resolved ?? false }
        /// This source judged at that threshold (accept when score ≥ threshold), or at the default operating point
        /// (`acceptedAsLive`) when the fold is unresolved; nil when no other source has bona fide presentations.
        public var heldOut: PadMetrics?
    }

    /// The leave-one-source-out threshold on `bonaFide` scores for `target` (`PadOperatingPoint.pick`; accept when
    /// score ≥ it). Nil without scores, or when they are too few to resolve the target.
    public static func threshold(bonaFide scores: [Double], targetBPCER target: Double) -> Double? {
        PadOperatingPoint.pick(bonaFide: scores, targetBPCER: target).threshold
    }

    /// Per-source metrics, and each source judged at the operating point picked on all the others. `onlyStricter`
    /// (passive PAD, as `facegate calibrate-pad` deploys a threshold): a picked threshold can only refuse more than the
    /// system's decision, never accept what it refused. An unresolved fold keeps the system's decision.
    public static func evaluate(_ samples: [PadSample], sources: [String], targetBPCER: Double, onlyStricter: Bool = false) -> [Row] {
        precondition(samples.count == sources.count)
        let names = Array(Set(sources)).sorted()
        return names.map { name in
            let mine = zip(samples, sources).filter { $0.1 == name }.map(\.0)
            let others = zip(samples, sources).filter { $0.1 != name }.map(\.0)
            let genuine = others.filter(\.isBonaFide).map(\.score)
            guard !genuine.isEmpty else { return Row(source: name, metrics: PadMetrics(mine), operatingPoint: nil, heldOut: nil) }
            let op = PadOperatingPoint.pick(bonaFide: genuine, targetBPCER: targetBPCER)
            let held = PadMetrics(mine.map { s in
                let accepted = op.threshold.map { s.score >= $0 && (!onlyStricter || s.acceptedAsLive) } ?? s.acceptedAsLive
                return PadSample(label: s.label, score: s.score, acceptedAsLive: accepted, path: s.path)
            })
            return Row(source: name, metrics: PadMetrics(mine), operatingPoint: op, heldOut: held)
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
