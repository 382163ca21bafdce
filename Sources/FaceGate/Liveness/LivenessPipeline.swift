import FaceGateCore
import FaceGateVision
import Foundation

/// What one liveness session runs: the mode, the challenge plan (active/both), the passive cues' inputs and the
/// passive-only capture length.
public struct LivenessPipelineOptions {
    public var mode: LivenessMode
    /// Required for `active` and `both`; ignored in `passive` mode.
    public var plan: ChallengePlan?
    public var configuration: LivenessConfiguration
    /// Passive cue inputs (mode light/strict, anti-spoof models, trained texture model, depth, gyroscope, frame cap).
    public var passive: PassiveOptions
    /// One-face frames a passive-only session collects before deciding.
    public var captureFrames: Int
    /// Seconds a passive-only session may take to collect them.
    public var captureTimeout: Double
    /// Embed the identity anchors and fail when the person changes (needs the ResNet model).
    public var checkIdentity: Bool
    /// Embed the identity anchors even without the continuity check: authentication and enrollment read them
    /// (`LivenessPipeline.identity`) instead of embedding frames of their own.
    public var keepAnchors: Bool

    public init(mode: LivenessMode, plan: ChallengePlan?, configuration: LivenessConfiguration = LivenessConfiguration(),
                passive: PassiveOptions = PassiveOptions(), captureFrames: Int = PassiveCapture.defaultFrames,
                captureTimeout: Double = PassiveCapture.defaultTimeout, checkIdentity: Bool = true,
                keepAnchors: Bool = false) {
        self.mode = mode; self.plan = plan; self.configuration = configuration; self.passive = passive
        self.captureFrames = captureFrames; self.captureTimeout = captureTimeout; self.checkIdentity = checkIdentity
        self.keepAnchors = keepAnchors
    }
}

/// The outcome of a combined session.
public struct CombinedLivenessResult: Sendable {
    public var verdict: CombinedVerdict
    /// The session in the active-result shape with the combined `live`/`failure` written in (passive mode: the
    /// capture, with an empty plan).
    public var session: LivenessResult
    /// The challenge session's own result before fusion (nil in passive mode).
    public var challenges: LivenessResult?
    public var framesWithFace: Int
    /// Frames the passive cues analysed (bounded by `PassiveOptions.maxFrames`).
    public var passiveFrames: Int
    public var passiveFramesWithFace: Int

    public var live: Bool { verdict.live }
}

/// What happened on one frame.
public struct LivenessStep {
    public var analysis: FrameAnalysis
    /// The challenge session's update (nil in passive mode).
    public var update: LivenessUpdate?
    /// This frame is an identity anchor (calibration, a passed challenge's completion, or a passive capture anchor;
    /// the rule is `IdentityContinuity`'s).
    public var anchor: Bool
    /// Challenge indices passed on this frame.
    public var passed: [Int]
    public var prompt: String?
    public var progress: Double
    /// The session is decided (read `LivenessPipeline.result`; identity reports may still turn it not live).
    public var finished: Bool
}

/// Active and passive liveness on the same frames: drives `LivenessSession` (through `ActiveRunner`, challenges)
/// and `PassiveAnalyzer` (cues on `PassiveSchedule`, so heavy cues do not run on every frame) frame by frame and
/// fuses them with `CombinedFusion`. In passive mode a `PassiveCapture` replaces the challenges. Shared by
/// `facegate liveness --passive --challenges …`, `facegate authenticate` and the server's sessions.
public final class LivenessPipeline {
    public let mode: LivenessMode
    public let engine: FaceEngine
    public let tracker: FaceTracker
    public let active: ActiveRunner?
    public let passive: PassiveAnalyzer?
    public let passiveMode: PassiveMode
    public let options: LivenessPipelineOptions
    public private(set) var capture: PassiveCapture?
    public private(set) var framesWithFace = 0
    /// The session's identity anchors, chosen and embedded once (shared with `active` in challenge modes).
    public let identity: IdentityContinuity
    /// Anchors that could not be embedded.
    public var identitySkipped: Int { identity.skipped }
    private var frozenReadings: [PadCueReading]?
    private var reference: IdentityReference?
    private var identityDistance: Double?

    public init(engine: FaceEngine, options: LivenessPipelineOptions) throws {
        self.engine = engine
        self.options = options
        mode = options.mode
        passiveMode = options.passive.mode
        if options.mode.runsChallenges {
            guard let plan = options.plan, plan.count > 0 else {
                throw FaceGateError.badInput("liveness mode '\(options.mode.rawValue)' needs a challenge plan (--challenges LIST or --random N)")
            }
            let runner = ActiveRunner(engine: engine, plan: plan, configuration: options.configuration,
                                      checkIdentity: options.checkIdentity, keepAnchors: options.keepAnchors)
            active = runner
            tracker = runner.tracker
            identity = runner.identity
        } else {
            active = nil
            tracker = FaceTracker(engine: engine)
            identity = IdentityContinuity(engine: engine, enabled: options.checkIdentity || options.keepAnchors)
            capture = PassiveCapture(frames: options.captureFrames, timeout: options.captureTimeout)
        }
        passive = options.mode.runsPassive ? PassiveAnalyzer(options: options.passive) : nil
    }

