import Foundation

/// A point in image pixel coordinates: x to the right, y downwards, origin at the top-left corner of the
/// raw (unmirrored) frame.
public struct Point2: Sendable, Hashable, Codable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
    public init(x: Double, y: Double) { self.x = x; self.y = y }

    public static let zero = Point2(0, 0)
    public static func + (a: Point2, b: Point2) -> Point2 { Point2(a.x + b.x, a.y + b.y) }
    public static func - (a: Point2, b: Point2) -> Point2 { Point2(a.x - b.x, a.y - b.y) }
    public static func * (a: Point2, s: Double) -> Point2 { Point2(a.x * s, a.y * s) }
    public static func / (a: Point2, s: Double) -> Point2 { Point2(a.x / s, a.y / s) }
    public var length: Double { (x * x + y * y).squareRoot() }
    public func distance(to o: Point2) -> Double { (self - o).length }
    public static func mean(_ pts: some Collection<Point2>) -> Point2 {
        guard !pts.isEmpty else { return .zero }
        var sx = 0.0, sy = 0.0
        for p in pts { sx += p.x; sy += p.y }
        return Point2(sx / Double(pts.count), sy / Double(pts.count))
    }
}

/// An axis-aligned rectangle in pixels.
public struct Rect: Sendable, Hashable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var minX: Double { x }
    public var minY: Double { y }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var center: Point2 { Point2(x + width / 2, y + height / 2) }
    public var area: Double { max(0, width) * max(0, height) }
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    public func intersection(_ o: Rect) -> Rect {
        let x0 = max(minX, o.minX), y0 = max(minY, o.minY)
        let x1 = min(maxX, o.maxX), y1 = min(maxY, o.maxY)
        return Rect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }
    /// Intersection over union, 0...1.
    public func iou(_ o: Rect) -> Double {
        let i = intersection(o).area
        let u = area + o.area - i
        return u > 0 ? i / u : 0
    }
    /// The rectangle grown by `factor` of its size on every side (0.2 = 20 % each side).
    public func expanded(by factor: Double) -> Rect {
        Rect(x: x - width * factor, y: y - height * factor, width: width * (1 + 2 * factor), height: height * (1 + 2 * factor))
    }
    /// A square of side `side` centred on this rectangle's centre.
    public func squared(scale: Double = 1) -> Rect {
        let s = max(width, height) * scale
        let c = center
        return Rect(x: c.x - s / 2, y: c.y - s / 2, width: s, height: s)
    }
    public func clamped(width w: Double, height h: Double) -> Rect {
        intersection(Rect(x: 0, y: 0, width: w, height: h))
    }
    public func scaled(by s: Double) -> Rect { Rect(x: x * s, y: y * s, width: width * s, height: height * s) }
    public static func bounding(_ pts: some Collection<Point2>) -> Rect {
        guard let f = pts.first else { return Rect(x: 0, y: 0, width: 0, height: 0) }
        var x0 = f.x, y0 = f.y, x1 = f.x, y1 = f.y
        for p in pts { x0 = min(x0, p.x); y0 = min(y0, p.y); x1 = max(x1, p.x); y1 = max(y1, p.y) }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
    /// `[x, y, w, h]` rounded to whole pixels, as printed in JSON.
    public var intArray: [Int] { [Int(x.rounded()), Int(y.rounded()), Int(width.rounded()), Int(height.rounded())] }
}
