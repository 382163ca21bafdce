import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

/// Embeddings of the person in front of the camera, for verify/identify: one from an image, several from a video.
public enum IdentityProbe {
    /// Frames sampled from a video probe (evenly over its length, one face each).
    public static let videoProbeFrames = 5
    /// Analyse every n-th frame of a video probe (neighbouring frames are near-duplicates).
    public static let videoStride = 5

    /// The subject of a still image (`FrameAnalysis.subject`: the largest face, near the centre) and how many faces
    /// the image holds. One place for every identity command (compare, verify, identify, embed, calibrate).
    public struct StillSubject: Sendable {
        public var face: FaceObservation
        /// Faces found in the image (1 = only the subject).
        public var faces: Int
        public var embedding: Embedding
        /// "2 faces — used the largest" for several faces, nil for one.
        public var note: String? { IdentityProbe.facesNote(faces) }
    }

    /// What the human output says when an image held several faces ("2 faces — used the largest").
    public static func facesNote(_ faces: Int?) -> String? {
        guard let f = faces, f > 1 else { return nil }
        return "\(f) faces — used the largest"
    }

    /// The subject face of an analysed image; a missing or too small subject is an error that says what to do.
    public static func subjectFace(_ a: FrameAnalysis, source: String) throws -> FaceObservation {
        guard let f = a.subject else { throw FaceGateError.noFace(source) }
        if Int(f.box.width) < PipelineConstants.minEmbeddingFace {
            throw FaceGateError.faceTooSmall(pixels: Int(f.box.width), minimum: PipelineConstants.minEmbeddingFace, source: source)
        }
        return f
    }

    /// Embedding of the subject of an image (several faces are fine: the largest one answers).
    public static func subject(image path: String, engine: FaceEngine, jitter: Int = 0) throws -> StillSubject {
        let img = try Image.read(path)
        return try subject(img, source: path, engine: engine, jitter: jitter)
    }

    public static func subject(_ img: Image, source: String, engine: FaceEngine, jitter: Int = 0) throws -> StillSubject {
        let a = engine.analyze(img)
        let f = try subjectFace(a, source: source)
        return StillSubject(face: f, faces: a.faces.count, embedding: try engine.embedding(img, face: f, jitter: jitter))
    }

    /// The subject's embedding of an image.
    public static func embedding(image path: String, engine: FaceEngine) throws -> Embedding {
        try subject(image: path, engine: engine).embedding
    }

    /// Up to `count` embeddings from frames with exactly one usable face.
    public static func embeddings(video source: FrameSource, engine: FaceEngine, count: Int = videoProbeFrames,
                                  maxFrames: Int = 600) throws -> [Embedding] {
        let tracker = FaceTracker(engine: engine)
        var out: [Embedding] = []
        var n = 0
        while out.count < count, n < maxFrames, let frame = try source.next() {
            n += 1
            let a = tracker.process(frame)
            guard frame.index % videoStride == 0, a.faces.count == 1, let f = a.primary,
                  Int(f.box.width) >= PipelineConstants.minEmbeddingFace else { continue }
            if let e = try? engine.embedding(frame.image, face: f) { out.append(e) }
        }
        guard !out.isEmpty else { throw FaceGateError.noFace(source.name) }
        return out
    }

    /// Verify several probe embeddings: every frame must match (a single non-matching frame denies).
    public static func verify(_ probes: [Embedding], user: String, index: IdentityIndexService) async throws -> VerifyResult {
        var worst: VerifyResult?
        for p in probes {
            let r = try await index.verify(user: user, probe: p)
            if worst == nil || r.distance > worst!.distance { worst = r }
        }
        guard let w = worst else { throw FaceGateError.noFace("probe") }
        return w
    }

    /// Identify several probe embeddings: the user is accepted only if every frame identifies the same user.
    public static func identify(_ probes: [Embedding], index: IdentityIndexService) async throws -> IdentifyResult {
        var results: [IdentifyResult] = []
        for p in probes { results.append(try await index.identify(p)) }
        guard let first = results.first else { throw FaceGateError.noFace("probe") }
        if results.count == 1 { return first }
        let users = Set(results.map(\.user))
        // Worst (largest) distance over frames for the reported candidate list of the first frame's order.
        let agreed = users.count == 1 ? first.user : nil
        let worstDistance = results.compactMap(\.distance).max()
        return IdentifyResult(user: agreed, distance: worstDistance, candidates: first.candidates)
    }
}
