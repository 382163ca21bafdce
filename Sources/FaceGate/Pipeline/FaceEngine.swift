import FaceGateCore
import FaceGateVision
import Foundation

/// Detector choice by name, as on the command line: `hog` (default), `mmod`, `haar`, the name of an installed catalog
/// detector (`retinaface-silentface`; see `facegate models list`), or a model path (`.onnx` → YuNet,
/// `deploy.prototxt|weights.caffemodel` → SSD, `.xml` → Haar cascade).
public enum DetectorChoice: Sendable, Hashable {
    case hog, mmod, haar
    /// A DNN detector of the model catalog, by name; fed as its catalog entry's `DetectorSpec` declares.
    case catalog(String)
    case path(String)

    public init(_ text: String) {
        switch text.lowercased() {
        case "hog", "": self = .hog
        case "mmod", "cnn", BaseModels.mmod.name: self = .mmod
        case "haar": self = .haar
        default:
            if let e = ModelCatalog.entry(named: text), e.detectorSpec != nil {
                self = .catalog(e.name)
            } else {
                self = .path(text)
            }
        }
    }

    /// Every name `--detector` accepts besides a path.
    public static var names: [String] { ["hog", "mmod", "haar"] + ModelCatalog.detectors.map(\.name) }

    /// The default OpenCV frontal-face cascade installed by Debian's libopencv-dev.
    public static let haarCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

    func kind(models: ModelDirectory) throws -> DetectorKind {
        switch self {
        case .hog: return .hog
        case .mmod: return .mmod(model: try models.locate(BaseModels.mmod))
        case .haar: return .haar(cascade: Self.haarCascade)
        case .catalog(let name):
            guard let e = ModelCatalog.entry(named: name), let spec = e.detectorSpec else {
                throw FaceGateError.badInput("unknown detector '\(name)' — use one of \(Self.names.joined(separator: ", ")) or a model path")
            }
            return .dnn(DNNDetectorModel(name: e.name, files: try e.installedPaths(in: models), spec: spec))
        case .path(let p):
            if p.contains("|") { return .ssd(spec: p) }
            if p.lowercased().hasSuffix(".onnx") { return .yunet(model: p) }
            if p.lowercased().hasSuffix(".xml") { return .haar(cascade: p) }
            if p.lowercased().hasSuffix(".dat") { return .mmod(model: p) }
            throw FaceGateError.badInput("unknown detector '\(p)' — use \(Self.names.joined(separator: ", ")) (catalog detectors: `facegate models install NAME`), a YuNet .onnx, a Haar .xml or 'deploy.prototxt|weights.caffemodel'")
        }
    }

    /// True for detectors slow enough that video tracking should detect rarely.
    var isSlow: Bool { if case .mmod = self { return true }; return false }
}

/// Tunables of the face pipeline. Each constant says what it was measured on.
public enum PipelineConstants {
    /// Longer side of the frame used for tracking-time detection. HOG at 320x240 ≈ 5 ms on this machine; HOG's
    /// smallest face is 80 px in detector space, i.e. 160 px in a 640x480 frame.
    public static let trackingDetectSide = 320
    /// Fallback detection size when nothing was found at `trackingDetectSide` (small or distant faces).
    public static let fallbackDetectSide = 800
    /// Longer side for still-image analysis: large enough for faces ≥ ~60 px in 4K photos, bounded work.
    public static let stillDetectSide = 1600
    /// Smallest face box (pixels) accepted for an embedding: dlib's ResNet chip is 150 px; below ~40 px the
    /// descriptor degrades sharply (LFW-style faces are ≥ 80 px).
    public static let minEmbeddingFace = 40
}

/// Loads and owns the models of the face pipeline for one thread of work.
public final class FaceEngine {
    public let models: ModelDirectory
    public let detectorChoice: DetectorChoice
    public let detector: FaceDetector
    /// Second detector the video tracker asks when HOG misses a tracked face or finds none: RetinaFace
    /// (`retinaface-silentface`) when it is installed and the main detector is HOG; nil otherwise. It keeps the track
    /// through poses HOG (a frontal detector) misses — looking down, strong turns and tilts, a face partly out of frame.
    public let assistDetector: FaceDetector?
    public let landmarks: LandmarkModel
    private var alignModel: LandmarkModel?
    private var embedderModel: FaceEmbedder?

    /// `trackingAssist`: load the assist detector when installed (see `assistDetector`); the environment variable
    /// `FACEGATE_TRACKING_ASSIST=0` turns it off everywhere (to compare, or to track with HOG alone).
    public init(models: ModelDirectory = .resolve(), detector: DetectorChoice = .hog, trackingAssist: Bool = true) throws {
        self.models = models
        self.detectorChoice = detector
        self.detector = try FaceDetector(detector.kind(models: models))
        self.assistDetector = trackingAssist && detector == .hog && Self.assistEnabledByEnvironment
            ? try Self.installedAssist(models) : nil
        self.landmarks = try Self.load(BaseModels.landmarks68, models) { try LandmarkModel(path: $0) }
    }

