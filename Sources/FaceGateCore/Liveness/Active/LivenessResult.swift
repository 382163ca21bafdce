import Foundation

/// Why an active-liveness session failed. `description` is the human text; `code` a stable machine name.
public enum LivenessFailure: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// No still, frontal, single face to calibrate on within the allowance.
    case noStableFace(hint: String)
    case challengeTimeout(challenge: ChallengeType, seconds: Double)
    /// The movement reached its extent but never came back, or the person never returned to neutral first.
    case noReturnToNeutral(challenge: ChallengeType)
    case wrongAction(expected: ChallengeType, performed: ChallengeType)
    /// The response began sooner after the prompt than a person can react: a replay that happened to fit.
    case reactionTooFast(challenge: ChallengeType, latencyMs: Int)
    /// The detector could not see enough (face too small, eyes not measurable) for most of the challenge.
    case insufficientSignal(challenge: ChallengeType?, detail: String)
    case faceLost(seconds: Double)
    case multipleFaces(count: Int)
    case identityChanged(distance: Double, threshold: Double)
    case sessionTimeout(seconds: Double)
    /// The recording ended before the plan was completed.
    case inputEnded(challenge: ChallengeType?)
    /// Passive cues found a presentation attack (the deny cues that fired, e.g. bezel, moire, model).
    case presentationAttack(cues: [PadCue])
    /// Strict passive mode: no cue confirmed a live face (the confirm-capable cues that failed to).
    case notConfirmed(cues: [PadCue])

    public var code: String {
        switch self {
        case .noStableFace: return "no_stable_face"
        case .challengeTimeout: return "timeout"
        case .noReturnToNeutral: return "no_return_to_neutral"
        case .wrongAction: return "wrong_action"
        case .reactionTooFast: return "reaction_too_fast"
        case .insufficientSignal: return "insufficient_signal"
        case .faceLost: return "face_lost"
        case .multipleFaces: return "multiple_faces"
        case .identityChanged: return "identity_changed"
        case .sessionTimeout: return "session_timeout"
        case .inputEnded: return "input_ended"
        case .presentationAttack: return "presentation_attack"
        case .notConfirmed: return "not_confirmed"
        }
    }

    public var description: String {
        switch self {
        case .noStableFace(let hint):
            return "no still, frontal face to start from (\(hint)) — look at the camera and hold still for a moment"
        case .challengeTimeout(let c, let s):
            return "'\(c)' was not performed within \(String(format: "%.1f", s)) s — do it clearly after the prompt appears"
        case .noReturnToNeutral(let c):
            return "'\(c)': the head did not come back to the starting position — return to looking straight at the camera after each action"
        case .wrongAction(let e, let p):
            return "asked for '\(e)' but saw '\(p)' — follow the prompt as shown (directions are your own left/right)"
        case .reactionTooFast(let c, let ms):
            return "'\(c)' started \(ms) ms after the prompt, faster than a person can react — suspected replay; wait for the prompt"
        case .insufficientSignal(let c, let d):
            return (c.map { "'\($0)' cannot be judged: " } ?? "cannot judge the face: ") + d
        case .faceLost(let s):
            return "the face was lost for \(String(format: "%.1f", s)) s — stay in view of the camera"
        case .multipleFaces(let n):
            return "\(n) faces in view — exactly one person must be in front of the camera"
        case .identityChanged(let d, let t):
            return "the face changed during the session (distance \(String(format: "%.2f", d)) > \(String(format: "%.2f", t))) — one person must complete the whole session"
        case .sessionTimeout(let s):
            return "session took longer than \(String(format: "%.0f", s)) s — start again and follow the prompts"
        case .inputEnded(let c):
            return "the input ended before the session was complete" + (c.map { " (waiting for '\($0)')" } ?? "")
                + " — use a longer recording or fewer challenges"
        case .presentationAttack(let cues):
            return "presentation attack suspected by the passive cues (\(cues.map(\.name).joined(separator: ", "))) — present your own face to the camera, not a photo, a screen or a recording"
        case .notConfirmed(let cues):
            return "no sign of a live face was confirmed (strict mode; checked: \(cues.isEmpty ? "nothing could see" : cues.map(\.name).joined(separator: ", "))) — blink or turn your head slightly, in good light"
        }
    }
}

/// A frame the session relied on, so identity can be checked on exactly those frames.
public struct EvidenceFrame: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Hashable, Codable { case calibration, onset, peak, completion }
    public var index: Int
    public var timestamp: Double
    public var role: Role
    /// Index of the challenge in the plan (nil for calibration).
    public var challenge: Int?

    public init(_ stamp: FrameStamp, role: Role, challenge: Int?) {
        index = stamp.index; timestamp = stamp.timestamp; self.role = role; self.challenge = challenge
    }
    public var stamp: FrameStamp { FrameStamp(index: index, timestamp: timestamp) }
    /// Calibration and completion frames are near neutral with eyes open: the ones to embed for identity.
    public var isIdentityAnchor: Bool { role == .calibration || role == .completion }
}

