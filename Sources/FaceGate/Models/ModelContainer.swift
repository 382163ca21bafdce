import Crypto
import FaceGateCore
import Foundation

/// Which classifier a model file holds.
public enum ModelArchitecture: String, Sendable, Codable, CaseIterable {
    /// The LivenessNet CNN (dlib DNN) on RGB crops.
    case livenessnet
    /// LBP colour-texture histograms + RBF SVM with Platt-scaled probabilities.
    case texture
}

/// How the crops a model sees are cut from a frame (as `facegate gather` wrote them).
public struct CropSpec: Sendable, Codable, Hashable {
    /// Side of the aligned chip written by gather (pixels).
    public var chipSize: Int
    /// dlib face-chip padding around the landmarks (gather's --margin).
    public var margin: Double
    /// True when crops are landmark-aligned chips (gather); false for crops of unknown origin.
    public var aligned: Bool
    public init(chipSize: Int, margin: Double, aligned: Bool) {
        self.chipSize = chipSize; self.margin = margin; self.aligned = aligned
    }
    enum CodingKeys: String, CodingKey { case chipSize = "chip_size", margin, aligned }
}

/// The self-describing JSON header of a model file.
public struct ModelHeader: Sendable, Codable {
    public var magic: String
    public var formatVersion: Int
    public var facegateVersion: String
    public var created: String
    public var arch: ModelArchitecture
    /// Network input side (livenessnet) or the crop side features are computed on (texture).
    public var inputSize: Int
    public var crop: CropSpec
    /// Class names in output order; `realClass` is the genuine-face class.
    public var classes: [String]
    public var realClass: String
    public var training: TrainingSummary
    public var metrics: [String: Double]
    public var weights: WeightsInfo

    public struct WeightsInfo: Sendable, Codable {
        public var bytes: Int
        public var sha256: String
        public init(bytes: Int, sha256: String) { self.bytes = bytes; self.sha256 = sha256 }
    }

    public struct TrainingSummary: Sendable, Codable {
        public var dataset: String
        public var samples: [String: Int]
        public var trainSamples: Int
        public var validationSamples: Int
        public var split: String
        public var validationGroups: [String]
        public var epochsRun: Int?
        public var bestEpoch: Int?
        public var seed: UInt64
        public var parameters: [String: String]
        public init(dataset: String, samples: [String: Int], trainSamples: Int, validationSamples: Int, split: String,
                    validationGroups: [String], epochsRun: Int?, bestEpoch: Int?, seed: UInt64, parameters: [String: String]) {
            self.dataset = dataset; self.samples = samples; self.trainSamples = trainSamples
            self.validationSamples = validationSamples; self.split = split; self.validationGroups = validationGroups
            self.epochsRun = epochsRun; self.bestEpoch = bestEpoch; self.seed = seed; self.parameters = parameters
        }
        enum CodingKeys: String, CodingKey {
            case dataset, samples, split, seed, parameters
            case trainSamples = "train_samples", validationSamples = "validation_samples"
            case validationGroups = "validation_groups", epochsRun = "epochs_run", bestEpoch = "best_epoch"
        }
    }

    enum CodingKeys: String, CodingKey {
        case magic, created, arch, crop, classes, training, metrics, weights
        case formatVersion = "format_version", facegateVersion = "facegate_version", inputSize = "input_size"
        case realClass = "real_class"
    }

    public var realIndex: Int { classes.firstIndex(of: realClass) ?? 0 }

    public init(magic: String, formatVersion: Int, facegateVersion: String, created: String, arch: ModelArchitecture,
                inputSize: Int, crop: CropSpec, classes: [String], realClass: String, training: TrainingSummary,
                metrics: [String: Double], weights: WeightsInfo) {
        self.magic = magic; self.formatVersion = formatVersion; self.facegateVersion = facegateVersion
        self.created = created; self.arch = arch; self.inputSize = inputSize; self.crop = crop; self.classes = classes
        self.realClass = realClass; self.training = training; self.metrics = metrics; self.weights = weights
    }
}

