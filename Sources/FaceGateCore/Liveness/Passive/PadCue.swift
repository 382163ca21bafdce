import Foundation

/// What a passive cue may do in fusion.
public enum PadCueRole: String, Sendable, Hashable, Codable {
    /// Can only reject (glare, bezel, moiré, model says spoof, IMU mismatch).
    case deny
    /// Can only support a live decision (nose depth, blink).
    case confirm
    /// Both: flat-3-D (deny) / 3-D residual (confirm), depth plane (deny) / depth relief (confirm).
    case both

    public var canDeny: Bool { self != .confirm }
    public var canConfirm: Bool { self != .deny }
}

/// A cue's conclusion.
public enum PadCueState: String, Sendable, Hashable, Codable {
    /// Evidence of a presentation attack.
    case spoof
    /// Evidence of a live face (counts only for cues that may confirm).
    case live
    /// Looked, saw nothing decisive either way.
    case neutral
    /// Could not see (no face, too small, no motion, no model, no depth...). Never votes.
    case abstain
}

/// One passive cue's reading.
///
/// `level` is the attack evidence on a common scale: 0 clearly live, 1 clearly an attack, **0.5 at the cue's decision
/// threshold** (each cue maps its raw statistic so), nil when abstaining. `confidence` (0…1) says how much the cue
/// saw (frames, pixels, motion) — a reading below `PassiveFusion.minimumConfidence` does not vote.
public struct PadCueReading: Sendable, Hashable, Codable {
    public var name: String
    public var role: PadCueRole
    public var state: PadCueState
    public var level: Double?
    public var confidence: Double
    /// Raw statistic(s) in human words, e.g. "peak ratio 14.2 (threshold 9)".
    public var note: String

    public init(name: String, role: PadCueRole, state: PadCueState, level: Double?, confidence: Double, note: String = "") {
        self.name = name; self.role = role; self.state = state
        self.level = level.map { min(1, max(0, $0)) }
        self.confidence = min(1, max(0, confidence)); self.note = note
    }

    public static func abstain(_ name: String, role: PadCueRole, _ note: String) -> PadCueReading {
        PadCueReading(name: name, role: role, state: .abstain, level: nil, confidence: 0, note: note)
    }

    /// Maps a raw statistic onto the common level scale: `live` → 0.25, `threshold` → 0.5, `spoof` → 0.75 (linear
    /// in between, clamped 0…1). Works for both directions (`spoof` above or below `threshold`).
    public static func level(_ value: Double, live: Double, threshold: Double, spoof: Double) -> Double {
        let increasing = spoof >= live
        let v = increasing ? value : -value
        let (l, t, s) = increasing ? (live, threshold, spoof) : (-live, -threshold, -spoof)
        if v <= t {
            let span = max(t - l, 1e-12)
            return max(0, 0.5 - 0.25 * (t - v) / span)
        }
        let span = max(s - t, 1e-12)
        return min(1, 0.5 + 0.25 * (v - t) / span)
    }

    /// The summary line used in decisions, logs and audit.
    public var summary: CueSummary {
        let verdict: CueSummary.Verdict = switch state {
        case .spoof: .spoof
        case .live: .live
        case .neutral: .live
        case .abstain: .abstain
        }
        return CueSummary(name: name, verdict: verdict, score: level, note: note.isEmpty ? nil : note)
    }
}

/// The passive cue names, as printed in `decided_by` and in the `cues` object.
public enum PadCueName {
    public static let texture = "texture"
    public static let moire = "moire"
    public static let glare = "glare"
    public static let bezel = "bezel"
    public static let flat3D = "flat-3d"
    public static let noseDepth = "nose-depth"
    public static let depth = "depth"
    public static let imu = "imu"
    public static let model = "model"
    public static let blink = "blink"
    public static let banding = "banding"
}
