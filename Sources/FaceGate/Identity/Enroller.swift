import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

/// One examined enrollment sample: where it came from, what was measured, and the template if it passed.
public struct EnrollmentSample: Sendable {
    public var source: String
    public var measurements: SampleMeasurements?
    public var rejections: [SampleRejection]
    public var quality: Double
    public var template: FaceTemplate?
    public var accepted: Bool { template != nil }
}

/// Result of collecting templates for one person.
public struct EnrollmentCollection: Sendable {
    public var accepted: [EnrollmentSample]
    /// Rejected still images with their reasons (videos report only `rejectionCounts`).
    public var rejected: [EnrollmentSample]
    public var rejectionCounts: [String: Int]
    /// Guided poses never captured (video/camera).
    public var missingPoses: [PoseBucket]
    /// JPEG of the best frontal face crop (only kept if the caller asks for a thumbnail).
    public var thumbnailJPEG: Data?
    public var framesSeen: Int
    public var templates: [FaceTemplate] { accepted.compactMap(\.template) }
}

/// Turns images and frames into enrollment templates: quality gate per sample, pose buckets, embeddings.
/// Shared by `facegate enroll` and the server.
public final class Enroller {
    public let engine: FaceEngine
    public var gate: QualityGate
    /// Longer side of the stored reference thumbnail (JPEG, encrypted in the gallery).
    public static let thumbnailSide = 160
    /// Analyse every n-th video frame during guided enrollment: poses change slowly, and each analysed frame that
    /// might be kept costs an embedding (~60 ms here).
    public static let videoFrameStride = 2

    public init(engine: FaceEngine, gate: QualityGate = QualityGate()) {
        self.engine = engine; self.gate = gate
    }

    /// The face a sample stands for: in a still image the subject (`FrameAnalysis.subject`, the largest face near
    /// the centre); in a video the tracker's primary face, the person doing the (liveness) session.
    public static func enrolledFace(_ analysis: FrameAnalysis, still: Bool) -> FaceObservation? {
        still ? analysis.subject : analysis.primary
    }

    /// Measures the enrolled face of an analysed frame (see `enrolledFace`).
    public func measure(_ image: Image, _ analysis: FrameAnalysis, still: Bool = false) -> SampleMeasurements? {
        guard let f = Self.enrolledFace(analysis, still: still) else { return nil }
        let box = f.box
        let side = FaceSharpness.side
        let sharp = FaceSharpness.measure(gray: image.cropped(box).resized(width: side, height: side).grayBytes, side: side)
        let bright = image.brightness(in: box)
        return SampleMeasurements(faces: analysis.faces.count, faceWidth: box.width, sharpness: sharp, brightness: bright,
                                  eyeAspect: f.ear.mean, pose: f.pose)
    }

    /// Gate + embedding for one frame. `embed` false skips the embedding (sample then has no template).
    public func sample(_ image: Image, _ analysis: FrameAnalysis, source: String, still: Bool = false, created: Date = Date()) -> EnrollmentSample {
        guard let m = measure(image, analysis, still: still), let face = Self.enrolledFace(analysis, still: still) else {
            return EnrollmentSample(source: source, measurements: nil, rejections: [.noFace], quality: 0, template: nil)
        }
        let rej = gate.rejections(m)
        let q = gate.quality(m)
        guard rej.isEmpty else { return EnrollmentSample(source: source, measurements: m, rejections: rej, quality: q, template: nil) }
        do {
            let e = try engine.embedding(image, face: face)
            let t = FaceTemplate(embedding: e, metadata: TemplateMetadata(pose: PoseBucket(m.pose), quality: q, created: created))
            return EnrollmentSample(source: source, measurements: m, rejections: [], quality: q, template: t)
        } catch {
            return EnrollmentSample(source: source, measurements: m, rejections: [.noFace], quality: q, template: nil)
        }
    }

    /// A small JPEG of the face (reference thumbnail for audit).
    public func thumbnail(_ image: Image, face: FaceObservation) -> Data? {
        let b = face.box
        let pad = b.width * 0.25
        let r = Rect(x: max(0, b.x - pad), y: max(0, b.y - pad), width: b.width + 2 * pad, height: b.height + 2 * pad)
        let crop = image.cropped(r)
        let s = Double(Self.thumbnailSide) / Double(max(crop.width, crop.height))
        return crop.resized(width: max(1, Int(Double(crop.width) * s)), height: max(1, Int(Double(crop.height) * s))).jpeg(quality: 85)
    }

    /// Still images: every image is one sample.
    public func collect(images paths: [String], wantThumbnail: Bool) throws -> EnrollmentCollection {
        var accepted: [EnrollmentSample] = [], rejected: [EnrollmentSample] = []
        var best: (Double, Data?)? = nil
        for p in paths {
            let img = try Image.read(p)   // an unreadable file is the caller's mistake: stop with its error
            let a = engine.analyze(img)
            let s = sample(img, a, source: p, still: true)
            if s.accepted {
                accepted.append(s)
                if wantThumbnail, let f = a.subject, s.quality > (best?.0 ?? -1) { best = (s.quality, thumbnail(img, face: f)) }
            } else { rejected.append(s) }
        }
        var counts: [String: Int] = [:]
        for r in rejected { for c in r.rejections { counts[c.code, default: 0] += 1 } }
        return EnrollmentCollection(accepted: accepted, rejected: rejected, rejectionCounts: counts, missingPoses: [],
                                    thumbnailJPEG: best?.1 ?? nil, framesSeen: paths.count)
    }

