import Foundation

/// What the enrollment quality gate looks at for one sample (one image or video frame).
public struct SampleMeasurements: Sendable, Hashable, Codable {
    /// Faces found in the frame.
    public var faces: Int
    /// Width of the primary face box in pixels.
    public var faceWidth: Double
    /// Normalised sharpness of the face (`FaceSharpness`: Laplacian variance / grey variance at 64 px; nil: not measured).
    public var sharpness: Double?
    /// Mean grey level 0…255 of the face box (nil: not measured).
    public var brightness: Double?
    /// Mean eye aspect ratio of both eyes.
    public var eyeAspect: Double
    public var pose: HeadPose

    public init(faces: Int, faceWidth: Double, sharpness: Double?, brightness: Double?, eyeAspect: Double, pose: HeadPose) {
        self.faces = faces; self.faceWidth = faceWidth; self.sharpness = sharpness; self.brightness = brightness
        self.eyeAspect = eyeAspect; self.pose = pose
    }
}

/// Why a sample was not used as a template. Each says what to change.
public enum SampleRejection: Sendable, Hashable, Codable, CustomStringConvertible {
    case noFace
    case multipleFaces(Int)
    case faceTooSmall(width: Int, minimum: Int)
    case blurry(sharpness: Double, minimum: Double)
    case tooDark(brightness: Double, minimum: Double)
    case tooBright(brightness: Double, maximum: Double)
    case eyesClosed(aspect: Double, minimum: Double)
    case poseOutOfRange(yaw: Double, pitch: Double)

    public var description: String {
        switch self {
        case .noFace: return "no face found"
        case .multipleFaces(let n): return "\(n) faces in view — only the person enrolling may be in the picture (or pass --largest-face to enroll the largest face)"
        case .faceTooSmall(let w, let m): return "face too small (\(w) px wide, need ≥ \(m)) — move closer or use a larger image"
        case .blurry(let s, let m): return String(format: "too blurry (sharpness %.0f, need ≥ %.0f) — hold still, focus, more light", s, m)
        case .tooDark(let b, let m): return String(format: "too dark (brightness %.0f, need ≥ %.0f) — add light on the face", b, m)
        case .tooBright(let b, let m): return String(format: "over-exposed (brightness %.0f, need ≤ %.0f) — avoid direct light or backlight", b, m)
        case .eyesClosed(let a, let m): return String(format: "eyes closed (eye aspect %.2f, need ≥ %.2f) — keep the eyes open", a, m)
        case .poseOutOfRange(let y, let p): return String(format: "head turned too far (yaw %.0f°, pitch %.0f°) — face the camera more", y, p)
        }
    }

    /// Short machine-readable code.
    public var code: String {
        switch self {
        case .noFace: return "no_face"
        case .multipleFaces: return "multiple_faces"
        case .faceTooSmall: return "face_too_small"
        case .blurry: return "blurry"
        case .tooDark: return "too_dark"
        case .tooBright: return "too_bright"
        case .eyesClosed: return "eyes_closed"
        case .poseOutOfRange: return "pose_out_of_range"
        }
    }
}

/// Focus measure normalised for face size, contrast and compression: the face box is resampled to
/// `side` × `side` px (always a *down*-scale for accepted faces, so a 100 px web photo and a 1000 px portrait are
/// compared at the same detail, and 8×8 JPEG blocks shrink below a pixel), then
/// variance(4-neighbour Laplacian) / variance(grey). Dividing by the grey variance removes contrast and exposure
/// (a dim but sharp face is not "blurry"; darkness has its own check). Pure: the caller passes the grey bytes.
public enum FaceSharpness {
    /// Side (px) of the resampled face: below the smallest accepted face (80 px) so no face is up-sampled.
    public static let side = 64

    /// Normalised sharpness of a `side`×`side` grey crop (row-major). 0 for a flat crop.
    public static func measure(gray g: [UInt8], side n: Int = FaceSharpness.side) -> Double {
        guard n >= 3, g.count >= n * n else { return 0 }
        var sum = 0.0, sum2 = 0.0
        for v in g.prefix(n * n) { let d = Double(v); sum += d; sum2 += d * d }
        let count = Double(n * n)
        let greyVar = sum2 / count - (sum / count) * (sum / count)
        guard greyVar > 1 else { return 0 }
        var ls = 0.0, ls2 = 0.0
        for y in 1..<(n - 1) {
            for x in 1..<(n - 1) {
                let i = y * n + x
                let l = Double(g[i - 1]) + Double(g[i + 1]) + Double(g[i - n]) + Double(g[i + n]) - 4 * Double(g[i])
                ls += l; ls2 += l * l
            }
        }
        let m = Double((n - 2) * (n - 2))
        return (ls2 / m - (ls / m) * (ls / m)) / greyVar
    }
}

/// How demanding the enrollment quality gate is (`--quality`, config `identity.quality`).
public enum QualityLevel: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case lenient, standard, strict
    public var description: String { rawValue }
    /// The next more lenient level (nil for lenient): what a rejection suggests.
    public var relaxed: QualityLevel? {
        switch self { case .strict: return .standard; case .standard: return .lenient; case .lenient: return nil }
    }
}