/// One challenge's outcome and timing.
public struct ChallengeOutcome: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case passed, failed
        case notReached = "not_reached"
    }
    public var type: ChallengeType
    public var status: Status
    /// When the prompt was shown (timestamp of that frame).
    public var promptAt: FrameStamp?
    /// The action that satisfied it.
    public var action: DetectedAction?
    /// Seconds from prompt to movement onset.
    public var latency: Double?
    /// Other, non-contradicting actions seen while this challenge was asked (e.g. spontaneous blinks).
    public var otherActions: [ChallengeType]

    public init(type: ChallengeType, status: Status = .notReached, promptAt: FrameStamp? = nil, action: DetectedAction? = nil,
                latency: Double? = nil, otherActions: [ChallengeType] = []) {
        self.type = type; self.status = status; self.promptAt = promptAt; self.action = action
        self.latency = latency; self.otherActions = otherActions
    }

    public var passed: Bool { status == .passed }
    /// Seconds (stream time) at which it was completed.
    public var at: Double? { action?.completion.timestamp }
    public var latencyMs: Int? { latency.map { Int(($0 * 1000).rounded()) } }

    enum CodingKeys: String, CodingKey {
        case type, passed, status
        case latencyMs = "latency_ms"
        case at
        case promptAt = "prompt_at"
        case action
        case otherActions = "other_actions"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(passed, forKey: .passed)
        try c.encode(status, forKey: .status)
        if let v = latencyMs { try c.encode(v, forKey: .latencyMs) } else { try c.encodeNil(forKey: .latencyMs) }
        if let v = at { try c.encode(Self.round3(v), forKey: .at) } else { try c.encodeNil(forKey: .at) }
        try c.encodeIfPresent(promptAt, forKey: .promptAt)
        try c.encodeIfPresent(action, forKey: .action)
        try c.encode(otherActions, forKey: .otherActions)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(ChallengeType.self, forKey: .type)
        status = try c.decodeIfPresent(Status.self, forKey: .status)
            ?? (try c.decode(Bool.self, forKey: .passed) ? .passed : .failed)
        promptAt = try c.decodeIfPresent(FrameStamp.self, forKey: .promptAt)
        action = try c.decodeIfPresent(DetectedAction.self, forKey: .action)
        latency = try c.decodeIfPresent(Int.self, forKey: .latencyMs).map { Double($0) / 1000 }
        otherActions = try c.decodeIfPresent([ChallengeType].self, forKey: .otherActions) ?? []
    }

    static func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}

/// The outcome of an active-liveness session.
///
/// JSON (the issue's shape, plus detail keys):
/// `{"live":bool,"challenges":[{"type":"blink","passed":true,"latency_ms":…,"at":seconds,…}],"reason":string|null,
/// "frames":n, "failure":…, "plan":…, "evidence":[…], "identity_distance":…}`
public struct LivenessResult: Sendable, Hashable, Codable {
    public var live: Bool
    public var plan: ChallengePlan
    public var challenges: [ChallengeOutcome]
    public var failure: LivenessFailure?
    /// Frames processed.
    public var frames: Int
    public var evidence: [EvidenceFrame]
    public var baseline: ActiveBaseline?
    /// Largest embedding distance the runner reported between early and late frames (nil if not checked).
    public var identityDistance: Double?

    public init(live: Bool, plan: ChallengePlan, challenges: [ChallengeOutcome], failure: LivenessFailure?, frames: Int,
                evidence: [EvidenceFrame], baseline: ActiveBaseline?, identityDistance: Double? = nil) {
        self.live = live; self.plan = plan; self.challenges = challenges; self.failure = failure; self.frames = frames
        self.evidence = evidence; self.baseline = baseline; self.identityDistance = identityDistance
    }

    /// Human text for the failure, nil when live.
    public var reason: String? { failure?.description }
    /// Frames to embed to check that one person did the whole session.
    public var identityAnchors: [EvidenceFrame] { evidence.filter(\.isIdentityAnchor) }

    enum CodingKeys: String, CodingKey {
        case live, challenges, reason, frames, failure, plan, evidence, baseline
        case identityDistance = "identity_distance"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(live, forKey: .live)
        try c.encode(challenges, forKey: .challenges)
        if let r = reason { try c.encode(r, forKey: .reason) } else { try c.encodeNil(forKey: .reason) }
        try c.encode(frames, forKey: .frames)
        try c.encodeIfPresent(failure, forKey: .failure)
        try c.encode(PlanJSON(plan), forKey: .plan)
        try c.encode(evidence, forKey: .evidence)
        try c.encodeIfPresent(baseline, forKey: .baseline)
        try c.encodeIfPresent(identityDistance, forKey: .identityDistance)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        live = try c.decode(Bool.self, forKey: .live)
        challenges = try c.decode([ChallengeOutcome].self, forKey: .challenges)
        frames = try c.decode(Int.self, forKey: .frames)
        failure = try c.decodeIfPresent(LivenessFailure.self, forKey: .failure)
        evidence = try c.decodeIfPresent([EvidenceFrame].self, forKey: .evidence) ?? []
        baseline = try c.decodeIfPresent(ActiveBaseline.self, forKey: .baseline)
        identityDistance = try c.decodeIfPresent(Double.self, forKey: .identityDistance)
        if let p = try c.decodeIfPresent(PlanJSON.self, forKey: .plan) {
            plan = try p.plan()
        } else {
            plan = try ChallengePlan(explicit: challenges.map(\.type))
        }
    }

    /// The plan as JSON: nonce in hex, the drawn list and the allowed set.
    struct PlanJSON: Codable {
        var nonce: String?
        var challenges: [ChallengeType]
        var allowed: [ChallengeType]
        init(_ p: ChallengePlan) { nonce = p.isRandom ? p.nonceHex : nil; challenges = p.challenges; allowed = p.allowed }
        func plan() throws -> ChallengePlan {
            if let n = nonce {
                let p = try ChallengePlan(nonce: ChallengePlan.nonce(hex: n), count: challenges.count, allowed: allowed)
                guard p.challenges == challenges else { throw ActiveLivenessError.badNonce("plan does not match its nonce") }
                return p
            }
            return try ChallengePlan(explicit: challenges)
        }
    }
}
