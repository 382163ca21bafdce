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
        var by_source: [SourceJSON]?
    }
    struct SpeciesJSON: Encodable { var species: String; var presentations: Int; var accepted: Int; var apcer: Double }
    struct SourceJSON: Encodable {
        var source: String; var crops: Int; var bona_fide: Int; var bpcer: Double; var species: [SpeciesJSON]; var acer: Double
        var threshold: Double?; var held_out_bpcer: Double?; var held_out_apcer: [SpeciesJSON]?
    }

    func run() async throws {
        try await reportingErrors {
            guard threshold > 0 && threshold < 1 else { throw FaceGateError.badInput("--threshold must be between 0 and 1") }
            guard targetBPCER >= 0 && targetBPCER < 1 else { throw FaceGateError.badInput("--target-bpcer must be between 0 and 1") }
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
            let perSource = bySource ? PadBySource.evaluate(scores: s.pReal, labels: s.labels, realLabel: s.realLabel, sources: s.groups,
                                                            threshold: threshold, targetBPCER: targetBPCER) : []
            func speciesJSON(_ p: PadMetrics) -> [SpeciesJSON] {
                p.species.map { SpeciesJSON(species: $0.name, presentations: $0.presentations, accepted: $0.accepted, apcer: r($0.apcer, 4)) }
            }
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
                    skipped: result.skipped, plot: plotPath, report: reportPath,
                    by_source: bySource ? perSource.map { row in
                        SourceJSON(source: row.source, crops: row.metrics.bonaFide + row.metrics.species.map(\.presentations).reduce(0, +),
                                   bona_fide: row.metrics.bonaFide, bpcer: r(row.metrics.bpcer, 4), species: speciesJSON(row.metrics),
                                   acer: r(row.metrics.acer, 4), threshold: row.threshold.map { r($0, 4) },
                                   held_out_bpcer: row.heldOut.map { r($0.bpcer, 4) }, held_out_apcer: row.heldOut.map(speciesJSON))
                    } : nil)))
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
                if bySource {
                    print("\nby source (at threshold \(String(format: "%.2f", threshold)); held out: threshold picked on the other sources' genuine crops for BPCER ≤ \(String(format: "%.0f%%", targetBPCER * 100)))")
                    func pad(_ t: String, _ n: Int) -> String { t.count >= n ? t : t.padding(toLength: n, withPad: " ", startingAt: 0) }
                    print(pad("source", 32) + " crops  BPCER  attacks accepted (APCER)     ACER  | threshold  held-out BPCER  held-out attacks accepted")
                    for row in perSource {
                        let n = row.metrics.bonaFide + row.metrics.species.map(\.presentations).reduce(0, +)
                        let att = row.metrics.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ")
                        let hb = row.heldOut.map { String(format: "%.2f", $0.bpcer) } ?? "n/a"
                        let ha = row.heldOut.map { $0.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ") } ?? "n/a"
                        print(pad(row.source, 32) + String(format: " %5d  %5.2f  ", n, row.metrics.bpcer) + pad(att.isEmpty ? "-" : att, 26)
                              + String(format: " %5.2f", row.metrics.acer) + "  | " + pad(row.threshold.map { String(format: "%.3f", $0) } ?? "n/a", 9)
                              + "  " + pad(hb, 14) + "  " + (ha.isEmpty ? "-" : ha))
                    }
                }
                if let plotPath { print("plot: \(plotPath)") }
                if let reportPath { print("report: \(reportPath)") }
            }
        }
    }
}
