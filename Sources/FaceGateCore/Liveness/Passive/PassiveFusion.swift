import Foundation

/// How strict the passive decision is.
public enum PassiveMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Deny-only: live unless a deny cue fires (single images, kiosks with a challenge on top).
    case light
    /// Also needs a confirm cue (3-D residual, nose depth, depth relief, blink) with no deny cue.
    case strict
}

/// The fused passive verdict.
public struct PassiveVerdict: Sendable, Hashable, Codable {
    public enum Reason: String, Sendable, Hashable, Codable {
        /// At least one deny cue fired.
        case denied = "deny-cue"
        /// Strict mode and no confirm cue.
        case unconfirmed = "no-confirm-cue"
        /// A confirm cue and no deny cue.
        case confirmed
        /// Light mode, deny cues looked and none fired.
        case noDenyCue = "no-deny-cue"
        /// Light mode, every cue abstained: nothing to go on (live by the light rule, flagged).
        case allAbstained = "all-abstained"
    }
    public var live: Bool
    /// Continuous liveness score 0…1 (higher = more live); 0.5 is the decision boundary of the cues' levels.
    public var score: Double
    public var mode: PassiveMode
    public var reason: Reason
    /// The cue(s) that decided: the deny cues that fired; or the confirm cues that confirmed; or (strict, unconfirmed)
    /// the confirm-capable cues that failed to confirm; or (light, no deny) the deny cues that looked.
    public var decidedBy: [PadCue]
    public var cues: [PadCueReading]

    public var cueSummaries: [CueSummary] { cues.map(\.summary) }
}

/// Deny cues override confirm cues; light = deny-only, strict = also needs a confirm cue.
public enum PassiveFusion {
    /// Readings less confident than this do not vote (e.g. one frame of a cue that needs several).
    public static let minimumConfidence = 0.2
    /// The built-in operating point: every cue maps its own threshold to level 0.5, so a score below 0.5 is a cue
    /// that fired.
    public static let defaultScoreThreshold = 0.5
    /// Highest calibrated threshold accepted: above it one cue at its "clearly live" reference level (0.25, score
    /// 0.75) plus noise would already be refused.
    public static let maximumScoreThreshold = 0.95

    /// A calibrated threshold (`facegate calibrate-pad`, config `liveness.pad_threshold`) clamped to what fusion
    /// accepts: it can only make the decision stricter than the cues' own thresholds, never looser — a user's own
    /// genuine recordings must not switch off a cue that fired (`PadCalibration`).
    public static func clampThreshold(_ t: Double) -> Double {
        t.isFinite ? min(maximumScoreThreshold, max(defaultScoreThreshold, t)) : defaultScoreThreshold
    }

    /// `scoreThreshold` (clamped by `clampThreshold`): a deny-capable reading whose level is above 1 − threshold
    /// denies too, i.e. the presentation is refused when its score is below the threshold. At the default 0.5 this is
    /// exactly "a deny cue fired".
    public static func fuse(_ readings: [PadCueReading], mode: PassiveMode,
                            scoreThreshold: Double = defaultScoreThreshold) -> PassiveVerdict {
        let threshold = clampThreshold(scoreThreshold)
        let voting = readings.filter { $0.role != .advisory && $0.state != .abstain && $0.confidence >= minimumConfidence }
        let fired = voting.filter { $0.role.canDeny && $0.state == .spoof }
        let calibrated = threshold > defaultScoreThreshold
            ? voting.filter { $0.role.canDeny && $0.state != .spoof && 1 - ($0.level ?? 0) < threshold } : []
        let denies = (fired + calibrated)
            .sorted { ($0.level ?? 0) * $0.confidence > ($1.level ?? 0) * $1.confidence }
        let confirms = voting.filter { $0.role.canConfirm && $0.state == .live }
        let denyLooked = voting.filter { $0.role.canDeny }
        let confirmCapable = readings.filter { $0.role.canConfirm }

        // Score: the most damning deny-capable level bounds it from above; in strict mode the best confirm level
        // bounds it too (no confirmation → at most 0.5).
        let maxDeny = denyLooked.compactMap(\.level).max()
        var score = 1 - (maxDeny ?? 0.45)
        if mode == .strict {
            let bestConfirm = voting.filter { $0.role.canConfirm }.compactMap(\.level).min()
            score = min(score, 1 - (bestConfirm.map { $0 } ?? 0.55))
        }
        score = min(1, max(0, score))

        if !denies.isEmpty {
            // A cue that fired caps the score below 0.5; a refusal only by the calibrated threshold keeps its score
            // (already below the threshold).
            return PassiveVerdict(live: false, score: fired.isEmpty ? score : min(score, 0.5 - 1e-6), mode: mode, reason: .denied,
                                  decidedBy: denies.map(\.cue), cues: readings)
        }
        // Confirm cues decide only in strict mode. In light mode a live reading of flat-3d, nose-depth or blink is
        // reported but never named as the reason: a replayed real head has real 3-D motion and real blinks, so
        // "confirmed" would claim more than those cues can see (docs/passive-liveness.md, per-cue table).
        if mode == .strict && !confirms.isEmpty {
            return PassiveVerdict(live: true, score: max(score, 0.5), mode: mode, reason: .confirmed,
                                  decidedBy: confirms.map(\.cue), cues: readings)
        }
        if mode == .strict {
            return PassiveVerdict(live: false, score: min(score, 0.5 - 1e-6), mode: mode, reason: .unconfirmed,
                                  decidedBy: confirmCapable.map(\.cue), cues: readings)
        }
        if denyLooked.isEmpty {
            return PassiveVerdict(live: true, score: 0.5, mode: mode, reason: .allAbstained, decidedBy: [], cues: readings)
        }
        return PassiveVerdict(live: true, score: max(score, 0.5), mode: mode, reason: .noDenyCue,
                              decidedBy: denyLooked.map(\.cue), cues: readings)
    }
}
