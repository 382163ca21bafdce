import FaceGateCore
import FaceGateVision
import Foundation

// What the runtime needs to load a model written by `facegate export` (FaceGateLab): the sidecar format and the
// OpenCV DNN runner. The exporter itself lives in FaceGateLab/Training/ModelExport.swift.

/// Weight precision of an exported ONNX file.
public enum ExportPrecision: String, Sendable, Codable, CaseIterable {
    /// IEEE single precision: the native model's numbers.
    case float32
    /// Conv and first dense weights as int8, one symmetric scale per output channel, cast to float32 in the graph
    /// (a quarter of the file; float32 arithmetic, so OpenCV 4.6 — which reads no float16 tensors — and ONNX Runtime
    /// both run it). The scales are folded into the per-channel affine after each ReLU.
    case int8
}

/// How an exported model's crop is cut (FaceGate-trained models): the landmark-aligned chip `facegate gather` wrote,
/// then resized to the network input (area averaging when shrinking).
public struct ExportCropRecipe: Sendable, Codable, Hashable {
    /// "aligned_chip": dlib face chip from 68 (or 5) landmarks.
    public var recipe: String
    public var chipSize: Int
    /// dlib face-chip padding around the landmarks.
    public var margin: Double
    /// "area" (OpenCV INTER_AREA when shrinking, bilinear when enlarging).
    public var resize: String
    /// Whether the training crops were gather's aligned chips (false: crops of unknown origin, no gather.json — the
    /// run-time chip is then FaceGate's best match, as for the native model).
    public var trainedOnAlignedChips: Bool?
    public init(recipe: String = ExportCropRecipe.alignedChip, chipSize: Int, margin: Double, resize: String = "area",
                trainedOnAlignedChips: Bool? = nil) {
        self.recipe = recipe; self.chipSize = chipSize; self.margin = margin; self.resize = resize
        self.trainedOnAlignedChips = trainedOnAlignedChips
    }
    public static let alignedChip = "aligned_chip"
    enum CodingKeys: String, CodingKey {
        case recipe, chipSize = "chip_size", margin, resize, trainedOnAlignedChips = "trained_on_aligned_chips"
    }
}

/// Accuracy of a model on the crops of one source (`facegate export --dataset`).
public struct SourceMetrics: Sendable, Codable, Hashable {
    public var crops: Int
    public var accuracy: Double
    public var apcer: Double?
    public var bpcer: Double?
    package init(crops: Int, accuracy: Double, apcer: Double?, bpcer: Double?) {
        self.crops = crops; self.accuracy = accuracy; self.apcer = apcer; self.bpcer = bpcer
    }
}

/// The JSON sidecar written beside an exported ONNX file (`OUT.json`). Its first fields are the catalog sidecar's
/// (`PadModelSpec`: input_size, crop_scale, color_order, pixel_scale, mean, std, real_class, output), so FaceGate and
/// any other runtime read it the same way; the rest describes where the model came from.
public struct ExportSidecar: Sendable, Codable {
    public var inputSize: [Int]
    /// Always null: FaceGate-trained models use `crop` (aligned chip), not a face-box enlargement.
    public var cropScale: Double?
    public var colorOrder: String
    public var pixelScale: Double
    public var mean: [Double]
    public var std: [Double]
    public var realClass: Int
    public var output: String
    public var crop: ExportCropRecipe
    public var layout: String
    public var inputName: String
    public var outputName: String
    public var classes: [String]
    public var realClassName: String
    public var precision: ExportPrecision
    public var opset: Int
    public var arch: String
    public var trained: String
    public var exported: String
    public var facegateVersion: String
    public var sourceModelSHA256: String
    public var training: ModelHeader.TrainingSummary
    /// The training run's validation metrics (copied from the model file).
    public var metrics: [String: Double]
    /// Per-source accuracy of this exported file, when `--dataset` was given at export.
    public var metricsBySource: [String: SourceMetrics]?
    public var metricsDataset: String?

    /// Memberwise (the exporter in FaceGateLab builds it).
    package init(inputSize: [Int], cropScale: Double?, colorOrder: String, pixelScale: Double, mean: [Double],
                 std: [Double], realClass: Int, output: String, crop: ExportCropRecipe, layout: String,
                 inputName: String, outputName: String, classes: [String], realClassName: String,
                 precision: ExportPrecision, opset: Int, arch: String, trained: String, exported: String,
                 facegateVersion: String, sourceModelSHA256: String, training: ModelHeader.TrainingSummary,
                 metrics: [String: Double], metricsBySource: [String: SourceMetrics]?, metricsDataset: String?) {
        self.inputSize = inputSize; self.cropScale = cropScale; self.colorOrder = colorOrder
        self.pixelScale = pixelScale; self.mean = mean; self.std = std; self.realClass = realClass
        self.output = output; self.crop = crop; self.layout = layout; self.inputName = inputName
        self.outputName = outputName; self.classes = classes; self.realClassName = realClassName
        self.precision = precision; self.opset = opset; self.arch = arch; self.trained = trained
        self.exported = exported; self.facegateVersion = facegateVersion; self.sourceModelSHA256 = sourceModelSHA256
        self.training = training; self.metrics = metrics; self.metricsBySource = metricsBySource
        self.metricsDataset = metricsDataset
    }

