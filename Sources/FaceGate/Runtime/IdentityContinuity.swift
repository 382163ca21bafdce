import FaceGateCore
import FaceGateVision
import Foundation

/// One identity anchor: a frame the liveness session proved on, embedded once.
public struct IdentityAnchor: Sendable {
    /// Why this frame is an anchor.
    public enum Role: String, Sendable { case calibration, challenge, capture }
    public var role: Role
    /// Index and time of the anchor frame (for a passed challenge: the action's completion frame).
    public var frameIndex: Int
    public var timestamp: Double
    public var embedding: Embedding
    public var pose: HeadPose
    /// The enrollment quality measurements of the anchor's face (only when the owner asked for them, see
    /// `IdentityContinuity.measure`).
    public var measurements: SampleMeasurements?

    public init(role: Role, frameIndex: Int, timestamp: Double, embedding: Embedding, pose: HeadPose,
                measurements: SampleMeasurements? = nil) {
        self.role = role; self.frameIndex = frameIndex; self.timestamp = timestamp; self.embedding = embedding
        self.pose = pose; self.measurements = measurements
    }
}

/// Identity across the frames of one liveness session, owned by `LivenessPipeline` (and `ActiveRunner`): the one
/// place that decides which frames are identity anchors, embeds each anchor once, and hands the embedding to the
/// session's continuity check. Authentication (1:1/1:N on the anchors), enrollment (templates from the anchors) and
/// the server's sessions read `anchors` instead of embedding frames of their own.
///
/// The rule: an anchor is the calibration frame, each passed challenge's completion frame (the detectors complete
/// on the frame that reports them, so the frame of the `.passed` event is the completion frame; checked), and in
/// passive mode each capture anchor. Only frames with exactly one face are embedded: with a second face in view
/// the primary face is not certainly the person who answered, and such a frame is counted in `skipped`.
///
/// The calibration anchor is the session's identity reference (every later anchor is compared with it), so it must
/// show the eyes open: when calibration completes on a frame whose eyes are closing (calibration is robust to a
/// blink inside its window, so it can complete mid-blink), the reference is the most open-eyed frame of the still
/// window instead (`OpenEyeReference`; the runner offers each calibrating frame with `offerCalibrationFrame`).
/// Besides the reference anchor, up to two more open-eyed frames of the window (one per third of it,
/// `ReferenceViewSlots`) are embedded as other views of the reference (`referenceViews`, not anchors): a face pulling
/// expressions is compared with its closest view (`IdentityReference`, which admits only views of the same person).
public final class IdentityContinuity {
    public let engine: FaceEngine
    /// Embed anchors at all (identity continuity check, or a caller that needs the anchors).
    public let enabled: Bool
    /// Measures an anchor's face for the enrollment quality gate (set by `EnrollmentSession`); nil: not measured.
    public var measure: ((Image, FrameAnalysis) -> SampleMeasurements?)?
    public private(set) var anchors: [IdentityAnchor] = []
    /// Anchor frames that could not be embedded (a second face, face too small, alignment failed).
    public private(set) var skipped = 0

    /// The most open-eyed frame of the calibration window so far (one image copy), for the identity reference.
    private var calibrationCandidate = OpenEyeReference<(image: Image, analysis: FrameAnalysis)>()
    /// The most open-eyed frame of each third of the calibration window (one image copy each), for the reference's
    /// other views (`IdentityReference`).
    private var viewCandidates = ReferenceViewSlots<(image: Image, analysis: FrameAnalysis)>()
    /// Embeddings of the reference's other views, made when the calibration anchor was embedded (open-eyed frames of
    /// the calibration window other than the reference; not anchors). The runner hands them to the session
    /// (`LivenessSession.reportReferenceView`), which admits only views of the same person.
    public private(set) var referenceViews: [Embedding] = []

    public init(engine: FaceEngine, enabled: Bool) {
        self.engine = engine
        self.enabled = enabled
    }

