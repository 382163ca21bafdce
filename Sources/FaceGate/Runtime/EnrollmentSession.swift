import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

/// What one enrollment runs.
public struct EnrollmentSettings {
    public var user: String
    /// The quality gate every sample passes (the same for images, videos, cameras and the server's sessions).
    public var gate: QualityGate
    /// Guided video/camera enrollment: templates kept per pose, and the time limit.
    public var perPose: Int
    public var maxSeconds: Double
    /// Keep a JPEG of the best frontal face.
    public var thumbnail: Bool
    /// Liveness first (camera, `--liveness`): the session's options; nil: none.
    public var liveness: LivenessPipelineOptions?
    /// Refuse (instead of warning) when the face already matches another user.
    public var refuseDuplicates: Bool

    public init(user: String, gate: QualityGate = QualityGate(), perPose: Int = PoseCollector<FaceTemplate>.defaultPerPose,
                maxSeconds: Double = 60, thumbnail: Bool = false, liveness: LivenessPipelineOptions? = nil,
                refuseDuplicates: Bool = false) {
        self.user = user; self.gate = gate; self.perPose = perPose; self.maxSeconds = maxSeconds; self.thumbnail = thumbnail
        self.liveness = liveness; self.refuseDuplicates = refuseDuplicates
    }
}

/// Why an enrollment was refused.
public enum EnrollmentRefusal: Sendable, Equatable {
    /// The liveness session failed: a live person must complete the challenges.
    case notLive(reason: String?)
    /// No sample passed the quality gate.
    case noUsableSample(QualityLevel)
    /// The face already matches other users and duplicates are refused.
    case duplicate([String])

    public var text: String {
        switch self {
        case .notLive(let reason): return "liveness failed: \(reason ?? "not live") — a live person must complete the challenges"
        case .noUsableSample(let level): return "no sample passed the \(level) quality gate"
        case .duplicate(let users): return "the face already matches \(users.joined(separator: ", "))"
        }
    }
}

/// The decision on a collected enrollment: the templates to store, or why not.
public struct EnrollmentOutcome: Sendable {
    public var collection: EnrollmentCollection
    public var liveness: LivenessResult?
    /// Other users the new templates already match (a warning unless refused).
    public var duplicates: [IdentityCandidate]
    public var refusal: EnrollmentRefusal?
    public var accepted: Bool { refusal == nil }
}

/// One enrollment: samples through the quality gate (images, a guided video/camera with liveness first, or the
/// identity anchors of a live server session), then the duplicate-face check, then the decision. The CLI `enroll`
/// and the server's enrollment (sessions and uploaded images) run this; storing the templates stays with the caller
/// (the CLI's create/replace/append, the server's pending users).
public final class EnrollmentSession {
    public let settings: EnrollmentSettings
    public let enroller: Enroller
    public let presenter: SessionPresenter

    public init(engine: FaceEngine, settings: EnrollmentSettings, presenter: SessionPresenter = SilentPresenter()) {
        self.settings = settings
        self.enroller = Enroller(engine: engine, gate: settings.gate)
        self.presenter = presenter
    }

    /// Still images: the subject of each photo through the gate.
    public func collect(images paths: [String]) throws -> EnrollmentCollection {
        try enroller.collect(images: paths, wantThumbnail: settings.thumbnail)
    }

    /// A guided video or camera: liveness first when configured (its prompts and annotated frames go to the
    /// presenter), the wanted poses as `.pose` notices.
    public func collect(video source: FrameSource) throws -> (EnrollmentCollection, LivenessResult?) {
        var liveness: AuthenticationSession?
        if let options = settings.liveness {
            liveness = try AuthenticationSession(engine: enroller.engine, settings: AuthenticationSettings(liveness: options, source: source.name),
                                                 identify: false, presenter: presenter)
        }
        defer { presenter.finish() }
        return try enroller.collect(video: source, perPose: settings.perPose, maxSeconds: settings.maxSeconds,
                                    wantThumbnail: settings.thumbnail, liveness: liveness,
                                    prompt: { [presenter] in presenter.notice(.pose($0)) })
    }

    /// One decoded still image (the server's uploaded photos): its subject through `gate` and embedded — what
    /// `collect(images:)` does with each file.
    public static func sample(still image: Image, source: String, engine: FaceEngine, gate: QualityGate) -> EnrollmentSample {
        Enroller(engine: engine, gate: gate).sample(image, engine.analyze(image), source: source, still: true)
    }

