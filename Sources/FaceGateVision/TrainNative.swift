import CFaceGate
import FaceGateCore
import Foundation

/// Labelled face crops held natively, each resized to `size` x `size` when added.
public final class CropSet {
    let handle: OpaquePointer
    public let size: Int

    public init(size: Int) throws {
        guard let h = fg_crops_new(Int32(size)) else { throw FaceGateError.badInput("crop size \(size) is out of range (8…512)") }
        handle = h
        self.size = size
    }
    deinit { fg_crops_free(handle) }

    /// Adds a copy of `image` (any size) with class `label`.
    public func add(_ image: Image, label: Int) {
        _ = fg_crops_add(handle, image.handle, Int32(label))
    }
    public var count: Int { Int(fg_crops_count(handle)) }
}

/// Settings of one LivenessNet training run (see `fg_lnet_params`).
public struct LivenessNetParameters: Sendable, Hashable {
    public var inputSize = 32
    public var classes = 2
    public var epochs = 50
    public var batch = 32
    public var learningRate = 1e-3
    public var learningRateDecay = 0.02
    public var weightDecay = 5e-4
    public var seed: UInt32 = 42
    public var augment = true
    public var maxRotationDegrees = 10.0
    public var brightnessJitter = 20.0
    public var contrastJitter = 0.2
    public var balanceClasses = true
    public init() {}
}

/// Metrics of one finished epoch.
public struct EpochMetrics: Sendable, Hashable, Codable {
    public var epoch: Int
    public var epochs: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// nil without a validation set.
    public var valLoss: Double?
    public var valAccuracy: Double?
    public var learningRate: Double
    /// Wall time of the epoch (training steps + evaluation) and of the training steps alone.
    public var seconds: Double
    public var trainSeconds: Double
    public init(epoch: Int, epochs: Int, trainLoss: Double, trainAccuracy: Double, valLoss: Double?, valAccuracy: Double?,
                learningRate: Double, seconds: Double, trainSeconds: Double) {
        self.epoch = epoch; self.epochs = epochs; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.valLoss = valLoss; self.valAccuracy = valAccuracy; self.learningRate = learningRate
        self.seconds = seconds; self.trainSeconds = trainSeconds
    }
}

/// What the training loop should do after an epoch.
public struct EpochVerdict: Sendable, Hashable {
    /// Stop training after this epoch.
    public var stop: Bool
    /// This epoch's weights are the best so far: keep them as the result.
    public var keepAsBest: Bool
    public init(stop: Bool, keepAsBest: Bool) { self.stop = stop; self.keepAsBest = keepAsBest }
}

/// The LivenessNet CNN (dlib DNN). Training runs dlib's `dnn_trainer`; the model is the inference form.
/// Not thread-safe: one instance per thread.
public final class LivenessNet {
    let handle: OpaquePointer
    public let inputSize: Int
    public let classes: Int

    private init(handle: OpaquePointer) {
        self.handle = handle
        inputSize = Int(fg_lnet_input_size(handle))
        classes = Int(fg_lnet_classes(handle))
    }
    deinit { fg_lnet_free(handle) }

    private final class Callbacks {
        let onEpoch: (EpochMetrics) -> EpochVerdict
        let onBatch: (Int, Int, Int) -> Void
        init(onEpoch: @escaping (EpochMetrics) -> EpochVerdict, onBatch: @escaping (Int, Int, Int) -> Void) {
            self.onEpoch = onEpoch; self.onBatch = onBatch
        }
    }

