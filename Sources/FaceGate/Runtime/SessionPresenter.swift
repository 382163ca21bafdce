import FaceGateCore
import FaceGateVision
import Foundation

/// What a runtime session tells the person in front of the camera (prompts, progress), independent of how a
/// front-end shows it (terminal lines, a browser page, a PAM conversation).
public enum SessionNotice: Sendable {
    /// The session starts: the challenges to come, and the passive cues' mode when they run too.
    case plan(ChallengePlan, passive: PassiveMode?)
    /// Calibrated: the first challenge follows.
    case ready
    /// Ask for challenge `index` (0-based) of `count` now.
    case prompt(index: Int, count: Int, text: String)
    case passed(ChallengeOutcome)
    case failed(LivenessFailure)
    /// Guided enrollment: the pose wanted next.
    case pose(String)
}

/// Receives a runtime session's notices and, for overlays, every frame with its liveness step. Called on the thread
/// that drives the session.
public protocol SessionPresenter: AnyObject {
    func notice(_ notice: SessionNotice)
    /// The session's source, once opened (default: nothing); an annotated video takes its frame rate from it.
    func opened(_ source: FrameSource)
    /// Every processed frame (default: nothing).
    func frame(_ frame: Frame, step: LivenessStep, pipeline: LivenessPipeline) throws
    /// The source ended or the session was decided (default: nothing); a video writer closes here.
    func finish()
}

extension SessionPresenter {
    public func opened(_ source: FrameSource) {}
    public func frame(_ frame: Frame, step: LivenessStep, pipeline: LivenessPipeline) throws {}
    public func finish() {}

    /// The notices of one liveness step (the session's events in order).
    func present(_ step: LivenessStep, plan: ChallengePlan) {
        guard let u = step.update else { return }
        for e in u.events {
            switch e {
            case .calibrated: notice(.ready)
            case .prompt(let i, _, let text, _): notice(.prompt(index: i, count: plan.count, text: text))
            // "Blink again" / "Nod again": the same challenge asked once more, shown as its prompt
            case .promptAgain(let i, _, let text, _): notice(.prompt(index: i, count: plan.count, text: text))
            case .passed(_, let o): notice(.passed(o))
            case .failed(let f): notice(.failed(f))
            default: break
            }
        }
    }
}

/// Shows nothing (server sessions answer per frame over their own protocol; tests).
public final class SilentPresenter: SessionPresenter {
    public init() {}
    public func notice(_ notice: SessionNotice) {}
}

/// Several presenters in order (e.g. terminal prompts and an annotated video).
public final class PresenterGroup: SessionPresenter {
    public let members: [SessionPresenter]
    public init(_ members: [SessionPresenter]) { self.members = members }
    public func notice(_ notice: SessionNotice) { for m in members { m.notice(notice) } }
    public func opened(_ source: FrameSource) { for m in members { m.opened(source) } }
    public func frame(_ frame: Frame, step: LivenessStep, pipeline: LivenessPipeline) throws {
        for m in members { try m.frame(frame, step: step, pipeline: pipeline) }
    }
    public func finish() { for m in members { m.finish() } }
}

/// Writes an annotated video of a challenge session (prompt, per-challenge progress, verdict): `--annotate OUT.mp4`
/// of `liveness`, `authenticate` and `enroll --liveness`.
public final class AnnotatedVideoPresenter: SessionPresenter {
    public let path: String
    /// The written video's rate: the one given, else the source's (`opened`), else 15 (as a camera).
    public private(set) var fps: Double
    private let fpsGiven: Bool
    private var writer: VideoWriter?
    public private(set) var framesWritten = 0

    /// `fps`: the source's rate; 0 when the source is not open yet (taken from it when the session opens it).
    public init(path: String, fps: Double = 0) {
        self.path = path
        self.fpsGiven = fps > 0
        self.fps = fps > 0 ? fps : 15
    }

    public func notice(_ notice: SessionNotice) {}

    public func opened(_ source: FrameSource) {
        if !fpsGiven, writer == nil, source.fps > 0 { fps = source.fps }
    }

    public func frame(_ frame: Frame, step: LivenessStep, pipeline: LivenessPipeline) throws {
        guard let u = step.update, let runner = pipeline.active else { return }
        if writer == nil {
            writer = try VideoWriter(path: path, fps: fps, width: frame.image.width, height: frame.image.height)
        }
        let canvas = frame.image.clone()
        ActiveOverlay.draw(on: canvas, analysis: step.analysis, update: u, session: runner.session)
        writer?.write(canvas)
        framesWritten += 1
    }

    public func finish() {
        writer = nil
    }
}