    /// A frame of the session's calibration phase, offered before the session sees it (so the frame calibration
    /// completes on is offered too). Keeps the most open-eyed one-face frame of the last calibration window — one
    /// image copy, replaced only by a more open-eyed frame or when it leaves the window.
    public func offerCalibrationFrame(image: Image, analysis: FrameAnalysis) {
        guard enabled, analysis.faces.count == 1, let face = analysis.primary else { return }
        // One copy of the frame, shared when both keep it (the most open frame is usually also its third's best).
        var copy: (image: Image, analysis: FrameAnalysis)?
        func payload() -> (image: Image, analysis: FrameAnalysis) {
            if let copy { return copy }
            let made = (image: image.clone(), analysis: analysis)
            copy = made
            return made
        }
        calibrationCandidate.offer(ear: face.ear.mean, timestamp: analysis.timestamp, payload: payload)
        viewCandidates.offer(ear: face.ear.mean, timestamp: analysis.timestamp, payload: payload)
    }

    /// Embeds the anchor of a challenge-session frame, from the session's events on it (`anchorRole`): on the frame
    /// calibration completed on, the reference is that frame unless its eyes were closing, then the most open-eyed
    /// frame of the window (`OpenEyeReference.choose`; the anchor then carries that frame's index and time).
    @discardableResult
    public func add(events: [LivenessEvent], image: Image, analysis: FrameAnalysis) -> Embedding? {
        guard let role = Self.anchorRole(events) else { return nil }
        guard role == .calibration else { return add(role, image: image, analysis: analysis) }
        let baseline = events.lazy.compactMap { e -> ActiveBaseline? in if case .calibrated(let b) = e { return b }; return nil }.first
        var reference = (image: image, analysis: analysis)
        if let baseline, let face = analysis.primary,
           let c = calibrationCandidate.choose(calibrationEAR: face.ear.mean, at: analysis.timestamp, openEAR: baseline.openEAR) {
            reference = c.payload
        }
        calibrationCandidate.reset()
        var views: [(image: Image, analysis: FrameAnalysis)] = []
        if let baseline {
            views = viewCandidates.choose(at: analysis.timestamp, openEAR: baseline.openEAR,
                                          excluding: reference.analysis.timestamp).map(\.payload)
        }
        viewCandidates.reset()
        guard let e = add(role, image: reference.image, analysis: reference.analysis) else { return nil }
        referenceViews = views.compactMap { v in v.analysis.primary.flatMap { try? engine.embedding(v.image, face: $0) } }
        return e
    }

    /// The reference's other views made at calibration (`referenceViews`), handed over once.
    public func takeReferenceViews() -> [Embedding] {
        defer { referenceViews = [] }
        return referenceViews
    }

    /// The anchor role of a frame of a challenge session, from the session's events on it (the one rule).
    public static func anchorRole(_ events: [LivenessEvent]) -> IdentityAnchor.Role? {
        for e in events {
            switch e {
            case .calibrated: return .calibration
            case .passed: return .challenge
            default: continue
            }
        }
        return nil
    }

    /// Embeds the frame if it is an anchor of `role`; returns the new anchor's embedding (nil: not an anchor, disabled,
    /// or not embeddable).
    @discardableResult
    public func add(_ role: IdentityAnchor.Role?, image: Image, analysis: FrameAnalysis) -> Embedding? {
        guard enabled, let role else { return nil }
        guard analysis.faces.count == 1, let face = analysis.primary,
              let e = try? engine.embedding(image, face: face) else {
            skipped += 1
            return nil
        }
        anchors.append(IdentityAnchor(role: role, frameIndex: analysis.index, timestamp: analysis.timestamp, embedding: e,
                                      pose: face.pose, measurements: measure?(image, analysis)))
        return e
    }

    public var embeddings: [Embedding] { anchors.map(\.embedding) }
}

