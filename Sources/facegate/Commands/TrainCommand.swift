import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import FaceGateVision
import Foundation

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train your own liveness model on a folder of face crops (one sub-folder per class).",
        discussion: """
        DATASET holds real/ and one or more attack folders (fake/, print/, replay/ …) of crops, as `facegate gather`
        writes them. Validation keeps whole sources apart (groups.tsv, sub-folders or `group__` file-name prefixes).

          livenessnet  small CNN (dlib DNN), augmentation, early stopping on validation loss
          texture      LBP colour-texture histograms + RBF SVM, Platt-calibrated probabilities

        Examples:
          facegate train --dataset dataset --model liveness.fgm --plot training.png
          facegate train --dataset dataset --model texture.fgm --arch texture
        """)

    @Option(help: "Dataset folder (real/, fake/ …).") var dataset: String
    @Option(help: "Model file to write.") var model: String
    @Option(help: "livenessnet or texture.") var arch: String = "livenessnet"
    @Option(help: "Most epochs (livenessnet; early stopping may end sooner).") var epochs = 50
    @Option(help: "Mini-batch size (livenessnet).") var batch = 32
    @Option(help: "Fraction held out for validation (whole sources when possible); 0 = none.") var val = 0.25
    @Option(help: "Crop side the model works on, a multiple of 4 (default: 32 for livenessnet, 64 for texture — the LBP extractor's side).") var size: Int?
    @Option(help: "Seed for the split, shuffling, augmentation and initial weights.") var seed: UInt64 = 42
    @Option(help: "Epochs without validation-loss improvement before stopping (0 = never stop early).") var patience = EarlyStopping.defaultPatience
    @Option(name: .customLong("learning-rate"), help: "Initial Adam learning rate (livenessnet).") var learningRate = 1e-3
    @Flag(name: .customLong("no-augment"), help: "Train without flips, rotations and brightness/contrast jitter.") var noAugment = false
    @Option(help: "PNG plot of training/validation loss and accuracy per epoch.") var plot: String?
    @Option(help: "Per-epoch metrics CSV (default: history.csv next to the model).") var history: String?
    @Option(help: "Native worker threads (0 = all cores).") var threads = 0
    @Flag(help: "Print the result as JSON.") var json = false
    @Flag(help: "No progress bar.") var quiet = false

    struct Output: Encodable {
        var model: String
        var arch: String
        var classes: [String]
        var samples: [String: Int]
        var split: String
        var validation_groups: [String]
        var epochs_run: Int
        var best_epoch: Int?
        var metrics: [String: Double]
        var history: String
        var plot: String?
    }

    func run() async throws {
        try await reportingErrors {
            guard let a = ModelArchitecture(rawValue: arch.lowercased()) else {
                throw FaceGateError.badInput("unknown --arch '\(arch)' — use livenessnet or texture")
            }
            NativeRuntime.setThreads(threads)
            let ds: Dataset
            do { ds = try Dataset.scan(dataset) } catch let e as TrainingError { throw e.faceGateError }
            var o = TrainOptions()
            o.arch = a
            o.epochs = epochs
            o.batch = batch
            o.validationFraction = val
            o.seed = seed
            o.inputSize = size ?? (a == .livenessnet ? ModelTrainer.livenessNetInputSize : ModelTrainer.textureInputSize)
            o.patience = patience
            o.learningRate = learningRate
            o.augment = !noAugment
            let printer = ProgressPrinter(quiet: quiet || json)
            let counts = ds.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            printer.message("dataset \(ds.directory): \(ds.samples.count) crops (\(counts)), \(ds.groups.count) source group\(ds.groups.count == 1 ? "" : "s")")
            if !ds.skippedFiles.isEmpty {
                printer.message("skipped \(ds.skippedFiles.count) non-image file\(ds.skippedFiles.count == 1 ? "" : "s") (e.g. \(ds.skippedFiles[0]))")
            }
            let started = Date()
            var epochBar = ProgressBar(total: epochs)
            var batchStart = Date()
            let outcome: TrainingOutcome
            do {
                outcome = try ModelTrainer.train(dataset: ds, options: o) { ev in
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
                        if let m = last { line += Self.metricsText(m) }
                        line += "  ETA " + ProgressBar.clock(eta)
                        printer.update(line)
                    case .epoch(let m, let best):
                        if m.epoch == 1 { epochBar = ProgressBar(total: epochs, started: Date().addingTimeInterval(-m.seconds)) }
                        printer.update("epoch \(m.epoch)/\(m.epochs)" + Self.metricsText(m) + String(format: "  %.1fs", m.seconds) + (best ? "  *best" : ""), force: true)
                        printer.finish()
                    case .searching(let k, let n, let note):
                        printer.update(n > 1 ? "grid \(k)/\(n): \(note)" : note, force: k == n && n > 1)
                        if k == n && n > 1 { printer.finish() }
                    }
                }
            } catch let e as TrainingError { throw e.faceGateError }
            try ModelContainer.write(header: outcome.header, weights: outcome.weights, to: model)
            let historyPath = history ?? (URL(fileURLWithPath: model).deletingLastPathComponent().path + "/history.csv")
            try TrainingHistory.write(outcome.history, to: historyPath)
            if let plot {
                try TrainingPlots.history(outcome.history, arch: a, title: "\(a.rawValue) on \(URL(fileURLWithPath: ds.directory).lastPathComponent)").write(plot)
            }
            let h = outcome.header
            if json {
                print(jsonLine(Output(model: model, arch: a.rawValue, classes: h.classes, samples: ds.counts,
                                      split: outcome.split.kind.rawValue, validation_groups: outcome.split.validationGroups,
                                      epochs_run: outcome.history.count, best_epoch: h.training.bestEpoch,
                                      metrics: h.metrics.mapValues { r($0, 4) }, history: historyPath, plot: plot)))
            } else {
                print("model: \(model) (\(a.rawValue), input \(h.inputSize)x\(h.inputSize), classes \(h.classes.joined(separator: "/")), \(formatBytes(outcome.weights.count)) weights)")
                let splitText = outcome.split.kind == .bySource
                    ? "by source, validation groups: \(outcome.split.validationGroups.joined(separator: ", "))"
                    : outcome.split.kind.rawValue
                print("split: \(outcome.split.train.count) train / \(outcome.split.validation.count) validation crops (\(splitText))")
                if a == .livenessnet {
                    print("epochs: \(outcome.history.count) run, best \(h.training.bestEpoch ?? outcome.history.count)" + String(format: ", %.1f s/epoch, %.0f s total", h.metrics["seconds_per_epoch"] ?? 0, Date().timeIntervalSince(started)))
                } else {
                    print("svm: C=\(h.training.parameters["c"] ?? "?") gamma=\(h.training.parameters["gamma"] ?? "?"), \(Int(h.metrics["support_vectors"] ?? 0)) support vectors")
                }
                if let s = outcome.validation {
                    let which = outcome.split.validation.isEmpty ? "training (no validation set)" : "validation"
                    print(String(format: "%@: accuracy %.3f  APCER %.3f  BPCER %.3f  ACER %.3f%@", which, s.accuracy, s.apcer, s.bpcer, s.acer,
                                 s.auc.map { String(format: "  AUC %.3f", $0) } ?? ""))
                }
                print("history: \(historyPath)" + (plot.map { "  plot: \($0)" } ?? ""))
                print("use it: facegate evaluate --dataset OTHER --model \(model) | facegate liveness --passive --model \(model) …")
            }
        }
    }

    static func metricsText(_ m: EpochMetrics) -> String {
        var s = String(format: "  loss %.4f acc %.3f", m.trainLoss, m.trainAccuracy)
        if let vl = m.valLoss, let va = m.valAccuracy { s += String(format: "  val_loss %.4f val_acc %.3f", vl, va) }
        return s
    }
}
