import CFaceGate
import FaceGateCore
import Foundation

/// A raw detection in full-frame pixels.
public struct Detection: Sendable, Hashable {
    public var box: Rect
    public var score: Double
    public init(box: Rect, score: Double) { self.box = box; self.score = score }
}

/// How a DNN face detector wants its input and what its output is: what a model catalog entry of role `detector`
/// declares (the detector counterpart of an anti-spoof model's preprocessing spec). Codable so it can also travel as a
/// JSON sidecar.
///
/// ```json
/// {"format": "caffe-ssd", "resize": "area", "input_size": [192, 192], "mean": [104, 117, 123], "pixel_scale": 1,
///  "color_order": "BGR", "confidence": 0.6, "nms": 0.3, "input_name": "data", "output_name": "detection_out"}
/// ```
public struct DetectorSpec: Sendable, Hashable, Codable {
    /// Network file kind and output layout.
    public enum Format: String, Sendable, Hashable, Codable {
        /// Caffe prototxt + weights ending in an SSD DetectionOutput layer ([1,1,N,7], normalised corners).
        /// Files: the prototxt first, then the .caffemodel.
        case caffeSSD = "caffe-ssd"
        /// OpenCV's YuNet ONNX detector (cv::FaceDetectorYN, OpenCV ≥ 4.5.4). Files: the .onnx.
        case yunet
    }
    /// How the frame is resized before the network.
    public enum Resize: String, Sendable, Hashable, Codable {
        /// Down to about width × height pixels, aspect ratio kept; smaller frames are fed as they are (Silent-Face).
        case area
        /// Stretched to exactly width × height.
        case fixed
        /// At the frame's own size (after the pipeline's own max-side limit).
        case none
    }

    public var format: Format
    public var resize: Resize
    /// [width, height] of the network input (see `resize`).
    public var inputSize: [Int]
    /// Per-channel mean subtracted after `pixelScale`, in the network's channel order.
    public var mean: [Double]
    public var pixelScale: Double
    /// "BGR" (OpenCV order) or "RGB".
    public var colorOrder: String
    /// Boxes below this confidence (0…1) are dropped.
    public var confidence: Double
    /// Non-maximum suppression IoU (YuNet; SSD networks suppress in their DetectionOutput layer).
    public var nms: Double
    /// Input / output blob names; nil = the network's defaults.
    public var inputName: String?
    public var outputName: String?

    enum CodingKeys: String, CodingKey {
        case format, resize, inputSize = "input_size", mean, pixelScale = "pixel_scale", colorOrder = "color_order"
        case confidence, nms, inputName = "input_name", outputName = "output_name"
    }

    public init(format: Format, resize: Resize, inputSize: [Int], mean: [Double] = [0, 0, 0], pixelScale: Double = 1,
                colorOrder: String = "BGR", confidence: Double, nms: Double = 0.3, inputName: String? = nil,
                outputName: String? = nil) {
        self.format = format; self.resize = resize; self.inputSize = inputSize; self.mean = mean
        self.pixelScale = pixelScale; self.colorOrder = colorOrder; self.confidence = confidence; self.nms = nms
        self.inputName = inputName; self.outputName = outputName
    }

    /// Number of model files the format needs (Caffe: prototxt + weights; YuNet: one ONNX file).
    public var fileCount: Int { format == .caffeSSD ? 2 : 1 }

    var native: fg_dnn_detector_params {
        var p = fg_dnn_detector_params()
        p.format = format == .yunet ? FG_DNN_YUNET : FG_DNN_CAFFE_SSD
        p.resize = switch resize { case .area: FG_DNN_RESIZE_AREA; case .fixed: FG_DNN_RESIZE_FIXED; case .none: FG_DNN_RESIZE_NONE }
        p.input_w = Int32(inputSize.first ?? 0)
        p.input_h = Int32(inputSize.count > 1 ? inputSize[1] : (inputSize.first ?? 0))
        let m = mean + Array(repeating: 0, count: max(0, 3 - mean.count))
        p.mean = (m[0], m[1], m[2])
        p.scale = pixelScale
        p.swap_rb = colorOrder.uppercased() == "RGB" ? 1 : 0
        p.confidence = Float(confidence)
        p.nms = Float(nms)
        return p
    }
}

