import FaceGateCore
import Foundation
import Testing

/// `PoseContinuity`: a fit that jumps faster than a head can turn is held until the next picture confirms it; real
/// fast movements pass at every rate and delivery, a still face gains no motion.
@Suite struct PoseContinuityTests {
    /// `facegate analyze --json` on the Krzysiek fixture clip (../shared/fixtures/liveness/Krzysiek354__Python_Face_Detection/
    /// videos/real.mp4, `ffmpeg -vf fps=30`; 16 fps source, so pictures come in identical pairs), frames 70–100,
    /// commit 72be7fc: (t, yaw, pitch, roll). A fast turn to the left with the head down; at 2.566/2.600 s and
    /// 3.000/3.033 s the same picture gives poses 40–45° apart (the landmark fit follows the tracker's box).
    static let krzysiek30: [(Double, Double, Double, Double)] = [
        (2.333, -4.9, 5.0, -7.6), (2.366, 13.5, 6.2, -6.5), (2.400, 8.7, 5.9, -7.3), (2.433, 22.7, 6.6, -8.7),
        (2.466, 22.7, 6.5, -8.7), (2.500, 23.2, -6.8, -11.2), (2.533, 26.9, -3.7, -11.4), (2.566, -13.5, -25.3, 2.1),
        (2.600, 28.3, 0.6, -11.1), (2.633, -12.9, -25.5, 4.9), (2.666, 15.9, -5.8, -2.9), (2.700, 4.5, -26.8, -2.2),
        (2.733, 28.1, 1.1, -4.8), (2.766, 8.4, -22.4, -0.6), (2.800, 19.2, -11.1, -2.6), (2.833, 14.6, -14.6, -1.5),
        (2.866, 16.6, -13.0, 1.5), (2.900, 19.6, -0.8, -3.1), (2.933, 15.6, -16.3, -0.8), (2.966, 16.4, -17.8, -0.7),
        (3.000, 31.1, 4.0, -0.9), (3.033, -3.0, -19.1, 0.4), (3.066, 32.8, 6.2, -2.6), (3.100, -0.6, -15.2, -3.9),
        (3.133, 26.1, 5.1, -2.2), (3.166, 24.8, 5.3, -2.4), (3.200, 8.3, 6.3, -2.7), (3.233, 8.3, 6.3, -2.7),
        (3.266, -20.5, 7.2, -6.5), (3.300, -33.9, 2.6, -8.4), (3.333, -31.9, 4.0, -8.2),
    ]

    /// Changes of more than `limit` degrees between consecutive reported poses.
    static func jumps(_ poses: [HeadPose], over limit: Double) -> Int {
        zip(poses, poses.dropFirst()).filter { PoseContinuity.distance($0, $1) > limit }.count
    }

    /// Out-and-back: a pose more than `limit` away from both neighbours, which are within `limit` of each other.
    static func outAndBack(_ poses: [HeadPose], over limit: Double) -> Int {
        guard poses.count >= 3 else { return 0 }
        return (1..<poses.count - 1).filter { i in
            PoseContinuity.distance(poses[i], poses[i - 1]) > limit && PoseContinuity.distance(poses[i], poses[i + 1]) > limit
                && PoseContinuity.distance(poses[i - 1], poses[i + 1]) < limit
        }.count
    }

    static func run(_ samples: [(t: Double, pose: HeadPose)]) -> [HeadPose] {
        var c = PoseContinuity()
        return samples.map { c.update($0.pose, at: $0.t) }
    }