    /// Trains on `train`, scoring `validation` after every epoch. `onEpoch` decides whether to stop and which epoch's
    /// weights to keep; `onBatch(epoch, batch, batches)` reports progress inside an epoch.
    public static func train(train: CropSet, validation: CropSet?, parameters p: LivenessNetParameters,
                             onEpoch: @escaping (EpochMetrics) -> EpochVerdict,
                             onBatch: @escaping (Int, Int, Int) -> Void = { _, _, _ in }) throws -> LivenessNet {
        var cp = fg_lnet_params(
            input_size: Int32(p.inputSize), classes: Int32(p.classes), epochs: Int32(p.epochs), batch: Int32(p.batch),
            learning_rate: p.learningRate, lr_decay: p.learningRateDecay, weight_decay: p.weightDecay, seed: p.seed,
            augment: p.augment ? 1 : 0, max_rotation_deg: p.maxRotationDegrees, brightness_jitter: p.brightnessJitter,
            contrast_jitter: p.contrastJitter, balance: p.balanceClasses ? 1 : 0)
        let box = Callbacks(onEpoch: onEpoch, onBatch: onBatch)
        let ctx = Unmanaged.passRetained(box).toOpaque()
        defer { Unmanaged<Callbacks>.fromOpaque(ctx).release() }
        let epochCB: fg_lnet_epoch_cb = { ctx, e in
            guard let ctx, let e else { return FG_TRAIN_CONTINUE }
            let cb = Unmanaged<Callbacks>.fromOpaque(ctx).takeUnretainedValue()
            let m = e.pointee
            let verdict = cb.onEpoch(EpochMetrics(
                epoch: Int(m.epoch), epochs: Int(m.epochs), trainLoss: m.train_loss, trainAccuracy: m.train_acc,
                valLoss: m.val_loss.isNaN ? nil : m.val_loss, valAccuracy: m.val_acc.isNaN ? nil : m.val_acc,
                learningRate: m.learning_rate, seconds: m.seconds, trainSeconds: m.train_seconds))
            return (verdict.stop ? FG_TRAIN_STOP : 0) | (verdict.keepAsBest ? FG_TRAIN_KEEP_BEST : 0)
        }
        let batchCB: fg_lnet_batch_cb = { ctx, epoch, b, n in
            guard let ctx else { return }
            Unmanaged<Callbacks>.fromOpaque(ctx).takeUnretainedValue().onBatch(Int(epoch), Int(b), Int(n))
        }
        let (h, msg) = withErrorBuffer { fg_lnet_train(train.handle, validation?.handle, &cp, epochCB, batchCB, ctx, $0, $1) }
        guard let h else { throw FaceGateError.runtime("LivenessNet \(msg)") }
        return LivenessNet(handle: h)
    }

    /// Weights (dlib serialisation, with input size and class count).
    public func serialized() -> Data {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = fg_lnet_serialize(handle, &out)
        guard n > 0, let out else { return Data() }
        defer { fg_buffer_free(out) }
        return Data(bytes: out, count: n)
    }

    /// Restores weights written by `serialized()`.
    public init(weights: Data) throws {
        let (h, msg) = weights.withUnsafeBytes { raw in
            withErrorBuffer { fg_lnet_deserialize(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, $0, $1) }
        }
        guard let h else { throw FaceGateError.badInput(msg) }
        handle = h
        inputSize = Int(fg_lnet_input_size(h))
        classes = Int(fg_lnet_classes(h))
    }

    /// Class probabilities of one crop (resized to the input size).
    public func probabilities(_ crop: Image) -> [Double] {
        var p = [Float](repeating: 0, count: classes)
        let n = p.withUnsafeMutableBufferPointer { fg_lnet_predict(handle, crop.handle, $0.baseAddress, Int32(classes)) }
        return n > 0 ? p.map(Double.init) : []
    }

    /// The inference-form parameters in `fg_lnet_export_params` order (input normalisation, conv blocks, dense
    /// layers), for export to ONNX. Empty when the network cannot be read.
    public func exportParameters() -> [Float] {
        let n = fg_lnet_export_params(handle, nil, 0)
        guard n > 0 else { return [] }
        var out = [Float](repeating: 0, count: n)
        let m = out.withUnsafeMutableBufferPointer { fg_lnet_export_params(handle, $0.baseAddress, n) }
        return m == n ? out : []
    }

    /// Probabilities of every crop of a set (at the input size), one row per crop.
    public func probabilities(_ crops: CropSet) -> [[Double]] {
        guard crops.size == inputSize, crops.count > 0 else { return [] }
        var out = [Float](repeating: 0, count: crops.count * classes)
        let n = out.withUnsafeMutableBufferPointer { fg_lnet_predict_crops(handle, crops.handle, $0.baseAddress) }
        guard n > 0 else { return [] }
        return (0..<crops.count).map { i in (0..<classes).map { Double(out[i * classes + $0]) } }
    }
}