    /// Examined stills (`sample(still:…)`) as one collection, for `decide`.
    public static func collect(stills samples: [EnrollmentSample]) -> EnrollmentCollection {
        var counts: [String: Int] = [:]
        for s in samples where !s.accepted { for r in s.rejections { counts[r.code, default: 0] += 1 } }
        return EnrollmentCollection(accepted: samples.filter(\.accepted), rejected: samples.filter { !$0.accepted },
                                    rejectionCounts: counts, missingPoses: [], thumbnailJPEG: nil, framesSeen: samples.count)
    }

    /// The identity anchors of a live session (the server's enrollment sessions) through the same quality gate:
    /// the anchors were embedded once by the session (`IdentityContinuity`) and measured when they were taken.
    public static func collect(anchors: [IdentityAnchor], gate: QualityGate, source: String) -> EnrollmentCollection {
        var accepted: [EnrollmentSample] = [], rejected: [EnrollmentSample] = []
        var counts: [String: Int] = [:]
        for a in anchors {
            let name = "\(source)#\(a.frameIndex)"
            guard let m = a.measurements else {
                rejected.append(EnrollmentSample(source: name, measurements: nil, rejections: [.noFace], quality: 0, template: nil))
                counts[SampleRejection.noFace.code, default: 0] += 1
                continue
            }
            let rej = gate.rejections(m), q = gate.quality(m)
            guard rej.isEmpty else {
                rejected.append(EnrollmentSample(source: name, measurements: m, rejections: rej, quality: q, template: nil))
                for r in rej { counts[r.code, default: 0] += 1 }
                continue
            }
            let t = FaceTemplate(embedding: a.embedding, metadata: TemplateMetadata(pose: PoseBucket(m.pose), quality: q))
            accepted.append(EnrollmentSample(source: name, measurements: m, rejections: [], quality: q, template: t))
        }
        return EnrollmentCollection(accepted: accepted, rejected: rejected, rejectionCounts: counts, missingPoses: [],
                                    thumbnailJPEG: nil, framesSeen: anchors.count)
    }

    /// The indices of the anchors that pass `gate` — the same rule as `collect(anchors:)` — so a live session can
    /// record which of its frames may later become templates (the server's `{"session": …}` templates).
    public static func admissible(anchors: [IdentityAnchor], gate: QualityGate) -> [Int] {
        anchors.indices.filter { !collect(anchors: [anchors[$0]], gate: gate, source: "").templates.isEmpty }
    }

    /// The decision: not live, no usable sample, or (when refused) a duplicate face; else accepted with the
    /// duplicates as a warning. `index` is the gallery's identity index (the duplicate check).
    public static func decide(_ collection: EnrollmentCollection, liveness: LivenessResult?, user: String, gate: QualityGate,
                              refuseDuplicates: Bool, index: IdentityIndexService) async throws -> EnrollmentOutcome {
        var out = EnrollmentOutcome(collection: collection, liveness: liveness, duplicates: [], refusal: nil)
        if let l = liveness, !l.live { out.refusal = .notLive(reason: l.reason); return out }
        guard !collection.templates.isEmpty else { out.refusal = .noUsableSample(gate.level); return out }
        out.duplicates = try await DuplicateCheck.matches(collection.templates, excluding: user, index: index)
        if refuseDuplicates && !out.duplicates.isEmpty { out.refusal = .duplicate(out.duplicates.map(\.user)) }
        return out
    }

    public func decide(_ collection: EnrollmentCollection, liveness: LivenessResult?, index: IdentityIndexService) async throws -> EnrollmentOutcome {
        try await Self.decide(collection, liveness: liveness, user: settings.user, gate: settings.gate,
                              refuseDuplicates: settings.refuseDuplicates, index: index)
    }
}

extension AuthenticationSession: EnrollmentLiveness {
    public func enrollmentStep(_ frame: Frame) throws -> (FrameAnalysis, LivenessResult?) {
        let step = try process(frame)
        return (step.analysis, livenessResult?.session)
    }

    public func enrollmentEnd() -> LivenessResult { (livenessResult ?? endOfInput()).session }
}
