import FaceGateCore
import Foundation
import Testing

/// The refresh-banding cue's decision logic on generated row profiles: a scene (smooth structure, a moving bright
/// "head", sensor noise, exposure drift) with or without a rolling display band.
@Suite("Passive refresh-banding cue (synthetic row profiles)")
struct BandingCueTests {
    struct Scene {
        var rows = 480
        var seed: UInt64 = 1
        var bandDepth = 0.0
        var bandCycles = 6.0
        /// Phase advance per frame (radians): 0 = a band that stands still (lamp flicker locked to the frame rate).
        var bandStep = 1.1
        var noise = 0.6
        var brightness = 1.0

        func profile(_ t: Int) -> [Double] {
            var rng = SplitMix(seed &+ UInt64(t) &* 7919)
            let head = 140 + 30 * sin(Double(t) * 0.15)   // the face moves up and down (≤ 4.5 rows per frame)
            let exposure = 1 + 0.04 * sin(Double(t) * 0.05)
            return (0..<rows).map { y in
                let yy = Double(y)
                var v = 90 + 25 * sin(yy / 37) + 12 * cos(yy / 11 + 1)                      // the scene
                v += 50 * exp(-pow((yy - head) / 55, 2))                                       // the head
                v *= exposure
                v *= 1 + bandDepth * sin(2 * .pi * bandCycles * yy / Double(rows) + bandStep * Double(t))
                return max(0, min(255, brightness * v + noise * rng.gaussian()))
            }
        }
    }

    struct SplitMix {
        var s: UInt64
        init(_ s: UInt64) { self.s = s }
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        mutating func gaussian() -> Double { (-2 * log(max(1e-12, uniform()))).squareRoot() * cos(2 * .pi * uniform()) }
    }

    func run(_ scene: Scene, frames: Int, every: Int = 1, duplicate: Bool = false) -> BandingCue {
        var cue = BandingCue()
        for t in stride(from: 0, to: frames * every, by: every) {
            let p = scene.profile(t)
            cue.add(rowProfile: p)
            if duplicate { cue.add(rowProfile: p) }
        }
        return cue
    }

    /// A band that turns between frames exactly as a 100 Hz lamp's would at 30 fps (2π·100/30 per frame), with every
    /// 7th frame dropped (uneven intervals): the cue abstains. A display band rolling at 1.1 rad per frame (5.3 Hz) in
    /// the same frames with the same timestamps is still refused, and so is the lamp band without timestamps.
    @Test func aBandRollingAtALampsRateAbstainsWithTimestamps() {
        func cue(step: Double, timed: Bool) -> BandingCue {
            let scene = Scene(bandDepth: 0.08, bandCycles: 4.5, bandStep: step)
            var c = BandingCue()
            for t in 0..<60 where t % 7 != 3 { c.add(rowProfile: scene.profile(t), timestamp: timed ? Double(t) / 30 : nil) }
            return c
        }
        let lamp = cue(step: 2 * .pi * 100 / 30, timed: true)
        #expect(lamp.reading.state == .abstain, "\(lamp.reading.note)")
        #expect((lamp.peak?.ratio ?? 0) >= BandingCue.spoofRatio)
        #expect(abs((lamp.timedFrameRate ?? 0) - 30) < 0.01, "\(lamp.timedPairs) timed pair(s)")
        let display = cue(step: 1.1, timed: true)
        #expect(display.reading.state == .spoof, "\(display.reading.note)")
        #expect((display.lampCoherence(cycles: display.peak!.cycles)?.coherence ?? 0) < BandingCue.lampCoherenceAbstain)
        #expect(cue(step: 2 * .pi * 100 / 30, timed: false).reading.state == .spoof)
    }

    @Test func rollingBandIsDeniedAndTheSameSceneWithoutItIsNot() {
        for seed: UInt64 in 1...4 {
            for (depth, cycles) in [(0.05, 4.5), (0.08, 6.0), (0.16, 8.0), (0.05, 20.0)] {
                let banded = run(Scene(seed: seed, bandDepth: depth, bandCycles: cycles), frames: 40).reading
                #expect(banded.state == .spoof, "depth \(depth), \(cycles) cycles: \(banded.note)")
                #expect((banded.level ?? 0) >= 0.5)
            }
            let plain = run(Scene(seed: seed), frames: 40).reading
            #expect(plain.state == .neutral, "\(plain.note)")
            #expect((plain.level ?? 1) < 0.5)
        }
    }

    @Test func aBandThatStandsStillIsNotARollingBand() {
        // Lamp flicker locked to the frame rate (e.g. 100 Hz at 25 fps) gives bands that do not move: the log ratio of
        // consecutive frames cancels them.
        let r = run(Scene(bandDepth: 0.1, bandStep: 0), frames: 40).reading
        #expect(r.state == .neutral, "\(r.note)")
    }

