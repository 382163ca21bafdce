import FaceGateCore
import FaceGateVision
import Foundation

/// Runs an active-liveness session on a frame source: frames → `FaceTracker` → `LivenessSession`, with the
/// identity check on the session's anchor frames (calibration and each challenge's completion) and an optional
/// annotated video. Shared by the CLI (`facegate liveness`) and the server.
public final class ActiveRunner {
    public let engine: FaceEngine
    public let tracker: FaceTracker
    public private(set) var session: LivenessSession
    /// The session's identity anchors, embedded once (`IdentityContinuity`).
    public let identity: IdentityContinuity
    /// Identity anchors that could not be embedded (face too small, alignment failed): the check abstained there.
    public var identitySkipped: Int { identity.skipped }
    /// Whether embeddings are compared across anchors (needs the ResNet model).
    public let checkIdentity: Bool
    /// The last analysis and update, for overlays.
    public private(set) var lastAnalysis: FrameAnalysis?
    public private(set) var lastUpdate: LivenessUpdate?

    /// `keepAnchors`: embed the anchors even without the continuity check (authentication and enrollment need them).
    public init(engine: FaceEngine, plan: ChallengePlan, configuration: LivenessConfiguration = LivenessConfiguration(),
                checkIdentity: Bool = true, keepAnchors: Bool = false) {
        self.engine = engine
        self.tracker = FaceTracker(engine: engine)
        self.session = LivenessSession(plan: plan, configuration: configuration)
        self.checkIdentity = checkIdentity
        self.identity = IdentityContinuity(engine: engine, enabled: checkIdentity || keepAnchors)
    }

    /// One frame through the tracker and the session. Identity is checked on the anchor frames as they occur.
    @discardableResult
    public func process(_ frame: Frame) -> LivenessUpdate {
        let analysis = tracker.process(frame)
        return process(analysis, image: frame.image)
    }

    /// One already-analysed frame (e.g. from a server pipeline that tracks itself). `image` is needed only for
    /// the identity embeddings.
    @discardableResult
    public func process(_ analysis: FrameAnalysis, image: Image?) -> LivenessUpdate {
        // The identity reference is the most open-eyed frame of the calibration window when calibration completes
        // mid-blink (`OpenEyeReference`): every calibrating frame is offered before the session sees it.
        if let image, case .calibrating = session.phase { identity.offerCalibrationFrame(image: image, analysis: analysis) }
        let update = session.process(analysis)
        lastAnalysis = analysis
        lastUpdate = update
        if let image, let e = identity.add(events: update.events, image: image, analysis: analysis),
           checkIdentity {
            session.reportEmbedding(e)
            // the reference's other views (open-eyed frames of the calibration window; `IdentityReference`)
            for v in identity.takeReferenceViews() { session.reportReferenceView(v) }
        }
        return update
    }

    /// An identity anchor's embedding computed by the caller (e.g. the server embeds a completion frame it kept):
    /// the first is the reference, later ones above the identity threshold fail the session.
    public func reportEmbedding(_ e: Embedding) { session.reportEmbedding(e) }

    /// The input ended: the result (an unfinished session fails with "input ended").
    public func finish() -> LivenessResult { session.endOfInput() }

    public var result: LivenessResult? { session.result }

    /// Runs a whole source. `onFrame` sees every frame with its analysis and update (for printing prompts or
    /// writing an annotated video); the run stops when the session is decided or the source ends.
    public func run(_ source: FrameSource, onFrame: (Frame, FrameAnalysis, LivenessUpdate) throws -> Void = { _, _, _ in }) throws -> LivenessResult {
        while let frame = try source.next() {
            let u = process(frame)
            if let a = lastAnalysis { try onFrame(frame, a, u) }
            if session.isFinished { break }
        }
        return session.result ?? finish()
    }
}

/// Draws the session state on a frame: face, prompt, per-challenge progress and the verdict.
public enum ActiveOverlay {
    public static func draw(on img: Image, analysis: FrameAnalysis, update: LivenessUpdate, session: LivenessSession) {
        for (i, f) in analysis.faces.enumerated() {
            Annotator.drawFace(f, on: img, color: i == 0 ? .cyan : .red, label: i == 0 ? nil : "second face")
        }
        let w = Double(img.width)
        let scale = max(0.5, min(1.2, w / 900))
        let line = 30.0 * scale
        img.fillRect(Rect(x: 0, y: 0, width: w, height: line * 1.6 + line * Double(session.plan.count)), color: .black, alpha: 0.55)
        var text: String
        var color = Color.white
        switch update.phase {
        case .calibrating: text = update.prompt ?? "Look at the camera"
        case .holding(let i): text = "\(i + 1)/\(session.plan.count): \(update.prompt ?? LivenessSession.holdPrompt)"
        case .challenge(let i, _, _): text = "\(i + 1)/\(session.plan.count): \(update.prompt ?? "")"
        case .finished(let live):
            text = live ? "LIVE" : "NOT LIVE: \(session.result?.failure?.code ?? "")"
            color = live ? .green : .red
        }
        _ = img.drawText(text, at: Point2(10, line), scale: scale * 0.9, color: color, thickness: max(1, Int(scale * 2)))
        // overall progress bar
        let barW = w - 20
        img.fillRect(Rect(x: 10, y: line * 1.2, width: barW, height: 6 * scale), color: Color(80, 80, 80))
        img.fillRect(Rect(x: 10, y: line * 1.2, width: barW * update.progress, height: 6 * scale), color: .green)
        for (i, o) in session.outcomes.enumerated() {
            let mark: String
            var c = Color.white
            switch o.status {
            case .passed: mark = "ok"; c = .green
            case .failed: mark = "FAIL"; c = .red
            case .notReached:
                if case .challenge(let k, _, let st) = update.phase, k == i {
                    mark = String(format: "%3.0f%%", st.progress * 100); c = .yellow
                } else { mark = "--" }
            }
            var s = "\(mark)  \(o.type.rawValue)"
            if let ms = o.latencyMs { s += "  \(ms) ms" }
            _ = img.drawText(s, at: Point2(10, line * (2.2 + Double(i))), scale: scale * 0.7, color: c, thickness: 1)
        }
    }
}
