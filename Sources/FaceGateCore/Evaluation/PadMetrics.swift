import Foundation

/// One scored presentation for PAD evaluation.
public struct PadSample: Sendable, Hashable, Codable {
    /// `bona-fide` or an attack species (`print`, `screen`, `replay`, `mask`, …).
    public var label: String
    /// Liveness score, higher = more live.
    public var score: Double
    /// The system's decision at its operating point.
    public var acceptedAsLive: Bool
    public var path: String
    public init(label: String, score: Double, acceptedAsLive: Bool, path: String = "") {
        self.label = label; self.score = score; self.acceptedAsLive = acceptedAsLive; self.path = path
    }
    public static let bonaFide = "bona-fide"
    public var isBonaFide: Bool { label == Self.bonaFide }
}

/// ISO/IEC 30107-3 presentation-attack detection metrics.
///
/// - APCER (per attack species): proportion of attack presentations of that species classified as bona fide.
/// - BPCER: proportion of bona-fide presentations classified as attacks.
/// - ACER: (max-over-species APCER + BPCER) / 2 (defined in the 2017 edition; kept for comparison with literature).
/// - BPCER@APCER=x: the BPCER at the score threshold where the worst species' APCER first falls to ≤ x.
/// - DET curve: (APCER, BPCER) over all score thresholds, APCER being the worst species' value.
public struct PadMetrics: Sendable, Hashable, Codable {
    public struct Species: Sendable, Hashable, Codable {
        public var name: String
        public var presentations: Int
        public var accepted: Int
        public var apcer: Double
    }
    public struct DETPoint: Sendable, Hashable, Codable {
        public var threshold: Double
        public var apcer: Double
        public var bpcer: Double
    }
    public var species: [Species]
    public var bonaFide: Int
    public var bonaFideRejected: Int
    public var bpcer: Double
    /// Worst species' APCER (APCER_AP in the standard's notation).
    public var apcerMax: Double
    public var acer: Double
    /// nil when the attack scores never fall that low (or no attacks / no bona fide).
    public var bpcerAtApcer1: Double?
    public var bpcerAtApcer5: Double?
    public var det: [DETPoint]
    /// Equal-error rate of the DET curve (where APCER ≈ BPCER), nil without both classes.
    public var eer: Double?

    public init(_ samples: [PadSample]) {
        let bona = samples.filter(\.isBonaFide)
        let attacks = samples.filter { !$0.isBonaFide }
        let names = Array(Set(attacks.map(\.label))).sorted()
        species = names.map { n in
            let s = attacks.filter { $0.label == n }
            let acc = s.filter(\.acceptedAsLive).count
            return Species(name: n, presentations: s.count, accepted: acc, apcer: s.isEmpty ? 0 : Double(acc) / Double(s.count))
        }
        bonaFide = bona.count
        bonaFideRejected = bona.filter { !$0.acceptedAsLive }.count
        bpcer = bona.isEmpty ? 0 : Double(bonaFideRejected) / Double(bona.count)
        apcerMax = species.map(\.apcer).max() ?? 0
        acer = (apcerMax + bpcer) / 2

        // Thresholds: accept as live when score ≥ threshold. Sweep every distinct score (and above the maximum).
        var det: [DETPoint] = []
        if !bona.isEmpty && !attacks.isEmpty {
            let thresholds = Array(Set(samples.map(\.score))).sorted() + [(samples.map(\.score).max() ?? 1) + 1e-9]
            let bySpecies = Dictionary(grouping: attacks, by: \.label)
            for t in thresholds {
                let ap = bySpecies.values.map { s in Double(s.filter { $0.score >= t }.count) / Double(s.count) }.max() ?? 0
                let bp = Double(bona.filter { $0.score < t }.count) / Double(bona.count)
                det.append(DETPoint(threshold: t, apcer: ap, bpcer: bp))
            }
        }
        self.det = det
        func bpcerAt(_ target: Double) -> Double? {
            // Thresholds ascend, APCER descends: the first threshold reaching the target has the lowest BPCER.
            det.first { $0.apcer <= target + 1e-12 }?.bpcer
        }
        bpcerAtApcer1 = bpcerAt(0.01)
        bpcerAtApcer5 = bpcerAt(0.05)
        if let p = det.min(by: { abs($0.apcer - $0.bpcer) < abs($1.apcer - $1.bpcer) }) {
            eer = (p.apcer + p.bpcer) / 2
        } else {
            eer = nil
        }
    }
}
