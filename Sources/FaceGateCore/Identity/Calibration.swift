import Foundation

/// One compared pair: the distance between two faces and whether they are the same person.
public struct ScoredPair: Sendable, Hashable, Codable {
    public var distance: Double
    public var same: Bool
    public init(distance: Double, same: Bool) { self.distance = distance; self.same = same }
}

/// One point of a ROC curve: accepting every pair with distance ≤ `threshold`.
public struct ROCPoint: Sendable, Hashable, Codable {
    public var threshold: Double
    /// False accept rate: fraction of different-person pairs accepted.
    public var far: Double
    /// False reject rate: fraction of same-person pairs rejected.
    public var frr: Double
    public var tar: Double { 1 - frr }
}

/// Threshold calibration from scored pairs: ROC, equal error rate and the threshold for a target FAR.
public struct Calibration: Sendable, Hashable, Codable {
    public var genuineCount: Int
    public var impostorCount: Int
    /// One point per distinct distance (ascending threshold), plus the reject-all point at the start.
    public var roc: [ROCPoint]
    /// Equal error rate (FAR = FRR), linearly interpolated between ROC points.
    public var eer: Double
    /// Threshold at the EER.
    public var eerThreshold: Double

    public init(pairs: [ScoredPair]) throws {
        let g = pairs.filter { $0.same }.map(\.distance).sorted()
        let i = pairs.filter { !$0.same }.map(\.distance).sorted()
        guard !g.isEmpty, !i.isEmpty else {
            throw FaceGateError.badInput("calibration needs both same-person and different-person pairs (got \(g.count) same, \(i.count) different) — add pairs of both kinds")
        }
        guard pairs.allSatisfy({ $0.distance.isFinite }) else {
            throw FaceGateError.badInput("calibration pairs contain non-finite distances")
        }
        genuineCount = g.count; impostorCount = i.count
        let thresholds = Array(Set(g + i)).sorted()
        var points: [ROCPoint] = [ROCPoint(threshold: (thresholds.first ?? 0) - 1e-9, far: 0, frr: 1)]
        var gi = 0, ii = 0
        for t in thresholds {
            while gi < g.count && g[gi] <= t { gi += 1 }
            while ii < i.count && i[ii] <= t { ii += 1 }
            points.append(ROCPoint(threshold: t, far: Double(ii) / Double(i.count), frr: 1 - Double(gi) / Double(g.count)))
        }
        roc = points
        // EER: first crossing of FAR - FRR from negative to non-negative, interpolated.
        var eer = 1.0, eerT = points.last!.threshold
        for k in 1..<points.count {
            let a = points[k - 1], b = points[k]
            let da = a.far - a.frr, db = b.far - b.frr
            if da < 0 && db >= 0 {
                let f = db == da ? 0 : -da / (db - da)
                eer = a.far + f * (b.far - a.far)
                let eerFRR = a.frr + f * (b.frr - a.frr)
                eer = (eer + eerFRR) / 2
                eerT = a.threshold + f * (b.threshold - a.threshold)
                break
            }
        }
        self.eer = eer; self.eerThreshold = eerT
    }

    /// The largest threshold whose FAR does not exceed `targetFAR` (and its ROC point).
    public func threshold(forFAR targetFAR: Double) -> ROCPoint {
        var best = roc[0]
        for p in roc where p.far <= targetFAR { best = p }
        return best
    }

    /// FAR and FRR at a given threshold.
    public func rates(at threshold: Double) -> ROCPoint {
        var best = roc[0]
        for p in roc where p.threshold <= threshold { best = p }
        return ROCPoint(threshold: threshold, far: best.far, frr: best.frr)
    }
}
