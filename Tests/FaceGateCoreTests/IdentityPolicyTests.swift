import Foundation
import Testing
@testable import FaceGateCore

/// Still-image subject choice (`SubjectFace`) and the one threshold policy (`ThresholdSettings`, `IdentityPolicy`).
@Suite struct IdentityPolicyTests {
    @Test func subjectIsTheLargestFaceNotABetterScoredBackgroundFace() {
        // The reported case: a 105 px subject in front, a 73 px child behind with a higher detector score, nearer the centre.
        let subject = (box: Rect(x: 330, y: 60, width: 105, height: 105), score: 0.9)
        let child = (box: Rect(x: 210, y: 130, width: 73, height: 73), score: 2.01)
        #expect(SubjectFace.select([child, subject], width: 500, height: 375) == 1)
        #expect(SubjectFace.select([subject, child], width: 500, height: 375) == 0)
        // The tracker's rule (score and size together) picks the child: identity must not use it.
        #expect(PrimaryFace.select([child, subject]) == 0)
    }

    @Test func sameSizeFacesAreDecidedByTheCentreThenTheScore() {
        let left = (box: Rect(x: 20, y: 100, width: 100, height: 100), score: 2.0)
        let centre = (box: Rect(x: 260, y: 110, width: 96, height: 96), score: 0.5)
        #expect(SubjectFace.select([left, centre], width: 640, height: 400) == 1)
        // Equally central and equally large: the detector score breaks the tie.
        let a = (box: Rect(x: 100, y: 100, width: 100, height: 100), score: 0.4)
        let b = (box: Rect(x: 440, y: 100, width: 100, height: 100), score: 1.2)
        #expect(SubjectFace.select([a, b], width: 640, height: 400) == 1)
        #expect(SubjectFace.select([], width: 640, height: 400) == nil)
        #expect(SubjectFace.select([a], width: 640, height: 400) == 0)
    }

    @Test func thresholdOrderIsFlagUserConfigEnvironmentDefault() {
        let all = ThresholdSettings(flag: 0.3, config: 0.45, environment: 0.5)
        #expect(all.resolve(user: 0.4).value == 0.3 && all.resolve(user: 0.4).source == .flag)
        let noFlag = ThresholdSettings(config: 0.45, environment: 0.5)
        #expect(noFlag.resolve(user: 0.4).value == 0.4 && noFlag.resolve(user: 0.4).source == .user)
        #expect(noFlag.resolve(user: nil).value == 0.45 && noFlag.resolve(user: nil).source == .config)
        let envOnly = ThresholdSettings(environment: 0.5)
        #expect(envOnly.resolve(user: nil).value == 0.5 && envOnly.resolve(user: nil).source == .environment)
        #expect(ThresholdSettings().resolve(user: nil).value == IdentityThreshold.default)
        #expect(ThresholdSettings().resolve(user: nil).source == .default)
        // The policy built from the settings applies the same order in verify/identify.
        let p = IdentityPolicy(settings: noFlag)
        #expect(p.resolvedThreshold(override: 0.4).value == 0.4 && p.resolvedThreshold(override: nil).value == 0.45)
        #expect(IdentityPolicy(settings: all).threshold(override: 0.4) == 0.3)
    }

    @Test func perUserThresholdOfSevenIsRefusedAndIgnored() throws {
        #expect(throws: IdentityError.self) { try IdentityThreshold.checkPerUser(7, global: 0.6, force: false) }
        #expect(throws: IdentityError.self) { try IdentityThreshold.checkPerUser(7, global: 0.6, force: true) }
        // Looser than the global one: refused unless forced; stricter: accepted.
        #expect(throws: IdentityError.looserPerUserThreshold(value: 0.7, global: 0.55)) {
            try IdentityThreshold.checkPerUser(0.7, global: 0.55, force: false)
        }
        try IdentityThreshold.checkPerUser(0.7, global: 0.55, force: true)
        try IdentityThreshold.checkPerUser(0.45, global: 0.55, force: false)
        #expect(throws: IdentityError.self) { try ThresholdSettings(config: 1.4).validate() }
        #expect(throws: IdentityError.self) { try ThresholdSettings(flag: 0).validate() }
        // A 7 already stored (before this check existed) never makes every face match that user.
        var g = RandomUnitVectors(seed: 3)
        let a = Embedding(g.vector()), stranger = Embedding(g.vector())
        let r = try IdentityPolicy(threshold: 0.5).verify(templates: [a], probe: stranger, thresholdOverride: 7)
        #expect(!r.match && r.threshold == 0.5 && r.thresholdSource == .default)
    }
}

