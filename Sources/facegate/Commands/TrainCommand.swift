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

    func run() async throws {
        try await reportingErrors {
            let a = try TrainingRun.architecture(arch)
            NativeRuntime.setThreads(threads)
            let ds = try TrainingRun.dataset(dataset)
            let o = TrainingRun.options(arch: a, epochs: epochs, batch: batch, validation: val, seed: seed, size: size,
                                        patience: patience, learningRate: learningRate, augment: !noAugment)
            let started = Date()
            let outcome = try TrainingRun.train(ds, options: o, printer: ProgressPrinter(quiet: quiet || json))
            let historyPath = try TrainingRun.save(outcome, arch: a, dataset: ds, model: model, history: history, plot: plot)
            let report = TrainingReport(outcome, arch: a, dataset: ds, model: model, history: historyPath, plot: plot,
                                        seconds: Date().timeIntervalSince(started))
            if json { print(jsonLine(report)) } else { for l in report.lines { print(l) } }
        }
    }
}
