import FaceGateCore
import Foundation
import Testing

/// Runs the engine over a synthetic stream: calibrates on the first still frames, then collects every action.
func activeEngineActions(_ stream: inout SynthStream, seconds: Double) -> [DetectedAction] {
    var engine: ActionEngine? = nil
    return activeEngineActions(&stream, seconds: seconds, engine: &engine)
}

/// The same, handing back the engine (its baseline and deliberate-strength rules).
func activeEngineActions(_ stream: inout SynthStream, seconds: Double, engine: inout ActionEngine?) -> [DetectedAction] {
    var calibrator = BaselineCalibrator()
    var out: [DetectedAction] = []
    var i = 0
    var last = -Double.infinity
    while stream.time(ofFrame: i) <= seconds {
        let frames = stream.deliver(i)
        i += 1
        for f in frames {
            // as the session does: a repeated timestamp is the same frame again
            guard f.timestamp > last, let face = f.primary else { continue }
            last = f.timestamp
            let s = FaceSignal(face: face, stamp: FrameStamp(index: f.index, timestamp: f.timestamp))
            if var e = engine {
                out += e.step(s)
                engine = e
            } else if let b = calibrator.add(s) {
                engine = ActionEngine(baseline: b)
            }
        }
    }
    return out
}

@Suite struct ActiveDetectorTests {
    @Test func syntheticFaceFollowsThePoseConventions() {
        func lm(_ y: Double, _ p: Double, _ r: Double, eye: Double = 0, mouth: Double = 0) -> Landmarks68 {
            Landmarks68(points: ActiveSynthFace.landmarks(yaw: y, pitch: p, roll: r, eyeClosure: eye, mouthOpen: mouth))
        }
        let front = lm(0, 0, 0)
        let mid = (front.leftEyeCenter + front.rightEyeCenter) / 2
        #expect(abs(front.interocular - 60) < 1)
        // yaw > 0 (own left): nose tip moves towards the image's right
        #expect(lm(20, 0, 0)[30].x - lm(20, 0, 0).rightEyeCenter.x > front[30].x - front.rightEyeCenter.x + 5)
        #expect(lm(20, 0, 0)[30].x > mid.x)
        // pitch > 0 (up): nose tip rises relative to the eyes
        let up = lm(0, 20, 0)
        #expect(up[30].y - up.rightEyeCenter.y < front[30].y - front.rightEyeCenter.y - 5)
        // roll > 0 (towards the left shoulder): the subject's left eye (image right) drops
        let tilt = lm(0, 0, 20)
        #expect(tilt.leftEyeCenter.y > tilt.rightEyeCenter.y + 10)
        #expect(abs(HeadPose.roll(from: tilt) - 20) < 1.5)
        // morphs
        #expect(front.eyeAspect.mean > 0.28 && front.eyeAspect.mean < 0.36)
        #expect(lm(0, 0, 0, eye: 1).eyeAspect.mean < 0.05)
        #expect(front.mouthAspectRatio < 0.1)
        #expect(lm(0, 0, 0, mouth: 1).mouthAspectRatio > 0.6)
    }

    @Test(arguments: [30.0, 15.0, 10.0])
    func everyActionIsDetectedAsItself(fps: Double) {
        for (n, c) in ChallengeType.allCases.enumerated() {
            var s = SynthStream.noisy(fps: fps, seed: UInt64(100 + n))
            s.add(c, at: 1.5)
            let got = activeEngineActions(&s, seconds: 4.5)
            let mine = got.filter { $0.type == c }
            #expect(mine.count == 1, "\(c) at \(fps) fps: detected \(got.map(\.type))")
            let wrong = got.filter { c.conflicts.contains($0.type) }
            #expect(wrong.isEmpty, "\(c) at \(fps) fps also looked like \(wrong.map(\.type))")
            if let a = mine.first {
                #expect(a.onset.timestamp >= 1.45 && a.onset.timestamp < 2.0, "\(c) onset \(a.onset.timestamp)")
                #expect(a.completion.timestamp > a.onset.timestamp)
            }
        }
    }

    @Test(arguments: [30.0, 10.0])
    func aStaticNoisyFacePerformsNothing(fps: Double) {
        for seed in 0..<3 {
            var s = SynthStream.noisy(fps: fps, seed: UInt64(seed))
            s.poseNoise = 2.0; s.landmarkNoise = 0.7
            let got = activeEngineActions(&s, seconds: 20)
            #expect(got.isEmpty, "static face at \(fps) fps produced \(got.map(\.type))")
        }
    }

