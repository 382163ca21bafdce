import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// `facegate evaluate`: a trained model scored on a folder of labelled crops — the request checks, the run, the
/// plot and HTML report written, and the report (one JSON object, or the lines of a terminal summary with the
/// confusion matrix, the worst crops and, with `bySource`, leave-one-source-out thresholds as evaluate-pad).
public enum ModelEvaluationRun {
    /// A threshold in (0, 1) and a target BPCER in [0, 1).
    public static func check(threshold: Double, targetBPCER: Double) throws {
        guard threshold > 0 && threshold < 1 else { throw FaceGateError.badInput("--threshold must be between 0 and 1") }
        guard targetBPCER >= 0 && targetBPCER < 1 else { throw FaceGateError.badInput("--target-bpcer must be between 0 and 1") }
    }

    /// Loads the model (at `threshold`) and scans the dataset, then classifies every crop, showing progress.
    public static func evaluate(model path: String, dataset: String, threshold: Double,
                                printer: ProgressPrinter) throws -> (LivenessModel, Dataset, EvaluationResult) {
        let m: LivenessModel, ds: Dataset
        do { m = try LivenessModel(path: path); ds = try Dataset.scan(dataset) } catch let e as TrainingError { throw e.faceGateError }
        m.threshold = threshold
        let bar = ProgressBar(total: ds.samples.count)
        let result = try ModelEvaluator.evaluate(model: m, dataset: ds) { d, t in
            printer.update("classifying " + bar.render(done: d, unit: "crops"), force: d == t)
        }
        printer.finish()
        return (m, ds, result)
    }

    /// Writes the ROC/DET plot (`plot`, and roc.png in `report`) and the HTML report with the `worst` crops; returns
    /// the plot shown (the report's when no `plot`) and the report's path.
    public static func write(_ result: EvaluationResult, model: String, dataset ds: Dataset, plot: String?, report: String?,
                             worst: Int) throws -> (plot: String?, report: String?) {
        let s = result.scores
        var plotPath = plot, reportPath: String?
        var images: [(String, String)] = []
        let title = "\(URL(fileURLWithPath: model).lastPathComponent) on \(URL(fileURLWithPath: ds.directory).lastPathComponent)"
        if let report {
            try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
            try TrainingPlots.roc(s, title: title).write(report + "/roc.png")
            images.append(("roc.png", "ROC and DET curves"))
            if plotPath == nil { plotPath = report + "/roc.png" }
        }
        if let plot { try TrainingPlots.roc(s, title: title).write(plot) }
        if let report { reportPath = try EvaluationReport.write(result, to: report, images: images, worst: worst) }
        return (plotPath, reportPath)
    }
}

/// What `facegate evaluate` reports.
public struct ModelEvaluationReport: Encodable {
    public struct Worst: Encodable { var path: String; var label: String; var p_real: Double }
    public struct SpeciesJSON: Encodable { var species: String; var presentations: Int; var accepted: Int; var apcer: Double }
    public struct SourceJSON: Encodable {
        var source: String; var crops: Int; var bona_fide: Int; var bpcer: Double; var species: [SpeciesJSON]; var acer: Double
        var threshold: Double?; var held_out_bpcer: Double?; var held_out_apcer: [SpeciesJSON]?
    }
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
    /// The terminal summary and the warnings for standard error (not in the JSON).
    public private(set) var lines: [String] = []
    public private(set) var warnings: [String] = []
    enum CodingKeys: String, CodingKey {
        case model, dataset, crops, threshold, accuracy, apcer, bpcer, acer, eer, auc, apcer_per_species, confusion,
             per_group_accuracy, worst, skipped, plot, report, by_source
    }