/// Settings of one texture SVM fit.
public struct SVMParameters: Sendable, Hashable {
    public var c = 1.0
    /// RBF gamma on standardised features; 0 means 1 / dimension.
    public var gamma = 0.0
    public var positiveWeight = 1.0
    public var negativeWeight = 1.0
    public var maxIterations = 100_000
    public init(c: Double = 1, gamma: Double = 0, positiveWeight: Double = 1, negativeWeight: Double = 1) {
        self.c = c; self.gamma = gamma; self.positiveWeight = positiveWeight; self.negativeWeight = negativeWeight
    }
}

/// A binary RBF SVM (OpenCV ml) on standardised feature vectors, with Platt-scaled probabilities.
public final class TextureSVM {
    let handle: OpaquePointer
    public let dimension: Int

    private init(handle: OpaquePointer) {
        self.handle = handle
        dimension = Int(fg_svm_dim(handle))
    }
    deinit { fg_svm_free(handle) }

    /// Trains on rows of equal length; `positive[i]` is true for the positive class (real faces).
    public static func train(features: [[Float]], positive: [Bool], parameters p: SVMParameters) throws -> TextureSVM {
        guard let dim = features.first?.count, dim > 0, features.count == positive.count else {
            throw FaceGateError.badInput("texture SVM: no feature vectors")
        }
        guard features.allSatisfy({ $0.count == dim }) else { throw FaceGateError.badInput("texture SVM: feature vectors differ in length") }
        let flat = features.flatMap { $0 }
        let labels = positive.map { Int32($0 ? 1 : 0) }
        var cp = fg_svm_params(c: p.c, gamma: p.gamma, weight_pos: p.positiveWeight, weight_neg: p.negativeWeight,
                               max_iter: Int32(p.maxIterations))
        let (h, msg) = flat.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                withErrorBuffer { fg_svm_train(x.baseAddress, y.baseAddress, Int32(features.count), Int32(dim), &cp, $0, $1) }
            }
        }
        guard let h else { throw FaceGateError.runtime("texture SVM: \(msg)") }
        return TextureSVM(handle: h)
    }

    /// Signed decision values (larger = more likely positive).
    public func decisions(_ features: [[Float]]) -> [Double] {
        guard !features.isEmpty, features.allSatisfy({ $0.count == dimension }) else { return [] }
        let flat = features.flatMap { $0 }
        var out = [Double](repeating: 0, count: features.count)
        flat.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { fg_svm_decision(handle, x.baseAddress, Int32(features.count), $0.baseAddress) }
        }
        return out
    }

    /// Fits Platt scaling on held-out decision values. Returns false when it cannot (one class only).
    @discardableResult
    public func calibrate(scores: [Double], positive: [Bool]) -> Bool {
        guard scores.count == positive.count, scores.count >= 2 else { return false }
        let y = positive.map { Int32($0 ? 1 : 0) }
        return scores.withUnsafeBufferPointer { s in
            y.withUnsafeBufferPointer { fg_svm_calibrate(handle, s.baseAddress, $0.baseAddress, Int32(scores.count)) == 0 }
        }
    }

    /// Calibrated probability of the positive class per row.
    public func probabilities(_ features: [[Float]]) -> [Double] {
        guard !features.isEmpty, features.allSatisfy({ $0.count == dimension }) else { return [] }
        let flat = features.flatMap { $0 }
        var out = [Double](repeating: 0, count: features.count)
        flat.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { fg_svm_probability(handle, x.baseAddress, Int32(features.count), $0.baseAddress) }
        }
        return out
    }

    /// Platt sigmoid parameters (P = 1 / (1 + exp(A f + B))).
    public var platt: (a: Double, b: Double) {
        var a = 0.0, b = 0.0
        fg_svm_platt(handle, &a, &b)
        return (a, b)
    }
    public var supportVectors: Int { Int(fg_svm_support_vectors(handle)) }

    public func serialized() -> Data {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = fg_svm_serialize(handle, &out)
        guard n > 0, let out else { return Data() }
        defer { fg_buffer_free(out) }
        return Data(bytes: out, count: n)
    }

    public init(weights: Data) throws {
        let (h, msg) = weights.withUnsafeBytes { raw in
            withErrorBuffer { fg_svm_deserialize(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, $0, $1) }
        }
        guard let h else { throw FaceGateError.badInput(msg) }
        handle = h
        dimension = Int(fg_svm_dim(h))
    }
}
