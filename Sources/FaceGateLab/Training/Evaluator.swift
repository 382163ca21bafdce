import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// A model scored on a labelled dataset.
public struct EvaluationResult: Sendable {
    public var scores: LivenessScores
    /// Crop paths, in score order.
    public var paths: [String]
    public var datasetDirectory: String
    public var modelPath: String
    public var modelHeader: ModelHeader
    /// Crops that could not be classified (unreadable), with the reason.
    public var skipped: [String]
}

/// Scores a trained model on a dataset folder (same layout as for training).
public enum ModelEvaluator {
    /// Crops read and classified per batch (bounds memory on big datasets).
    static let chunk = 256

    public static func evaluate(model: LivenessModel, dataset ds: Dataset,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> EvaluationResult {
        let realName = ds.labels[ds.realLabel]
        var pReal: [Double] = [], labels: [String] = [], predicted: [String] = [], groups: [String] = [], paths: [String] = []
        var skipped: [String] = []
        var start = 0
        while start < ds.samples.count {
            let part = Array(ds.samples[start..<min(ds.samples.count, start + chunk)])
            var imgs: [Image] = [], kept: [DatasetSample] = []
            for s in part {
                do {
                    let img = try Image.read(s.path)
                    if img.width < Dataset.minimumCropSide || img.height < Dataset.minimumCropSide {
                        skipped.append("\(s.relativePath): \(img.width)x\(img.height) is smaller than \(Dataset.minimumCropSide) px")
                        continue
                    }
                    imgs.append(img); kept.append(s)
                } catch let e as FaceGateError {
                    skipped.append("\(s.relativePath): \(e.description)")
                }
            }
            let rows = model.probabilities(crops: imgs)
            for (s, row) in zip(kept, rows) {
                guard let row else { skipped.append("\(s.relativePath): could not be classified"); continue }
                pReal.append(row[model.realIndex])
                // The dataset's real class is the model's real class whatever the folder names.
                let truth = s.label == ds.realLabel ? model.classes[model.realIndex] : ds.labels[s.label]
                labels.append(truth)
                predicted.append(model.predictedClass(row))
                groups.append(s.group ?? DatasetSplit.ungroupedName)
                paths.append(s.path)
            }
            start += part.count
            progress(start, ds.samples.count)
        }
        _ = realName
        guard !pReal.isEmpty else {
            throw FaceGateError.badInput("no crop in \(ds.directory) could be classified (\(skipped.first ?? "none readable"))")
        }
        let scores = LivenessScores(pReal: pReal, labels: labels, realLabel: model.classes[model.realIndex],
                                    predicted: predicted, groups: groups, threshold: model.threshold)
        return EvaluationResult(scores: scores, paths: paths, datasetDirectory: ds.directory, modelPath: model.path,
                                modelHeader: model.header, skipped: skipped)
    }
}

/// The HTML page of `facegate evaluate --report DIR`.
public enum EvaluationReport {
    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Writes DIR/index.html, copying the worst misclassified crops into DIR/crops/. `images` are file names inside
    /// DIR (plots) to embed.
    public static func write(_ r: EvaluationResult, to dir: String, images: [(file: String, caption: String)], worst: Int = 12) throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/crops", withIntermediateDirectories: true)
        let s = r.scores
        let h = r.modelHeader
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>FaceGate evaluation</title>
        <style>body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;margin:1em 0}
        td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}
        img.plot{max-width:100%;border:1px solid #ccc;margin:0.5em 0}.crops img{width:96px;height:96px;image-rendering:pixelated}
        figure{display:inline-block;margin:4px;font-size:12px;text-align:center}</style></head><body>
        <h1>FaceGate liveness evaluation</h1>
        <p>Model <code>\(esc(r.modelPath))</code>: \(esc(h.arch.rawValue)) \(h.inputSize)×\(h.inputSize), classes \(esc(h.classes.joined(separator: ", "))),
        trained \(esc(h.created)) by FaceGate \(esc(h.facegateVersion)) on <code>\(esc(h.training.dataset))</code>
        (\(h.training.trainSamples) training crops, split \(esc(h.training.split))).</p>
        <p>Dataset <code>\(esc(r.datasetDirectory))</code>: \(s.count) crops. Threshold on P(real): \(String(format: "%.2f", s.threshold)).</p>
        <h2>Summary</h2><table><tr><th class="l">metric</th><th>value</th></tr>
        """
        func row(_ k: String, _ v: Double?) { html += "<tr><td class=\"l\">\(k)</td><td>\(v.map { String(format: "%.4f", $0) } ?? "—")</td></tr>" }
        let pad = s.pad
        row("accuracy", s.accuracy)
        row("APCER (worst species)", pad.apcerMax)
        row("BPCER", pad.bpcer)
        row("ACER", pad.acer)
        row("EER", pad.eer)
        row("BPCER @ APCER 5 %", pad.bpcerAtApcer5)
        row("ROC AUC", s.auc)
        html += "</table><h2>Attack species</h2><table><tr><th class=\"l\">species</th><th>crops</th><th>accepted as real</th><th>APCER</th></tr>"
        for sp in pad.species {
            html += "<tr><td class=\"l\">\(esc(sp.name))</td><td>\(sp.presentations)</td><td>\(sp.accepted)</td><td>\(String(format: "%.4f", sp.apcer))</td></tr>"
        }
        html += "</table><h2>Confusion matrix</h2><table><tr><th class=\"l\">true \\ predicted</th>"
        let cm = s.confusion(columns: h.classes)
        for c in cm.columns { html += "<th>\(esc(c))</th>" }
        html += "</tr>"
        for (i, rname) in cm.rows.enumerated() {
            html += "<tr><td class=\"l\">\(esc(rname))</td>" + cm.counts[i].map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        html += "</table><h2>Per source</h2><table><tr><th class=\"l\">group</th><th>crops</th><th>accuracy</th></tr>"
        for g in s.perGroup {
            html += "<tr><td class=\"l\">\(esc(g.group))</td><td>\(g.count)</td><td>\(String(format: "%.3f", g.accuracy))</td></tr>"
        }
        html += "</table>"
        for im in images {
            html += "<h2>\(esc(im.caption))</h2><img class=\"plot\" src=\"\(esc(im.file))\" alt=\"\(esc(im.caption))\">"
        }
        html += "<h2>Worst misclassified crops</h2><div class=\"crops\">"
        let w = s.worst(worst)
        if w.isEmpty { html += "<p>None: every crop was classified correctly.</p>" }
        for (k, i) in w.enumerated() {
            let src = r.paths[i]
            let name = String(format: "%02d_", k + 1) + (src as NSString).lastPathComponent
            try? fm.removeItem(atPath: dir + "/crops/" + name)
            try? fm.copyItem(atPath: src, toPath: dir + "/crops/" + name)
            html += "<figure><img src=\"crops/\(esc(name))\"><figcaption>\(esc(s.labels[i])) · P(real) \(String(format: "%.3f", s.pReal[i]))<br>\(esc((src as NSString).lastPathComponent))</figcaption></figure>"
        }
        html += "</div></body></html>\n"
        let path = dir + "/index.html"
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