    @Test func lowerFrameRatesAndRepeatedFramesKeepTheDecision() {
        // Every 2nd / 3rd frame (12 or 8 fps from 25): the band moves further per frame; still one frequency.
        for every in [2, 3] {
            #expect(run(Scene(bandDepth: 0.06), frames: 30, every: every).reading.state == .spoof)
            #expect(run(Scene(), frames: 30, every: every).reading.state == .neutral)
        }
        // Each frame twice (a duplicated-frame stream): the repeated pairs are skipped, not counted as "no band".
        let dup = run(Scene(bandDepth: 0.06), frames: 30, duplicate: true)
        #expect(dup.repeated == 30)
        #expect(dup.pairs == 29)
        #expect(dup.reading.state == .spoof)
        #expect(run(Scene(), frames: 30, duplicate: true).reading.state == .neutral)
    }

    @Test func abstainsWhenItCannotSee() {
        var still = BandingCue()
        still.addStill()
        #expect(still.reading.state == .abstain)
        // Too few distinct frames.
        let few = run(Scene(bandDepth: 0.16), frames: BandingCue.minimumPairs)
        #expect(few.pairs == BandingCue.minimumPairs - 1)
        #expect(few.reading.state == .abstain)
        #expect(run(Scene(bandDepth: 0.16), frames: BandingCue.minimumPairs + 1).reading.state == .spoof)
        // A frozen stream (every frame the same).
        var frozen = BandingCue()
        let p = Scene(bandDepth: 0.16).profile(0)
        for _ in 0..<40 { frozen.add(rowProfile: p) }
        #expect(frozen.pairs == 0 && frozen.reading.state == .abstain)
        // Too dark to carry a band, and too few rows.
        #expect(run(Scene(bandDepth: 0.16, brightness: 0.05), frames: 40).reading.state == .abstain)
        #expect(run(Scene(rows: 60, bandDepth: 0.16), frames: 40).reading.state == .abstain)
        // A resolution change restarts the pairing instead of comparing unlike profiles.
        var mixed = BandingCue()
        for t in 0..<20 { mixed.add(rowProfile: Scene(rows: t % 2 == 0 ? 480 : 360, bandDepth: 0.16).profile(t)) }
        #expect(mixed.pairs == 0)
    }

    @Test func exposureDriftAndLargeMotionAreNotBands() {
        // A fast, large head movement and a strong exposure ramp (auto-exposure settling).
        var cue = BandingCue()
        for t in 0..<40 {
            let s = Scene(seed: 9, noise: 1.5)
            let gain = 0.6 + 0.4 * Double(t) / 40
            cue.add(rowProfile: s.profile(t * 3).map { min(255, $0 * gain) })
        }
        #expect(cue.reading.state == .neutral, "\(cue.reading.note)")
    }

    /// Low-frequency rolling bands (1.5–4 cycles per frame height, under the peak test's searched band: the simulator's
    /// seed-5 replays). With timestamps a line that turns at one rate in one direction is refused; the peak test alone
    /// does not see these bands, and without timestamps (no lamp test possible) the low-frequency test does not vote.
    @Test func aLowFrequencyRollingBandIsDeniedWithTimestamps() {
        for seed: UInt64 in 1...3 {
            for (cycles, step) in [(2.5, 0.9), (1.8, 2.4), (2.2, 0.5)] {   // 3.6, 9.5, 2.0 Hz at 25 fps
                let scene = Scene(seed: seed, bandDepth: 0.06, bandCycles: cycles, bandStep: step)
                var timed = BandingCue(), untimed = BandingCue()
                for t in 0..<50 {
                    timed.add(rowProfile: scene.profile(t), timestamp: Double(t) / 25)
                    untimed.add(rowProfile: scene.profile(t))
                }
                #expect(timed.reading.state == .spoof, "\(cycles) cycles: \(timed.reading.note)")
                #expect((timed.reading.level ?? 0) >= 0.5)
                #expect((timed.peak?.ratio ?? 99) < BandingCue.spoofRatio, "the peak test alone misses it")
                #expect((timed.lowBand?.oneSided ?? 0) >= BandingCue.rollSpoof)
                #expect(untimed.reading.state == .neutral, "\(untimed.reading.note)")
            }
        }
    }