/// Which frame of the calibration window becomes the identity reference. The frame calibration completes on is
/// the reference unless its eyes are closing — EAR below `openShare` of the window's open EAR, the calibrator's
/// own rule for an open frame — and then the most open-eyed frame of the window is. Why: calibration tolerates a
/// blink inside its window, so it can complete mid-blink; LivePortrait d6 at 12 fps calibrated at 31.0 s inside a
/// blink (EAR 0.14 of 0.43 open), and the person's own open-eyed frames 0.6 s later were 0.556–0.588 from that
/// closed-eye embedding (over the 0.55 identity threshold: `identity_changed`), 0.08–0.51 from an open-eyed frame of
/// the same window. Delaying calibration to an open-eyed frame instead moved the prompt and cost another trial.
///
/// Bounded: one candidate is kept (the payload, e.g. one image copy), replaced by a frame at least as open or when it
/// is older than the window. A sliding maximum with one slot is approximate: when the kept frame leaves the window
/// the candidate restarts from the current frame, so frames offered while an older, more open one was kept are not
/// remembered. The choice is then the most open frame since that restart (the later part of the window, at least
/// the frame calibration completed on), which is enough to step back from a blink of 1–4 frames.
public struct OpenEyeReference<Payload> {
    /// A candidate older than this is outside the still window calibration decided on (`BaselineCalibrator.window`).
    public static var window: Double { BaselineCalibrator.window }
    /// A frame whose EAR is at least this share of the open EAR has open eyes: the ratio below which a blink's dip
    /// starts, which is also the calibrator's rule for the open frames of its window (`BlinkDetector.dipStartRatio`).
    public static var openShare: Double { BlinkDetector.dipStartRatio }

    public struct Candidate {
        public var ear: Double
        public var timestamp: Double
        public var payload: Payload
    }

    public private(set) var best: Candidate?

    public init() {}

    /// A frame of the calibration phase; `payload` is made only when the frame is kept.
    public mutating func offer(ear: Double, timestamp: Double, payload: () -> Payload) {
        if let b = best, timestamp - b.timestamp <= Self.window, b.ear > ear { return }
        best = Candidate(ear: ear, timestamp: timestamp, payload: payload())
    }

    /// The reference when calibration completed on a frame with `calibrationEAR` at `timestamp` and the window's open
    /// EAR is `openEAR`: nil keeps the calibration frame (its eyes are open, or no kept frame is more open). Clears
    /// the candidate.
    public mutating func choose(calibrationEAR: Double, at timestamp: Double, openEAR: Double) -> Candidate? {
        defer { best = nil }
        guard calibrationEAR < Self.openShare * openEAR, let b = best, b.ear > calibrationEAR,
              timestamp - b.timestamp <= Self.window else { return nil }
        return b
    }

    public mutating func reset() { best = nil }
}

/// The candidates for the identity reference's other views (`IdentityReference`): the most open-eyed frame of each
/// third of the calibration window, so the views are spread over it (an expression changes within 0.2–0.4 s; the most
/// open frames of the whole window would often be neighbours showing the same face). Bounded: one payload per slot
/// of `window / slots` seconds, slots older than the window are dropped (at most `slots + 1` payloads).
public struct ReferenceViewSlots<Payload> {
    /// Calibration's still window (`BaselineCalibrator.window`).
    public static var window: Double { BaselineCalibrator.window }
    /// One slot per view of the reference.
    public static var slots: Int { IdentityReference.maxViews }
    public static var slotLength: Double { window / Double(slots) }

    public struct Candidate {
        public var ear: Double
        public var timestamp: Double
        public var payload: Payload
    }

    /// Kept frames by slot number (timestamp / `slotLength`).
    public private(set) var kept: [Int: Candidate] = [:]

    public init() {}

    /// A frame of the calibration phase; `payload` is made only when the frame is kept.
    public mutating func offer(ear: Double, timestamp: Double, payload: () -> Payload) {
        kept = kept.filter { timestamp - $0.value.timestamp <= Self.window }
        let slot = Int((timestamp / Self.slotLength).rounded(.down))
        if let b = kept[slot], b.ear >= ear { return }
        kept[slot] = Candidate(ear: ear, timestamp: timestamp, payload: payload())
    }

    /// The views when calibration completes at `timestamp` with the window's open EAR `openEAR`: kept frames inside
    /// the window with open eyes (EAR ≥ `OpenEyeReference.openShare` × `openEAR`), other than the reference frame
    /// (`excluding`, its timestamp), most open first, at most `slots − 1`.
    public func choose(at timestamp: Double, openEAR: Double, excluding: Double) -> [Candidate] {
        let open = OpenEyeReference<Payload>.openShare * openEAR
        let c = kept.values.filter {
            timestamp - $0.timestamp <= Self.window + 1e-9 && $0.ear >= open && abs($0.timestamp - excluding) > 1e-6
        }
        return Array(c.sorted { $0.ear > $1.ear }.prefix(Self.slots - 1))
    }

    public mutating func reset() { kept = [:] }
}
