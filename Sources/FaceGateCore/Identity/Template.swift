import Foundation

/// Which head pose a template was captured in. Guided enrollment asks for each of these and keeps the best 1–2.
public enum PoseBucket: String, Sendable, Hashable, Codable, CaseIterable {
    case frontal, left, right, up, down
    /// Pose not measured (e.g. a template imported from an image without landmarks).
    case unknown

    /// Angle (degrees) beyond which a pose counts as turned rather than frontal. dlib's ResNet embeds ±30° yaw
    /// well; 15° splits the frontal bucket from the turned ones roughly in the middle of that range.
    public static let turnDegrees = 15.0

    /// The bucket a measured pose falls into (yaw > 0 = the person's own left, pitch > 0 = up).
    public init(_ pose: HeadPose) {
        let y = pose.yaw, p = pose.pitch
        if abs(y) < Self.turnDegrees && abs(p) < Self.turnDegrees { self = .frontal }
        else if abs(y) >= abs(p) { self = y > 0 ? .left : .right }
        else { self = p > 0 ? .up : .down }
    }
}

/// What is stored next to an embedding.
public struct TemplateMetadata: Sendable, Hashable, Codable {
    public var pose: PoseBucket
    /// Sample quality in 0…1 (higher is better) as computed by the enrollment quality gates.
    public var quality: Double
    public var created: Date

    public init(pose: PoseBucket = .unknown, quality: Double = 1, created: Date = Date()) {
        self.pose = pose; self.quality = quality; self.created = created
    }
}

/// One enrolled face sample: an embedding plus where it came from.
public struct FaceTemplate: Sendable, Hashable, Codable {
    public var embedding: Embedding
    public var metadata: TemplateMetadata

    public init(embedding: Embedding, metadata: TemplateMetadata = TemplateMetadata()) {
        self.embedding = embedding; self.metadata = metadata
    }
}
