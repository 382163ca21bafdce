import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

/// What the person should fix before anything else, derived from the tracked frame.
public enum Guidance: String, Sendable, Codable {
    case noFace = "no_face"
    case multipleFaces = "multiple_faces"
    case moveCloser = "move_closer"
    case moveBack = "move_back"
    case centerFace = "center_face"
    case holdStill = "hold_still"
    case ok

    public var text: String {
        switch self {
        case .noFace: return "No face found — look at the camera in good light"
        case .multipleFaces: return "Only one person may be in view"
        case .moveCloser: return "Move closer"
        case .moveBack: return "Move back a little"
        case .centerFace: return "Centre your face in the oval"
        case .holdStill: return "Hold still"
        case .ok: return "Good"
        }
    }
}

/// Guidance thresholds (frame-relative so they hold at any resolution).
public enum GuidanceLimits {
    /// Face box narrower than 18 % of the frame width: at 640 px that is ~115 px, below which HOG tracking and the
    /// blink detector lose precision (the detectors need ≥ ~40 px between the eyes).
    public static let minFaceWidthFraction = 0.18
    /// Face box wider than 70 % of the frame: the chin or forehead leaves the frame when the head turns.
    public static let maxFaceWidthFraction = 0.70
    /// Face centre more than 22 % of the frame width/height from the frame centre: outside the page's oval guide.
    public static let maxCenterOffsetFraction = 0.22

    public static func guidance(for frame: FrameAnalysis, calibrating: Bool) -> Guidance {
        guard let f = frame.primary else { return .noFace }
        if frame.faces.count > 1 { return .multipleFaces }
        let W = Double(max(frame.width, 1)), H = Double(max(frame.height, 1))
        let wf = f.box.width / W
        if wf < minFaceWidthFraction { return .moveCloser }
        if wf > maxFaceWidthFraction { return .moveBack }
        let c = f.box.center
        if abs(c.x - W / 2) / W > maxCenterOffsetFraction || abs(c.y - H / 2) / H > maxCenterOffsetFraction { return .centerFace }
        return calibrating ? .holdStill : .ok
    }
}

/// The answer to one frame.
public struct FrameStep: Sendable {
    public var guidance: Guidance
    /// Current prompt (index in plan, type, text); nil while calibrating or when finished.
    public var prompt: (index: Int, type: ChallengeType, text: String)?
    /// Text to show (calibration hint or prompt).
    public var promptText: String?
    public var progress: Double
    /// Challenge indices passed on this frame.
    public var passed: [Int]
    /// Set once the liveness part is finished.
    public var result: LivenessResult?
    /// Milliseconds spent on this frame (decode + track + liveness [+ embedding]).
    public var processMs: Double
    /// A challenge is pending after this frame (its hold-still pause or the challenge itself): the stream must not
    /// skip the following frames (a skipped frame can be the blink, or an action started before the prompt).
    /// Calibration and passive-capture frames may be skipped (they only take a frame longer).
    public var needsEveryFrame = false
}

/// Which liveness checks a session runs and what its passive part needs (fixed when the stream starts).
struct SessionLivenessSetup: Sendable {
    var mode: LivenessMode = .active
    var passiveMode: PassiveMode = .light
    var captureFrames = PassiveCapture.defaultFrames
    /// Loads the passive options (anti-spoof models, trained texture model) for one worker's engine.
    var loadPassive: (@Sendable () throws -> PassiveOptions)?

    static let active = SessionLivenessSetup()
}

/// Passive cue models per face worker: ONNX/dlib networks are not shared between threads, and every session on a
/// worker runs on that worker's thread, so one set per engine is enough (loaded on the worker's first passive frame).
final class PassiveResources: @unchecked Sendable {
    static let shared = PassiveResources()
    private let lock = NSLock()
    private struct Entry { weak var engine: FaceEngine?; var options: PassiveOptions }
    private var entries: [ObjectIdentifier: Entry] = [:]

    func options(for engine: FaceEngine, load: () throws -> PassiveOptions) throws -> PassiveOptions {
        let key = ObjectIdentifier(engine)
        if let e = lock.withLock({ entries[key] }), e.engine === engine { return e.options }
        let o = try load()
        lock.withLock {
            entries = entries.filter { $0.value.engine != nil }
            entries[key] = Entry(engine: engine, options: o)
        }
        return o
    }
}

/// Everything one session needs on its worker: the runtime's `AuthenticationSession` fed frame by frame (tracker,
/// challenges and/or passive cues on the same frames, identity anchors chosen and embedded once by its
/// `IdentityContinuity`). Only ever touched on the worker the session is pinned to (serial by construction).
final class SessionPipeline: @unchecked Sendable {
    let plan: ChallengePlan
    let configuration: LivenessConfiguration
    let setup: SessionLivenessSetup
    /// An enrollment session: anchors are measured for the quality gate when they are taken.
    let enrollment: Bool
    /// The user a liveness session verifies (1:1 on the anchors), nil for none.
    let claimedUser: String?
    /// Created on the first frame (it needs the worker's engine).
    private var core: AuthenticationSession?
    private var index = 0
    private var firstCaptureMs: Double?
    /// The combined result once decided (passive verdict and what decided, kept server-side).
    private(set) var combined: CombinedLivenessResult?