/// Per-sample enrollment quality gate. Every limit is a named constant; `strict` is not a different gate but the
/// caller's choice to refuse rather than warn on duplicates.
public struct QualityGate: Sendable, Hashable, Codable {
    /// Smallest face width (px) accepted for a template: dlib's ResNet chip is 150 px; the fixture portraits
    /// (shared/fixtures/identities) have faces of 126–1142 px, and 80 px keeps all of them while refusing thumbnails.
    public static let defaultMinFaceWidth = 80.0
    /// Side (px) the face crop is resized to before measuring sharpness (`FaceSharpness`).
    public static let sharpnessSide = FaceSharpness.side
    /// Minimum normalised sharpness (`FaceSharpness`, standard level). Measured (docs/identity.md, "Quality gate"):
    /// the 30 fixture portraits 0.19–1.40, 90 web-style 250 px crops of them (face 88–150 px, JPEG q60–85)
    /// 0.117–1.07 (5th percentile 0.17); defocused copies (σ = 5 % of the face) 0.003–0.037, motion-blurred
    /// (15 % of the face) 0.031–0.221 (median 0.067). 0.14 accepts all but 2 web crops and refuses 56 of 60 motion blurs.
    public static let defaultMinSharpness = 0.14
    /// Mean face brightness limits (0…255): the fixture portraits and their web crops measure 71–182; copies with every
    /// pixel × 0.15 measure 12–27 (2 of 60 no longer detected). Above 225 the face is mostly clipped white.
    public static let defaultMinBrightness = 40.0
    public static let defaultMaxBrightness = 225.0
    /// Eye aspect ratio below which the eyes count as closed: open eyes in the fixture portraits and their web crops
    /// measure 0.14–0.44 except one smile with the eyes squeezed shut (steve_wozniak1.jpg: 0.097 and 0.128–0.148 in its
    /// crops); frames at the blink minimum of the motion clips 0.08–0.128 (eyes closed).
    public static let defaultMinEyeAspect = 0.14
    /// Pose limits for templates: the fixture portraits measure up to 44° yaw and 25° pitch and all of them embed
    /// well enough to identify their held-back photos; beyond ~45° the 68-point fit (and so the alignment) degrades.
    /// No real strong profile exists in the fixtures (real faces ≤ 39°; HOG does not find true profiles: `no_face`);
    /// portraits warped as if turned were refused whenever measured beyond 45° (13 of 13, docs/identity.md).
    public static let defaultMaxYaw = 45.0
    public static let defaultMaxPitch = 30.0

    /// Limits per level. `standard` is the default; `lenient` and `strict` move every limit one step.
    public struct Limits: Sendable, Hashable, Codable {
        public var minFaceWidth: Double, minSharpness: Double, minBrightness: Double, maxBrightness: Double
        public var minEyeAspect: Double, maxYaw: Double, maxPitch: Double
    }
    public static func limits(_ level: QualityLevel) -> Limits {
        switch level {
        case .standard:
            return Limits(minFaceWidth: defaultMinFaceWidth, minSharpness: defaultMinSharpness, minBrightness: defaultMinBrightness,
                          maxBrightness: defaultMaxBrightness, minEyeAspect: defaultMinEyeAspect, maxYaw: defaultMaxYaw, maxPitch: defaultMaxPitch)
        case .lenient:
            // Accepts 119 of 120 ordinary photos/crops (only the eyes-shut portrait is refused); refuses every
            // defocused sample but only 42 of 60 motion blurs (sharpness ≥ 0.08) and 56 of 60 dark ones.
            return Limits(minFaceWidth: 60, minSharpness: 0.08, minBrightness: 25, maxBrightness: 240,
                          minEyeAspect: 0.11, maxYaw: 55, maxPitch: 35)
        case .strict:
            // For camera enrollment: faces ≥ 120 px (refuses most 250 px web photos), sharpness ≥ 0.20 (refuses 59 of
            // 60 motion blurs), open eyes ≥ 0.18, near-frontal.
            return Limits(minFaceWidth: 120, minSharpness: 0.20, minBrightness: 60, maxBrightness: 210,
                          minEyeAspect: 0.18, maxYaw: 30, maxPitch: 20)
        }
    }

    public var level: QualityLevel = .standard
    public var minFaceWidth = QualityGate.defaultMinFaceWidth
    public var minSharpness = QualityGate.defaultMinSharpness
    public var minBrightness = QualityGate.defaultMinBrightness
    public var maxBrightness = QualityGate.defaultMaxBrightness
    public var minEyeAspect = QualityGate.defaultMinEyeAspect
    public var maxYaw = QualityGate.defaultMaxYaw
    public var maxPitch = QualityGate.defaultMaxPitch
    /// Accept a sample with several faces (its subject, the largest face, is enrolled). Off by default: enrolling
    /// from a group photo is the caller's explicit choice (`facegate enroll --largest-face`).
    public var allowSeveralFaces = false

