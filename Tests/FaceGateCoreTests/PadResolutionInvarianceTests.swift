import FaceGateCore
import Foundation
import Testing

/// Session 10 (#15, unseen cameras): the pixel cues' face region and a still's bezel decision must not depend on the
/// image's resolution. Pure arithmetic; the media side is `PassiveResolutionTests` (FaceGateVisionTests).
@Suite("Passive cues: resolution invariance (core)")
struct PadResolutionInvarianceTests {
    /// A frontal-ish 68-point face: a jaw arc, brows, nose, eyes, mouth (enough for a bounding box).
    static func face(scale k: Double, at o: Point2 = Point2(100, 80)) -> [Point2] {
        (0..<68).map { i -> Point2 in
            let a = Double(i) / 67 * .pi
            let p = i < 17 ? Point2(50 - 48 * cos(a * 67 / 16), 60 + 50 * sin(a * 67 / 16))
                           : Point2(20 + Double((i * 37) % 60), 15 + Double((i * 13) % 70))
            return Point2(o.x + k * p.x, o.y + k * p.y)
        }
    }

    @Test func cueRegionScalesWithTheFaceWhateverTheDetectorBox() {
        let small = PadFaceRegion.box(landmarks: Self.face(scale: 1), fallback: Rect(x: 0, y: 0, width: 10, height: 10))
        // The same face 8.4x larger (a 480-px frame upscaled to a 4032-px phone photo), and a detector box of another size.
        let k = 8.4
        let big = PadFaceRegion.box(landmarks: Self.face(scale: k, at: Point2(100 * k, 80 * k)),
                                    fallback: Rect(x: 0, y: 0, width: 999, height: 999))
        #expect(abs(big.width / k - small.width) < 1e-6)
        #expect(abs(big.x / k - small.x) < 1e-6 && abs(big.y / k - small.y) < 1e-6)
        // Square, centred on the landmarks, 1.05 x their larger extent.
        let b = Rect.bounding(Self.face(scale: 1))
        #expect(abs(small.width - PadFaceRegion.sideOverLandmarkExtent * max(b.width, b.height)) < 1e-9)
        #expect(small.width == small.height)
        #expect(abs(small.center.x - b.center.x) < 1e-9 && abs(small.center.y - b.center.y) < 1e-9)
    }

    @Test func collapsedLandmarksFallBackToTheDetectorBox() {
        let fallback = Rect(x: 5, y: 6, width: 70, height: 72)
        let collapsed = Array(repeating: Point2(40, 40), count: 68)
        #expect(PadFaceRegion.box(landmarks: collapsed, fallback: fallback) == fallback)
        #expect(PadFaceRegion.box(landmarks: [], fallback: fallback) == fallback)
    }

    static let device = BezelMeasurement(found: true, areaRatio: 4, aspect: 1.8, edgeSupport: 0.9)
    static let nothing = BezelMeasurement.none

    @Test func aStillIsADeviceOnlyWhenMostLooksFindOne() {
        // One look of five finds a quad (a chance alignment of edges at one working size): not a device.
        var one = BezelCue()
        one.add(looks: [Self.nothing, Self.nothing, Self.device, Self.nothing, Self.nothing])
        #expect(one.reading.state != .spoof)
        #expect(one.frames == 1 && one.hits == 0)
        // Two of five: still not (a single-look still used to deny on one hit; the share rule of video would on 2/5).
        var two = BezelCue()
        two.add(looks: [Self.device, Self.nothing, Self.device, Self.nothing, Self.nothing])
        #expect(two.reading.state != .spoof)
        // Three of five: a device.
        var three = BezelCue()
        three.add(looks: [Self.device, Self.nothing, Self.device, Self.device, Self.nothing])
        #expect(three.reading.state == .spoof)
        #expect(three.frames == 1 && three.hits == 1)
        // The neutral level stays below the deny level and does not take the lone look's support.
        #expect((one.reading.level ?? 1) < 0.5)
        #expect(one.bestSupport == 0)
    }
}
