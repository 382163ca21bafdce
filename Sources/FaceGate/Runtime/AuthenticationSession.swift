import FaceGateActions
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

/// What one authentication (or liveness-only) session runs.
public struct AuthenticationSettings {
    /// The liveness part: mode, plan, timeouts, passive cue inputs (the same for `liveness` and `authenticate`).
    public var liveness: LivenessPipelineOptions
    /// 1:1 against this user; nil: 1:N among all users.
    public var claimedUser: String?
    /// The claimed user's own threshold (from the gallery), for the reported threshold when no anchor was compared.
    public var claimedUserThreshold: Double?
    /// Where the attempt comes from ("camera:0", "video:/path/clip.mp4", "ws:192.0.2.7"), for the decision.
    public var source: String

    /// The source subject the lockout counts this attempt against (besides the claimed user); nil: the user only.
    /// Default `.source(source)` (the CLI's camera or full video path); the server names the end client instead.
    public var lockoutSource: LockoutSubject?

    public init(liveness: LivenessPipelineOptions, claimedUser: String? = nil, claimedUserThreshold: Double? = nil, source: String) {
        self.liveness = liveness; self.claimedUser = claimedUser; self.claimedUserThreshold = claimedUserThreshold
        self.source = source
        self.lockoutSource = .source(source)
    }
}

/// The typed outcome of an authentication session.
public struct AuthenticationOutcome: Sendable {
    public var result: AuthenticationResult
    public var liveness: CombinedLivenessResult
    /// The action-layer decision (audit, mail, webhooks, lock), with the denial reason from the core's one table.
    public var decision: Decision
    /// The threshold applied and where it came from.
    public var threshold: (value: Double, source: ThresholdSource)
}

/// One authentication: a liveness session (challenges, plus the passive cues on the same frames in mode both), then
/// identity (1:N, or 1:1 with a claimed user) on the session's identity anchors — embedded once by the pipeline's
/// `IdentityContinuity` — and a typed `Decision`. The CLI (`authenticate`, and `liveness` for its liveness half),
/// the server's WebSocket sessions (fed frame by frame) and a face-unlock daemon run this, not copies of it.
public final class AuthenticationSession {
    public let settings: AuthenticationSettings
    public let pipeline: LivenessPipeline
    public let presenter: SessionPresenter
    /// The last frame with exactly one face and that face's box (decision image and snapshot).
    public private(set) var decisiveFrame: (image: Image, face: Rect)?
    private var announced = false

    /// `identify`: the identity step follows (`decide`), so the anchors are embedded even without the continuity
    /// check; false for a liveness-only session (`facegate liveness`), whose liveness part is otherwise the same.
    public init(engine: FaceEngine, settings: AuthenticationSettings, identify: Bool = true,
                presenter: SessionPresenter = SilentPresenter()) throws {
        var options = settings.liveness
        options.keepAnchors = options.keepAnchors || identify
        self.settings = settings
        self.pipeline = try LivenessPipeline(engine: engine, options: options)
        self.presenter = presenter
    }

    public var plan: ChallengePlan { pipeline.plan }
    public var isFinished: Bool { pipeline.isFinished }
    public var anchors: [IdentityAnchor] { pipeline.identity.anchors }

    // MARK: liveness (fed frame by frame, or a whole source)

    /// One frame (tracked by the pipeline's tracker).
    @discardableResult
    public func process(_ frame: Frame) throws -> LivenessStep {
        let step = try process(pipeline.tracker.process(frame), image: frame.image, frame: frame)
        return step
    }

    /// One frame already tracked by `pipeline.tracker` (the server decodes and tracks on its worker).
    @discardableResult
    public func process(_ analysis: FrameAnalysis, image: Image) throws -> LivenessStep {
        try process(analysis, image: image, frame: nil)
    }

    private func process(_ analysis: FrameAnalysis, image: Image, frame: Frame?) throws -> LivenessStep {
        announce()
        let step = try pipeline.process(analysis, image: image)
        if analysis.faces.count == 1, let f = analysis.primary { decisiveFrame = (image, f.box) }
        presenter.present(step, plan: pipeline.plan)
        if let frame { try presenter.frame(frame, step: step, pipeline: pipeline) }
        return step
    }

