import FaceGateCore
import Foundation
import Testing

/// A frontal 68-point face drawn from a simple template (eyes, brows, nose, mouth, jaw), for geometry tests.
func templateFace(center: Point2 = Point2(320, 240), scale: Double = 1, eyeOpen: Double = 1, mouthOpen: Double = 0) -> Landmarks68 {
    var p = [Point2](repeating: .zero, count: 68)
    for i in 0...16 {  // jaw, from the subject's right (image left) round the chin
        let a = Double.pi * Double(i) / 16
        p[i] = Point2(-70 * cos(a), -10 + 90 * sin(a))
    }
    for i in 0..<5 { p[17 + i] = Point2(-60 + Double(i) * 12, -45); p[22 + i] = Point2(12 + Double(i) * 12, -45) }
    for i in 0..<4 { p[27 + i] = Point2(0, -30 + Double(i) * 10) }
    for i in 0..<5 { p[31 + i] = Point2(-12 + Double(i) * 6, 12) }
    func eye(_ base: Int, cx: Double) {
        let h = 6 * eyeOpen
        p[base] = Point2(cx - 15, -25); p[base + 3] = Point2(cx + 15, -25)
        p[base + 1] = Point2(cx - 5, -25 - h); p[base + 2] = Point2(cx + 5, -25 - h)
        p[base + 4] = Point2(cx + 5, -25 + h); p[base + 5] = Point2(cx - 5, -25 + h)
    }
    eye(36, cx: -35); eye(42, cx: 35)
    for i in 0..<12 { let a = 2 * Double.pi * Double(i) / 12; p[48 + i] = Point2(-25 * cos(a), 40 - 8 * sin(a)) }
    let o = 15 * mouthOpen
    p[60] = Point2(-20, 40); p[64] = Point2(20, 40)
    p[61] = Point2(-8, 40 - 1 - o / 2); p[62] = Point2(0, 40 - 1 - o / 2); p[63] = Point2(8, 40 - 1 - o / 2)
    p[67] = Point2(-8, 40 + 1 + o / 2); p[66] = Point2(0, 40 + 1 + o / 2); p[65] = Point2(8, 40 + 1 + o / 2)
    return Landmarks68(points: p.map { center + $0 * scale })
}

@Suite struct GeometryTests {
    @Test func eyeAspectRatioFallsWhenEyesClose() {
        let open = templateFace().eyeAspect
        let closed = templateFace(eyeOpen: 0.1).eyeAspect
        #expect(open.left > 0.3 && open.right > 0.3)
        #expect(closed.left < 0.1 && closed.right < 0.1)
        // Scale invariance.
        #expect(abs(templateFace(scale: 3).eyeAspect.mean - open.mean) < 1e-9)
    }

    @Test func mouthAspectRatioRisesWhenMouthOpens() {
        #expect(templateFace().mouthAspectRatio < 0.1)
        #expect(templateFace(mouthOpen: 2).mouthAspectRatio > 0.5)
    }

    @Test func rollFromEyeLineFollowsConvention() {
        // Rotate the template so the subject's left eye (image right) drops: a tilt to their own left shoulder.
        let f = templateFace()
        let c = Point2(320, 240), a = 15.0 * Double.pi / 180
        let rotated = Landmarks68(points: f.points.map { q in
            let d = q - c
            return c + Point2(d.x * cos(a) - d.y * sin(a), d.x * sin(a) + d.y * cos(a))
        })
        #expect(abs(HeadPose.roll(from: rotated) - 15) < 1e-6)
        #expect(abs(HeadPose.roll(from: f)) < 1e-9)
    }

    @Test func mirroringSwapsSidesAndKeepsShape() {
        let f = templateFace(eyeOpen: 0.5)
        let m = f.mirrored(imageWidth: 640)
        // The subject's right eye stays the subject's right eye, now on the other side of the image.
        #expect(abs(m.rightEAR - f.leftEAR) < 1e-9)
        #expect(m.rightEyeCenter.x < m.leftEyeCenter.x)
        #expect(Set(Landmarks68.mirrorIndex).count == 68)
        #expect(m.mirrored(imageWidth: 640).points.elementsEqual(f.points) { $0.distance(to: $1) < 1e-9 })
    }

    @Test func rectangles() {
        let a = Rect(x: 0, y: 0, width: 10, height: 10), b = Rect(x: 5, y: 0, width: 10, height: 10)
        #expect(abs(a.iou(b) - 50.0 / 150.0) < 1e-12)
        #expect(a.iou(Rect(x: 20, y: 20, width: 1, height: 1)) == 0)
        #expect(a.expanded(by: 0.5) == Rect(x: -5, y: -5, width: 20, height: 20))
        #expect(Rect.bounding([Point2(1, 2), Point2(-1, 5)]) == Rect(x: -1, y: 2, width: 2, height: 3))
    }

    @Test func primaryFaceUsesScoreNotJustSize() {
        // A large low-confidence detection (a poster) against a smaller confident face: the face wins.
        let poster = (box: Rect(x: 0, y: 0, width: 300, height: 300), score: 0.1)
        let person = (box: Rect(x: 400, y: 100, width: 180, height: 180), score: 1.5)
        #expect(PrimaryFace.select([poster, person]) == 1)
        // Equal scores: the larger face wins.
        #expect(PrimaryFace.select([(Rect(x: 0, y: 0, width: 100, height: 100), 1.0), (Rect(x: 0, y: 0, width: 200, height: 200), 1.0)]) == 1)
        #expect(PrimaryFace.select([]) == nil)
    }

    @Test func embeddingDistance() {
        let a = Embedding([Float](repeating: 0, count: 128))
        var v = [Float](repeating: 0, count: 128); v[0] = 3; v[1] = 4
        #expect(abs(a.distance(to: Embedding(v)) - 5) < 1e-6)
    }
}
