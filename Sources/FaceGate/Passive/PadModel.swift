import FaceGateCore
import FaceGateVision
import Foundation

/// How an anti-spoof classifier wants its input and what its output means: the "sidecar" JSON that travels with an
/// ONNX file (`model.json` or `model.onnx.json` beside `model.onnx`), so models other than MiniFASNet fit too.
///
/// ```json
/// {"input_size": [80, 80], "crop_scale": 2.7, "color_order": "BGR", "pixel_scale": 1.0,
///  "mean": [0, 0, 0], "std": [1, 1, 1], "real_class": 1, "output": "logits"}
/// ```
public struct PadModelSpec: Sendable, Hashable, Codable {
    /// [width, height] of the network input.
    public var inputSize: [Int]
    /// Face box enlargement about its centre (Silent-Face crop: clamped to the frame); null = whole frame.
    public var cropScale: Double?
    /// "BGR" (OpenCV order, what Silent-Face feeds) or "RGB".
    public var colorOrder: String
    /// Pixels are multiplied by this before mean/std (1 = 0…255 as Silent-Face; 1/255 for 0…1 models).
    public var pixelScale: Double
    public var mean: [Double]
    public var std: [Double]
    /// Index of the "real / live" class in the output.
    public var realClass: Int
    /// "logits" (softmax applied here) or "probabilities".
    public var output: String
    /// Models exported by `facegate export`: the landmark-aligned chip they were trained on (replaces crop_scale).
    public var crop: ExportCropRecipe?

    enum CodingKeys: String, CodingKey {
        case inputSize = "input_size", cropScale = "crop_scale", colorOrder = "color_order", pixelScale = "pixel_scale"
        case mean, std, realClass = "real_class", output, crop
    }

    public init(inputSize: [Int], cropScale: Double?, colorOrder: String = "BGR", pixelScale: Double = 1,
                mean: [Double] = [0, 0, 0], std: [Double] = [1, 1, 1], realClass: Int = 1, output: String = "logits",
                crop: ExportCropRecipe? = nil) {
        self.inputSize = inputSize; self.cropScale = cropScale; self.colorOrder = colorOrder; self.pixelScale = pixelScale
        self.mean = mean; self.std = std; self.realClass = realClass; self.output = output; self.crop = crop
    }

    /// Silent-Face-Anti-Spoofing's recipe (src/data_io/functional.py to_tensor keeps 0…255, BGR from cv2.imread, no
    /// normalisation; 3 classes, 1 = real), with the scale and size from a file name like `2.7_80x80_MiniFASNetV2.onnx`
    /// or `4_0_0_80x80_MiniFASNetV1SE.onnx` (the first field is the scale, as in their utility.parse_model_name).
    public static func silentFace(fileName: String) -> PadModelSpec? {
        let base = (fileName as NSString).deletingPathExtension
        let parts = base.split(separator: "_").map(String.init)
        guard parts.count >= 3, let size = parts.dropLast().last, size.contains("x") else { return nil }
        let hw = size.split(separator: "x").compactMap { Int($0) }
        guard hw.count == 2 else { return nil }
        let scale: Double? = parts[0] == "org" ? nil : Double(parts[0])
        guard parts[0] == "org" || scale != nil else { return nil }
        return PadModelSpec(inputSize: [hw[1], hw[0]], cropScale: scale)
    }

    public var inputSpec: NetInputSpec {
        NetInputSpec(width: inputSize.first ?? 80, height: inputSize.count > 1 ? inputSize[1] : (inputSize.first ?? 80),
                     cropScale: cropScale, rgb: colorOrder.uppercased() == "RGB", pixelScale: pixelScale, mean: mean, std: std)
    }

    /// Candidate sidecar paths for a model file.
    public static func sidecarPaths(for model: String) -> [String] {
        [(model as NSString).deletingPathExtension + ".json", model + ".json"]
    }

    /// The sidecar next to `model`, else the Silent-Face file-name convention; throws when neither applies.
    public static func resolve(for model: String) throws -> PadModelSpec {
        for p in sidecarPaths(for: model) where FileManager.default.fileExists(atPath: p) {
            do {
                return try JSONDecoder().decode(PadModelSpec.self, from: Data(contentsOf: URL(fileURLWithPath: p)))
            } catch {
                throw FaceGateError.badInput("cannot read model sidecar \(p): \(error) — see docs/passive-liveness.md for its fields")
            }
        }
        if let s = silentFace(fileName: (model as NSString).lastPathComponent) { return s }
        throw FaceGateError.badInput("no preprocessing sidecar for \(model) — write \(sidecarPaths(for: model)[0]) with input_size, crop_scale, color_order, mean, std, real_class, output (docs/passive-liveness.md)")
    }
}