    private func announce() {
        guard !announced else { return }
        announced = true
        presenter.notice(.plan(pipeline.plan, passive: pipeline.mode.runsPassive ? pipeline.passiveMode : nil))
    }

    /// The liveness result once decided, nil before.
    public var livenessResult: CombinedLivenessResult? { pipeline.result }

    /// The input ended (end of a video, client gone): liveness decides with what it saw.
    @discardableResult
    public func endOfInput() -> CombinedLivenessResult {
        presenter.finish()
        return pipeline.finish()
    }

    /// Liveness over a whole source: stops when decided or at the end of the source. `liveness` runs exactly this.
    public func runLiveness(_ source: FrameSource) throws -> CombinedLivenessResult {
        presenter.opened(source)
        while let frame = try source.next() {
            try process(frame)
            if pipeline.isFinished { break }
        }
        presenter.finish()
        return pipeline.result ?? pipeline.finish()
    }

    /// `runLiveness` over a source that must yield frames: none decoded is `FaceGateError.unreadableMedia(path)`.
    public func runLiveness(_ source: FrameSource, requireFrames path: String) throws -> CombinedLivenessResult {
        let live = try runLiveness(source)
        if live.session.frames == 0 { throw FaceGateError.unreadableMedia(path: path, detail: "no frame could be decoded") }
        return live
    }

    // MARK: lockout-guarded authentication (the one admission path of every front-end)

    /// Admission, liveness over `source`, identity, and the lockout settled with the decision — the whole use case of
    /// `facegate authenticate` and of a face-unlock daemon. Throws `AuthenticationRefused` (carrying the `.lockedOut`
    /// decision to audit, counted by nobody) when the claimed user or the source is locked or every try it has left
    /// is in progress. An attempt that throws after admission (unreadable input, no frame, a model or store error)
    /// releases its reservation at once: only a decision counts, and a broken attempt never blocks the next one.
    /// `holdFor` bounds the reservation only when the process dies before settling.
    public func authenticate(_ source: FrameSource, index: IdentityIndexService, lockout: LockoutGate,
                             attempt: String = UUID().uuidString.lowercased(),
                             holdFor: TimeInterval = LockoutGate.localAttemptHold) async throws -> AuthenticationOutcome {
        try await authenticate(opening: { source }, index: index, lockout: lockout, attempt: attempt, holdFor: holdFor)
    }

    /// `authenticate` with the source opened only once admitted: a refused attempt never touches the camera or file,
    /// and a source that cannot be opened releases the reservation like any other error after admission.
    public func authenticate(opening open: () throws -> FrameSource, index: IdentityIndexService, lockout: LockoutGate,
                             attempt: String = UUID().uuidString.lowercased(),
                             holdFor: TimeInterval = LockoutGate.localAttemptHold) async throws -> AuthenticationOutcome {
        let ticket = try await admit(lockout, attempt: attempt, holdFor: holdFor)
        return try await concluding(ticket, lockout: lockout) {
            let source = try open()
            let live = try runLiveness(source, requireFrames: source.name)
            return try await decide(live, index: index)
        }
    }

    /// The admission step alone (check-and-reserve in one transaction), for front-ends whose attempt outlives one call
    /// (the server's WebSocket sessions, the unlock daemon): end it with `AttemptSettlement(lockout:ticket:)` —
    /// `settle(with: decision)`, or `release()` when the attempt ends without a decision.
    public func admit(_ lockout: LockoutGate, attempt: String = UUID().uuidString.lowercased(),
                      holdFor: TimeInterval) async throws -> LockoutGate.Ticket {
        do {
            return try await lockout.admit(user: settings.claimedUser, source: settings.lockoutSource, attempt: attempt, holdFor: holdFor)
        } catch let refused as LockoutGate.Refused {
            throw AuthenticationRefused(status: refused.status, source: settings.source, claimedUser: settings.claimedUser)
        }
    }

