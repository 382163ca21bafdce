import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// Pins the head-pose sign conventions (see `HeadPose`) on synthetic projections and on real photos.
@Suite struct PoseConventionTests {
    static let width = 640, height = 480

    /// Landmarks of the generic face rotated by `rvec` (radians, Rodrigues) at 600 mm from the camera.
    static func synthetic(rvec: [Double]) -> Landmarks68 {
        let idx = PoseEstimator.modelPoints.keys.sorted()
        let sol = PoseEstimator.Solution(pose: .frontal, rvec: rvec, tvec: [0, 0, 600])
        let proj = PoseEstimator.project(idx.map { PoseEstimator.modelPoints[$0]! }, solution: sol, width: width, height: height)
        var pts = [Point2](repeating: proj[idx.firstIndex(of: 30)!], count: 68)
        for (k, i) in idx.enumerated() { pts[i] = proj[k] }
        return Landmarks68(points: pts)
    }

    static let deg = Double.pi / 180

    @Test(arguments: [10.0, 25.0, 40.0])
    func turningToOwnLeftIsPositiveYaw(angle: Double) throws {
        // Turning to one's own left: the face's forward direction swings towards the image's right (raw frame).
        let lm = Self.synthetic(rvec: [0, -angle * Self.deg, 0])
        let mid = (lm[36].x + lm[45].x) / 2
        #expect(lm[30].x > mid, "nose should move towards the image's right")
        let p = PoseEstimator.pose(lm, width: Self.width, height: Self.height)
        #expect(abs(p.yaw - angle) < 2, "yaw \(p.yaw) for a \(angle)° turn to the left")
        let q = PoseEstimator.pose(Self.synthetic(rvec: [0, angle * Self.deg, 0]), width: Self.width, height: Self.height)
        #expect(abs(q.yaw + angle) < 2)
        #expect(abs(p.pitch) < 2 && abs(p.roll) < 2)
    }

    @Test(arguments: [10.0, 25.0])
    func lookingUpIsPositivePitch(angle: Double) {
        let lm = Self.synthetic(rvec: [-angle * Self.deg, 0, 0])
        let p = PoseEstimator.pose(lm, width: Self.width, height: Self.height)
        #expect(abs(p.pitch - angle) < 2, "pitch \(p.pitch) looking up \(angle)°")
        let down = PoseEstimator.pose(Self.synthetic(rvec: [angle * Self.deg, 0, 0]), width: Self.width, height: Self.height)
        #expect(abs(down.pitch + angle) < 2)
    }

    @Test(arguments: [10.0, 25.0])
    func tiltToOwnLeftShoulderIsPositiveRoll(angle: Double) {
        let lm = Self.synthetic(rvec: [0, 0, angle * Self.deg])
        #expect(lm[45].y > lm[36].y, "the subject's left eye (image right) drops")
        let p = PoseEstimator.pose(lm, width: Self.width, height: Self.height)
        #expect(abs(p.roll - angle) < 2)
        #expect(abs(HeadPose.roll(from: lm) - angle) < 3)
    }

    @Test func realPhotoFlippedNegatesYawAndRoll() throws {
        try #require(TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata models`")
        try EnginePool.shared.with { engine in
            let img = try Image.read(TestPaths.testImage("obama.jpg"))
            let a = try #require(engine.analyze(img).primary)
            let b = try #require(engine.analyze(img.flippedHorizontally()).primary)
            #expect(abs(a.pose.yaw + b.pose.yaw) < 4, "yaw \(a.pose.yaw) vs flipped \(b.pose.yaw)")
            #expect(abs(a.pose.roll + b.pose.roll) < 3, "roll \(a.pose.roll) vs flipped \(b.pose.roll)")
            #expect(abs(a.pose.pitch - b.pose.pitch) < 4)
            // The subject's eyes swap sides in a mirror image.
            #expect(abs(a.ear.left - b.ear.right) < 0.05 && abs(a.ear.right - b.ear.left) < 0.05)
        }
    }

    @Test func realPhotoRotatedChangesRoll() throws {
        try #require(TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata models`")
        try EnginePool.shared.with { engine in
            let img = try Image.read(TestPaths.testImage("obama.jpg"))
            let a = try #require(engine.analyze(img).primary)
            // OpenCV's positive angle rotates the picture counter-clockwise: the image-right eye rises, so the
            // roll (towards the subject's left shoulder) decreases by the angle.
            let rotated = img.rotated(degrees: 12, center: a.box.center)
            let b = try #require(engine.analyze(rotated).primary)
            #expect(abs((a.pose.roll - b.pose.roll) - 12) < 3, "roll \(a.pose.roll) → \(b.pose.roll)")
            let c = try #require(engine.analyze(img.rotated(degrees: -12, center: a.box.center)).primary)
            #expect(abs((c.pose.roll - a.pose.roll) - 12) < 3)
        }
    }
}