/// The model file: a text preamble, the JSON header, then the weights.
///
///     FACEGATE-MODEL\n
///     <header length in bytes, decimal>\n
///     <header JSON>\n
///     <weights blob>
///
/// `head -c 2000 model.fgm` shows what a file is. Loading checks the preamble, the format version and the weights'
/// SHA-256, and names the problem when one fails.
public enum ModelContainer {
    public static let preamble = "FACEGATE-MODEL\n"
    public static let magic = "facegate-liveness-model"
    /// Bump when the layout or the meaning of a header field changes incompatibly.
    public static let formatVersion = 1
    /// Largest header accepted (guards against reading a huge non-model file as a header).
    static let maxHeaderBytes = 1 << 20

    public static func encode(header: ModelHeader, weights: Data) throws -> Data {
        var h = header
        h.magic = magic
        h.formatVersion = formatVersion
        h.weights = .init(bytes: weights.count, sha256: sha256Hex(weights))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = try enc.encode(h)
        var out = Data(preamble.utf8)
        out += Data("\(json.count)\n".utf8)
        out += json
        out += Data("\n".utf8)
        out += weights
        return out
    }

    public static func write(header: ModelHeader, weights: Data, to path: String) throws {
        let data = try encode(header: header, weights: weights)
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        do { try data.write(to: url, options: .atomic) } catch {
            throw FaceGateError.badInput("cannot write model \(path): \(error.localizedDescription) — check the folder exists and is writable")
        }
    }

    /// Reads and checks a model file.
    public static func read(_ path: String) throws -> (header: ModelHeader, weights: Data) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw FaceGateError.missingFile(path) }
        if isDir.boolValue { throw TrainingError.notAModel(path: path, detail: "it is a directory") }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try decode(data, path: path)
    }

    public static func decode(_ data: Data, path: String) throws -> (header: ModelHeader, weights: Data) {
        let pre = Data(preamble.utf8)
        guard data.count > pre.count, data.prefix(pre.count) == pre else {
            throw TrainingError.notAModel(path: path, detail: "it does not start with the FaceGate model signature")
        }
        var i = data.startIndex + pre.count
        var lenText = ""
        while i < data.endIndex, data[i] != UInt8(ascii: "\n"), lenText.count < 10 {
            lenText.append(Character(UnicodeScalar(data[i]))); i += 1
        }
        guard i < data.endIndex, let len = Int(lenText), len > 0, len <= maxHeaderBytes else {
            throw TrainingError.corruptModel(path: path, detail: "bad header length")
        }
        let hStart = i + 1
        guard hStart + len <= data.endIndex else { throw TrainingError.corruptModel(path: path, detail: "truncated header") }
        let json = data[hStart..<(hStart + len)]
        // Version first, leniently, so a newer file gets a version message rather than a decoding error.
        guard let loose = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw TrainingError.corruptModel(path: path, detail: "the header is not JSON")
        }
        guard (loose["magic"] as? String) == magic else {
            throw TrainingError.notAModel(path: path, detail: "its header is not a liveness model header")
        }
        let version = (loose["format_version"] as? Int) ?? -1
        guard version == formatVersion else {
            throw TrainingError.incompatibleModel(path: path, formatVersion: version,
                                                  writtenBy: (loose["facegate_version"] as? String) ?? "unknown")
        }
        let header: ModelHeader
        do { header = try JSONDecoder().decode(ModelHeader.self, from: json) } catch {
            throw TrainingError.corruptModel(path: path, detail: "header fields are missing or malformed: \(error)")
        }
        let wStart = hStart + len + 1
        guard wStart <= data.endIndex else { throw TrainingError.corruptModel(path: path, detail: "no weights") }
        let weights = Data(data[wStart...])
        guard weights.count == header.weights.bytes else {
            throw TrainingError.corruptModel(path: path, detail: "weights are \(weights.count) bytes, header says \(header.weights.bytes) (truncated copy?)")
        }
        guard sha256Hex(weights) == header.weights.sha256 else {
            throw TrainingError.corruptModel(path: path, detail: "weights checksum mismatch")
        }
        guard header.classes.contains(header.realClass), header.classes.count >= 2 else {
            throw TrainingError.corruptModel(path: path, detail: "class list does not contain the real class")
        }
        return (header, weights)
    }

    static func sha256Hex(_ d: Data) -> String {
        SHA256.hash(data: d).map { String(format: "%02x", $0) }.joined()
    }

    /// ISO-8601 UTC timestamp for `created`.
    package static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}