    init(plan: ChallengePlan, configuration: LivenessConfiguration, setup: SessionLivenessSetup = .active,
         claimedUser: String? = nil, enrollment: Bool = false) {
        self.claimedUser = claimedUser
        self.plan = setup.mode.runsChallenges ? plan : .passiveOnly
        self.configuration = configuration
        self.setup = setup
        self.enrollment = enrollment
    }

    /// The challenge session (an empty, never-driven one in passive mode): its `plan` is what the stream announces.
    var liveness: LivenessSession { core?.pipeline.active?.session ?? LivenessSession(plan: plan, configuration: configuration) }

    /// The session's identity anchors (calibration and each passed challenge's completion frame, or the passive
    /// capture anchors), embedded once on the frames liveness decided on.
    var anchors: [IdentityAnchor] { core?.anchors ?? [] }

    /// The runtime session (nil before the first frame).
    var session: AuthenticationSession? { core }

    /// Processes one JPEG frame captured at `captureMs` (client clock, milliseconds).
    func process(jpeg: Data, captureMs: Double, engine: FaceEngine) throws -> FrameStep {
        let start = DispatchTime.now().uptimeNanoseconds
        let image = try Image.decode(jpeg, limits: .frame, name: "frame \(index)")
        let core = try self.core ?? makeCore(engine: engine)
        self.core = core
        let t0 = firstCaptureMs ?? captureMs
        firstCaptureMs = t0
        let frame = core.pipeline.tracker.process(image, index: index, timestamp: (captureMs - t0) / 1000)
        let calibrating: Bool
        if let a = core.pipeline.active {
            switch a.session.phase {
            case .calibrating, .holding: calibrating = true      // "Hold still" also during the pause before a prompt
            default: calibrating = false
            }
        } else {
            calibrating = !core.isFinished
        }
        let guidance = GuidanceLimits.guidance(for: frame, calibrating: calibrating)
        index += 1

        let step = try core.process(frame, image: image)
        // The anchors' identity check ran inside the step: a person change already turned the result not live.
        var result: LivenessResult?
        if step.finished, let r = core.livenessResult {
            combined = r
            result = r.session
        }
        var prompt: (Int, ChallengeType, String)?
        // the session's text: "Blink again" once a blink prompt has been up for 2 s without a counted blink (#14)
        if let a = core.pipeline.active, case .challenge(let i, let t, _) = a.session.phase { prompt = (i, t, a.session.prompt ?? t.prompt) }
        var needsEveryFrame = false
        if result == nil, let a = core.pipeline.active {
            switch a.session.phase {
            case .holding, .challenge: needsEveryFrame = true
            default: break
            }
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return FrameStep(guidance: guidance, prompt: prompt, promptText: step.prompt, progress: step.progress,
                         passed: step.passed, result: result, processMs: ms, needsEveryFrame: needsEveryFrame)
    }

    private func makeCore(engine: FaceEngine) throws -> AuthenticationSession {
        var passive = PassiveOptions()
        if setup.mode.runsPassive, let load = setup.loadPassive {
            passive = try PassiveResources.shared.options(for: engine, load: load)
        }
        passive.mode = setup.passiveMode
        let options = LivenessPipelineOptions(
            mode: setup.mode, plan: setup.mode.runsChallenges ? plan : nil, configuration: configuration, passive: passive,
            captureFrames: setup.captureFrames, captureTimeout: LivenessTiming.captureTimeout(configuration))
        let session = try AuthenticationSession(engine: engine, settings: AuthenticationSettings(liveness: options, claimedUser: claimedUser, source: "ws"))
        // Anchors are measured in every session (one crop's sharpness and brightness per anchor): an enrollment session
        // gates them at once, a liveness session records which pass the gate for `POST /v1/users/{id}/templates`.
        let enroller = Enroller(engine: engine)
        session.pipeline.identity.measure = { image, analysis in enroller.measure(image, analysis) }
        return session
    }

    /// The identity step of a decided live session: `AuthenticationSession.decide` on its anchors (1:1 with the
    /// claimed user), exactly as `facegate authenticate` decides.
    func authenticate(index: IdentityIndexService) async throws -> AuthenticationOutcome {
        guard let core, let combined else { throw FaceGateError.noFace("the session's frames") }
        return try await core.decide(combined, index: index)
    }

    /// Adds what only the server keeps (mode, what decided, the passive score and cue levels) to a session outcome.
    func annotate(_ outcome: inout SessionOutcome) {
        outcome.liveness = setup.mode.rawValue
        guard let c = combined else { return }
        outcome.decidedBy = c.verdict.decidedBy.map(\.name)
        if let v = c.verdict.passive {
            var levels: [String: Double] = [:]
            for cue in v.cues { if let l = cue.level { levels[cue.name] = (l * 1000).rounded() / 1000 } }
            outcome.passive = .init(mode: v.mode.rawValue, live: v.live, score: (v.score * 10000).rounded() / 10000,
                                    reason: v.reason.rawValue, decidedBy: v.decidedBy.map(\.name), cues: levels)
        }
    }
}