/// A DNN detector's files (in the order `DetectorSpec.Format` names) and its preprocessing.
public struct DNNDetectorModel: Sendable, Hashable {
    /// Name shown to users (a catalog name, or the file name).
    public var name: String
    public var files: [String]
    public var spec: DetectorSpec
    public init(name: String, files: [String], spec: DetectorSpec) { self.name = name; self.files = files; self.spec = spec }
}

/// Which face detector to run.
public enum DetectorKind: Sendable, Hashable, CustomStringConvertible {
    /// dlib HOG + linear SVM: fast (≈4 ms at 320x240, hog.cpp), frontal and moderately turned faces ≥ 80 px in detector space.
    case hog
    /// dlib MMOD CNN: accurate, slow (≈500 ms at 640x480 on this machine).
    case mmod(model: String)
    /// OpenCV Haar cascade: fast-ish, many false positives.
    case haar(cascade: String)
    /// An SSD-style Caffe detector: "deploy.prototxt|weights.caffemodel" (e.g. Silent-Face's RetinaFace).
    case ssd(spec: String)
    /// OpenCV's YuNet ONNX detector (cv::FaceDetectorYN).
    case yunet(model: String)
    /// A DNN detector fed as its `DetectorSpec` declares (model catalog detectors).
    case dnn(DNNDetectorModel)

    public var description: String {
        switch self {
        case .hog: return "hog"
        case .mmod: return "mmod"
        case .haar: return "haar"
        case .ssd(let s): return "ssd:\(s)"
        case .yunet(let m): return "yunet:\(m)"
        case .dnn(let m): return m.name
        }
    }

    /// A short label for tables and benchmarks ("HOG", "MMOD", "retinaface-silentface", ...).
    public var shortName: String {
        switch self {
        case .hog: return "HOG"
        case .mmod: return "MMOD"
        case .haar: return "Haar"
        case .ssd: return "SSD"
        case .yunet: return "YuNet"
        case .dnn(let m): return m.name
        }
    }
}

/// A face detector owning its native model. Not thread-safe: one per task/thread.
public final class FaceDetector {
    private enum Native {
        /// fg_detector (face.cpp): HOG, MMOD, Haar, path-given SSD/YuNet.
        case classic(OpaquePointer)
        /// fg_dnn_detector (dnn_detect.cpp): spec-driven DNN detectors.
        case dnn(OpaquePointer)
    }
    private let native: Native
    public let kind: DetectorKind
    /// The last native failure of a DNN detector (that call returned no faces), for diagnostics.
    public private(set) var lastError: String?

    /// How dlib's HOG detector is evaluated. Both give identical boxes and scores (`HOGDetectorTests`); `.fast` reuses
    /// its buffers and runs the filter bank in wider vector loops (hog.cpp), `.dlibReference` is dlib's own
    /// object_detector call, kept for the equality test. Ignored for other detectors.
    public enum HOGEvaluator: Sendable { case fast, dlibReference }

    public init(_ kind: DetectorKind, hogEvaluator: HOGEvaluator = .fast) throws {
        if case .dnn(let m) = kind {
            guard m.files.count == m.spec.fileCount else {
                throw FaceGateError.badInput("detector \(m.name) needs \(m.spec.fileCount) model file(s) for format \(m.spec.format.rawValue), got \(m.files.count)")
            }
            for f in m.files where !FileManager.default.fileExists(atPath: f) { throw FaceGateError.missingFile(f) }
            let config = m.spec.format == .caffeSSD ? m.files[0] : ""
            let weights = m.files[m.files.count - 1]
            var params = m.spec.native
            let (h, msg) = withErrorBuffer { buf, len in
                fg_dnn_detector_create(config, weights, m.spec.inputName ?? "", m.spec.outputName ?? "", &params, buf, len)
            }
            guard let h else { throw FaceGateError.unreadableMedia(path: weights, detail: msg) }
            self.native = .dnn(h)
            self.kind = kind
            return
        }
        let (cKind, model): (fg_detector_kind, String) = switch kind {
        case .hog: (FG_DET_HOG, "")
        case .mmod(let m): (FG_DET_MMOD, m)
        case .haar(let c): (FG_DET_HAAR, c)
        case .ssd(let s): (FG_DET_DNN_SSD, s)
        case .yunet(let m): (FG_DET_YUNET, m)
        case .dnn: preconditionFailure("handled above")
        }
        if !model.isEmpty {
            for part in model.split(separator: "|").map(String.init) where !FileManager.default.fileExists(atPath: part) {
                throw FaceGateError.missingFile(part)
            }
        }
        let reference = cKind == FG_DET_HOG && hogEvaluator == .dlibReference
        let (h, msg) = withErrorBuffer {
            reference ? fg_detector_create_hog_reference($0, $1) : fg_detector_create(cKind, model, $0, $1)
        }
        guard let h else { throw FaceGateError.unreadableMedia(path: model, detail: msg) }
        self.native = .classic(h)
        self.kind = kind
    }
    deinit {
        switch native {
        case .classic(let h): fg_detector_free(h)
        case .dnn(let h): fg_dnn_detector_free(h)
        }
    }

