import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Training and evaluation charts, drawn with the shared `PlotRenderer`.
public enum TrainingPlots {
    /// Each chart of the training-history figure (loss on top, accuracy below): 800 x 400, so the PNG is 800 x 800.
    public static let historyPanel = (width: 800, height: 400)
    /// Each chart of the evaluation figure (ROC left, DET right): 600 x 500, so the PNG is 1200 x 500.
    public static let curvePanel = (width: 600, height: 500)

    static let trainColor = Color.blue
    static let valColor = Color(230, 110, 20)

    /// Training and validation loss (top) and accuracy (bottom) per epoch. For the texture model the x axis is the
    /// (C, gamma) grid step and "loss" is 1 − balanced accuracy.
    public static func history(_ h: [EpochMetrics], arch: ModelArchitecture, title: String) -> Image {
        let xName = arch == .livenessnet ? "epoch" : "grid step (C, gamma)"
        let lossName = arch == .livenessnet ? "loss (cross-entropy)" : "1 - balanced accuracy"
        func series(_ name: String, _ v: (EpochMetrics) -> Double?, _ c: Color) -> PlotSeries? {
            let pts = h.compactMap { m in v(m).map { Point2(Double(m.epoch), $0) } }
            return pts.isEmpty ? nil : PlotSeries(name: name, points: pts, color: c, thickness: 2, markers: h.count <= 30)
        }
        let xr: ClosedRange<Double> = h.count > 1 ? Double(h.first!.epoch)...Double(h.last!.epoch) : 0.5...1.5
        var loss = PlotRenderer(title: title, xLabel: xName, yLabel: lossName)
        loss.width = historyPanel.width; loss.height = historyPanel.height
        loss.xRange = xr
        let lossMax = h.flatMap { [$0.trainLoss, $0.valLoss ?? 0] }.filter(\.isFinite).max() ?? 1
        loss.yRange = 0...max(0.05, lossMax * 1.08)
        let top = loss.render([series("train loss", { $0.trainLoss }, trainColor), series("validation loss", { $0.valLoss }, valColor)].compactMap { $0 })
        var acc = PlotRenderer(title: "", xLabel: xName, yLabel: "accuracy")
        acc.width = historyPanel.width; acc.height = historyPanel.height
        acc.xRange = xr
        let accMin = h.flatMap { [$0.trainAccuracy, $0.valAccuracy ?? 1] }.filter(\.isFinite).min() ?? 0
        acc.yRange = min(0.5, (accMin * 20).rounded(.down) / 20)...1.0
        let bottom = acc.render([series("train accuracy", { $0.trainAccuracy }, trainColor), series("validation accuracy", { $0.valAccuracy }, valColor)].compactMap { $0 })
        return stackVertically(top, bottom)
    }

    /// ROC (1 − BPCER against APCER, linear axes, with the threshold's operating point) beside the DET curve
    /// (probit axes, ISO/IEC 30107-3).
    public static func roc(_ s: LivenessScores, title: String) -> Image {
        var roc = PlotRenderer(title: title, xLabel: "APCER (attacks accepted)", yLabel: "1 - BPCER (real accepted)")
        roc.width = curvePanel.width; roc.height = curvePanel.height
        roc.xRange = 0...1; roc.yRange = 0...1
        roc.guides = [(Point2(0, 0), Point2(1, 1), Color(190, 190, 190))]
        var pts = [Point2(0, 0)] + s.roc.map { Point2($0.apcer, $0.tpr) } + [Point2(1, 1)]
        pts = pts.sorted { ($0.x, $0.y) < ($1.x, $1.y) }
        let auc = s.auc.map { String(format: " (AUC %.3f)", $0) } ?? ""
        let pad = s.pad
        let op = PlotSeries(name: String(format: "threshold %.2f", s.threshold),
                            points: [Point2(pad.apcerMax, 1 - pad.bpcer)], color: .red, thickness: 2, markers: true)
        let left = roc.render([PlotSeries(name: "ROC" + auc, points: pts, color: .blue, thickness: 2), op])
        var det = DETPlot.renderer(title: "DET curve" + (pad.eer.map { String(format: " (EER %.3f)", $0) } ?? ""))
        det.width = curvePanel.width; det.height = curvePanel.height
        let detPts = pad.det.map { Point2(max($0.apcer, 0.001), max($0.bpcer, 0.001)) }
        let right = det.render(detPts.isEmpty ? [] : [PlotSeries(name: "model", points: detPts, color: .blue, thickness: 2, markers: detPts.count < 30)])
        return sideBySide(left, right)
    }

    /// One image above the other (same width).
    static func stackVertically(_ a: Image, _ b: Image) -> Image {
        let w = max(a.width, b.width)
        let a2 = a.width == w ? a : a.cropped(Rect(x: 0, y: 0, width: Double(w), height: Double(a.height)))
        let b2 = b.width == w ? b : b.cropped(Rect(x: 0, y: 0, width: Double(w), height: Double(b.height)))
        return Image.fromBGR(a2.bgrBytes + b2.bgrBytes, width: w, height: a2.height + b2.height)!
    }

    /// Two images next to each other (same height).
    static func sideBySide(_ a: Image, _ b: Image) -> Image {
        let h = max(a.height, b.height)
        let a2 = a.height == h ? a : a.cropped(Rect(x: 0, y: 0, width: Double(a.width), height: Double(h)))
        let b2 = b.height == h ? b : b.cropped(Rect(x: 0, y: 0, width: Double(b.width), height: Double(h)))
        let ab = a2.bgrBytes, bb = b2.bgrBytes
        let ra = a2.width * 3, rb = b2.width * 3
        var out = [UInt8]()
        out.reserveCapacity((ra + rb) * h)
        for y in 0..<h {
            out += ab[(y * ra)..<((y + 1) * ra)]
            out += bb[(y * rb)..<((y + 1) * rb)]
        }
        return Image.fromBGR(out, width: a2.width + b2.width, height: h)!
    }
}
