import Foundation

/// What the face pipeline found for one face in one frame.
public struct FaceObservation: Sendable, Hashable, Codable {
    /// Face box in frame pixels.
    public var box: Rect
    /// Detector confidence (detector-specific scale; HOG/MMOD margins ~0…3, DNN 0…1). For a tracked face
    /// without a fresh detection this is the last detection's score.
    public var score: Double
    public var landmarks: Landmarks68
    public var pose: HeadPose
    public var ear: EyeAspect
    public var mar: Double
    /// True when this observation came from landmark tracking rather than a fresh detection.
    public var tracked: Bool
    /// Stable id of the track this face belongs to (same person across frames while tracked).
    public var trackID: Int

    public init(box: Rect, score: Double, landmarks: Landmarks68, pose: HeadPose, tracked: Bool = false, trackID: Int = 0) {
        self.trackID = trackID
        self.box = box
        self.score = score
        self.landmarks = landmarks
        self.pose = pose
        self.ear = landmarks.eyeAspect
        self.mar = landmarks.mouthAspectRatio
        self.tracked = tracked
    }

    /// Inter-ocular distance in pixels: the scale every per-face threshold is relative to.
    public var interocular: Double { landmarks.interocular }
}

/// One analysed frame: the single value that flows from the tracker into liveness, identity and actions.
public struct FrameAnalysis: Sendable {
    public var index: Int
    /// Seconds since the start of the source (video PTS or capture clock).
    public var timestamp: Double
    public var width: Int
    public var height: Int
    /// All faces found, primary first.
    public var faces: [FaceObservation]

    public init(index: Int, timestamp: Double, width: Int, height: Int, faces: [FaceObservation]) {
        self.index = index; self.timestamp = timestamp; self.width = width; self.height = height; self.faces = faces
    }
    /// The subject: chosen by detection score and size together (see `PrimaryFace`).
    public var primary: FaceObservation? { faces.first }
}

/// How the subject is chosen among several detections: by detection score *and* size, never size alone
/// (a badge or a poster is not the subject).
public enum PrimaryFace {
    /// Weight of relative size against detection score. Measured on the fixture group photos: a face half the
    /// width of the largest still wins when its detector score is clearly higher.
    public static let sizeWeight = 0.5

    /// Index of the primary face in `faces` (by box and score), or nil for none.
    public static func select(_ faces: [(box: Rect, score: Double)]) -> Int? {
        guard !faces.isEmpty else { return nil }
        let maxW = faces.map { $0.box.width }.max() ?? 1
        let maxS = faces.map { $0.score }.max() ?? 1
        let minS = faces.map { $0.score }.min() ?? 0
        let span = max(maxS - minS, 1e-6)
        var best = 0
        var bestValue = -Double.infinity
        for (i, f) in faces.enumerated() {
            let sizeTerm = f.box.width / max(maxW, 1e-6)
            let scoreTerm = faces.count > 1 ? (f.score - minS) / span : 1
            let v = sizeWeight * sizeTerm + (1 - sizeWeight) * scoreTerm
            if v > bestValue { bestValue = v; best = i }
        }
        return best
    }
}
