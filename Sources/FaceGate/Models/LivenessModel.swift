import FaceGateCore
import FaceGateVision
import Foundation

/// A trained liveness classifier loaded from a model file written by `facegate train` (either architecture).
///
/// Usage (passive liveness, authenticate, server):
///
///     let model = try LivenessModel(path: "liveness.fgm")
///     if let p = model.realProbability(image: frame, landmarks: face.landmarks) { ... p ≥ model.threshold → real }
///
/// The crop is cut exactly as `facegate gather` cut the training crops (landmark-aligned chip, same margin).
/// Thread-safe: predictions are serialised by an internal lock.
public final class LivenessModel: @unchecked Sendable {
    public let path: String
    public let header: ModelHeader
    private let lock = NSLock()
    private enum Backend {
        case net(LivenessNet)
        case texture(TextureSVM)
        /// An exported LivenessNet (`facegate export`): the ONNX file run through OpenCV DNN, its sidecar as header.
        case onnx(ExportedNetRunner)
    }
    private let backend: Backend

    /// Decision threshold on P(real): 0.5 is the Bayes threshold of a calibrated binary classifier trained on
    /// balanced classes (both architectures balance classes during training).
    public static let defaultThreshold = 0.5
    public var threshold: Double = LivenessModel.defaultThreshold

    public init(path: String) throws {
        if path.lowercased().hasSuffix(".onnx") {
            guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
            let sidePath = ExportSidecar.path(for: path)
            guard FileManager.default.fileExists(atPath: sidePath) else {
                throw FaceGateError.badInput("\(path) has no sidecar \(sidePath) — export it with `facegate export` (other ONNX models go to --pad-model)")
            }
            let side = try ExportSidecar.read(sidePath)
            self.path = path
            self.header = side.header
            do { backend = .onnx(try ExportedNetRunner(onnxPath: path, sidecar: side)) } catch let e as FaceGateError {
                throw FaceGateError.badInput(e.description)
            }
            return
        }
        let (header, weights) = try ModelContainer.read(path)
        self.path = path
        self.header = header
        switch header.arch {
        case .livenessnet:
            let net: LivenessNet
            do { net = try LivenessNet(weights: weights) } catch {
                throw TrainingError.corruptModel(path: path, detail: "\(error)")
            }
            guard net.classes == header.classes.count, net.inputSize == header.inputSize else {
                throw TrainingError.corruptModel(path: path, detail: "weights do not match the header (classes or input size)")
            }
            backend = .net(net)
        case .texture:
            do { backend = .texture(try TextureSVM(weights: weights)) } catch {
                throw TrainingError.corruptModel(path: path, detail: "\(error)")
            }
        }
    }

    public var architecture: ModelArchitecture { header.arch }
    public var classes: [String] { header.classes }
    public var realIndex: Int { header.realIndex }
    public var crop: CropSpec { header.crop }

    /// The crop this model classifies, cut from a frame with 68 (or 5) landmarks of the face.
    public func crop(from image: Image, landmarks: [Point2]) -> Image? {
        faceChip(image, points: landmarks, size: crop.chipSize, padding: crop.margin)
    }

    /// Class probabilities of a crop (in `classes` order). Texture models give [P(attack), P(real)].
    public func probabilities(crop: Image) -> [Double]? {
        lock.lock(); defer { lock.unlock() }
        switch backend {
        case .net(let net):
            let p = net.probabilities(crop)
            return p.isEmpty ? nil : p
        case .texture(let svm):
            guard let f = TextureFeatures.of(crop, side: header.inputSize), let p = svm.probabilities([f]).first else { return nil }
            return realIndex == 1 ? [1 - p, p] : [p, 1 - p]
        case .onnx(let runner):
            return runner.probabilities(crop: crop)
        }
    }

    /// P(real) of a crop, nil when it cannot be classified (empty image).
    public func realProbability(crop: Image) -> Double? {
        probabilities(crop: crop).map { $0[realIndex] }
    }

    /// P(real) of the face with these landmarks in a frame. Nil when no crop can be cut (the caller abstains).
    public func realProbability(image: Image, landmarks: [Point2]) -> Double? {
        guard let c = crop(from: image, landmarks: landmarks) else { return nil }
        return realProbability(crop: c)
    }

    public func realProbability(image: Image, landmarks: Landmarks68) -> Double? {
        realProbability(image: image, landmarks: landmarks.points)
    }

    /// P(real) for many crops at once (faster for LivenessNet: batched inference).
    public func realProbabilities(crops: [Image]) -> [Double?] {
        probabilities(crops: crops).map { $0?[realIndex] }
    }

    /// Class probabilities for many crops (batched inference for LivenessNet); nil rows for unusable crops.
    public func probabilities(crops: [Image]) -> [[Double]?] {
        switch backend {
        case .net(let net):
            guard let set = try? CropSet(size: net.inputSize) else { return crops.map { _ in nil } }
            for c in crops { set.add(c, label: 0) }
            lock.lock()
            let rows = net.probabilities(set)
            lock.unlock()
            guard rows.count == crops.count else { return crops.map { probabilities(crop: $0) } }
            return rows
        case .texture, .onnx:
            return crops.map { probabilities(crop: $0) }
        }
    }

    /// The class a model reports for one crop: its real class when P(real) reaches the threshold, else the most
    /// likely attack class (so the confusion matrix agrees with accuracy and APCER/BPCER).
    public static func predictedClass(_ probs: [Double], classes: [String], realIndex: Int, threshold: Double) -> String {
        if probs[realIndex] >= threshold { return classes[realIndex] }
        let attack = probs.indices.filter { $0 != realIndex }.max { probs[$0] < probs[$1] } ?? realIndex
        return classes[attack]
    }

    /// The class reported for a crop at `threshold` (see `LivenessModel.predictedClass(_:classes:realIndex:threshold:)`).
    public func predictedClass(_ probs: [Double]) -> String {
        Self.predictedClass(probs, classes: classes, realIndex: realIndex, threshold: threshold)
    }

    /// One line for logs and `--json` outputs.
    public var summary: String {
        "\(header.arch.rawValue) \(header.inputSize)x\(header.inputSize), classes \(header.classes.joined(separator: "/")), trained \(header.created) by FaceGate \(header.facegateVersion)"
    }
}

/// LBP colour-texture features of a crop, as the texture model sees them (the passive-liveness extractor).
package enum TextureFeatures {
    package static func of(_ crop: Image, side: Int) -> [Float]? {
        let c = (crop.width == side && crop.height == side) ? crop : crop.resized(width: side, height: side)
        return PadNative.lbpFeatures(c)
    }
}