    /// Runs `body` for an admitted attempt: settles the ticket with the decision it returns, or releases the
    /// reservation at once when it throws (and rethrows) — through `AttemptSettlement`, the settle path of every
    /// front-end.
    func concluding(_ ticket: LockoutGate.Ticket, lockout: LockoutGate,
                    _ body: () async throws -> AuthenticationOutcome) async throws -> AuthenticationOutcome {
        let end = AttemptSettlement(lockout: lockout, ticket: ticket)
        let outcome: AuthenticationOutcome
        do { outcome = try await body() } catch {
            try? await end.release()
            throw error
        }
        try await end.settle(with: outcome.decision)
        return outcome
    }

    // MARK: identity and decision

    /// Liveness over `source`, then identity on its anchors.
    public func run(_ source: FrameSource, index: IdentityIndexService) async throws -> AuthenticationOutcome {
        let live = try runLiveness(source)
        return try await decide(live, index: index)
    }

    /// Identity on the anchors of a decided liveness session, and the typed decision.
    public func decide(_ live: CombinedLivenessResult, index: IdentityIndexService) async throws -> AuthenticationOutcome {
        let r = try await Authenticator.decide(live, anchors: pipeline.identity.embeddings, claimedUser: settings.claimedUser, index: index)
        let fallback = await index.policy.resolvedThreshold(override: settings.claimedUserThreshold)
        let threshold = (r.threshold ?? fallback.value, r.thresholdSource ?? fallback.source)
        let decision = r.decision(source: settings.source, claimedUser: settings.claimedUser, threshold: threshold.0)
        return AuthenticationOutcome(result: r, liveness: live, decision: decision, threshold: threshold)
    }
}

/// An attempt the lockout refused before it started (`AuthenticationSession.admit`/`authenticate`): nothing was
/// read or counted. `decision` is the `.lockedOut` denial every front-end audits; `description` is the one-line
/// refusal ("user alice is locked out …: try again in 14 min 3 s, or an administrator can lift it with …").
public struct AuthenticationRefused: Error, Sendable, CustomStringConvertible {
    public let status: LockoutStatus
    public let decision: Decision

    public init(status: LockoutStatus, source: String, claimedUser: String?) {
        self.status = status
        self.decision = .denied(.lockedOut, source: source, claimedUser: claimedUser, detail: status.message ?? "refused")
    }

    public var description: String { status.message ?? "refused" }
}

extension AuthenticationResult {
    /// The action-layer decision: authorized, or denied for the reason from `LivenessFailure.denialReason` (not live),
    /// else an unknown face (1:N) or the wrong user (1:1).
    public func decision(source: String, claimedUser: String?, threshold: Double) -> Decision {
        let challenges = liveness.map(ChallengeRecord.records) ?? []
        if authorized, let u = user {
            return .authorized(user: u, source: source, distance: distance, threshold: threshold, challenges: challenges)
        }
        let reason: DenialReason
        if !live {
            reason = liveness?.denialReason ?? .spoof
        } else {
            reason = claimedUser == nil ? .unknownFace : .wrongUser
        }
        return .denied(reason, source: source, claimedUser: claimedUser, matchedUser: user, distance: distance,
                       threshold: threshold, challenges: challenges, detail: self.reason)
    }
}

extension LivenessResult {
    /// Why a not-live result is denied: the core's one table (`LivenessFailure.denialReason`); not live without a
    /// recorded failure means the passive cues said so (`.spoof`). nil when live. The CLI's and the server's
    /// decisions both take it from here.
    public var denialReason: DenialReason? { live ? nil : (failure?.denialReason ?? .spoof) }
}

extension ChallengeRecord {
    /// The challenges of a liveness result as the action layer records them (audit, mail, webhooks): the CLI's and
    /// the server's decisions both use this.
    public static func records(_ r: LivenessResult) -> [ChallengeRecord] {
        r.challenges.map { c in
            let started = c.promptAt?.timestamp ?? 0
            return ChallengeRecord(name: c.type.rawValue, prompt: c.type.prompt,
                                   result: c.passed ? .passed : (c.status == .notReached ? .skipped : .failed),
                                   startedAt: started, duration: max(0, (c.at ?? started) - started))
        }
    }
}