    public init() {}

    /// The gate at a level (`--quality lenient|standard|strict`).
    public init(level: QualityLevel) {
        let l = Self.limits(level)
        self.level = level
        minFaceWidth = l.minFaceWidth; minSharpness = l.minSharpness; minBrightness = l.minBrightness
        maxBrightness = l.maxBrightness; minEyeAspect = l.minEyeAspect; maxYaw = l.maxYaw; maxPitch = l.maxPitch
    }

    /// What a rejection adds: how to relax the gate (nil at the most lenient level).
    public var relaxHint: String? {
        level.relaxed.map { "to accept such photos, relax the gate with --quality \($0) (config identity.quality)" }
    }

    /// Every reason the sample fails (empty = accepted).
    public func rejections(_ m: SampleMeasurements) -> [SampleRejection] {
        if m.faces == 0 { return [.noFace] }
        var out: [SampleRejection] = []
        if m.faces > 1 && !allowSeveralFaces { out.append(.multipleFaces(m.faces)) }
        if m.faceWidth < minFaceWidth { out.append(.faceTooSmall(width: Int(m.faceWidth), minimum: Int(minFaceWidth))) }
        if let s = m.sharpness, s < minSharpness { out.append(.blurry(sharpness: s, minimum: minSharpness)) }
        if let b = m.brightness {
            if b < minBrightness { out.append(.tooDark(brightness: b, minimum: minBrightness)) }
            if b > maxBrightness { out.append(.tooBright(brightness: b, maximum: maxBrightness)) }
        }
        if m.eyeAspect < minEyeAspect { out.append(.eyesClosed(aspect: m.eyeAspect, minimum: minEyeAspect)) }
        if abs(m.pose.yaw) > maxYaw || abs(m.pose.pitch) > maxPitch { out.append(.poseOutOfRange(yaw: m.pose.yaw, pitch: m.pose.pitch)) }
        return out
    }

    /// Quality in 0…1 for ranking accepted samples: sharpness, size and eye openness, each saturating at twice
    /// its minimum.
    public func quality(_ m: SampleMeasurements) -> Double {
        func sat(_ v: Double, _ min: Double) -> Double { Swift.max(0, Swift.min(1, v / (2 * min))) }
        let s = m.sharpness.map { sat($0, minSharpness) } ?? 0.5
        let w = sat(m.faceWidth, minFaceWidth)
        let e = sat(m.eyeAspect, minEyeAspect)
        return (s + w + e) / 3
    }
}

/// Guided enrollment: which poses are still needed and the best samples kept for each.
public struct PoseCollector<Sample: Sendable>: Sendable {
    /// Poses asked for, in order.
    public static var guidedOrder: [PoseBucket] { [.frontal, .left, .right, .up, .down] }
    /// Templates kept per pose: two frontal-ish samples already cover expression changes; more add little.
    public static var defaultPerPose: Int { 2 }

    public let wanted: [PoseBucket]
    public let perPose: Int
    public private(set) var kept: [PoseBucket: [(quality: Double, sample: Sample)]] = [:]

    public init(wanted: [PoseBucket] = PoseCollector.guidedOrder, perPose: Int = PoseCollector.defaultPerPose) {
        self.wanted = wanted; self.perPose = max(1, perPose)
    }

    /// Would a sample of this pose and quality be kept? (Lets callers skip the expensive embedding otherwise.)
    public func wouldKeep(_ bucket: PoseBucket, quality: Double) -> Bool {
        guard wanted.contains(bucket) else { return false }
        let k = kept[bucket] ?? []
        return k.count < perPose || quality > (k.map(\.quality).min() ?? 0)
    }

    public mutating func offer(_ bucket: PoseBucket, quality: Double, sample: Sample) {
        guard wouldKeep(bucket, quality: quality) else { return }
        var k = kept[bucket] ?? []
        k.append((quality, sample))
        k.sort { $0.quality > $1.quality }
        kept[bucket] = Array(k.prefix(perPose))
    }

    /// The first pose not yet captured (the next prompt), nil when every pose has at least one sample.
    public var nextNeeded: PoseBucket? { wanted.first { (kept[$0] ?? []).isEmpty } }
    public var isComplete: Bool { nextNeeded == nil }
    public var missing: [PoseBucket] { wanted.filter { (kept[$0] ?? []).isEmpty } }
    /// Kept samples in guided order, best first within a pose.
    public var samples: [(pose: PoseBucket, quality: Double, sample: Sample)] {
        wanted.flatMap { b in (kept[b] ?? []).map { (b, $0.quality, $0.sample) } }
    }

    /// What to tell the person for a pose (raw-frame convention: yaw > 0 = their own left).
    public static func prompt(_ b: PoseBucket) -> String {
        switch b {
        case .frontal: return "look straight at the camera"
        case .left: return "turn your head slowly to your left"
        case .right: return "turn your head slowly to your right"
        case .up: return "tilt your head up a little"
        case .down: return "tilt your head down a little"
        case .unknown: return "hold still"
        }
    }
}
