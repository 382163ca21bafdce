import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// `facegate train`: the request (architecture, options with the architecture's default crop side), the run with
/// its progress lines (ETA from the mean epoch time so far), the files written (model, history CSV next to it
/// unless named, plot) and the report. The command parses flags, calls these and prints.
public enum TrainingRun {
    /// The architecture named `text` (livenessnet or texture).
    public static func architecture(_ text: String) throws -> ModelArchitecture {
        guard let a = ModelArchitecture(rawValue: text.lowercased()) else {
            throw FaceGateError.badInput("unknown --arch '\(text)' — use livenessnet or texture")
        }
        return a
    }

    /// Training options; the crop side defaults to the architecture's (32 livenessnet, 64 texture: the LBP side).
    public static func options(arch: ModelArchitecture, epochs: Int, batch: Int, validation: Double, seed: UInt64, size: Int?,
                               patience: Int, learningRate: Double, augment: Bool) -> TrainOptions {
        var o = TrainOptions()
        o.arch = arch; o.epochs = epochs; o.batch = batch; o.validationFraction = validation; o.seed = seed
        o.inputSize = size ?? (arch == .livenessnet ? ModelTrainer.livenessNetInputSize : ModelTrainer.textureInputSize)
        o.patience = patience; o.learningRate = learningRate; o.augment = augment
        return o
    }

    /// Scans the dataset folder (a training error as a `FaceGateError`).
    public static func dataset(_ path: String) throws -> Dataset {
        do { return try Dataset.scan(path) } catch let e as TrainingError { throw e.faceGateError }
    }

    /// Trains, reporting the dataset, crop loading, batches (with ETA), epochs and grid search to `printer`.
    public static func train(_ ds: Dataset, options o: TrainOptions, printer: ProgressPrinter) throws -> TrainingOutcome {
        let counts = ds.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        printer.message("dataset \(ds.directory): \(ds.samples.count) crops (\(counts)), \(ds.groups.count) source group\(ds.groups.count == 1 ? "" : "s")")
        if !ds.skippedFiles.isEmpty {
            printer.message("skipped \(ds.skippedFiles.count) non-image file\(ds.skippedFiles.count == 1 ? "" : "s") (e.g. \(ds.skippedFiles[0]))")
        }
        let started = Date()
        var epochBar = ProgressBar(total: o.epochs)
        var batchStart = Date()
        do {
            return try ModelTrainer.train(dataset: ds, options: o) { ev in
                switch ev {
                case .loading(let d, let t):
                    printer.update("loading crops " + ProgressBar(total: t, started: started).render(done: d, unit: "crops"), force: d == t)
                    if d == t { printer.finish() }
                case .note(let s):
                    printer.message("note: " + s)
                case .batch(let e, let n, let b, let bs, let last):
                    if b == 1 { batchStart = Date() }
                    // ETA: remaining batches of this epoch + remaining epochs at the mean epoch time so far.
                    let elapsed = Date().timeIntervalSince(epochBar.started)
                    let perBatch = Date().timeIntervalSince(batchStart) / Double(b)
                    let perEpoch = e > 1 ? elapsed / Double(e - 1) - 0 : perBatch * Double(bs) * 1.3
                    let eta = perBatch * Double(bs - b) + perEpoch * Double(n - e)
                    let filled = Int(Double(b) / Double(bs) * 20)
                    var line = "epoch \(e)/\(n) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled) + "] batch \(b)/\(bs)"
                    if let m = last { line += metricsText(m) }
                    line += "  ETA " + ProgressBar.clock(eta)
                    printer.update(line)
                case .epoch(let m, let best):
                    if m.epoch == 1 { epochBar = ProgressBar(total: o.epochs, started: Date().addingTimeInterval(-m.seconds)) }
                    printer.update("epoch \(m.epoch)/\(m.epochs)" + metricsText(m) + String(format: "  %.1fs", m.seconds) + (best ? "  *best" : ""), force: true)
                    printer.finish()
                case .searching(let k, let n, let note):
                    printer.update(n > 1 ? "grid \(k)/\(n): \(note)" : note, force: k == n && n > 1)
                    if k == n && n > 1 { printer.finish() }
                }
            }
        } catch let e as TrainingError { throw e.faceGateError }
    }

    /// Writes the model, the history CSV (`history`, else history.csv next to the model) and the plot; returns the
    /// history path.
    public static func save(_ outcome: TrainingOutcome, arch: ModelArchitecture, dataset ds: Dataset, model: String,
                            history: String?, plot: String?) throws -> String {
        try ModelContainer.write(header: outcome.header, weights: outcome.weights, to: model)
        let historyPath = history ?? (URL(fileURLWithPath: model).deletingLastPathComponent().path + "/history.csv")
        try TrainingHistory.write(outcome.history, to: historyPath)
        if let plot {
            try TrainingPlots.history(outcome.history, arch: arch, title: "\(arch.rawValue) on \(URL(fileURLWithPath: ds.directory).lastPathComponent)").write(plot)
        }
        return historyPath
    }

    static func metricsText(_ m: EpochMetrics) -> String {
        var s = String(format: "  loss %.4f acc %.3f", m.trainLoss, m.trainAccuracy)
        if let vl = m.valLoss, let va = m.valAccuracy { s += String(format: "  val_loss %.4f val_acc %.3f", vl, va) }
        return s
    }
}