/// The normalised focus measure and the quality levels.
@Suite struct QualityGateLevelTests {
    /// A deterministic textured 64×64 crop (sum of a few gratings), optionally blurred (`blur` passes of a 3×3 box,
    /// ≈ Gaussian) and contrast-scaled.
    private func crop(blur: Int = 0, contrast: Double = 1, offset: Double = 128) -> [UInt8] {
        let n = FaceSharpness.side
        var v = [Double](repeating: 0, count: n * n)
        for y in 0..<n { for x in 0..<n {
            v[y * n + x] = sin(Double(x) * 1.3) * 30 + cos(Double(y) * 0.9) * 25 + sin(Double(x + y) * 0.4) * 20
        } }
        for _ in 0..<blur {
            var b = v
            for y in 0..<n { for x in 0..<n {
                var s = 0.0, c = 0.0
                for dy in -1...1 { for dx in -1...1 where (0..<n).contains(x + dx) && (0..<n).contains(y + dy) {
                    s += v[(y + dy) * n + x + dx]; c += 1
                } }
                b[y * n + x] = s / c
            } }
            v = b
        }
        return v.map { UInt8(max(0, min(255, (offset + $0 * contrast).rounded()))) }
    }

    @Test func sharpnessFallsWithBlurAndIgnoresContrast() {
        let sharp = FaceSharpness.measure(gray: crop())
        let blurred = FaceSharpness.measure(gray: crop(blur: 3))
        #expect(sharp > 0.5 && blurred < sharp / 2.5, "sharp \(sharp), blurred \(blurred)")
        // Half the contrast and darker: the normalised measure barely moves (the raw Laplacian variance would drop 4×).
        let dim = FaceSharpness.measure(gray: crop(contrast: 0.5, offset: 70))
        #expect(abs(dim - sharp) / sharp < 0.1, "sharp \(sharp), dim \(dim)")
        #expect(FaceSharpness.measure(gray: [UInt8](repeating: 90, count: 64 * 64)) == 0)
    }

    @Test func levelsAreOrderedAndARejectionSaysHowToRelax() {
        let l = QualityGate(level: .lenient), s = QualityGate(level: .standard), t = QualityGate(level: .strict)
        #expect(l.minSharpness < s.minSharpness && s.minSharpness < t.minSharpness)
        #expect(l.minFaceWidth < s.minFaceWidth && s.minFaceWidth < t.minFaceWidth)
        #expect(l.minEyeAspect < s.minEyeAspect && s.minEyeAspect < t.minEyeAspect)
        #expect(s.minSharpness == QualityGate().minSharpness && QualityGate().level == .standard)
        #expect(s.relaxHint?.contains("--quality lenient") == true && t.relaxHint?.contains("--quality standard") == true)
        #expect(l.relaxHint == nil)
        // A 250 px web photo's face (≈ 100 px, sharpness 0.17 after JPEG q75) passes the standard gate; a blurred one does not.
        let web = SampleMeasurements(faces: 1, faceWidth: 100, sharpness: 0.17, brightness: 120, eyeAspect: 0.25,
                                     pose: HeadPose(yaw: 10, pitch: 5, roll: 0))
        #expect(s.rejections(web).isEmpty)
        var blurred = web; blurred.sharpness = 0.05
        #expect(s.rejections(blurred).map(\.code) == ["blurry"])
        #expect(l.rejections(web).isEmpty && !t.rejections(web).isEmpty)
    }

    /// A strong profile (yaw beyond ~45°, either side) is refused at the standard level with the pose reason, and a
    /// face the detector does not find at all (a true profile for HOG) is refused as `no_face`.
    @Test func strongProfilesAreRefused() {
        let s = QualityGate(level: .standard), l = QualityGate(level: .lenient), t = QualityGate(level: .strict)
        let frontal = SampleMeasurements(faces: 1, faceWidth: 150, sharpness: 0.4, brightness: 120, eyeAspect: 0.28,
                                         pose: HeadPose(yaw: 5, pitch: 0, roll: 0))
        #expect(s.rejections(frontal).isEmpty)
        for yaw in [-75.0, -60, -50, 50, 60, 75] {
            var p = frontal; p.pose = HeadPose(yaw: yaw, pitch: 0, roll: 0)
            #expect(s.rejections(p).map(\.code) == ["pose_out_of_range"], "yaw \(yaw)")
            #expect(!t.rejections(p).isEmpty)
            #expect(l.rejections(p).isEmpty == (abs(yaw) <= l.maxYaw), "lenient, yaw \(yaw)")
        }
        // The ordinary portraits' largest measured yaw (44°) still passes.
        var ordinary = frontal; ordinary.pose = HeadPose(yaw: -44, pitch: 0, roll: 0)
        #expect(s.rejections(ordinary).isEmpty)
        var none = frontal; none.faces = 0
        #expect(s.rejections(none).map(\.code) == ["no_face"])
    }
}
