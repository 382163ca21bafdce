import Foundation

/// Which liveness checks one session runs.
public enum LivenessMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Challenge–response only (`LivenessSession`).
    case active
    /// Passive cues only: a short capture, then the passive verdict (no challenges).
    case passive
    /// Challenges and passive cues on the same frames; live only if both agree.
    case both

    public var runsChallenges: Bool { self != .passive }
    public var runsPassive: Bool { self != .active }
}

/// The decision of a session that may combine challenges and passive cues.
public struct CombinedVerdict: Sendable, Hashable, Codable {
    public enum Reason: String, Sendable, Hashable, Codable {
        /// Every part that ran said live.
        case live
        /// A passive deny cue fired (overrides everything, also passed challenges).
        case denyCue = "deny-cue"
        /// The challenge session (or, in passive mode, the capture) failed.
        case sessionFailed = "session-failed"
        /// Strict passive mode and nothing confirmed a live face.
        case noConfirmCue = "no-confirm-cue"
    }
    public var live: Bool
    public var mode: LivenessMode
    public var reason: Reason
    /// What decided: passive cues (`bezel`, `moire`, `model`, `nose-depth`, `challenge`, …), a failed challenge, or
    /// the session's failure. Rendered as text only at the edge (`LivenessDecider.name`).
    public var decidedBy: [LivenessDecider]
    /// The failure in the active-liveness shape (nil when live): the session's own failure, or
    /// `.presentationAttack` / `.notConfirmed` when the passive part decided.
    public var failure: LivenessFailure?
    /// The passive verdict (in strict mode with a passed plan, its cues include the confirm cue `challenge`); nil in
    /// active mode.
    public var passive: PassiveVerdict?

    public init(live: Bool, mode: LivenessMode, reason: Reason, decidedBy: [LivenessDecider], failure: LivenessFailure?, passive: PassiveVerdict?) {
        self.live = live; self.mode = mode; self.reason = reason; self.decidedBy = decidedBy
        self.failure = failure; self.passive = passive
    }
}

/// One thing that decided a combined liveness verdict.
public enum LivenessDecider: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A passive cue (or `challenge`: a passed plan).
    case cue(PadCue)
    /// The challenge that failed.
    case failedChallenge(ChallengeType)
    /// The session's failure when no challenge failed (no stable face, face lost, input ended, …).
    case failure(LivenessFailure)

    /// As printed in `decided_by`: the cue's name, `challenge:<type>`, or the failure's code.
    public var name: String {
        switch self {
        case .cue(let c): return c.rawValue
        case .failedChallenge(let t): return "\(PadCue.challenge.rawValue):\(t.rawValue)"
        case .failure(let f): return f.code
        }
    }
    public var description: String { name }
    /// The passive cue, if this is one.
    public var cue: PadCue? { if case .cue(let c) = self { return c } else { return nil } }
}

/// Fuses a challenge session (or a passive capture) with the passive cues. Live only if the session passed AND the
/// passive fusion does not deny; deny cues override everything (docs/passive-liveness.md). In strict passive mode a
/// passed challenge plan is the confirm cue `challenge`.
public enum CombinedFusion {
    /// The confirm cue a passed challenge plan contributes (strict mode).
    public static let challengeCue = PadCue.challenge
    /// Level of that cue on the common scale: 0.25 is where every cue maps its "clearly live" reference value
    /// (`PadCueReading.level(_:live:threshold:spoof:)`), so a passed plan confirms as firmly as a cue at its live
    /// reference, and the score still follows the deny cues (it bounds the strict score at 0.75, not lower).
    public static let challengeLevel = 0.25

    /// The confirm reading of a passed plan.
    public static func challengeReading(_ session: LivenessResult) -> PadCueReading {
        let names = session.challenges.filter(\.passed).map(\.type.rawValue).joined(separator: ", ")
        return PadCueReading(cue: challengeCue, state: .live, level: challengeLevel, confidence: 1,
                             note: "challenges passed: \(names)")
    }

    /// The combined decision. `session`: the challenge result (active/both) or the passive capture's result (passive
    /// mode; nil = nothing failed there). `passive`: the passive cues' readings (nil in active mode; in passive/both
    /// modes nil counts as "no cue could see").
    public static func decide(mode: LivenessMode, session: LivenessResult?, passive readings: [PadCueReading]?,
                              passiveMode: PassiveMode, scoreThreshold: Double = PassiveFusion.defaultScoreThreshold) -> CombinedVerdict {
        let sessionLive = session?.live ?? !mode.runsChallenges
        var verdict: PassiveVerdict?
        if mode.runsPassive {
            var r = readings ?? []
            if passiveMode == .strict, mode.runsChallenges, let s = session, s.live, !s.challenges.isEmpty {
                r.append(challengeReading(s))
            }
            verdict = PassiveFusion.fuse(r, mode: passiveMode, scoreThreshold: scoreThreshold)
        }
        let sessionNames = session.map(failureNames) ?? []
        if let v = verdict, v.reason == .denied {
            return CombinedVerdict(live: false, mode: mode, reason: .denyCue,
                                   decidedBy: unique(v.decidedBy.map(LivenessDecider.cue) + (sessionLive ? [] : sessionNames)),
                                   failure: .presentationAttack(cues: v.decidedBy), passive: verdict)
        }
        if !sessionLive {
            let f = session?.failure ?? .inputEnded(challenge: nil)
            return CombinedVerdict(live: false, mode: mode, reason: .sessionFailed,
                                   decidedBy: sessionNames.isEmpty ? [.failure(f)] : sessionNames, failure: f, passive: verdict)
        }
        if let v = verdict, !v.live {
            return CombinedVerdict(live: false, mode: mode, reason: .noConfirmCue, decidedBy: v.decidedBy.map(LivenessDecider.cue),
                                   failure: .notConfirmed(cues: v.decidedBy), passive: verdict)
        }
        var by: [LivenessDecider] = mode.runsChallenges ? [.cue(challengeCue)] : []
        by += (verdict?.decidedBy ?? []).map(LivenessDecider.cue)
        return CombinedVerdict(live: true, mode: mode, reason: .live, decidedBy: unique(by), failure: nil, passive: verdict)
    }

