import FaceGateCore
import Foundation
import Testing

/// The frame-timing deny cue of the face-unlock daemon on synthetic timestamp series: sensor-like jitter (what the
/// V4L2 spec and uvcvideo imply: a few hundred µs to a few ms, stamped at 1 µs resolution) passes; perfectly regular
/// and file-like (container time base) series are denied; too few frames or unstamped frames abstain.
@Suite struct FrameTimingCueTests {
    /// A seeded generator (SplitMix64) so each series is reproducible.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        /// Standard normal (Box–Muller).
        mutating func normal() -> Double { sqrt(-2 * log(max(uniform(), 1e-300))) * cos(2 * .pi * uniform()) }
    }

    /// A camera at `fps` stamped from the monotonic clock (starting at `start` s, i.e. uptime) with Gaussian jitter
    /// `jitter` (s), rounded to 1 µs as struct timeval is; `drop` frames lost now and then.
    static func sensor(fps: Double, frames: Int, jitter: Double, seed: UInt64, start: Double = 35_214.118_407,
                       dropEvery: Int? = nil) -> [Double] {
        var rng = Rng(state: seed)
        var out: [Double] = []
        var k = 0
        while out.count < frames {
            k += 1
            if let d = dropEvery, k % d == 0 { continue }
            let t = start + Double(k) / fps + jitter * rng.normal()
            out.append((t * 1e6).rounded() / 1e6)
        }
        return out
    }

    @Test(arguments: [(30.0, 0.000_2), (30.0, 0.001), (30.0, 0.003), (15.0, 0.000_5), (25.0, 0.002), (60.0, 0.000_3)])
    func jitteredSensorTimingIsNotDenied(fps: Double, jitter: Double) {
        for seed in UInt64(1)...50 {
            let v = FrameTimingCue(timestamps: Self.sensor(fps: fps, frames: 40, jitter: jitter, seed: seed)).verdict
            guard case .sensorLike = v else {
                Issue.record("fps \(fps), jitter \(jitter * 1e6) µs, seed \(seed): \(v)")
                return
            }
        }
    }

    /// Margin below the assumed few hundred µs: 20 µs of jitter, and a camera that drops every 7th frame, still pass;
    /// so does a UVC-like stamp on a 125 µs microframe grid plus a few µs of interrupt latency.
    @Test func smallJitterDroppedFramesAndMicroframeGridPass() {
        for seed in UInt64(1)...50 {
            let small = FrameTimingCue(timestamps: Self.sensor(fps: 30, frames: 20, jitter: 0.000_02, seed: seed)).verdict
            #expect(!small.isDeny, "20 µs jitter, seed \(seed): \(small)")
            let dropping = FrameTimingCue(timestamps: Self.sensor(fps: 30, frames: 30, jitter: 0.000_5, seed: seed, dropEvery: 7)).verdict
            #expect(!dropping.isDeny, "drops, seed \(seed): \(dropping)")
            var rng = Rng(state: seed &* 977)
            let grid = (1...30).map { k -> Double in
                let ideal = 100.0 + Double(k) / 30
                let onMicroframe = (ideal / 0.000_125).rounded(.up) * 0.000_125
                return ((onMicroframe + 0.000_003 * abs(rng.normal())) * 1e6).rounded() / 1e6
            }
            let g = FrameTimingCue(timestamps: grid).verdict
            #expect(!g.isDeny, "microframe grid, seed \(seed): \(g)")
        }
    }

    @Test(arguments: [30.0, 29.97, 25.0, 15.0, 24.0])
    func perfectlyRegularTimingIsDenied(fps: Double) {
        let ts = (0..<40).map { 1234.5 + Double($0) / fps }
        let v = FrameTimingCue(timestamps: ts).verdict
        guard case .deny(.perfectlyRegular(let s)) = v else { Issue.record("\(fps) fps: \(v)"); return }
        #expect(s < FrameTimingCue.regularSpreadMicroseconds)
        // a regular series with one dropped frame and one late frame: still regular (robust spread)
        var gapped = ts
        gapped.remove(at: 17)
        gapped[30] += 0.004
        #expect(FrameTimingCue(timestamps: gapped).verdict.isDeny, "\(fps) fps with a gap")
    }

    /// A file's time stamps as a decoder (or a v4l2loopback writer that copies them) hands them out: presentation
    /// times on the container's time base — 1 ms (WebM/Matroska), 1/90 kHz (MPEG-TS) — starting at 0.
    @Test func fileTimestampsAreDenied() {
        // 30 fps on a 1 ms base: 33, 33, 34 ms … (2 distinct intervals)
        let ms = (0..<40).map { (Double($0) * 1000 / 30).rounded() / 1000 }
        #expect(FrameTimingCue(timestamps: ms).verdict.isDeny, "\(FrameTimingCue(timestamps: ms).verdict)")
        // 29.97 fps on a 90 kHz base: 3003 ticks, exact
        let ts90k = (0..<40).map { Double($0 * 3003) / 90_000 }
        #expect(FrameTimingCue(timestamps: ts90k).verdict.isDeny)
        // 24 fps on a 1 ms base with a dropped frame (41/42/83 ms): 3 distinct values, spread not 0
        var dropped = (0..<41).map { (Double($0) * 1000 / 24).rounded() / 1000 }
        dropped.remove(at: 20)
        let v = FrameTimingCue(timestamps: dropped).verdict
        #expect(v.isDeny, "\(v)")
        // every fourth interval is 34 ms: the robust spread is 0 but the values say 'time base' either way
        let mixed = FrameTimingCue(timestamps: (0..<30).map { (Double($0) * 1000 / 29.5).rounded() / 1000 }).verdict
        #expect(mixed.isDeny, "\(mixed)")
    }

    @Test func tooFewOrUnstampedFramesAbstain() {
        let few = FrameTimingCue(timestamps: (0..<(FrameTimingCue.minFrames - 1)).map { Double($0) / 30 }).verdict
        #expect(few == .abstain(.tooFewFrames(FrameTimingCue.minFrames - 1)))
        #expect(!few.isDeny)
        #expect(FrameTimingCue(timestamps: []).verdict == .abstain(.tooFewFrames(0)))
        // a driver that stamps every buffer alike (raspberrypi/linux#2351): nothing to judge, not a deny
        let same = FrameTimingCue(timestamps: Array(repeating: 812.5, count: 30)).verdict
        #expect(same == .abstain(.notIncreasing(29)))
        // exactly the minimum of a perfectly regular series is judged
        #expect(FrameTimingCue(timestamps: (0..<FrameTimingCue.minFrames).map { Double($0) / 30 }).verdict.isDeny)
    }

    @Test func reasonsAreOneLine() {
        let texts = [FrameTimingCue.Denial.perfectlyRegular(spreadMicroseconds: 0).description,
                     FrameTimingCue.Denial.quantized(distinctIntervals: 2, intervals: 39).description,
                     FrameTimingCue.Abstention.tooFewFrames(3).description,
                     FrameTimingCue.Abstention.notIncreasing(29).description]
        for t in texts { #expect(!t.isEmpty && !t.contains("\n"), "\(t)") }
    }
}