    static var assistEnabledByEnvironment: Bool {
        let v = ProcessInfo.processInfo.environment["FACEGATE_TRACKING_ASSIST"]?.lowercased() ?? ""
        return !["0", "off", "no", "false"].contains(v)
    }

    /// The tracking assist detector when its files are in the model directory (verified like every model: an altered
    /// file is an error naming the fix); nil when it is not installed.
    static func installedAssist(_ models: ModelDirectory) throws -> FaceDetector? {
        let entry = ModelCatalog.retinaFace
        guard var spec = entry.detectorSpec,
              entry.files.allSatisfy({ FileManager.default.fileExists(atPath: models.path + "/" + $0.file.fileName) })
        else { return nil }
        // Boxes come back down to the region-check confidence; the tracker holds new faces to the catalog's.
        spec.confidence = min(spec.confidence, TrackerConstants.assistRegionConfidence)
        return try FaceDetector(.dnn(DNNDetectorModel(name: entry.name, files: try entry.installedPaths(in: models), spec: spec)))
    }

    /// Loads a model file, turning a native load failure into a "corrupt model" error naming the fix.
    static func load<T>(_ m: ModelFile, _ dir: ModelDirectory, _ make: (String) throws -> T) throws -> T {
        let path = try dir.locate(m)
        do { return try make(path) } catch {
            throw FaceGateError.modelCorrupt(name: m.fileName, path: path, fix: BaseModels.fetchCommand)
        }
    }

    /// 5-point model used for embedding alignment (loaded on first use).
    public func aligner() throws -> LandmarkModel {
        if let a = alignModel { return a }
        let a = try Self.load(BaseModels.landmarks5, models) { try LandmarkModel(path: $0) }
        alignModel = a
        return a
    }
    /// ResNet embedder (loaded on first use).
    public func embedder() throws -> FaceEmbedder {
        if let e = embedderModel { return e }
        let e = try Self.load(BaseModels.resnet, models) { try FaceEmbedder(path: $0) }
        embedderModel = e
        return e
    }

    /// Landmarks + pose for a face box. `fillBelowFrame`: a box reaching far past the bottom edge is fitted with the
    /// rows below the frame filled (see `BelowFrameFill`; the video tracker asks for it).
    public func observe(_ image: Image, box: Rect, score: Double, tracked: Bool = false, trackID: Int = 0,
                        fillBelowFrame: Bool = false) -> FaceObservation {
        let pts = fillBelowFrame ? BelowFrameFill.landmarks(landmarks, image, box: box) : landmarks.predict(image, box: box)
        let lm = Landmarks68(checking: pts) ?? Landmarks68(points: Array(repeating: box.center, count: 68))
        let pose = PoseEstimator.pose(lm, width: image.width, height: image.height)
        return FaceObservation(box: box, score: score, landmarks: lm, pose: pose, tracked: tracked, trackID: trackID)
    }

    /// Orders observations primary-first (by detection score and size together).
    public static func orderPrimaryFirst(_ faces: [FaceObservation]) -> [FaceObservation] {
        guard faces.count > 1, let p = PrimaryFace.select(faces.map { ($0.box, $0.score) }) else { return faces }
        var out = faces
        let primary = out.remove(at: p)
        out.sort { $0.score * $0.box.width > $1.score * $1.box.width }
        return [primary] + out
    }

    /// Thorough analysis of a still image: all faces, primary first.
    public func analyze(_ image: Image, index: Int = 0, timestamp: Double = 0) -> FrameAnalysis {
        var dets = detector.detect(image, maxSide: PipelineConstants.stillDetectSide)
        // Small images: let HOG see faces down to ~40 px by up-sampling once.
        if dets.isEmpty && max(image.width, image.height) <= 1000 && !detectorChoice.isSlow && detector.supportsUpsampling {
            dets = detector.detect(image, maxSide: 0, upsample: 1)
        }
        let faces = dets.enumerated().map { observe(image, box: $1.box, score: $1.score, trackID: $0 + 1) }
        return FrameAnalysis(index: index, timestamp: timestamp, width: image.width, height: image.height,
                             faces: Self.orderPrimaryFirst(faces))
    }

    /// 5-point alignment landmarks for a face.
    public func alignmentPoints(_ image: Image, face: FaceObservation) throws -> [Point2] {
        try aligner().predict(image, box: face.box)
    }

    /// 128-d descriptor of a face (5-point aligned 150x150 chip).
    public func embedding(_ image: Image, face: FaceObservation, jitter: Int = 0) throws -> Embedding {
        let w = Int(face.box.width)
        guard w >= PipelineConstants.minEmbeddingFace else {
            throw FaceGateError.faceTooSmall(pixels: w, minimum: PipelineConstants.minEmbeddingFace, source: "frame")
        }
        let pts = try alignmentPoints(image, face: face)
        guard let e = try embedder().embed(image, points: pts, jitter: jitter) else {
            throw FaceGateError.runtime("embedding failed for face at \(face.box.intArray)")
        }
        return e
    }
}