    /// The session's result with the combined decision written into `live` and `failure` (the shape every consumer
    /// of active results already reads: CLI JSON, authenticate, the server's session outcome).
    public static func merge(_ v: CombinedVerdict, into session: LivenessResult) -> LivenessResult {
        var r = session
        r.live = v.live
        r.failure = v.live ? nil : v.failure
        return r
    }

    /// What a failed session names: the failed challenge (`challenge:blink`) or the failure.
    static func failureNames(_ s: LivenessResult) -> [LivenessDecider] {
        guard !s.live else { return [] }
        if let c = s.challenges.first(where: { $0.status == .failed }) { return [.failedChallenge(c.type)] }
        return s.failure.map { [.failure($0)] } ?? []
    }

    static func unique(_ a: [LivenessDecider]) -> [LivenessDecider] {
        var seen = Set<LivenessDecider>()
        return a.filter { seen.insert($0).inserted }
    }
}

extension ChallengePlan {
    /// The empty plan of a passive-only session: nothing is asked.
    public static let passiveOnly = ChallengePlan(noChallenges: ())

    init(noChallenges: Void) {
        nonce = []
        challenges = []
        allowed = []
    }
}

/// The capture of a passive-only session, frame by frame: collect `frames` frames with exactly one face, then the
/// passive cues decide. Identity anchors are the first, middle and last counted frames (so a verification or an
/// enrollment has several frames and the face is checked to stay the same person).
public struct PassiveCapture: Sendable {
    /// 30 one-face frames ≈ 2 s at the browser's 15 fps: with `PassiveSchedule` the moiré cue gets 15 spectra, the
    /// bezel 10 searches and each anti-spoof model 6 crops — the sizes their medians were tuned on (fixture clips,
    /// 60 frames, saturating well before). Blink and 3-D cues need longer and abstain on a still person.
    public static let defaultFrames = 30
    /// 10 s to collect them: twice the active calibration allowance plus time for permission prompts and framing.
    public static let defaultTimeout = 10.0
    /// Fewest frames a capture may ask for: the bezel and model cues need ≥ 2 readings on their schedules.
    public static let minimumFrames = 10

    public let frames: Int
    public let timeout: Double
    public private(set) var seen = 0
    public private(set) var counted = 0
    public private(set) var evidence: [EvidenceFrame] = []
    public private(set) var result: LivenessResult?
    private var start: Double?
    private var lastTimestamp: Double?

    public init(frames: Int = defaultFrames, timeout: Double = defaultTimeout) {
        self.frames = max(Self.minimumFrames, frames)
        self.timeout = timeout
    }

    public var isFinished: Bool { result != nil }
    public var progress: Double { min(1, Double(counted) / Double(frames)) }

    public enum Step: Sendable, Equatable {
        /// Still collecting; `anchor`: this frame is an identity anchor.
        case collecting(anchor: Bool)
        /// Enough frames: this frame is the last anchor; the passive cues decide now.
        case complete
        case failed(LivenessFailure)
        /// Already finished (or an out-of-order frame): ignored.
        case ignored
    }

    /// One frame: its stamp and how many faces were found.
    public mutating func add(index: Int, timestamp t: Double, faces: Int) -> Step {
        guard result == nil else { return .ignored }
        if let last = lastTimestamp, t <= last { return .ignored }
        lastTimestamp = t
        seen += 1
        if start == nil { start = t }
        let stamp = FrameStamp(index: index, timestamp: t)
        if faces == 1 {
            counted += 1
            if counted == frames {
                evidence.append(EvidenceFrame(stamp, role: .completion, challenge: nil))
                finish(failure: nil)
                return .complete
            }
            if counted == 1 || counted == (frames + 1) / 2 {
                evidence.append(EvidenceFrame(stamp, role: counted == 1 ? .calibration : .completion, challenge: nil))
                return .collecting(anchor: true)
            }
        }
        if t - (start ?? t) > timeout {
            let f: LivenessFailure = counted == 0
                ? .noStableFace(hint: "no single face in \(Int(timeout)) s")
                : .insufficientSignal(challenge: nil, detail: "only \(counted) of \(frames) frames showed exactly one face — stay in view, alone")
            finish(failure: f)
            return .failed(f)
        }
        return .collecting(anchor: false)
    }

    /// The input ended before the capture was complete.
    @discardableResult
    public mutating func endOfInput() -> LivenessResult {
        if let r = result { return r }
        finish(failure: counted == 0 ? .noStableFace(hint: "no single face in the input") : .inputEnded(challenge: nil))
        return result!
    }

    /// A later identity check failed (the anchors are different people).
    public mutating func identityChanged(distance: Double, threshold: Double) {
        if let r = result, !r.live { return }
        finish(failure: .identityChanged(distance: distance, threshold: threshold), force: true)
    }

    private mutating func finish(failure: LivenessFailure?, force: Bool = false) {
        guard result == nil || force else { return }
        result = LivenessResult(live: failure == nil, plan: .passiveOnly, challenges: [], failure: failure, frames: seen,
                                evidence: evidence, baseline: nil)
    }
}
