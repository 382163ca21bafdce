import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// One line of a chart.
public struct PlotSeries: Sendable {
    public var name: String
    public var points: [Point2]
    public var color: Color
    public var thickness: Int
    /// Draw a small circle at every point.
    public var markers: Bool
    public init(name: String, points: [Point2], color: Color, thickness: Int = 2, markers: Bool = false) {
        self.name = name; self.points = points; self.color = color; self.thickness = thickness; self.markers = markers
    }
}

/// How an axis maps values to positions.
public enum PlotScale: Sendable {
    case linear
    /// Base-10 logarithm (values ≤ 0 are clipped to the axis minimum).
    case log10
    /// Normal deviate (probit) of a probability — the DET-curve scale of ISO/IEC 30107-3 and NIST.
    case probit

    func transform(_ v: Double) -> Double {
        switch self {
        case .linear: return v
        case .log10: return Foundation.log10(max(v, 1e-12))
        case .probit: return FaceGateLab.probit(min(max(v, 1e-6), 1 - 1e-6))
        }
    }
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
public func probit(_ p: Double) -> Double {
    let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
    let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let lo = 0.02425
    if p < lo {
        let q = (-2 * log(p)).squareRoot()
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    if p > 1 - lo {
        let q = (-2 * log(1 - p)).squareRoot()
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    let q = p - 0.5, r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
}

/// Line charts to PNG with the native drawing API: title, axes with ticks and labels, grid, legend.
///
/// ```swift
/// var plot = PlotRenderer(title: "Training", xLabel: "epoch", yLabel: "loss")
/// try plot.write([PlotSeries(name: "train", points: pts, color: .blue)], to: "loss.png")
/// ```
public struct PlotRenderer: Sendable {
    public var width = 800
    public var height = 600
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: PlotScale = .linear
    public var yScale: PlotScale = .linear
    /// Axis ranges in data units; nil = fitted to the data (with 5 % margin on linear axes).
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Tick positions in data units; nil = about 6 "nice" ticks (linear) or decades (log).
    public var xTicks: [Double]?
    public var yTicks: [Double]?
    /// Tick label text; default: compact decimal.
    public var xTickLabel: @Sendable (Double) -> String = PlotRenderer.defaultLabel
    public var yTickLabel: @Sendable (Double) -> String = PlotRenderer.defaultLabel
    public var background = Color(255, 255, 255)
    /// Extra straight guide lines (data units), e.g. the diagonal of a DET plot.
    public var guides: [(from: Point2, to: Point2, color: Color)] = []

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    public static let defaultLabel: @Sendable (Double) -> String = { v in
        if v == 0 { return "0" }
        if abs(v) >= 1000 || abs(v) < 0.01 { return String(format: "%.0e", v) }
        if v == v.rounded() { return String(format: "%.0f", v) }
        return String(format: abs(v) < 0.1 ? "%.3g" : "%.2g", v)
    }

    /// "Nice" ticks (1, 2, 5 × 10^k steps) covering a range.
    public static func niceTicks(_ r: ClosedRange<Double>, count: Int = 6) -> [Double] {
        let span = r.upperBound - r.lowerBound
        guard span > 0, span.isFinite else { return [r.lowerBound] }
        let raw = span / Double(max(1, count - 1))
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
        var t = ceil(r.lowerBound / step) * step
        var out: [Double] = []
        while t <= r.upperBound + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    func fittedRange(_ values: [Double], scale: PlotScale) -> ClosedRange<Double> {
        let v = values.filter(\.isFinite)
        guard var lo = v.min(), var hi = v.max() else { return 0...1 }
        if scale == .log10 { lo = max(lo, 1e-12); hi = max(hi, lo * 10) }
        if lo == hi { lo -= 0.5; hi += 0.5 }
        if case .linear = scale { let m = (hi - lo) * 0.05; lo -= m; hi += m }
        return lo...hi
    }

    static func decadeTicks(_ r: ClosedRange<Double>) -> [Double] {
        let a = Int(floor(log10(max(r.lowerBound, 1e-12)))), b = Int(ceil(log10(max(r.upperBound, 1e-12))))
        return (a...max(a, b)).map { pow(10, Double($0)) }.filter { $0 >= r.lowerBound * 0.999 && $0 <= r.upperBound * 1.001 }
    }

    /// Draws the chart.
    public func render(_ series: [PlotSeries]) -> Image {
        let img = Image(width: width, height: height, color: background)
        let ink = Color(30, 30, 30), grid = Color(225, 225, 225)
        let left = 80, right = width - 24, top = title.isEmpty ? 24 : 56, bottom = height - 64
        let xr = xRange ?? fittedRange(series.flatMap { $0.points.map(\.x) }, scale: xScale)
        let yr = yRange ?? fittedRange(series.flatMap { $0.points.map(\.y) }, scale: yScale)
        let tx0 = xScale.transform(xr.lowerBound), tx1 = xScale.transform(xr.upperBound)
        let ty0 = yScale.transform(yr.lowerBound), ty1 = yScale.transform(yr.upperBound)
        func px(_ x: Double) -> Double { Double(left) + (xScale.transform(x) - tx0) / max(tx1 - tx0, 1e-12) * Double(right - left) }
        func py(_ y: Double) -> Double { Double(bottom) - (yScale.transform(y) - ty0) / max(ty1 - ty0, 1e-12) * Double(bottom - top) }
        func clampPt(_ p: Point2) -> Point2 {
            Point2(min(max(px(p.x), Double(left)), Double(right)), min(max(py(p.y), Double(top)), Double(bottom)))
        }
        let xt = xTicks ?? (xScale == .log10 ? Self.decadeTicks(xr) : Self.niceTicks(xr))
        let yt = yTicks ?? (yScale == .log10 ? Self.decadeTicks(yr) : Self.niceTicks(yr))
        // Grid and ticks.
        for v in xt where xr.contains(v) {
            let x = px(v)
            img.drawLine(Point2(x, Double(top)), Point2(x, Double(bottom)), color: grid, thickness: 1)
            img.drawLine(Point2(x, Double(bottom)), Point2(x, Double(bottom + 5)), color: ink, thickness: 1)
            let label = xTickLabel(v)
            let w = Image.textWidth(label, scale: 0.45)
            img.drawText(label, at: Point2(x - Double(w) / 2, Double(bottom + 20)), scale: 0.45, color: ink)
        }
        for v in yt where yr.contains(v) {
            let y = py(v)
            img.drawLine(Point2(Double(left), y), Point2(Double(right), y), color: grid, thickness: 1)
            img.drawLine(Point2(Double(left - 5), y), Point2(Double(left), y), color: ink, thickness: 1)
            let label = yTickLabel(v)
            let w = Image.textWidth(label, scale: 0.45)
            img.drawText(label, at: Point2(Double(left - 8 - w), y + 5), scale: 0.45, color: ink)
        }
        // Axes box.
        img.drawRect(Rect(x: Double(left), y: Double(top), width: Double(right - left), height: Double(bottom - top)), color: ink, thickness: 1)
        // Guides.
        for g in guides { img.drawLine(clampPt(g.from), clampPt(g.to), color: g.color, thickness: 1) }
        // Series.
        for s in series {
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            for (a, b) in zip(pts, pts.dropFirst()) {
                img.drawLine(clampPt(a), clampPt(b), color: s.color, thickness: s.thickness)
            }
            if s.markers || pts.count == 1 {
                for p in pts { img.drawCircle(clampPt(p), radius: 3, color: s.color, thickness: -1) }
            }
        }
        // Title and axis labels.
        if !title.isEmpty {
            let w = Image.textWidth(title, scale: 0.7, thickness: 2)
            img.drawText(title, at: Point2(Double(width - w) / 2, 34), scale: 0.7, color: ink, thickness: 2)
        }
        let xw = Image.textWidth(xLabel, scale: 0.55)
        img.drawText(xLabel, at: Point2(Double(left + right - xw) / 2, Double(height - 18)), scale: 0.55, color: ink)
        // The y label is drawn horizontally above the axis (Hershey text cannot be rotated).
        img.drawText(yLabel, at: Point2(8, Double(top - 10)), scale: 0.55, color: ink)
        // Legend, top-right inside the plot.
        let named = series.filter { !$0.name.isEmpty }
        if !named.isEmpty {
            let lw = (named.map { Image.textWidth($0.name, scale: 0.5) }.max() ?? 0) + 44
            let lh = 22 * named.count + 8
            let box = Rect(x: Double(right - lw - 10), y: Double(top + 10), width: Double(lw), height: Double(lh))
            img.fillRect(box, color: Color(250, 250, 250), alpha: 0.9)
            img.drawRect(box, color: Color(160, 160, 160), thickness: 1)
            for (i, s) in named.enumerated() {
                let y = box.y + 19 + Double(22 * i)
                img.drawLine(Point2(box.x + 8, y - 5), Point2(box.x + 30, y - 5), color: s.color, thickness: max(2, s.thickness))
                img.drawText(s.name, at: Point2(box.x + 36, y), scale: 0.5, color: ink)
            }
        }
        return img
    }

    /// Renders and writes a PNG (or any format by extension).
    public func write(_ series: [PlotSeries], to path: String) throws {
        try render(series).write(path)
    }
}

/// DET curve (APCER vs BPCER on probit axes, ISO/IEC 30107-3) from PAD metrics.
public enum DETPlot {
    public static let ticks = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95]

    public static func renderer(title: String = "DET curve") -> PlotRenderer {
        var p = PlotRenderer(title: title, xLabel: "APCER (worst attack species)", yLabel: "BPCER")
        p.xScale = .probit; p.yScale = .probit
        p.xRange = 0.001...0.95; p.yRange = 0.001...0.95
        p.xTicks = ticks; p.yTicks = ticks
        let pct: @Sendable (Double) -> String = { v in v < 0.01 ? String(format: "%.1f%%", v * 100) : String(format: "%.0f%%", v * 100) }
        p.xTickLabel = pct; p.yTickLabel = pct
        p.guides = [(Point2(0.001, 0.001), Point2(0.95, 0.95), Color(190, 190, 190))]
        return p
    }

    /// Writes the DET curve of `metrics` (one series per named metrics set, e.g. per fusion mode).
    public static func write(_ curves: [(name: String, metrics: PadMetrics)], to path: String, title: String = "DET curve") throws {
        let colors = [Color.blue, Color.red, Color(40, 160, 70), Color(160, 90, 200), Color(230, 140, 30)]
        let series = curves.enumerated().map { i, c in
            // Zero error rates cannot be drawn on a probit axis: clamp to the axis floor so the curve stays visible.
            PlotSeries(name: c.name, points: c.metrics.det.map { Point2(max($0.apcer, 0.001), max($0.bpcer, 0.001)) },
                       color: colors[i % colors.count], thickness: 2, markers: c.metrics.det.count < 30)
        }
        try renderer(title: title).write(series, to: path)
    }
}
