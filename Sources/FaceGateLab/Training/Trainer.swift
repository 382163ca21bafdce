import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Settings of `facegate train`.
public struct TrainOptions: Sendable {
    public var arch: ModelArchitecture = .livenessnet
    public var epochs = 50
    public var batch = 32
    /// Fraction of crops (whole sources when possible) held out for validation; 0 = none.
    public var validationFraction = 0.25
    public var seed: UInt64 = 42
    /// LivenessNet input side; the texture model computes LBP on crops of this side too.
    public var inputSize = 32
    public var learningRate = 1e-3
    /// Epochs without a validation-loss improvement before stopping (0 disables early stopping).
    public var patience = EarlyStopping.defaultPatience
    public var augment = true
    public init() {}
}

/// Stops training when the monitored loss has not improved by `minDelta` for `patience` epochs; remembers the
/// best epoch, whose weights are kept.
public struct EarlyStopping: Sendable {
    /// LivenessNet's validation loss on a few hundred crops is noisy from epoch to epoch (±10 % on the fixture
    /// sources); 8 epochs rides out that noise without wasting long runs.
    public static let defaultPatience = 8
    /// Improvements smaller than this are noise (loss in nats).
    public static let defaultMinDelta = 1e-3

    public var patience: Int
    public var minDelta: Double
    public private(set) var best = Double.infinity
    public private(set) var bestEpoch = 0
    private var waited = 0

    public init(patience: Int = defaultPatience, minDelta: Double = defaultMinDelta) {
        self.patience = patience; self.minDelta = minDelta
    }

    /// Feeds one epoch's monitored loss; says whether to stop and whether this epoch is the new best.
    public mutating func update(epoch: Int, loss: Double) -> EpochVerdict {
        guard loss.isFinite else {
            waited += 1
            return EpochVerdict(stop: patience > 0 && waited >= patience, keepAsBest: false)
        }
        if loss < best - minDelta {
            best = loss; bestEpoch = epoch; waited = 0
            return EpochVerdict(stop: false, keepAsBest: true)
        }
        waited += 1
        return EpochVerdict(stop: patience > 0 && waited >= patience, keepAsBest: false)
    }
}

/// Per-epoch metrics as `history.csv`.
public enum TrainingHistory {
    public static let header = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,epoch_seconds,train_seconds"