    enum CodingKeys: String, CodingKey {
        case inputSize = "input_size", cropScale = "crop_scale", colorOrder = "color_order", pixelScale = "pixel_scale"
        case mean, std, realClass = "real_class", output, crop, layout, inputName = "input_name", outputName = "output_name"
        case classes, realClassName = "real_class_name", precision, opset, arch, trained, exported
        case facegateVersion = "facegate_version", sourceModelSHA256 = "source_model_sha256", training, metrics
        case metricsBySource = "metrics_by_source", metricsDataset = "metrics_dataset"
    }

    // Explicit so that crop_scale is written as null (a reader that only knows crop_scale must not see a default).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputSize, forKey: .inputSize)
        try c.encodeNil(forKey: .cropScale)
        try c.encode(colorOrder, forKey: .colorOrder)
        try c.encode(pixelScale, forKey: .pixelScale)
        try c.encode(mean, forKey: .mean); try c.encode(std, forKey: .std)
        try c.encode(realClass, forKey: .realClass); try c.encode(output, forKey: .output)
        try c.encode(crop, forKey: .crop); try c.encode(layout, forKey: .layout)
        try c.encode(inputName, forKey: .inputName); try c.encode(outputName, forKey: .outputName)
        try c.encode(classes, forKey: .classes); try c.encode(realClassName, forKey: .realClassName)
        try c.encode(precision, forKey: .precision); try c.encode(opset, forKey: .opset); try c.encode(arch, forKey: .arch)
        try c.encode(trained, forKey: .trained); try c.encode(exported, forKey: .exported)
        try c.encode(facegateVersion, forKey: .facegateVersion); try c.encode(sourceModelSHA256, forKey: .sourceModelSHA256)
        try c.encode(training, forKey: .training); try c.encode(metrics, forKey: .metrics)
        try c.encodeIfPresent(metricsBySource, forKey: .metricsBySource)
        try c.encodeIfPresent(metricsDataset, forKey: .metricsDataset)
    }

    /// The sidecar path FaceGate writes and looks for first (`OUT.json` beside `OUT.onnx`).
    public static func path(for onnx: String) -> String { (onnx as NSString).deletingPathExtension + ".json" }

    public static func read(_ path: String) throws -> ExportSidecar {
        do { return try JSONDecoder().decode(ExportSidecar.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw FaceGateError.badInput("\(path) is not a FaceGate export sidecar (\(error)) — export the model again with `facegate export`")
        }
    }

    /// A model header rebuilt from the sidecar (classes, crop, training summary), for `LivenessModel`.
    var header: ModelHeader {
        ModelHeader(magic: ModelContainer.magic, formatVersion: ModelContainer.formatVersion, facegateVersion: facegateVersion,
                    created: trained, arch: ModelArchitecture(rawValue: arch) ?? .livenessnet, inputSize: inputSize.first ?? 32,
                    crop: CropSpec(chipSize: crop.chipSize, margin: crop.margin, aligned: crop.trainedOnAlignedChips ?? true), classes: classes,
                    realClass: realClassName, training: training, metrics: metrics,
                    weights: .init(bytes: 0, sha256: sourceModelSHA256))
    }

    /// How FaceGate's OpenCV DNN runner feeds the network (the crop is already at the input size).
    public var inputSpec: NetInputSpec {
        NetInputSpec(width: inputSize.first ?? 32, height: inputSize.count > 1 ? inputSize[1] : (inputSize.first ?? 32),
                     cropScale: nil, rgb: colorOrder.uppercased() == "RGB", pixelScale: pixelScale, mean: mean, std: std)
    }
}

/// Runs an exported LivenessNet ONNX file through OpenCV DNN exactly as FaceGate runs the native model: the crop
/// is resized to the input size like the native path (area averaging when shrinking), then normalised per the
/// sidecar. Not thread-safe (the caller serialises).
final class ExportedNetRunner {
    let net: PadNet
    let sidecar: ExportSidecar
    init(onnxPath: String, sidecar: ExportSidecar) throws {
        net = try PadNet(path: onnxPath)  // one-line badInput when OpenCV cannot read it
        self.sidecar = sidecar
    }

    func probabilities(crop: Image) -> [Double]? {
        let spec = sidecar.inputSpec
        guard crop.width > 0, crop.height > 0 else { return nil }
        let c = (crop.width == spec.width && crop.height == spec.height) ? crop : crop.resized(width: spec.width, height: spec.height)
        guard let raw = try? net.run(c, box: Rect(x: 0, y: 0, width: Double(c.width), height: Double(c.height)), input: spec),
              raw.count == sidecar.classes.count else { return nil }
        return sidecar.output.lowercased().hasPrefix("prob") ? raw.map(Double.init) : ModelCue.softmax(raw)
    }
}