    @Test func theFixtureFlipIsHeld() {
        let raw = Self.krzysiek30.map { (t: $0.0, pose: HeadPose(yaw: $0.1, pitch: $0.2, roll: $0.3)) }
        let out = Self.run(raw)
        let flip = 35.0  // above the 34° a head can turn in 33 ms (780°/s + fit noise)
        #expect(Self.jumps(raw.map(\.pose), over: flip) >= 6, "the recorded fits alternate")
        #expect(Self.outAndBack(raw.map(\.pose), over: flip) >= 3)
        #expect(Self.jumps(out, over: flip) == 0, "reported: \(out.map { Int($0.yaw.rounded()) })")
        #expect(Self.outAndBack(out, over: flip) == 0)
        // Every reported pose is one the fit produced (nothing invented), and the turn to the right at the end is kept.
        for (i, p) in out.enumerated() { #expect(raw[...i].contains { $0.pose == p }) }
        #expect(out.last!.yaw < -30)
    }

    /// Yaw of a turn of `amplitude` degrees starting at `start`, lasting `duration` (cosine ease), then held.
    static func turn(_ t: Double, start: Double = 0.5, duration: Double = 0.15, amplitude: Double = 25) -> Double {
        let u = min(max((t - start) / duration, 0), 1)
        return amplitude * (1 - cos(.pi * u)) / 2
    }

    enum Delivery: CaseIterable { case plain, duplicated, sameTimestampRepeats, everyThirdDropped, jitter20ms }

    /// Timestamps and the source time each picture shows, for a delivery at `fps` over `seconds`.
    static func frames(fps: Double, seconds: Double, _ d: Delivery, seed: UInt64) -> [(t: Double, shown: Double)] {
        var rng = seededRNG(seed)
        var out: [(t: Double, shown: Double)] = []
        let n = Int(seconds * fps)
        for i in 0..<n {
            let t = Double(i) / fps
            switch d {
            case .plain: out.append((t, t))
            case .duplicated: out.append((t, Double(Int(t * fps * 0.8)) / (fps * 0.8)))  // a source at 80 % of the rate
            case .sameTimestampRepeats: out.append((t, t)); if i % 4 == 0 { out.append((t, t)) }
            case .everyThirdDropped: if i % 3 != 2 { out.append((t, t)) }
            case .jitter20ms: out.append((max(0, t + (rng.uniform() - 0.5) * 0.04), t))
            }
        }
        return out
    }

    @Test(arguments: [10.0, 12.0, 15.0, 25.0, 30.0, 60.0])
    func aRealFastTurnIsSeenAtEveryRate(fps: Double) {
        for d in Delivery.allCases {
            for seed in 0..<5 as Range<UInt64> {
                var rng = seededRNG(seed &+ 100)
                let start = 0.4 + rng.uniform() * 0.2
                let samples = Self.frames(fps: fps, seconds: 1.5, d, seed: seed).map { f in
                    (t: f.t, pose: HeadPose(yaw: Self.turn(f.shown, start: start) + rng.normal() * 1.5,
                                            pitch: rng.normal() * 1.5, roll: rng.normal() * 0.5))
                }
                let out = Self.run(samples)
                // The turn is seen in full, at most one picture later than in the raw fits.
                let rawFirst = samples.firstIndex { $0.pose.yaw >= 22 }
                let outFirst = out.firstIndex { $0.yaw >= 22 }
                #expect(rawFirst != nil && outFirst != nil, "\(fps) fps \(d) seed \(seed)")
                if let r = rawFirst, let o = outFirst { #expect(o - r <= 1, "\(fps) fps \(d) seed \(seed): held \(o - r) frames") }
                #expect(out.suffix(3).allSatisfy { $0.yaw > 20 })
            }
        }
    }

    @Test(arguments: [10.0, 12.0, 15.0, 25.0, 30.0, 60.0])
    func aVigorousShakeIsNotHeld(fps: Double) {
        // ±20° at 2.6 Hz (the fastest voluntary head oscillation measured, Grossman et al. 1988): peak 327°/s.
        let samples = (0..<Int(2 * fps)).map { i -> (t: Double, pose: HeadPose) in
            let t = Double(i) / fps
            return (t, HeadPose(yaw: 20 * sin(2 * .pi * 2.6 * t), pitch: 0, roll: 0))
        }
        var c = PoseContinuity()
        for s in samples { _ = c.update(s.pose, at: s.t) }
        #expect(c.heldCount == 0)
    }

    @Test func aStillFaceGainsNoMotion() {
        // A photo held still: small fit noise and, now and then, one picture fitted 40° off (a bad box).
        var rng = seededRNG(7)
        for fps in [10.0, 12.0, 30.0, 60.0] {
            let samples = (0..<Int(10 * fps)).map { i -> (t: Double, pose: HeadPose) in
                let spike = i % 17 == 9 ? 40.0 : 0
                return (Double(i) / fps, HeadPose(yaw: 3 + rng.normal() * 1 + spike, pitch: -2 + rng.normal() * 1, roll: rng.normal() * 0.5))
            }
            let out = Self.run(samples)
            let rawRange = samples.map(\.pose.yaw).max()! - samples.map(\.pose.yaw).min()!
            let outRange = out.map(\.yaw).max()! - out.map(\.yaw).min()!
            #expect(outRange <= rawRange)
            if fps >= 30 { #expect(outRange < 15, "\(fps) fps: a single 40° fit is held") }
        }
    }

    @Test func anImpossibleJumpThatStaysIsAcceptedOnTheNextPicture() {
        // Two pictures with the same timestamp: 30° at once is held, then confirmed by the next picture.
        var d = PoseContinuity()
        _ = d.update(.frontal, at: 1.0)
        #expect(d.update(HeadPose(yaw: 30, pitch: 0, roll: 0), at: 1.0) == .frontal)
        #expect(d.held)
        #expect(d.update(HeadPose(yaw: 31, pitch: 0, roll: 0), at: 1.033).yaw == 31)
        #expect(!d.held)
        // A long pause (a dropped stretch) allows any change.
        #expect(d.update(HeadPose(yaw: -40, pitch: 0, roll: 0), at: 1.2).yaw == -40)
        d.reset()
        #expect(d.reported == nil && d.heldCount == 0)
    }

    @Test func allowanceFollowsTime() {
        #expect(PoseContinuity.allowance(after: 0) == PoseContinuity.fitNoise)
        #expect(PoseContinuity.allowance(after: -0.02) == PoseContinuity.fitNoise)
        #expect(abs(PoseContinuity.allowance(after: 1.0 / 30) - 34) < 0.1)
        #expect(PoseContinuity.allowance(after: 1.0 / 12) > 25 + PoseContinuity.fitNoise)
    }
}

/// The suites' seeded SplitMix64 (FrameTimingCueTests.Rng), seeded as before so every series is unchanged.
private func seededRNG(_ seed: UInt64) -> FrameTimingCueTests.Rng { .init(state: seed &+ 0x9E37_79B9_7F4A_7C15) }