    /// The plan (empty in passive mode).
    public var plan: ChallengePlan { active?.session.plan ?? .passiveOnly }

    public var isFinished: Bool {
        if let a = active { return a.session.isFinished }
        return capture?.isFinished ?? true
    }

    /// Tracks one frame and runs it through both parts.
    @discardableResult
    public func process(_ frame: Frame) throws -> LivenessStep {
        try process(tracker.process(frame), image: frame.image)
    }

    /// One frame already tracked (by `tracker`, or a caller's own tracker, as in the server).
    @discardableResult
    public func process(_ analysis: FrameAnalysis, image: Image) throws -> LivenessStep {
        let wasFinished = isFinished
        if analysis.primary != nil { framesWithFace += 1 }
        // Passive cues see the same frames the challenges see, up to the analyzer's frame cap (bounded cost).
        if !wasFinished, let p = passive, p.framesSeen < options.passive.maxFrames {
            try p.add(image, analysis: analysis)
        }
        var step = LivenessStep(analysis: analysis, update: nil, anchor: false, passed: [], prompt: nil, progress: 0, finished: false)
        if let a = active {
            let u = a.process(analysis, image: image)
            step.update = u
            step.prompt = u.prompt
            step.progress = u.progress
            step.anchor = IdentityContinuity.anchorRole(u.events) != nil
            for e in u.events { if case .passed(let i, _) = e { step.passed.append(i) } }
        } else if var c = capture {
            let s = c.add(index: analysis.index, timestamp: analysis.timestamp, faces: analysis.faces.count)
            capture = c
            switch s {
            case .collecting(let anchor): step.anchor = anchor
            case .complete: step.anchor = true
            default: break
            }
            step.prompt = c.isFinished ? nil : "Look at the camera"
            step.progress = c.progress
            if step.anchor, let e = identity.add(.capture, image: image, analysis: analysis), options.checkIdentity {
                reportEmbedding(e)
            }
        }
        step.finished = isFinished
        if step.finished && !wasFinished { freezePassive() }
        return step
    }

    /// A passive capture anchor's embedding: the first is the reference, later ones above the identity threshold
    /// fail the session.
    private func reportEmbedding(_ e: Embedding) {
        guard let ref = reference else { reference = IdentityReference(e); return }
        let d = ref.distance(to: e), threshold = ref.threshold(options.configuration.identityThreshold)
        identityDistance = max(identityDistance ?? 0, d)
        if d > threshold {
            capture?.identityChanged(distance: d, threshold: threshold)
            freezePassive()
        }
    }

    /// The decided result (nil while undecided).
    public var result: CombinedLivenessResult? {
        guard isFinished else { return nil }
        return combine()
    }

    /// The input ended (end of a video, client gone): decides with what was seen.
    @discardableResult
    public func finish() -> CombinedLivenessResult {
        if let a = active { _ = a.finish() } else if var c = capture { c.endOfInput(); capture = c }
        freezePassive()
        return combine()
    }

    /// Runs a whole source; `onFrame` sees every frame with its step. Stops when decided or at the end of the source.
    public func run(_ source: FrameSource, onFrame: (Frame, LivenessStep) throws -> Void = { _, _ in }) throws -> CombinedLivenessResult {
        while let frame = try source.next() {
            let s = try process(frame)
            try onFrame(frame, s)
            if isFinished { break }
        }
        return result ?? finish()
    }

    /// The passive readings as of the moment the session was decided (later frames do not change them).
    private func freezePassive() {
        guard frozenReadings == nil, let p = passive else { return }
        frozenReadings = p.readings
    }

    private func combine() -> CombinedLivenessResult {
        var session: LivenessResult
        if let a = active {
            session = a.result ?? a.finish()
        } else {
            var c = capture ?? PassiveCapture()
            session = c.result ?? c.endOfInput()
            session.identityDistance = identityDistance
        }
        let readings = passive.map { frozenReadings ?? $0.readings }
        let v = CombinedFusion.decide(mode: mode, session: session, passive: readings, passiveMode: passiveMode,
                                      scoreThreshold: passive?.options.scoreThreshold ?? PassiveFusion.defaultScoreThreshold)
        return CombinedLivenessResult(verdict: v, session: CombinedFusion.merge(v, into: session),
                                      challenges: active == nil ? nil : session, framesWithFace: framesWithFace,
                                      passiveFrames: passive?.framesSeen ?? 0, passiveFramesWithFace: passive?.framesWithFace ?? 0)
    }
}