    public static func csv(_ rows: [EpochMetrics]) -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
        var s = header + "\n"
        for m in rows {
            s += "\(m.epoch),\(f(m.trainLoss)),\(f(m.trainAccuracy)),\(f(m.valLoss)),\(f(m.valAccuracy)),\(String(format: "%.3g", m.learningRate)),\(String(format: "%.3f", m.seconds)),\(String(format: "%.3f", m.trainSeconds))\n"
        }
        return s
    }

    public static func write(_ rows: [EpochMetrics], to path: String) throws {
        try csv(rows).write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Events a training run reports while it works.
public enum TrainingEvent: Sendable {
    case loading(done: Int, total: Int)
    case batch(epoch: Int, epochs: Int, batch: Int, batches: Int, last: EpochMetrics?)
    case epoch(EpochMetrics, best: Bool)
    case searching(step: Int, steps: Int, note: String)
    case note(String)
}

/// The outcome of a training run.
public struct TrainingOutcome: Sendable {
    public var header: ModelHeader
    public var weights: Data
    public var history: [EpochMetrics]
    public var split: DatasetSplit
    /// Validation (or training, without validation) scores of the kept model.
    public var validation: LivenessScores?
}

/// Loads crops, splits by source, trains either architecture and packs a model file.
public enum ModelTrainer {
    /// LivenessNet's classic input: 32x32 is enough for replay/print texture at this network size and trains 4x
    /// faster than 64x64 (see docs/training.md).
    public static let livenessNetInputSize = 32
    /// The LBP colour-texture extractor resizes crops to 64x64 (FG_PAD_LBP_SIDE); smaller crops lose the radius-3
    /// patterns (by-source validation accuracy 0.88 at 32 vs 0.92 at 64 on the fixture sources).
    public static let textureInputSize = 64

    public static func train(dataset ds: Dataset, options o: TrainOptions,
                             events: (TrainingEvent) -> Void = { _ in }) throws -> TrainingOutcome {
        guard o.epochs >= 1 else { throw TrainingError.badParameter("--epochs must be ≥ 1") }
        guard o.batch >= 2 else { throw TrainingError.badParameter("--batch must be ≥ 2 (batch normalisation needs several crops)") }
        guard o.validationFraction >= 0 && o.validationFraction < 0.9 else {
            throw TrainingError.badParameter("--val must be in [0, 0.9), e.g. 0.25")
        }
        guard o.inputSize >= 16, o.inputSize <= 256, o.inputSize % 4 == 0 else {
            throw TrainingError.badParameter("--size must be a multiple of 4 between 16 and 256 (e.g. 32 or 64)")
        }
        guard ds.samples.count >= Dataset.minimumCrops else {
            throw TrainingError.tooFewCrops(count: ds.samples.count, minimum: Dataset.minimumCrops)
        }
        let split = DatasetSplit.make(ds, fraction: o.validationFraction, seed: o.seed)
        if let w = split.warning { events(.note(w)) }

        // Load every crop once, checking it is readable and not tiny.
        var images: [Image] = []
        images.reserveCapacity(ds.samples.count)
        var tiny: [(String, Int, Int)] = []
        for (i, s) in ds.samples.enumerated() {
            let img: Image
            do { img = try Image.read(s.path) } catch let e as FaceGateError {
                throw TrainingError.unreadableCrop(path: s.path, detail: e.description)
            }
            if img.width < Dataset.minimumCropSide || img.height < Dataset.minimumCropSide {
                tiny.append((s.relativePath, img.width, img.height))
            }
            images.append(img)
            if i % 50 == 0 || i == ds.samples.count - 1 { events(.loading(done: i + 1, total: ds.samples.count)) }
        }
        if let t = tiny.first {
            throw TrainingError.tinyCrops(count: tiny.count, example: t.0, width: t.1, height: t.2, minimum: Dataset.minimumCropSide)
        }
        let manifest = GatherManifest.read(ds.directory)
        let crop = CropSpec(chipSize: manifest?.chipSize ?? images.first.map { max($0.width, $0.height) } ?? 64,
                            margin: manifest?.margin ?? 0.2, aligned: manifest != nil)
        if manifest == nil {
            events(.note("no \(GatherManifest.fileName) in \(ds.directory): assuming crops were cut like `facegate gather` (aligned chip, margin 0.2)"))
        }
        switch o.arch {
        case .livenessnet:
            return try trainNet(ds, images: images, split: split, crop: crop, o: o, events: events)
        case .texture:
            return try trainTexture(ds, images: images, split: split, crop: crop, o: o, events: events)
        }
    }

    static func summary(_ ds: Dataset, split: DatasetSplit, o: TrainOptions, epochsRun: Int?, bestEpoch: Int?,
                        parameters: [String: String]) -> ModelHeader.TrainingSummary {
        ModelHeader.TrainingSummary(
            dataset: ds.directory, samples: ds.counts, trainSamples: split.train.count,
            validationSamples: split.validation.count, split: split.kind.rawValue, validationGroups: split.validationGroups,
            epochsRun: epochsRun, bestEpoch: bestEpoch, seed: o.seed, parameters: parameters)
    }

    static func metricsDictionary(_ s: LivenessScores?, prefix: String) -> [String: Double] {
        guard let s else { return [:] }
        var m: [String: Double] = [:]
        m[prefix + "accuracy"] = s.accuracy
        m[prefix + "apcer"] = s.apcer
        m[prefix + "bpcer"] = s.bpcer
        m[prefix + "acer"] = s.acer
        if let auc = s.auc { m[prefix + "auc"] = auc }
        m[prefix + "samples"] = Double(s.count)
        return m
    }

    // MARK: LivenessNet

    static func trainNet(_ ds: Dataset, images: [Image], split: DatasetSplit, crop: CropSpec, o: TrainOptions,
                         events: (TrainingEvent) -> Void) throws -> TrainingOutcome {
        let train = try CropSet(size: o.inputSize)
        for i in split.train { train.add(images[i], label: ds.samples[i].label) }
        let val = try CropSet(size: o.inputSize)
        for i in split.validation { val.add(images[i], label: ds.samples[i].label) }
        var p = LivenessNetParameters()
        p.inputSize = o.inputSize
        p.classes = ds.labels.count
        p.epochs = o.epochs
        p.batch = o.batch
        p.learningRate = o.learningRate
        p.seed = UInt32(truncatingIfNeeded: o.seed)
        p.augment = o.augment
        var stopper = EarlyStopping(patience: o.patience)
        var history: [EpochMetrics] = []
        let hasVal = val.count > 0
        // Callbacks run synchronously on this thread, inside the native training call.
        let net = try withoutActuallyEscaping(events) { ev in
            try LivenessNet.train(train: train, validation: hasVal ? val : nil, parameters: p, onEpoch: { m in
                history.append(m)
                let verdict = stopper.update(epoch: m.epoch, loss: m.valLoss ?? m.trainLoss)
                ev(.epoch(m, best: verdict.keepAsBest))
                return verdict
            }, onBatch: { e, b, n in
                ev(.batch(epoch: e, epochs: o.epochs, batch: b, batches: n, last: history.last))
            })
        }
        // Score the kept model on validation (or training when there is none).
        let evalIdx = hasVal ? split.validation : split.train
        let evalSet = hasVal ? val : train
        let rows = net.probabilities(evalSet)
        let scores = LivenessScores(
            pReal: rows.map { $0[ds.realLabel] },
            labels: evalIdx.map { ds.labels[ds.samples[$0].label] }, realLabel: ds.labels[ds.realLabel],
            predicted: rows.map { LivenessModel.predictedClass($0, classes: ds.labels, realIndex: ds.realLabel, threshold: LivenessModel.defaultThreshold) },
            groups: evalIdx.map { ds.samples[$0].group ?? DatasetSplit.ungroupedName })
        var metrics = metricsDictionary(scores, prefix: hasVal ? "val_" : "train_")
        if let best = history.first(where: { $0.epoch == stopper.bestEpoch }) ?? history.last {
            metrics["train_loss"] = best.trainLoss
            metrics["train_accuracy"] = best.trainAccuracy
            if let v = best.valLoss { metrics["val_loss"] = v }
            metrics["seconds_per_epoch"] = history.map(\.seconds).reduce(0, +) / Double(max(1, history.count))
        }
        let params: [String: String] = [
            "epochs": "\(o.epochs)", "batch": "\(o.batch)", "learning_rate": "\(o.learningRate)",
            "lr_decay": "\(p.learningRateDecay)", "weight_decay": "\(p.weightDecay)", "augment": "\(o.augment)",
            "max_rotation_deg": "\(p.maxRotationDegrees)", "brightness_jitter": "\(p.brightnessJitter)",
            "contrast_jitter": "\(p.contrastJitter)", "class_balance": "oversample", "patience": "\(o.patience)",
            "val_fraction": "\(o.validationFraction)",
        ]
        let header = ModelHeader(
            magic: ModelContainer.magic, formatVersion: ModelContainer.formatVersion, facegateVersion: FaceGateVersion.string,
            created: ModelContainer.now(), arch: .livenessnet, inputSize: o.inputSize, crop: crop, classes: ds.labels,
            realClass: ds.labels[ds.realLabel],
            training: summary(ds, split: split, o: o, epochsRun: history.count, bestEpoch: stopper.bestEpoch == 0 ? history.last?.epoch : stopper.bestEpoch, parameters: params),
            metrics: metrics, weights: .init(bytes: 0, sha256: ""))
        return TrainingOutcome(header: header, weights: net.serialized(), history: history, split: split, validation: scores)
    }

    // MARK: texture (LBP + SVM)

    /// C and gamma grid searched on the validation sources. LBP histograms standardised to unit variance: gamma is
    /// given as a multiple of 1/dimension.
    public static let svmCGrid: [Double] = [0.1, 1, 10, 100]
    public static let svmGammaScales: [Double] = [0.1, 1, 4]

    static func trainTexture(_ ds: Dataset, images: [Image], split: DatasetSplit, crop: CropSpec, o: TrainOptions,
                             events: (TrainingEvent) -> Void) throws -> TrainingOutcome {
        var feats: [[Float]] = []
        feats.reserveCapacity(images.count)
        for (i, img) in images.enumerated() {
            guard let f = TextureFeatures.of(img, side: o.inputSize) else {
                throw TrainingError.unreadableCrop(path: ds.samples[i].path, detail: "no texture features")
            }
            feats.append(f)
            if i % 50 == 0 { events(.searching(step: 0, steps: 1, note: "features \(i + 1)/\(images.count)")) }
        }
        let isReal = ds.isReal
        let trX = split.train.map { feats[$0] }, trY = split.train.map { isReal[$0] }
        let hasVal = !split.validation.isEmpty && Set(split.validation.map { isReal[$0] }).count == 2
        let vaX = split.validation.map { feats[$0] }, vaY = split.validation.map { isReal[$0] }
        let nPos = Double(trY.filter { $0 }.count), nNeg = Double(trY.count) - nPos
        guard nPos > 0, nNeg > 0 else { throw TrainingError.badParameter("the training part has only one class — use more sources or --val 0") }
        // Balanced class weights: each class contributes equally to the hinge loss.
        let wPos = Double(trY.count) / (2 * nPos), wNeg = Double(trY.count) / (2 * nNeg)
        let dim = Double(trX[0].count)
        var best: (score: Double, c: Double, g: Double)? = nil
        var history: [EpochMetrics] = []
        let grid = svmCGrid.flatMap { c in svmGammaScales.map { (c, $0 / dim) } }
        for (k, (c, g)) in grid.enumerated() {
            let t0 = Date()
            let svm = try TextureSVM.train(features: trX, positive: trY, parameters: SVMParameters(c: c, gamma: g, positiveWeight: wPos, negativeWeight: wNeg))
            let trD = svm.decisions(trX)
            let trAcc = balancedAccuracy(trD.map { $0 > 0 }, trY)
            var vaAcc: Double? = nil
            if hasVal { vaAcc = balancedAccuracy(svm.decisions(vaX).map { $0 > 0 }, vaY) }
            let score = vaAcc ?? trAcc
            if best == nil || score > best!.score + 1e-9 { best = (score, c, g) }
            let dt = Date().timeIntervalSince(t0)
            history.append(EpochMetrics(epoch: k + 1, epochs: grid.count, trainLoss: 1 - trAcc, trainAccuracy: trAcc,
                                        valLoss: vaAcc.map { 1 - $0 }, valAccuracy: vaAcc, learningRate: c, seconds: dt, trainSeconds: dt))
            events(.searching(step: k + 1, steps: grid.count, note: String(format: "C=%g gamma=%.2g/d: balanced acc train %.3f%@", c, g * dim, trAcc, vaAcc.map { String(format: " val %.3f", $0) } ?? "")))
        }
        let svm = try TextureSVM.train(features: trX, positive: trY,
                                       parameters: SVMParameters(c: best!.c, gamma: best!.g, positiveWeight: wPos, negativeWeight: wNeg))
        // Platt scaling on held-out scores; without validation on training scores (over-confident, said in a note).
        if hasVal {
            svm.calibrate(scores: svm.decisions(vaX), positive: vaY)
        } else {
            svm.calibrate(scores: svm.decisions(trX), positive: trY)
            events(.note("no validation sources: probabilities are calibrated on training crops and will be over-confident"))
        }
        let evalIdx = hasVal ? split.validation : split.train
        let probs = svm.probabilities(evalIdx.map { feats[$0] })
        let realName = ds.labels[ds.realLabel]
        let scores = LivenessScores(
            pReal: probs, labels: evalIdx.map { ds.labels[ds.samples[$0].label] }, realLabel: realName,
            predicted: probs.map { $0 >= LivenessModel.defaultThreshold ? realName : ModelTrainer.textureAttackClass },
            groups: evalIdx.map { ds.samples[$0].group ?? DatasetSplit.ungroupedName })
        var metrics = metricsDictionary(scores, prefix: hasVal ? "val_" : "train_")
        let platt = svm.platt
        metrics["platt_a"] = platt.a
        metrics["platt_b"] = platt.b
        metrics["support_vectors"] = Double(svm.supportVectors)
        let params: [String: String] = [
            "kernel": "rbf", "c": "\(best!.c)", "gamma": "\(best!.g)", "weight_real": String(format: "%.4f", wPos),
            "weight_attack": String(format: "%.4f", wNeg), "features": "lbp-colour \(Int(dim))",
            "calibration": hasVal ? "platt on validation" : "platt on training", "val_fraction": "\(o.validationFraction)",
        ]
        let header = ModelHeader(
            magic: ModelContainer.magic, formatVersion: ModelContainer.formatVersion, facegateVersion: FaceGateVersion.string,
            created: ModelContainer.now(), arch: .texture, inputSize: o.inputSize, crop: crop,
            classes: ds.realLabel == 0 ? [realName, textureAttackClass] : [textureAttackClass, realName], realClass: realName,
            training: summary(ds, split: split, o: o, epochsRun: nil, bestEpoch: nil, parameters: params),
            metrics: metrics, weights: .init(bytes: 0, sha256: ""))
        return TrainingOutcome(header: header, weights: svm.serialized(), history: history, split: split, validation: scores)
    }

    /// The texture model is binary: every attack class is merged into this one.
    public static let textureAttackClass = "attack"

    static func balancedAccuracy(_ pred: [Bool], _ truth: [Bool]) -> Double {
        var tp = 0, tn = 0, p = 0, n = 0
        for (a, t) in zip(pred, truth) {
            if t { p += 1; if a { tp += 1 } } else { n += 1; if !a { tn += 1 } }
        }
        let tpr = p > 0 ? Double(tp) / Double(p) : 0, tnr = n > 0 ? Double(tn) / Double(n) : 0
        return p > 0 && n > 0 ? (tpr + tnr) / 2 : (p > 0 ? tpr : tnr)
    }
}
