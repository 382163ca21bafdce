import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import FaceGateVision
import Foundation

struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a trained liveness model on a folder of labelled crops (accuracy, APCER/BPCER/ACER, ROC).",
        discussion: """
        DATASET has the training layout (real/, fake/ …). Use crops of sources the model never saw.
        --by-source: every source (the dataset's groups: groups.tsv, a sub-folder of the class folder, or a file-name
        prefix before `__`) with its own BPCER and APCER per species at --threshold, and judged at the threshold
        picked on all OTHER sources' genuine crops for --target-bpcer (leave-one-source-out, as evaluate-pad).

        Examples:
          facegate evaluate --dataset heldout --model liveness.fgm --plot roc.png
          facegate evaluate --dataset heldout --model liveness.fgm --report report/ --json
          facegate evaluate --dataset all --model liveness.fgm --by-source --target-bpcer 0.05
        """)

    @Option(help: "Dataset folder (real/, fake/ …).") var dataset: String
    @Option(help: "Model file written by `facegate train`.") var model: String
    @Option(help: "Threshold on P(real) (default 0.5).") var threshold = LivenessModel.defaultThreshold
    @Option(help: "PNG with the ROC curve (1 − BPCER against APCER) and the DET curve.") var plot: String?
    @Option(help: "Folder for an HTML report with the plots, tables and the worst crops.") var report: String?
    @Option(help: "How many misclassified crops to list.") var worst = 10
    @Flag(name: .customLong("by-source"), help: "Per-source BPCER/APCER and leave-one-source-out thresholds.") var bySource = false
    @Option(name: .customLong("target-bpcer"), help: "Target BPCER of the leave-one-source-out operating point.") var targetBPCER = 0.05
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "No progress bar.") var quiet = false

    func run() async throws {
        try await reportingErrors {
            try ModelEvaluationRun.check(threshold: threshold, targetBPCER: targetBPCER)
            let (m, ds, result) = try ModelEvaluationRun.evaluate(model: model, dataset: dataset, threshold: threshold,
                                                                 printer: ProgressPrinter(quiet: quiet || json))
            let written = try ModelEvaluationRun.write(result, model: model, dataset: ds, plot: plot, report: report, worst: worst)
            let out = ModelEvaluationReport(result, model: m, modelPath: model, dataset: ds, threshold: threshold, worst: worst,
                                            bySource: bySource, targetBPCER: targetBPCER, plot: written.plot, report: written.report)
            if json { print(jsonLine(out)); return }
            for l in out.lines { print(l) }
            for w in out.warnings { printError(w) }
        }
    }
}
