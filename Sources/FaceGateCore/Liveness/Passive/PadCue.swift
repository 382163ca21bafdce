import Foundation

/// What a passive cue may do in fusion. A property of the cue (`PadCue.role`), never of one reading.
public enum PadCueRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Can only reject (glare, bezel, moiré, banding, model says spoof, IMU mismatch).
    case deny
    /// Can only support a live decision, and only in strict mode (nose depth, blink, a passed challenge plan).
    case confirm
    /// Both: flat-3-D (deny) / 3-D residual (confirm), depth plane (deny) / depth relief (confirm).
    case both
    /// Reported, never votes (no built-in cue has this role today; a cue whose measurement does not separate the
    /// attacks it is meant for goes here instead of deciding).
    case advisory

    public var canDeny: Bool { self == .deny || self == .both }
    public var canConfirm: Bool { self == .confirm || self == .both }
}

/// Every passive cue, with its role on the type. Its raw value is the name printed in `decided_by`, in the `cues`
/// object and in audit records (rendered at the edge, never parsed back to decide).
public enum PadCue: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case texture
    case moire
    case banding
    case glare
    case bezel
    case flat3D = "flat-3d"
    case noseDepth = "nose-depth"
    /// Spontaneous blinks counted by the active session's `BlinkDetector` (one blink detector in FaceGate).
    case blink
    case depth
    case imu
    case model
    /// A passed challenge plan, as a confirm cue of strict mode (`CombinedFusion`); never produced by the analyzer.
    case challenge

    public var name: String { rawValue }
    public var description: String { rawValue }

    /// What the cue may do in fusion (docs/passive-liveness.md, "What each cue can see"): replayed real heads have
    /// real 3-D motion and real blinks, so the 3-D and blink cues can only confirm — and only in strict mode.
    public var role: PadCueRole {
        switch self {
        case .texture, .moire, .banding, .glare, .bezel, .imu, .model: return .deny
        case .flat3D, .depth: return .both
        case .noseDepth, .blink, .challenge: return .confirm
        }
    }

    /// The cues `PassiveAnalyzer` reports on every presentation, in its order (`challenge` comes from the combined
    /// decision only).
    public static let analyzed: [PadCue] = [.texture, .moire, .banding, .glare, .bezel, .flat3D, .noseDepth, .blink, .depth, .imu, .model]
}

/// One cue's evaluator: whatever measurements it accumulates, it reports one reading under its own cue, whose role
/// is the cue's (`PadCue.role`).
public protocol PassiveCueEvaluator: Sendable {
    /// The cue this evaluator reports.
    var cue: PadCue { get }
    /// The reading over everything added so far (an abstaining reading when it could not see).
    var reading: PadCueReading { get }
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
    public var cue: PadCue
    public var state: PadCueState
    public var level: Double?
    public var confidence: Double
    /// Raw statistic(s) in human words, e.g. "peak ratio 14.2 (threshold 9)".
    public var note: String
    /// The anti-spoof models whose probabilities make up a `model` reading (empty for every other cue). What a cue
    /// deferring to the model checks (`votedOnlyByMeasuredModels`); not part of the wire shape.
    public var voters: [PadModelVoter]

    /// The cue's name as printed (`decided_by`, `cues`).
    public var name: String { cue.rawValue }
    /// The cue's role (on the type: a reading cannot claim another role).
    public var role: PadCueRole { cue.role }

    public init(cue: PadCue, state: PadCueState, level: Double?, confidence: Double, note: String = "", voters: [PadModelVoter] = []) {
        self.cue = cue; self.state = state
        self.level = level.map { min(1, max(0, $0)) }
        self.confidence = min(1, max(0, confidence)); self.note = note
        self.voters = cue == .model ? voters : []
    }

    public static func abstain(_ cue: PadCue, _ note: String) -> PadCueReading {
        PadCueReading(cue: cue, state: .abstain, level: nil, confidence: 0, note: note)
    }

    // The wire shape is unchanged: {"name", "role", "state", "level", "confidence", "note"} (a decoded model reading
    // has no voters, so nothing defers to it).
    enum CodingKeys: String, CodingKey { case name, role, state, level, confidence, note }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cue: try c.decode(PadCue.self, forKey: .name), state: try c.decode(PadCueState.self, forKey: .state),
                  level: try c.decodeIfPresent(Double.self, forKey: .level), confidence: try c.decode(Double.self, forKey: .confidence),
                  note: try c.decodeIfPresent(String.self, forKey: .note) ?? "")
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cue, forKey: .name); try c.encode(role, forKey: .role); try c.encode(state, forKey: .state)
        try c.encodeIfPresent(level, forKey: .level); try c.encode(confidence, forKey: .confidence); try c.encode(note, forKey: .note)
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

// Every built-in cue is one evaluator reporting under its own cue.
extension TextureCue: PassiveCueEvaluator { public var cue: PadCue { .texture } }
extension MoireCue: PassiveCueEvaluator { public var cue: PadCue { .moire } }
extension BandingCue: PassiveCueEvaluator { public var cue: PadCue { .banding } }
extension GlareCue: PassiveCueEvaluator { public var cue: PadCue { .glare } }
extension BezelCue: PassiveCueEvaluator { public var cue: PadCue { .bezel } }
extension FlatnessCue: PassiveCueEvaluator { public var cue: PadCue { .flat3D } }
extension NoseDepthCue: PassiveCueEvaluator { public var cue: PadCue { .noseDepth } }
extension BlinkCue: PassiveCueEvaluator { public var cue: PadCue { .blink } }
extension DepthCue: PassiveCueEvaluator { public var cue: PadCue { .depth } }
extension ImuConsistencyCue: PassiveCueEvaluator { public var cue: PadCue { .imu } }
extension ModelCue: PassiveCueEvaluator { public var cue: PadCue { .model } }