    @Test func nearMissesAreNotActions() {
        func run(_ build: (inout SynthStream) -> Void) -> [ChallengeType] {
            var s = SynthStream.noisy(fps: 30, seed: 9)
            build(&s)
            return activeEngineActions(&s, seconds: 14).map(\.type)
        }
        // too small
        #expect(!run { $0.add(.turnLeft, at: 1.5, amplitude: 12) }.contains(.turnLeft))
        #expect(!run { $0.add(.tiltRight, at: 1.5, amplitude: 9) }.contains(.tiltRight))
        #expect(!run { $0.add(.lookUp, at: 1.5, amplitude: 7) }.contains(.lookUp))
        #expect(!run { $0.add(.nod, at: 1.5, amplitude: 4) }.contains(.nod))
        #expect(!run { $0.add(.shake, at: 1.5, amplitude: 5) }.contains(.shake))
        #expect(!run { $0.add(.openMouth, at: 1.5, amplitude: 0.25) }.contains(.openMouth))
        // too slow: a 30° turn drifting over ~6 s is a posture change, not a response
        #expect(!run { $0.add(.turnLeft, at: 1.5, speed: 0.07) }.contains(.turnLeft))
        // a slow, long eye closure (1 s) is not a blink
        #expect(!run { $0.motions.append(SynthMotion(channel: .eye, keys: [(0, 0), (0.1, 1), (1.1, 1), (1.2, 0)], start: 1.5)) }.contains(.blink))
        // syllable-length mouth openings (talking) are not "open mouth"
        #expect(!run { s in
            for k in 0..<6 { s.motions.append(SynthMotion(channel: .mouth, keys: [(0, 0), (0.07, 0.6), (0.14, 0)], start: 1.5 + Double(k) * 0.3)) }
        }.contains(.openMouth))
        // no return: turned and held
        #expect(!run { $0.motions.append(SynthMotion(channel: .yaw, keys: [(0, 0), (0.4, 30)], start: 1.5)) }.contains(.turnLeft))
        // a single turn-and-back is not a shake
        #expect(!run { $0.add(.turnRight, at: 1.5) }.contains(.shake))
        // a one-frame EAR glitch at 30 fps is not a blink
        #expect(!run { $0.motions.append(SynthMotion(channel: .eye, keys: [(0, 0), (0.001, 1), (0.03, 1), (0.031, 0)], start: 1.51)) }.contains(.blink))
    }

    @Test func wrongDirectionsAreSeenAsTheOtherAction() {
        var s = SynthStream.noisy(fps: 15, seed: 3)
        s.add(.turnRight, at: 1.5)
        s.add(.tiltLeft, at: 3.5)
        s.add(.lookDown, at: 5.5)
        let got = activeEngineActions(&s, seconds: 8).map(\.type)
        #expect(got.contains(.turnRight) && !got.contains(.turnLeft))
        #expect(got.contains(.tiltLeft) && !got.contains(.tiltRight))
        #expect(got.contains(.lookDown) && !got.contains(.lookUp))
    }

    @Test func blinkDetectorAbstainsOnSmallFaces() {
        var s = SynthStream.noisy(fps: 30, seed: 5)
        s.interocular = 24      // enough for pose, too small for eyes
        var cal = BaselineCalibrator()
        var engine: ActionEngine? = nil
        var i = 0
        while engine == nil, i < 60 {
            let f = s.frame(i); i += 1
            if let face = f.primary, let b = cal.add(FaceSignal(face: face, stamp: FrameStamp(index: f.index, timestamp: f.timestamp))) {
                engine = ActionEngine(baseline: b)
            }
        }
        var e = try! #require(engine)
        let f = s.frame(i)
        _ = e.step(try! #require(f.primary), stamp: FrameStamp(index: f.index, timestamp: f.timestamp))
        #expect(e.status(of: .blink).isInsufficient)
        #expect(!e.status(of: .turnLeft).isInsufficient)
        // a face that is too small for anything never calibrates
        var tiny = SynthStream(fps: 30)
        tiny.interocular = 14
        var cal2 = BaselineCalibrator()
        for j in 0..<60 {
            let g = tiny.frame(j)
            #expect(cal2.add(FaceSignal(face: g.primary!, stamp: FrameStamp(index: j, timestamp: g.timestamp))) == nil)
        }
        #expect(cal2.hint?.hasPrefix("face too small") == true)
        // typed: the session decides on the blocker, not on the hint's text (#18)
        guard case .faceTooSmall(let iod)? = cal2.blocker else { Issue.record("blocker \(String(describing: cal2.blocker))"); return }
        #expect(iod < SignalLimits.minInterocularForPose)
    }

    @Test func calibrationIsRelativeToThePerson() {
        // someone sitting 25° turned, with narrow eyes: the detectors work from their own neutral
        var s = SynthStream.noisy(fps: 15, seed: 11)
        s.neutral = SynthState(yaw: -25, pitch: 8, roll: -5)
        s.add(.turnLeft, at: 1.5)
        s.add(.blink, at: 3.5)
        let got = activeEngineActions(&s, seconds: 6).map(\.type)
        #expect(got.contains(.turnLeft) && got.contains(.blink))
        #expect(!got.contains(.turnRight))
    }

    /// A person calibrated while talking (pitch noise σ 4.5°) nods at 10 fps as the engine's smoothed pitch shows it
    /// under browser delivery (synthetic nod −15°/+5°, two-picture median: rest → −10° → +3°). The swing asked is
    /// capped at 11° (`SwingDetector.nodMaxNoiseSwing`), and so are the reversal and neutral band that follow the
    /// noise: uncapped they asked 13.5° of reversal, more than the swing, and this nod was never seen. The same
    /// wobble at half the size is still no nod.
    @Test func aNoisyCalibrationDoesNotHideANodAtLowRates() {
        let noisy = ActiveBaseline(yaw: 0, pitch: 0, roll: 0, openEAR: 0.3, earNoise: 0.01, mar: 0.05, marNoise: 0.01,
                                   yawNoise: 1, pitchNoise: 4.5, rollNoise: 1, interocular: 60,
                                   frame: FrameStamp(index: 0, timestamp: 0))
        let rest: [Double] = [0, 1, -1, 0.5, 0, 1, -0.5, 0, 1, 0]
        let nod: [Double] = [-4, -10, -9, -2, 3, 2, 0, 0, 0, 0]
        func run(_ scale: Double) -> [DetectedAction] {
            var d = SwingDetector(type: .nod, parameters: SwingDetector.nod)
            var out: [DetectedAction] = []
            for (i, v) in (rest + nod.map { $0 * scale } + rest).enumerated() {
                let s = FaceSignal(stamp: FrameStamp(index: i, timestamp: Double(i) / 10), yaw: 0, pitch: v, roll: 0,
                                   ear: 0.3, mar: 0.05, interocular: 60, pitchParallax: 0.008 * v)
                if let a = d.update(s, baseline: noisy) { out.append(a) }
            }
            return out
        }
        let seen = run(1)
        #expect(seen.count == 1 && seen.first.map { $0.amplitude >= SwingDetector.nod.minSwing } == true, "\(seen)")
        #expect(run(0.5).isEmpty)
    }

    /// On a face 30 px between the eyes dlib's whole-pixel landmarks make one pixel of eye height a 30 % EAR dip in
    /// both eyes (a small rendered print: 0.25 → 0.17 on one frame). That is no blink
    /// (`BlinkDetector.minDipTimesEyeDistance`); a real blink at the same size (0.25 → 0.10) is, and the same 0.08 dip
    /// on a face 60 px between the eyes (two pixels of lid movement) still counts as before.
    @Test func aOnePixelFlipOnASmallFaceIsNoBlink() {
        func run(_ dip: Double, eyeDistance: Double = 30) -> [DetectedAction] {
            let b = ActiveBaseline(yaw: 0, pitch: 0, roll: 0, openEAR: 0.25, earNoise: 0.005, mar: 0.05, marNoise: 0.01,
                                   yawNoise: 1, pitchNoise: 1, rollNoise: 1, interocular: eyeDistance,
                                   frame: FrameStamp(index: 0, timestamp: 0))
            var d = BlinkDetector()
            var out: [DetectedAction] = []
            let open: [Double] = [0.25, 0.25, 0.24, 0.25, 0.25, 0.25, 0.24, 0.25, 0.25, 0.25, 0.25, 0.24]
            for (i, e) in (open + [dip] + open).enumerated() {
                let s = FaceSignal(stamp: FrameStamp(index: i, timestamp: Double(i) / 12), yaw: 0, pitch: 0, roll: 0,
                                   ear: e, mar: 0.05, interocular: eyeDistance)
                if let a = d.update(s, baseline: b) { out.append(a) }
            }
            return out
        }
        #expect(run(0.17).isEmpty)
        #expect(run(0.10).count == 1)
        #expect(run(0.17, eyeDistance: 60).count == 1)
    }
}