    /// Guided video/camera enrollment: tracks the face, asks for each pose in turn (`prompt` is called when the
    /// wanted pose changes), keeps the best `perPose` samples of each measured pose bucket. Stops when all poses
    /// are captured, the source ends, or `maxSeconds` of stream time pass. `liveness`, when given, sees every frame
    /// first and samples are only taken while it has not failed.
    public func collect(video source: FrameSource, perPose: Int = PoseCollector<FaceTemplate>.defaultPerPose,
                        maxSeconds: Double, wantThumbnail: Bool, liveness: EnrollmentLiveness? = nil,
                        prompt: (String) -> Void = { _ in }) throws -> (EnrollmentCollection, LivenessResult?) {
        let tracker = FaceTracker(engine: engine)
        var collector = PoseCollector<EnrollmentSample>(perPose: perPose)
        var counts: [String: Int] = [:]
        var frames = 0
        var lastPrompt: PoseBucket?
        var thumb: (Double, Data?)?
        var start: Double?
        var livenessResult: LivenessResult?
        while let frame = try source.next() {
            frames += 1
            if start == nil { start = frame.timestamp }
            if frame.timestamp - (start ?? 0) > maxSeconds { break }
            let analysis: FrameAnalysis
            if let l = liveness {
                let (a, r) = try l.enrollmentStep(frame)
                analysis = a
                if let r { livenessResult = r; if !r.live { break } }
            } else {
                analysis = tracker.process(frame)
            }
            if let need = collector.nextNeeded, need != lastPrompt { prompt(PoseCollector<EnrollmentSample>.prompt(need)); lastPrompt = need }
            guard frame.index % Self.videoFrameStride == 0 else { continue }
            guard let m = measure(frame.image, analysis) else { counts["no_face", default: 0] += 1; continue }
            let rej = gate.rejections(m)
            if !rej.isEmpty { for r in rej { counts[r.code, default: 0] += 1 }; continue }
            let bucket = PoseBucket(m.pose), q = gate.quality(m)
            guard collector.wouldKeep(bucket, quality: q) else { continue }
            let s = sample(frame.image, analysis, source: "\(source.name)#\(frame.index)")
            guard s.accepted else { for r in s.rejections { counts[r.code, default: 0] += 1 }; continue }
            collector.offer(bucket, quality: q, sample: s)
            if wantThumbnail, bucket == .frontal, let f = analysis.primary, q > (thumb?.0 ?? -1) { thumb = (q, thumbnail(frame.image, face: f)) }
            if collector.isComplete && (liveness == nil || livenessResult != nil) { break }
        }
        if let l = liveness, livenessResult == nil { livenessResult = l.enrollmentEnd() }
        let accepted = collector.samples.map(\.sample)
        return (EnrollmentCollection(accepted: accepted, rejected: [], rejectionCounts: counts, missingPoses: collector.missing,
                                     thumbnailJPEG: thumb?.1 ?? nil, framesSeen: frames), livenessResult)
    }
}

/// Liveness that sees every frame of a guided enrollment first (`AuthenticationSession`, `ActiveRunner`).
public protocol EnrollmentLiveness: AnyObject {
    /// Tracks and checks one frame: its analysis, and the result once decided.
    func enrollmentStep(_ frame: Frame) throws -> (FrameAnalysis, LivenessResult?)
    /// The source ended: the result with what was seen.
    func enrollmentEnd() -> LivenessResult
}

extension ActiveRunner: EnrollmentLiveness {
    public func enrollmentStep(_ frame: Frame) throws -> (FrameAnalysis, LivenessResult?) {
        process(frame)
        return (lastAnalysis ?? tracker.process(frame), result)
    }
    public func enrollmentEnd() -> LivenessResult { result ?? finish() }
}

/// Duplicate check: does a new enrollment already match someone else in the gallery?
public enum DuplicateCheck {
    /// Users other than `name` whose score against any of the templates is within their threshold.
    public static func matches(_ templates: [FaceTemplate], excluding name: String, index: IdentityIndexService) async throws -> [IdentityCandidate] {
        var found: [String: IdentityCandidate] = [:]
        for t in templates {
            let r: IdentifyResult
            do { r = try await index.identify(t.embedding) } catch IdentityError.emptyGallery { return [] }
            for c in r.candidates where c.user != name && c.distance <= c.threshold {
                if let old = found[c.user], old.distance <= c.distance { continue }
                found[c.user] = c
            }
        }
        return found.values.sorted { $0.distance < $1.distance }
    }
}