/// What `facegate train` reports: one JSON object, or the lines of a terminal summary.
public struct TrainingReport: Encodable, Sendable {
    public var model: String
    public var arch: String
    public var classes: [String]
    public var samples: [String: Int]
    public var split: String
    public var validation_groups: [String]
    public var epochs_run: Int
    public var best_epoch: Int?
    public var metrics: [String: Double]
    public var history: String
    public var plot: String?
    let summary: [String]
    enum CodingKeys: String, CodingKey {
        case model, arch, classes, samples, split, validation_groups, epochs_run, best_epoch, metrics, history, plot
    }

    /// `seconds`: the whole run's wall time (livenessnet summary).
    public init(_ outcome: TrainingOutcome, arch a: ModelArchitecture, dataset ds: Dataset, model: String, history historyPath: String,
                plot: String?, seconds: Double) {
        let h = outcome.header
        self.model = model; arch = a.rawValue; classes = h.classes; samples = ds.counts; split = outcome.split.kind.rawValue
        validation_groups = outcome.split.validationGroups; epochs_run = outcome.history.count; best_epoch = h.training.bestEpoch
        metrics = h.metrics.mapValues { $0.isFinite ? ($0 * 1e4).rounded() / 1e4 : 0 }; history = historyPath; self.plot = plot
        var out = ["model: \(model) (\(a.rawValue), input \(h.inputSize)x\(h.inputSize), classes \(h.classes.joined(separator: "/")), \(Self.bytes(outcome.weights.count)) weights)"]
        let splitText = outcome.split.kind == .bySource
            ? "by source, validation groups: \(outcome.split.validationGroups.joined(separator: ", "))"
            : outcome.split.kind.rawValue
        out.append("split: \(outcome.split.train.count) train / \(outcome.split.validation.count) validation crops (\(splitText))")
        if a == .livenessnet {
            out.append("epochs: \(outcome.history.count) run, best \(h.training.bestEpoch ?? outcome.history.count)" + String(format: ", %.1f s/epoch, %.0f s total", h.metrics["seconds_per_epoch"] ?? 0, seconds))
        } else {
            out.append("svm: C=\(h.training.parameters["c"] ?? "?") gamma=\(h.training.parameters["gamma"] ?? "?"), \(Int(h.metrics["support_vectors"] ?? 0)) support vectors")
        }
        if let s = outcome.validation {
            let which = outcome.split.validation.isEmpty ? "training (no validation set)" : "validation"
            out.append(String(format: "%@: accuracy %.3f  APCER %.3f  BPCER %.3f  ACER %.3f%@", which, s.accuracy, s.apcer, s.bpcer, s.acer,
                              s.auc.map { String(format: "  AUC %.3f", $0) } ?? ""))
        }
        out.append("history: \(historyPath)" + (plot.map { "  plot: \($0)" } ?? ""))
        out.append("use it: facegate evaluate --dataset OTHER --model \(model) | facegate liveness --passive --model \(model) …")
        summary = out
    }

    /// The terminal summary.
    public var lines: [String] { summary }

    static func bytes(_ b: Int) -> String {
        let mb = Double(b) / 1_048_576
        return mb >= 1 ? String(format: "%.1f MB", mb) : String(format: "%.1f KB", Double(b) / 1024)
    }
}
