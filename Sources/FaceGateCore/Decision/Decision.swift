import Foundation

/// The outcome of one authentication attempt: the value every front-end produces and every action consumes.
public struct Decision: Sendable, Hashable, Codable, Identifiable {
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        case authorized, denied
    }

    /// Unique id of this attempt (used as the audit record id and the webhook delivery id).
    public var id: UUID
    /// When the decision was taken.
    public var time: Date
    public var outcome: Outcome
    /// Why it was denied; nil for `.authorized`.
    public var reason: DenialReason?
    /// Where the attempt came from: "camera:0", "file:/path/clip.mp4", "ws:192.0.2.7", ...
    public var source: String
    /// The user the subject claimed to be (1:1 verification), nil for 1:N identification.
    public var claimedUser: String?
    /// The gallery user that matched, if any (also set on a denial when a spoof matched an enrolled face).
    public var matchedUser: String?
    /// Embedding distance to `matchedUser` (or to the closest user when none matched), nil without a face.
    public var distance: Double?
    /// Same-person threshold the distance was compared with.
    public var threshold: Double?
    /// Passive and active liveness cues, one line each.
    public var cues: [CueSummary]
    /// The challenges that were asked, in order, with their timings.
    public var challenges: [ChallengeRecord]
    /// Wall time the whole attempt took, seconds.
    public var duration: Double?
    /// JPEG bytes of the best frame of the subject (full frame or face crop), if one was captured.
    public var snapshotJPEG: Data?
    /// Free-form human detail (e.g. the lockout message or the error text).
    public var detail: String?
    /// Machine references of the attempt for audit and webhooks (the server sets "session", "api_key",
    /// "client_ip", "instance", "route"); nil for CLI attempts.
    public var context: [String: String]?

    public init(id: UUID = UUID(), time: Date = Date(), outcome: Outcome, reason: DenialReason? = nil,
                source: String, claimedUser: String? = nil, matchedUser: String? = nil,
                distance: Double? = nil, threshold: Double? = nil, cues: [CueSummary] = [],
                challenges: [ChallengeRecord] = [], duration: Double? = nil, snapshotJPEG: Data? = nil,
                detail: String? = nil) {
        precondition(outcome == .denied || reason == nil, "an authorized decision has no denial reason")
        self.id = id; self.time = time; self.outcome = outcome
        self.reason = outcome == .denied ? (reason ?? .unknownFace) : nil
        self.source = source; self.claimedUser = claimedUser; self.matchedUser = matchedUser
        self.distance = distance; self.threshold = threshold; self.cues = cues; self.challenges = challenges
        self.duration = duration; self.snapshotJPEG = snapshotJPEG; self.detail = detail
    }

    /// An authorized live person who matched `user`.
    public static func authorized(user: String, source: String, distance: Double? = nil, threshold: Double? = nil,
                                  cues: [CueSummary] = [], challenges: [ChallengeRecord] = [],
                                  snapshotJPEG: Data? = nil, time: Date = Date()) -> Decision {
        Decision(time: time, outcome: .authorized, source: source, claimedUser: nil, matchedUser: user,
                 distance: distance, threshold: threshold, cues: cues, challenges: challenges,
                 snapshotJPEG: snapshotJPEG)
    }

    /// A refusal for `reason`.
    public static func denied(_ reason: DenialReason, source: String, claimedUser: String? = nil,
                              matchedUser: String? = nil, distance: Double? = nil, threshold: Double? = nil,
                              cues: [CueSummary] = [], challenges: [ChallengeRecord] = [],
                              snapshotJPEG: Data? = nil, detail: String? = nil, time: Date = Date()) -> Decision {
        Decision(time: time, outcome: .denied, reason: reason, source: source, claimedUser: claimedUser,
                 matchedUser: matchedUser, distance: distance, threshold: threshold, cues: cues,
                 challenges: challenges, snapshotJPEG: snapshotJPEG, detail: detail)
    }

    public var isAuthorized: Bool { outcome == .authorized }

    /// The user this attempt concerns: the claimed user, else the matched one.
    public var subjectUser: String? { claimedUser ?? matchedUser }

    /// One-line human summary: "Authorized — alice" / "Unauthorized — spoof detected".
    public var headline: String {
        switch outcome {
        case .authorized: return "Authorized — \(matchedUser ?? claimedUser ?? "unknown")"
        case .denied: return "Unauthorized — \((reason ?? .unknownFace).text)"
        }
    }
}

