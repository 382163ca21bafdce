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

        Examples:
          facegate evaluate --dataset heldout --model liveness.fgm --plot roc.png
          facegate evaluate --dataset heldout --model liveness.fgm --report report/ --json
        """)

    @Option(help: "Dataset folder (real/, fake/ …).") var dataset: String
    @Option(help: "Model file written by `facegate train`.") var model: String
    @Option(help: "Threshold on P(real) (default 0.5).") var threshold = LivenessModel.defaultThreshold
    @Option(help: "PNG with the ROC curve (1 − BPCER against APCER) and the DET curve.") var plot: String?
    @Option(help: "Folder for an HTML report with the plots, tables and the worst crops.") var report: String?
    @Option(help: "How many misclassified crops to list.") var worst = 10
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "No progress bar.") var quiet = false

    struct Worst: Encodable { var path: String; var label: String; var p_real: Double }
    struct Output: Encodable {
        var model: String
        var dataset: String
        var crops: Int
        var threshold: Double
        var accuracy: Double
        var apcer: Double
        var bpcer: Double
        var acer: Double
        var eer: Double?
        var auc: Double?
        var apcer_per_species: [String: Double]
        var confusion: [String: [String: Int]]
        var per_group_accuracy: [String: Double]
        var worst: [Worst]
        var skipped: [String]
        var plot: String?
        var report: String?
    }

    func run() async throws {
        try await reportingErrors {
            guard threshold > 0 && threshold < 1 else { throw FaceGateError.badInput("--threshold must be between 0 and 1") }
            let m: LivenessModel
            let ds: Dataset
            do {
                m = try LivenessModel(path: model)
                ds = try Dataset.scan(dataset)
            } catch let e as TrainingError { throw e.faceGateError }
            m.threshold = threshold
            let printer = ProgressPrinter(quiet: quiet || json)
            let bar = ProgressBar(total: ds.samples.count)
            let result = try ModelEvaluator.evaluate(model: m, dataset: ds) { d, t in
                printer.update("classifying " + bar.render(done: d, unit: "crops"), force: d == t)
            }
            printer.finish()
            let s = result.scores
            let pad = s.pad
            var plotPath = plot
            var reportPath: String?
            var images: [(String, String)] = []
            let title = "\(URL(fileURLWithPath: model).lastPathComponent) on \(URL(fileURLWithPath: ds.directory).lastPathComponent)"
            if let report {
                try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
                try TrainingPlots.roc(s, title: title).write(report + "/roc.png")
                images.append(("roc.png", "ROC and DET curves"))
                if plotPath == nil { plotPath = report + "/roc.png" }
            }
            if let plot {
                try TrainingPlots.roc(s, title: title).write(plot)
            }
            if let report {
                reportPath = try EvaluationReport.write(result, to: report, images: images, worst: worst)
            }
            let cm = s.confusion(columns: m.classes)
            let worstIdx = s.worst(worst)
            if json {
                var conf: [String: [String: Int]] = [:]
                for (i, r) in cm.rows.enumerated() {
                    conf[r] = Dictionary(uniqueKeysWithValues: zip(cm.columns, cm.counts[i]))
                }
                print(jsonLine(Output(
                    model: model, dataset: ds.directory, crops: s.count, threshold: threshold, accuracy: r(s.accuracy, 4),
                    apcer: r(pad.apcerMax, 4), bpcer: r(pad.bpcer, 4), acer: r(pad.acer, 4), eer: pad.eer.map { r($0, 4) },
                    auc: s.auc.map { r($0, 4) },
                    apcer_per_species: Dictionary(uniqueKeysWithValues: pad.species.map { ($0.name, r($0.apcer, 4)) }),
                    confusion: conf,
                    per_group_accuracy: Dictionary(uniqueKeysWithValues: s.perGroup.map { ($0.group, r($0.accuracy, 4)) }),
                    worst: worstIdx.map { Worst(path: result.paths[$0], label: s.labels[$0], p_real: r(s.pReal[$0], 4)) },
                    skipped: result.skipped, plot: plotPath, report: reportPath)))
            } else {
                print("model \(model): \(m.summary)")
                print("dataset \(ds.directory): \(s.count) crops" + (result.skipped.isEmpty ? "" : " (\(result.skipped.count) skipped)"))
                print(String(format: "accuracy %.3f   APCER %.3f   BPCER %.3f   ACER %.3f   (threshold %.2f on P(real))",
                             s.accuracy, pad.apcerMax, pad.bpcer, pad.acer, threshold))
                print("EER " + (pad.eer.map { String(format: "%.3f", $0) } ?? "—") + "   ROC AUC " + (s.auc.map { String(format: "%.3f", $0) } ?? "—"))
                for sp in pad.species {
                    print(String(format: "  APCER %-10@ %.3f  (%d of %d accepted as real)", sp.name as NSString, sp.apcer, sp.accepted, sp.presentations))
                }
                print("confusion (rows true, columns predicted):")
                let w = max(8, (cm.rows + cm.columns).map(\.count).max() ?? 8) + 2
                func cell(_ t: String) -> String { t.count >= w ? t : String(repeating: " ", count: w - t.count) + t }
                print(cell("") + cm.columns.map(cell).joined())
                for (i, r) in cm.rows.enumerated() { print(cell(r) + cm.counts[i].map { cell("\($0)") }.joined()) }
                if s.perGroup.count > 1 {
                    print("per source: " + s.perGroup.map { String(format: "%@ %.2f (%d)", $0.group, $0.accuracy, $0.count) }.joined(separator: ", "))
                }
                if worstIdx.isEmpty {
                    print("no misclassified crops")
                } else {
                    print("worst misclassified:")
                    for i in worstIdx { print(String(format: "  P(real) %.3f  %@  %@", s.pReal[i], s.labels[i], result.paths[i])) }
                }
                for sk in result.skipped.prefix(5) { printError("facegate: skipped \(sk)") }
                if let plotPath { print("plot: \(plotPath)") }
                if let reportPath { print("report: \(reportPath)") }
            }
        }
    }
}