    /// A short session (session 12): 3 s at 10 fps with every 3rd frame lost, 20 frames = 19 timed pairs (under the
    /// earlier floor of 20). A low band rolling in those frames is refused; the same scene without it is not.
    @Test func aLowBandInAShortSessionWithLostFramesIsDenied() {
        for seed: UInt64 in 1...3 {
            for (cycles, step) in [(2.5, 0.9), (2.2, 0.5)] {
                var band = BandingCue(), plain = BandingCue()
                for t in 0..<30 where t % 3 != 2 {
                    let ts = Double(t) / 10
                    band.add(rowProfile: Scene(seed: seed, bandDepth: 0.06, bandCycles: cycles, bandStep: step).profile(t), timestamp: ts)
                    plain.add(rowProfile: Scene(seed: seed).profile(t), timestamp: ts)
                }
                #expect(band.timedPairs == 19)
                #expect(band.reading.state == .spoof, "\(cycles) cycles: \(band.reading.note)")
                #expect(plain.reading.state == .neutral, "\(plain.reading.note)")
            }
        }
    }

    /// What also changes the low lines and must stay neutral: the head moving (slowly, and 4× faster), an exposure ramp,
    /// and a camera tilted steadily for the whole session (a broadband scene scrolled 4–12 rows per frame rolls every
    /// line, at rates proportional to the line); a 50 Hz lamp at 30 fps (1.5 cycles, rolling at −10 Hz) abstains.
    @Test func lowFrequencyHeadMotionExposureAndTiltAreNotBands() {
        for seed: UInt64 in 1...3 {
            var plain = BandingCue(), ramp = BandingCue(), fast = BandingCue(), lamp = BandingCue()
            let scene = Scene(seed: seed)
            for t in 0..<60 {
                let ts = Double(t) / 30
                plain.add(rowProfile: scene.profile(t), timestamp: ts)
                ramp.add(rowProfile: scene.profile(t).map { min(255, $0 * (0.6 + 0.4 * Double(t) / 60)) }, timestamp: ts)
                fast.add(rowProfile: scene.profile(t * 4), timestamp: ts)
                lamp.add(rowProfile: Scene(seed: seed, bandDepth: 0.2, bandCycles: 1.5, bandStep: 2 * .pi * 50 / 30).profile(t), timestamp: ts)
            }
            for (name, c) in [("head", plain), ("exposure ramp", ramp), ("fast head", fast)] {
                #expect(c.reading.state == .neutral, "\(name): \(c.reading.note)")
                #expect((c.lowBand?.oneSided ?? 1) < BandingCue.rollSpoof)
            }
            #expect(lamp.reading.state == .abstain, "\(lamp.reading.note)")
            #expect((lamp.lowBand?.lamp ?? 0) >= BandingCue.lowLampShare)
        }
        for v in [4.0, 8, 12] {
            var tilt = BandingCue()
            for t in 0..<50 {
                var rng = SplitMix(UInt64(t) &* 7919)
                let p = (0..<480).map { y -> Double in
                    let yy = Double(y) + v * Double(t)
                    var s = 90.0
                    for m in 1...40 { s += 30 / Double(m) * sin(2 * .pi * Double(m) * yy / 480 + Double(m * m % 17)) }
                    return max(0, min(255, s + 0.6 * rng.gaussian()))
                }
                tilt.add(rowProfile: p, timestamp: Double(t) / 25)
            }
            #expect(tilt.reading.state != .spoof, "tilt \(v) rows/frame: \(tilt.reading.note)")
        }
    }

    /// A line 4–8× its neighbours (under `spoofRatio`; the lestari15 phone replay's 5-cycle band reaches 5.0–10.7) is a
    /// display's band when it also rolls at one rate in one direction (timestamps needed); a line as strong whose phase
    /// jumps at random between frames (as Blink-Detector's steady 7-cycle line: roll 0.09–0.13) stays neutral.
    @Test func aModerateLineIsABandOnlyWhenItRolls() {
        for seed: UInt64 in 1...3 {
            var rolling = BandingCue(), untimed = BandingCue(), random = BandingCue()
            var rng = SplitMix(seed &* 99)
            for t in 0..<50 {
                let p = Scene(seed: seed, bandDepth: 0.02, bandCycles: 6, bandStep: 1.1).profile(t)
                rolling.add(rowProfile: p, timestamp: Double(t) / 25)
                untimed.add(rowProfile: p)
                let phase = 2 * Double.pi * rng.uniform()
                random.add(rowProfile: Scene(seed: seed, bandDepth: 0.02, bandCycles: 7, bandStep: phase / Double(max(t, 1))).profile(t),
                           timestamp: Double(t) / 25)
            }
            for c in [rolling, random] {
                let r = c.peak?.ratio ?? 0
                #expect(r >= BandingCue.rollPeakRatio && r < BandingCue.spoofRatio, "ratio \(r)")
            }
            #expect(rolling.reading.state == .spoof, "\(rolling.reading.note)")
            #expect(untimed.reading.state == .neutral, "\(untimed.reading.note)")
            #expect(random.reading.state == .neutral, "\(random.reading.note)")
            #expect((random.roll(cycles: random.peak!.cycles)?.oneSided ?? 1) < BandingCue.rollSpoof)
        }
    }
}
