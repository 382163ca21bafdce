import FaceGate
import FaceGateCore
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
}

/// Everything one session needs on its worker: tracker, liveness engine, recent frames for identity anchors.
/// Only ever touched on the worker the session is pinned to (serial by construction).
final class SessionPipeline: @unchecked Sendable {
    private var tracker: FaceTracker?
    private(set) var liveness: LivenessSession
    /// Recent frames (JPEG bytes + primary face) so anchor frames named after the fact can be embedded.
    private var recent: [(index: Int, jpeg: Data, face: FaceObservation?)] = []
    /// 45 frames ≈ 3 s at 15 fps: an action's completion frame is at most ~1 s before it is reported.
    static let recentFrames = 45
    /// Embeddings of the identity anchor frames (calibration + each completion), with pose for templates.
    private(set) var anchors: [(embedding: Embedding, pose: HeadPose, sharpness: Double)] = []
    private var index = 0
    private var firstCaptureMs: Double?
    private var embedFailures = 0

    init(plan: ChallengePlan, configuration: LivenessConfiguration) {
        liveness = LivenessSession(plan: plan, configuration: configuration)
    }

    /// Processes one JPEG frame captured at `captureMs` (client clock, milliseconds).
    func process(jpeg: Data, captureMs: Double, engine: FaceEngine) throws -> FrameStep {
        let start = DispatchTime.now().uptimeNanoseconds
        let image = try Image.decode(jpeg, name: "frame \(index)")
        if tracker == nil { tracker = FaceTracker(engine: engine) }
        let t0 = firstCaptureMs ?? captureMs
        firstCaptureMs = t0
        let frame = tracker!.process(image, index: index, timestamp: (captureMs - t0) / 1000)
        let calibrating: Bool
        if case .calibrating = liveness.phase { calibrating = true } else { calibrating = false }
        let guidance = GuidanceLimits.guidance(for: frame, calibrating: calibrating)
        recent.append((index, jpeg, frame.primary))
        if recent.count > Self.recentFrames { recent.removeFirst(recent.count - Self.recentFrames) }
        index += 1

        let update = liveness.process(frame)
        var passed: [Int] = []
        var result: LivenessResult?
        for e in update.events {
            switch e {
            case .calibrated:
                if let f = frame.primary { embedAnchor(image: image, face: f, engine: engine) }
            case .passed(let i, let outcome):
                if let a = outcome.action { embedAnchor(frameIndex: a.completion.index, engine: engine) }
                passed.append(i)
            case .finished(let r):
                result = r
            default: break
            }
        }
        // Embedding a completion frame may have turned a live result into not-live (identity changed).
        if result != nil { result = liveness.result }
        var prompt: (Int, ChallengeType, String)?
        if case .challenge(let i, let t, _) = liveness.phase { prompt = (i, t, t.prompt) }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return FrameStep(guidance: guidance, prompt: prompt, promptText: update.prompt, progress: update.progress,
                         passed: passed, result: result, processMs: ms)
    }

    /// Ends the input (client closed or session expired) and returns the (failed) result.
    func end() -> LivenessResult { liveness.endOfInput() }

    private func embedAnchor(frameIndex: Int, engine: FaceEngine) {
        guard let r = recent.last(where: { $0.index == frameIndex }), let face = r.face,
              let image = try? Image.decode(r.jpeg) else { return }
        embedAnchor(image: image, face: face, engine: engine)
    }

    private func embedAnchor(image: Image, face: FaceObservation, engine: FaceEngine) {
        guard let e = try? engine.embedding(image, face: face) else { embedFailures += 1; return }
        anchors.append((e, face.pose, image.sharpness(in: face.box)))
        liveness.reportEmbedding(e)
    }
}