    public init(_ result: EvaluationResult, model m: LivenessModel, modelPath: String, dataset ds: Dataset, threshold: Double,
                worst worstCount: Int, bySource: Bool, targetBPCER: Double, plot plotPath: String?, report reportPath: String?) {
        let s = result.scores, pad = s.pad
        let cm = s.confusion(columns: m.classes)
        let perSource = bySource ? PadBySource.evaluate(scores: s.pReal, labels: s.labels, realLabel: s.realLabel, sources: s.groups,
                                                        threshold: threshold, targetBPCER: targetBPCER) : []
        func r(_ x: Double) -> Double { x.isFinite ? (x * 1e4).rounded() / 1e4 : 0 }
        func speciesJSON(_ p: PadMetrics) -> [SpeciesJSON] {
            p.species.map { SpeciesJSON(species: $0.name, presentations: $0.presentations, accepted: $0.accepted, apcer: r($0.apcer)) }
        }
        let worstIdx = s.worst(worstCount)
        var conf: [String: [String: Int]] = [:]
        for (i, row) in cm.rows.enumerated() { conf[row] = Dictionary(uniqueKeysWithValues: zip(cm.columns, cm.counts[i])) }
        model = modelPath; dataset = ds.directory; crops = s.count; self.threshold = threshold; accuracy = r(s.accuracy)
        apcer = r(pad.apcerMax); bpcer = r(pad.bpcer); acer = r(pad.acer); eer = pad.eer.map(r); auc = s.auc.map(r)
        apcer_per_species = Dictionary(uniqueKeysWithValues: pad.species.map { ($0.name, r($0.apcer)) })
        confusion = conf
        per_group_accuracy = Dictionary(uniqueKeysWithValues: s.perGroup.map { ($0.group, r($0.accuracy)) })
        worst = worstIdx.map { Worst(path: result.paths[$0], label: s.labels[$0], p_real: r(s.pReal[$0])) }
        skipped = result.skipped; plot = plotPath; report = reportPath
        by_source = bySource ? perSource.map { row in
            SourceJSON(source: row.source, crops: row.metrics.bonaFide + row.metrics.species.map(\.presentations).reduce(0, +),
                       bona_fide: row.metrics.bonaFide, bpcer: r(row.metrics.bpcer), species: speciesJSON(row.metrics),
                       acer: r(row.metrics.acer), threshold: row.threshold.map(r),
                       held_out_bpcer: row.heldOut.map { r($0.bpcer) }, held_out_apcer: row.heldOut.map(speciesJSON))
        } : nil

        var out = ["model \(modelPath): \(m.summary)",
                   "dataset \(ds.directory): \(s.count) crops" + (result.skipped.isEmpty ? "" : " (\(result.skipped.count) skipped)"),
                   String(format: "accuracy %.3f   APCER %.3f   BPCER %.3f   ACER %.3f   (threshold %.2f on P(real))",
                          s.accuracy, pad.apcerMax, pad.bpcer, pad.acer, threshold),
                   "EER " + (pad.eer.map { String(format: "%.3f", $0) } ?? "—") + "   ROC AUC " + (s.auc.map { String(format: "%.3f", $0) } ?? "—")]
        for sp in pad.species {
            out.append(String(format: "  APCER %-10@ %.3f  (%d of %d accepted as real)", sp.name as NSString, sp.apcer, sp.accepted, sp.presentations))
        }
        out.append("confusion (rows true, columns predicted):")
        let w = max(8, (cm.rows + cm.columns).map(\.count).max() ?? 8) + 2
        func cell(_ t: String) -> String { t.count >= w ? t : String(repeating: " ", count: w - t.count) + t }
        out.append(cell("") + cm.columns.map(cell).joined())
        for (i, row) in cm.rows.enumerated() { out.append(cell(row) + cm.counts[i].map { cell("\($0)") }.joined()) }
        if s.perGroup.count > 1 {
            out.append("per source: " + s.perGroup.map { String(format: "%@ %.2f (%d)", $0.group, $0.accuracy, $0.count) }.joined(separator: ", "))
        }
        if worstIdx.isEmpty { out.append("no misclassified crops") } else {
            out.append("worst misclassified:")
            for i in worstIdx { out.append(String(format: "  P(real) %.3f  %@  %@", s.pReal[i], s.labels[i], result.paths[i])) }
        }
        if bySource {
            out.append("\nby source (at threshold \(String(format: "%.2f", threshold)); held out: threshold picked on the other sources' genuine crops for BPCER ≤ \(String(format: "%.0f%%", targetBPCER * 100)))")
            func pad(_ t: String, _ n: Int) -> String { t.count >= n ? t : t.padding(toLength: n, withPad: " ", startingAt: 0) }
            out.append(pad("source", 32) + " crops  BPCER  attacks accepted (APCER)     ACER  | threshold  held-out BPCER  held-out attacks accepted")
            for row in perSource {
                let n = row.metrics.bonaFide + row.metrics.species.map(\.presentations).reduce(0, +)
                let att = row.metrics.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ")
                let hb = row.heldOut.map { String(format: "%.2f", $0.bpcer) } ?? "n/a"
                let ha = row.heldOut.map { $0.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ") } ?? "n/a"
                out.append(pad(row.source, 32) + String(format: " %5d  %5.2f  ", n, row.metrics.bpcer) + pad(att.isEmpty ? "-" : att, 26)
                           + String(format: " %5.2f", row.metrics.acer) + "  | " + pad(row.threshold.map { String(format: "%.3f", $0) } ?? "n/a", 9)
                           + "  " + pad(hb, 14) + "  " + (ha.isEmpty ? "-" : ha))
            }
        }
        if let plotPath { out.append("plot: \(plotPath)") }
        if let reportPath { out.append("report: \(reportPath)") }
        lines = out
        warnings = result.skipped.prefix(5).map { "facegate: skipped \($0)" }
    }
}