/// A loaded anti-spoof classifier. Not thread-safe: one per task.
public final class PadModel {
    public let name: String
    public let spec: PadModelSpec
    public let net: PadNet
    /// Whether this is a measured catalogue model (`measuredCatalogue`), decided from the file's bytes and the spec
    /// it runs with — not from `name` or the file name. What other cues may defer to (`BezelCue.yieldsTo`).
    public let provenance: PadModelProvenance

    public init(path: String, name: String? = nil, spec: PadModelSpec? = nil) throws {
        self.spec = try spec ?? PadModelSpec.resolve(for: path)
        self.net = try PadNet(path: path)
        self.name = name ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        self.provenance = Self.provenance(ofFile: path, spec: self.spec)
    }

    /// Who voted, as the model cue records it.
    public var voter: PadModelVoter { PadModelVoter(name: name, provenance: provenance) }

    /// The catalogue anti-spoof models whose votes next to the other cues were measured (fixture clips, camera-variant
    /// stills, lighting variants, rendered rooms: docs/passive-liveness.md): the two Silent-Face MiniFASNets. A new
    /// catalogue entry joins only after the same measurements.
    public static let measuredCatalogue: [CatalogEntry] = [ModelCatalog.miniFASNetV2, ModelCatalog.miniFASNetV1SE]

    /// `measuredCatalogue` when the file at `path` has the size and SHA-256 pinned for one of `measuredCatalogue` and
    /// `spec` is that entry's preprocessing; `unmeasured` otherwise (a user's own model, an altered or unreadable file,
    /// a pinned file fed another crop). Hashes only files whose size matches a pin (1.75 MB each).
    public static func provenance(ofFile path: String, spec: PadModelSpec) -> PadModelProvenance {
        let attrs = try? FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
        guard let size = (attrs?[.size] as? NSNumber)?.intValue else { return .unmeasured }
        let candidates = measuredCatalogue.filter { $0.file.size == size && $0.padSpec == spec }
        guard !candidates.isEmpty, let digest = try? sha256Hex(ofFile: path) else { return .unmeasured }
        return candidates.contains { $0.file.sha256 == digest } ? .measuredCatalogue : .unmeasured
    }

    /// Silent-Face's models were trained on RetinaFace boxes, which sit higher and larger than dlib's landmark hull.
    /// Mapping measured on the fixture identity photos (9 faces, medians): centre 12 % of the hull height higher,
    /// 1.15 × its width, 1.17 × its height.
    public static let boxCenterShift = -0.12
    public static let boxWidthScale = 1.15
    public static let boxHeightScale = 1.17

    /// The detector-style face box the model expects, from 68 landmarks.
    public static func faceBox(from lm: Landmarks68) -> Rect {
        let b = lm.boundingBox
        let w = b.width * boxWidthScale, h = b.height * boxHeightScale
        let c = Point2(b.center.x, b.center.y + boxCenterShift * b.height)
        return Rect(x: c.x - w / 2, y: c.y - h / 2, width: w, height: h)
    }

    /// True when the model classifies a landmark-aligned chip (a FaceGate export) rather than a face box.
    public var usesAlignedChip: Bool { spec.crop?.recipe == ExportCropRecipe.alignedChip }

    /// Class probabilities of an aligned-chip model (`usesAlignedChip`) for the face with these landmarks: the chip
    /// cut as `facegate gather` cut the training crops, resized as the native model resizes. Nil when no chip can be cut.
    public func probabilities(_ image: Image, landmarks: [Point2]) throws -> [Double]? {
        guard let c = spec.crop, let chip = faceChip(image, points: landmarks, size: c.chipSize, padding: c.margin) else { return nil }
        let s = spec.inputSpec
        let input = (chip.width == s.width && chip.height == s.height) ? chip : chip.resized(width: s.width, height: s.height)
        return try probabilities(input, box: Rect(x: 0, y: 0, width: Double(input.width), height: Double(input.height)))
    }

    /// Class probabilities for the face in `box`.
    public func probabilities(_ image: Image, box: Rect) throws -> [Double] {
        let raw = try net.run(image, box: box, input: spec.inputSpec)
        return spec.output.lowercased().hasPrefix("prob") ? raw.map(Double.init) : ModelCue.softmax(raw)
    }
}
