import Foundation

/// An operating point for passive PAD picked on a user's own bona-fide recordings (`facegate calibrate-pad`): the
/// highest fused-score threshold whose expected BPCER on new recordings stays within `targetBPCER`
/// (`PadOperatingPoint`: the k-th lowest score, k = ⌊target · (n + 1)⌋; too few recordings leave the target
/// unresolved and the built-in operating point in place). Only stricter than the
/// cues' own thresholds (`PassiveFusion.clampThreshold`): recordings a cue already refuses at 0.5 cannot be bought
/// back by calibration — they are reported, and the target is then not reachable.
public struct PadCalibration: Sendable, Hashable, Codable {
    public struct Row: Sendable, Hashable, Codable {
        public var threshold: Double
        /// Bona-fide recordings refused at this threshold (score below it), and their share.
        public var rejected: Int
        public var bpcer: Double
    }

    /// Thresholds are rounded down to this step, so the recording that sets the threshold stays accepted.
    public static let step = 0.001
    /// Fewer recordings than this give a threshold whose BPCER on new recordings is not known to the target's
    /// precision (with n recordings the smallest non-zero BPCER is 1/n); the result says so.
    public static func recommendedRecordings(targetBPCER: Double) -> Int { Int((2 / max(targetBPCER, 0.001)).rounded(.up)) }

    public var recordings: Int
    public var targetBPCER: Double
    /// The chosen threshold (config `liveness.pad_threshold`).
    public var threshold: Double
    /// Refused at the chosen threshold.
    public var rejected: Int
    public var bpcer: Double
    /// Refused already at the built-in operating point (a cue fired on a genuine recording).
    public var rejectedAtDefault: Int
    /// False when the built-in rule alone refuses more than the target allows (threshold left at the default).
    public var reachable: Bool
    /// False when the recordings are too few to resolve the target (`PadOperatingPoint.minimumSamples`): threshold
    /// left at the default.
    public var resolved: Bool
    /// The rank rule's pick on these recordings (before rounding and clamping).
    public var operatingPoint: PadOperatingPoint.Pick
    /// A threshold was picked (resolved and reachable): `threshold` is the calibrated one, not the default.
    public var picked: Bool { resolved && reachable }
    /// False when there are fewer recordings than `recommendedRecordings`.
    public var enoughRecordings: Bool
    /// BPCER at a fixed grid of thresholds (0.5 … 0.9) and at the chosen one, ascending.
    public var table: [Row]

    /// Picks the threshold. `scores`: the fused passive score of each bona-fide recording (higher = more live).
    public static func calibrate(scores: [Double], targetBPCER: Double) -> PadCalibration {
        let target = min(1, max(0, targetBPCER))
        let s = scores.filter(\.isFinite).sorted()
        let n = s.count
        func rejected(_ t: Double) -> Int { s.filter { $0 < t }.count }
        let op = PadOperatingPoint.pick(bonaFide: s, targetBPCER: target)
        // The pick refuses rank − 1 of the recordings; the cues' own refusals must fit in that.
        let allowed = max(0, op.rank - 1)
        let atDefault = rejected(PassiveFusion.defaultScoreThreshold)
        let reachable = n > 0 && atDefault <= allowed
        var t = PassiveFusion.defaultScoreThreshold
        if let q = op.threshold, reachable {
            // Rounded down so that the recording setting it stays accepted.
            var r = (q / step).rounded(.down) * step
            if r > q { r -= step }  // floating-point: never above the recording that sets it
            t = PassiveFusion.clampThreshold(r)
        }
        var grid = stride(from: 0.5, through: 0.9001, by: 0.05).map { ($0 * 1000).rounded() / 1000 }
        if !grid.contains(where: { abs($0 - t) < 1e-9 }) { grid.append(t) }
        let table = grid.sorted().map { g in
            Row(threshold: g, rejected: rejected(g), bpcer: n == 0 ? 0 : Double(rejected(g)) / Double(n))
        }
        let r = rejected(t)
        return PadCalibration(recordings: n, targetBPCER: target, threshold: t, rejected: r,
                              bpcer: n == 0 ? 0 : Double(r) / Double(n), rejectedAtDefault: atDefault,
                              reachable: reachable, resolved: op.resolved, operatingPoint: op,
                              enoughRecordings: n >= recommendedRecordings(targetBPCER: target), table: table)
    }
}