    /// True when `upsample` means something (dlib's HOG and MMOD pyramids); DNN detectors ignore it.
    public var supportsUpsampling: Bool {
        switch kind {
        case .hog, .mmod: return true
        default: return false
        }
    }

    /// Detects faces after downscaling so the longer side is ≤ `maxSide` (0 = full size). Sorted by score.
    public func detect(_ image: Image, maxSide: Int = 0, upsample: Int = 0, limit: Int = 32) -> [Detection] {
        var buf = [fg_detection](repeating: fg_detection(), count: limit)
        let n: Int32
        switch native {
        case .classic(let h):
            n = buf.withUnsafeMutableBufferPointer {
                fg_detect(h, image.handle, Int32(maxSide), Int32(upsample), $0.baseAddress, Int32(limit))
            }
        case .dnn(let h):
            let (r, msg) = withErrorBuffer { e, el in
                buf.withUnsafeMutableBufferPointer { fg_dnn_detect(h, image.handle, Int32(maxSide), $0.baseAddress, Int32(limit), e, el) }
            }
            n = r
            lastError = r < 0 ? msg : nil
        }
        return Self.detections(buf, n)
    }

    /// Detects only inside `roi` (full-frame pixels).
    public func detect(_ image: Image, in roi: Rect, maxSide: Int = 0, limit: Int = 8) -> [Detection] {
        var buf = [fg_detection](repeating: fg_detection(), count: limit)
        let (x, y, w, h) = (Int32(roi.x), Int32(roi.y), Int32(roi.width), Int32(roi.height))
        let n: Int32
        switch native {
        case .classic(let d):
            n = buf.withUnsafeMutableBufferPointer {
                fg_detect_roi(d, image.handle, x, y, w, h, Int32(maxSide), $0.baseAddress, Int32(limit))
            }
        case .dnn(let d):
            let (r, msg) = withErrorBuffer { e, el in
                buf.withUnsafeMutableBufferPointer { fg_dnn_detect_roi(d, image.handle, x, y, w, h, Int32(maxSide), $0.baseAddress, Int32(limit), e, el) }
            }
            n = r
            lastError = r < 0 ? msg : nil
        }
        return Self.detections(buf, n)
    }

    /// HOG windows inside `roi` scoring at least `adjustThreshold` (a negative margin: below the detection
    /// threshold), sorted by score; `score` is the margin over the detection threshold (≥ 0 = a detection). Used by
    /// the tracker to ask "is this still face-like?" where a turned or tilted face falls just under HOG's threshold.
    /// Empty for detectors other than HOG.
    public func hogScores(_ image: Image, in roi: Rect, maxSide: Int = 0, adjustThreshold: Double, limit: Int = 8) -> [Detection] {
        guard case .classic(let d) = native, case .hog = kind else { return [] }
        var buf = [fg_detection](repeating: fg_detection(), count: limit)
        let n = buf.withUnsafeMutableBufferPointer {
            fg_detect_roi_hog_adjusted(d, image.handle, Int32(roi.x), Int32(roi.y), Int32(roi.width), Int32(roi.height),
                                       Int32(maxSide), adjustThreshold, $0.baseAddress, Int32(limit))
        }
        return Self.detections(buf, n)
    }

    /// Native results to detections; a failed call (-1) finds nothing — the detector abstains, it never invents a box.
    private static func detections(_ buf: [fg_detection], _ n: Int32) -> [Detection] {
        buf.prefix(Int(max(0, n))).map {
            Detection(box: Rect(x: Double($0.x), y: Double($0.y), width: Double($0.w), height: Double($0.h)), score: Double($0.score))
        }
    }
}
