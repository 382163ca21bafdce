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
public final class IdentityContinuity {
    public let engine: FaceEngine
    /// Embed anchors at all (identity continuity check, or a caller that needs the anchors).
    public let enabled: Bool
    /// Measures an anchor's face for the enrollment quality gate (set by `EnrollmentSession`); nil: not measured.
    public var measure: ((Image, FrameAnalysis) -> SampleMeasurements?)?
    public private(set) var anchors: [IdentityAnchor] = []
    /// Anchor frames that could not be embedded (a second face, face too small, alignment failed).
    public private(set) var skipped = 0

    public init(engine: FaceEngine, enabled: Bool) {
        self.engine = engine
        self.enabled = enabled
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
