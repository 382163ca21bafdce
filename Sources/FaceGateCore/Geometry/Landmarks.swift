import Foundation

/// The 68-point iBUG 300-W landmark layout used by dlib's shape predictor.
///
/// Index ranges are in the *subject's* terms: the subject's right eye is 36–41 and appears on the image's left
/// side in a raw (unmirrored) camera frame; the subject's left eye is 42–47.
public struct Landmarks68: Sendable, Hashable, Codable {
    public var points: [Point2]

    public init(points: [Point2]) {
        precondition(points.count == 68, "Landmarks68 needs 68 points, got \(points.count)")
        self.points = points
    }
    /// Nil when the array does not hold exactly 68 points.
    public init?(checking points: [Point2]) {
        guard points.count == 68 else { return nil }
        self.points = points
    }

    public subscript(i: Int) -> Point2 { points[i] }

    public static let jaw = 0...16
    public static let rightBrow = 17...21
    public static let leftBrow = 22...26
    public static let noseBridge = 27...30
    public static let noseLower = 31...35
    public static let rightEye = 36...41
    public static let leftEye = 42...47
    public static let outerLips = 48...59
    public static let innerLips = 60...67
    public static let noseTip = 30
    public static let chin = 8

    public var rightEyePoints: [Point2] { Array(points[Self.rightEye]) }
    public var leftEyePoints: [Point2] { Array(points[Self.leftEye]) }
    public var rightEyeCenter: Point2 { Point2.mean(points[Self.rightEye]) }
    public var leftEyeCenter: Point2 { Point2.mean(points[Self.leftEye]) }
    /// Distance between the eye centres (pixels): the face's natural scale.
    public var interocular: Double { rightEyeCenter.distance(to: leftEyeCenter) }
    public var boundingBox: Rect { Rect.bounding(points) }

    /// Eye aspect ratio (Soukupová & Čech 2016) of one eye given its six points p1…p6:
    /// (|p2−p6| + |p3−p5|) / (2 |p1−p4|). ≈0.25–0.35 open, < 0.15 closed.
    public static func eyeAspectRatio(_ e: [Point2]) -> Double {
        guard e.count == 6 else { return 0 }
        let h = e[0].distance(to: e[3])
        guard h > 1e-9 else { return 0 }
        return (e[1].distance(to: e[5]) + e[2].distance(to: e[4])) / (2 * h)
    }
    public var rightEAR: Double { Self.eyeAspectRatio(rightEyePoints) }
    public var leftEAR: Double { Self.eyeAspectRatio(leftEyePoints) }
    public var eyeAspect: EyeAspect { EyeAspect(left: leftEAR, right: rightEAR) }

    /// Mouth aspect ratio from the inner lip contour: mean of three vertical openings over the mouth width.
    /// ≈0–0.1 closed, > 0.5 wide open.
    public var mouthAspectRatio: Double {
        let p = points
        let width = p[60].distance(to: p[64])
        guard width > 1e-9 else { return 0 }
        let v = p[61].distance(to: p[67]) + p[62].distance(to: p[66]) + p[63].distance(to: p[65])
        return v / (3 * width)
    }

    /// Points mirrored horizontally in an image of the given width, with indices swapped so that the
    /// subject's left stays the subject's left (what a mirrored camera would show).
    public func mirrored(imageWidth w: Double) -> Landmarks68 {
        var out = [Point2](repeating: .zero, count: 68)
        for i in 0..<68 { out[Self.mirrorIndex[i]] = Point2(w - 1 - points[i].x, points[i].y) }
        return Landmarks68(points: out)
    }

    /// Index each point maps to under a horizontal mirror.
    public static let mirrorIndex: [Int] = {
        var m = Array(0..<68)
        func pair(_ a: ClosedRange<Int>, _ b: [Int]) { for (i, j) in zip(a, b) { m[i] = j; m[j] = i } }
        pair(0...7, Array((9...16).reversed()))
        pair(17...21, Array((22...26).reversed()))
        pair(31...32, [35, 34])
        pair(36...39, [45, 44, 43, 42]); pair(40...41, [47, 46])
        pair(48...50, [54, 53, 52]); pair(58...59, [56, 55])
        m[60] = 64; m[64] = 60; m[61] = 63; m[63] = 61
        m[67] = 65; m[65] = 67
        return m
    }()
}

public struct EyeAspect: Sendable, Hashable, Codable {
    public var left: Double
    public var right: Double
    public init(left: Double, right: Double) { self.left = left; self.right = right }
    public var mean: Double { (left + right) / 2 }
}