/// Why an attempt was refused.
public enum DenialReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// Liveness said the face is a presentation attack (photo, screen, mask, replay).
    case spoof
    /// A live face that matches nobody in the gallery (or not the claimed user).
    case unknownFace
    /// The claimed user exists but the face matched another enrolled user.
    case wrongUser
    /// The session ran out of time before liveness and identity were settled.
    case timeout
    /// A challenge was answered wrongly (e.g. turned right when asked to turn left).
    case challengeFailed
    /// Too many failures for this user or source: refused without looking.
    case lockedOut
    /// No usable face was seen.
    case noFace
    /// More than one face in view.
    case multipleFaces
    /// The attempt was cancelled by the user or the client disconnected.
    case cancelled
    /// FaceGate could not decide because of an internal or system failure.
    case error

    /// Human text used in overlays, mails and voice.
    public var text: String {
        switch self {
        case .spoof: return "spoof detected"
        case .unknownFace: return "unknown face"
        case .wrongUser: return "face does not match the claimed user"
        case .timeout: return "timed out"
        case .challengeFailed: return "challenge failed"
        case .lockedOut: return "locked out after too many failures"
        case .noFace: return "no face found"
        case .multipleFaces: return "several faces in view"
        case .cancelled: return "cancelled"
        case .error: return "internal error"
        }
    }

    /// Whether this refusal counts toward the lockout (a cancelled or broken attempt is not an attack).
    public var countsAsFailure: Bool {
        switch self {
        case .cancelled, .error, .lockedOut, .noFace: return false
        default: return true
        }
    }
}

/// One liveness cue's contribution, for logs, mails and audit.
public struct CueSummary: Sendable, Hashable, Codable {
    public enum Verdict: String, Sendable, Hashable, Codable { case live, spoof, abstain }
    /// Cue name, e.g. "blink", "texture-lbp", "moire", "depth".
    public var name: String
    public var verdict: Verdict
    /// The cue's score on its own scale (see the cue's docs), nil when it abstained.
    public var score: Double?
    /// Short human note, e.g. "2 blinks in 3.1 s".
    public var note: String?

    public init(name: String, verdict: Verdict, score: Double? = nil, note: String? = nil) {
        self.name = name; self.verdict = verdict; self.score = score; self.note = note
    }

    public var line: String {
        var s = "\(name): \(verdict.rawValue)"
        if let score { s += String(format: " (%.3f)", score) }
        if let note, !note.isEmpty { s += " — \(note)" }
        return s
    }
}

/// One challenge of the randomized plan and how it went.
public struct ChallengeRecord: Sendable, Hashable, Codable {
    public enum Result: String, Sendable, Hashable, Codable { case passed, failed, timedOut, skipped }
    /// Machine name of the challenge, e.g. "blink", "turnLeft", "smile".
    public var name: String
    /// The prompt shown to the user, e.g. "Turn your head left".
    public var prompt: String
    public var result: Result
    /// Seconds from session start to when the challenge was issued.
    public var startedAt: Double
    /// Seconds the subject took to answer (or until it timed out).
    public var duration: Double

    public init(name: String, prompt: String, result: Result, startedAt: Double, duration: Double) {
        self.name = name; self.prompt = prompt; self.result = result; self.startedAt = startedAt; self.duration = duration
    }
}

// MARK: - Liveness failure → denial reason (the one table every front-end uses)

extension LivenessFailure {
    /// Why an attempt that failed liveness this way is refused. The CLI, the server and the face unlock all take
    /// the denial reason from here, so a spoof caught by the passive cues is audited, mailed and webhooked as `spoof`
    /// everywhere (the server used to file it as `error`).
    public var denialReason: DenialReason {
        switch self {
        case .noStableFace, .faceLost: return .noFace
        case .challengeTimeout, .sessionTimeout: return .timeout
        case .multipleFaces: return .multipleFaces
        // The person did not do what was asked (or a recording ended first): a failed challenge, not proof of an
        // attack. A recording that ends mid-plan is the same failure whichever front-end read it.
        case .noReturnToNeutral, .wrongAction, .insufficientSignal, .inputEnded, .notConfirmed: return .challengeFailed
        // What a replayed or puppeted recording produces, and what the passive cues see in a photo or a screen.
        case .reactionTooFast, .identityChanged, .presentationAttack: return .spoof
        }
    }

    /// One value of every case (for table tests).
    /// Adding a case to `LivenessFailure` without adding it here fails `LivenessFailureTableTests`.
    public static let representatives: [LivenessFailure] = [
        .noStableFace(hint: ""), .challengeTimeout(challenge: .blink, seconds: 0), .noReturnToNeutral(challenge: .blink),
        .wrongAction(expected: .blink, performed: .nod), .reactionTooFast(challenge: .blink, latencyMs: 0),
        .insufficientSignal(challenge: nil, detail: ""), .faceLost(seconds: 0), .multipleFaces(count: 2),
        .identityChanged(distance: 0, threshold: 0), .sessionTimeout(seconds: 0), .inputEnded(challenge: nil),
        .presentationAttack(cues: []), .notConfirmed(cues: []),
    ]
}
