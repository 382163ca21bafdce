import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// The refresh-banding cue on real fixture clips (also resampled, frame-duplicated and heavily compressed with ffmpeg)
/// and on the simulator's full-view replays that the models and moiré missed (session 6: replays of d3 and
/// driving.mp4, seed 2).
@Suite("Passive refresh-banding cue on clips", .serialized)
struct PassiveBandingTests {
    static let d3 = "motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"
    static let driving = "motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4"
    static let webcam = "liveness/Krzysiek354__Python_Face_Detection/videos/real.mp4"
    static var ready: Bool { TestPaths.hasFixtures && TestPaths.hasModels }

    /// The banding cue alone over the first `frames` frames of a clip (face-independent: no tracking needed).
    static func banding(_ path: String, frames: Int = 50) throws -> BandingCue {
        let src = try VideoSource.file(path)
        var cue = BandingCue()
        var n = 0
        while n < frames, let f = try src.next() {
            if let p = PadNative.rowProfile(f.image) { cue.add(rowProfile: p, timestamp: f.timestamp) }
            n += 1
        }
        return cue
    }

    @Test func rowProfileIsTheMeanLuminanceOfEachRow() throws {
        let img = Image(width: 40, height: 3, color: .black)
        // Row 1 pure green, row 2 half white: luminance 0.587 * 255 and 127.5.
        img.fillRect(Rect(x: 0, y: 1, width: 40, height: 1), color: Color(0, 255, 0))
        img.fillRect(Rect(x: 0, y: 2, width: 20, height: 1), color: Color(255, 255, 255))
        let p = try #require(PadNative.rowProfile(img))
        #expect(p.count == 3)
        #expect(abs(p[0]) < 1e-9)
        #expect(abs(p[1] - 0.587 * 255) < 1e-6)
        #expect(abs(p[2] - 127.5) < 1e-6)
    }

    @Test(.enabled(if: ready)) func simulatorReplaysThatTheModelsMissedShowRollingBands() throws {
        let dir = TestPaths.tempDir("pad-banding")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (clip, seed) in [(Self.d3, UInt64(2)), (Self.driving, 2), (Self.d3, 1), (Self.d3, 5), (Self.driving, 5)] {
            // Seed 1 rolls at 4.9 Hz at 25 fps, the closest of seeds 1–4 to a lamp (480 Hz's alias is 5 Hz):
            // its lamp coherence 0.84 stays under BandingCue.lampCoherenceAbstain. Seed 5's bands are < 4 cycles per
            // frame height (rolling at 3.8 Hz): only the low-frequency roll test sees them (session 10).
            var sim = AttackSimulator(kind: .replay, seed: seed)
            sim.duration = 2
            let out = dir + "/replay.mp4"
            try sim.render(input: TestPaths.fixture(clip), output: out)
            let cue = try Self.banding(out)
            #expect(cue.reading.state == .spoof, "\(clip): \(cue.reading.note)")
            // Through the runner: the fused verdict is refused and names the cue.
            var o = PassiveOptions()
            o.maxFrames = 40
            let rep = try EnginePool.shared.with { try PassiveRunner.run(try openSource(out), engine: $0, options: o) }
            #expect(!rep.verdict.live)
            #expect(rep.verdict.decidedBy.map(\.name).contains(PadCue.banding.name), "\(rep.verdict.decidedBy.map(\.name))")
        }
    }

    /// The simulator's seed-5 screens (device in view, bands of < 4 cycles per frame height) are refused by the
    /// low-frequency roll test; the peak test alone does not see them.
    @Test(.enabled(if: ready)) func lowFrequencyBandsOfSeed5ScreensAreRefused() throws {
        let dir = TestPaths.tempDir("pad-banding-low")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for clip in [Self.d3, Self.driving] {
            var sim = AttackSimulator(kind: .screen, seed: 5)
            sim.duration = 2
            let out = dir + "/screen.mp4"
            try sim.render(input: TestPaths.fixture(clip), output: out)
            let cue = try Self.banding(out)
            #expect(cue.reading.state == .spoof, "\(clip): \(cue.reading.note)")
            #expect((cue.peak?.ratio ?? 99) < BandingCue.spoofRatio)
            #expect((cue.lowBand?.oneSided ?? 0) >= BandingCue.rollSpoof)
        }
    }

    /// The lestari15 phone replay (a real re-capture of a phone screen): its 5-cycle band is 7.3× its neighbours over
    /// 50 frames (under `spoofRatio`) and rolls at one rate in one direction (0.88): refused by the roll test
    /// (session 10). Blink-Detector's genuine 7-cycle line (≈ 4–6×) does not roll: neutral.
    @Test(.enabled(if: ready)) func aRealPhoneReplayRollsAGenuineSteadyLineDoesNot() throws {
        let replay = try Self.banding(TestPaths.fixture("liveness/lestari15__CNN-face-detection/videos/fake.mp4"))
        #expect(replay.reading.state == .spoof, "\(replay.reading.note)")
        #expect((replay.peak?.ratio ?? 99) < BandingCue.spoofRatio)
        let blink = try Self.banding(TestPaths.fixture("motion/repeating__Blink-Detector/video.mp4"), frames: 150)
        #expect(blink.reading.state == .neutral, "\(blink.reading.note)")
    }

    @Test(.enabled(if: ready)) func genuineClipsStayQuietAtOtherRatesDuplicatedAndCompressed() throws {
        let dir = TestPaths.tempDir("pad-banding-real")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // d3 is the genuine clip with the highest ratio in the fixtures (head motion at 3 cycles).
        let d3 = TestPaths.fixture(Self.d3)
        let variants: [(String, [String])] = [
            ("12fps.mp4", ["-t", "4", "-i", d3, "-vf", "fps=12", "-c:v", "mpeg4", "-q:v", "3"]),
            ("dup50.mp4", ["-t", "2", "-i", d3, "-vf", "fps=50", "-c:v", "mpeg4", "-q:v", "3"]),      // every frame ~twice
            ("q28.mp4", ["-t", "2", "-i", d3, "-c:v", "mpeg4", "-q:v", "28"]),                          // heavy compression
            ("jitter.mp4", ["-t", "3", "-i", d3, "-vf", "select='not(eq(mod(n\\,7)\\,3))',setpts=N/25/TB", "-c:v", "mpeg4", "-q:v", "3"]), // dropped frames
        ]
        var clips = [d3, TestPaths.fixture(Self.webcam), TestPaths.fixture(Self.driving)]
        for (name, args) in variants {
            try ffmpeg(args + [dir + "/" + name])
            clips.append(dir + "/" + name)
        }
        for c in clips {
            let cue = try Self.banding(c)
            #expect(cue.reading.state == .neutral, "\((c as NSString).lastPathComponent): \(cue.reading.note)")
            #expect(cue.pairs >= BandingCue.minimumPairs)
        }
    }

    /// A genuine face under a flickering lamp (docs/passive-liveness.md, "Lamp flicker"): the lamp's light rendered
    /// as a rolling-shutter camera sees it (row y exposed at t + y/H · 30 ms, luma × (1 + D·sin 2πF·t)) on the
    /// genuine d3 clip (30 fps). 50 Hz is below the searched band and 120 Hz is locked to 30 fps (the bands stand
    /// still): quiet. 100 Hz at 30 fps, and a 100 Hz square wave (its 5th harmonic rolls), roll: the band turns
    /// between frames exactly as a 100/500 Hz lamp's would, so the cue abstains instead of refusing the person
    /// (session 8 recorded this as a known issue; BandingCue.lampCoherence is the fix).
    @Test(.enabled(if: ready)) func genuineFaceUnderLampFlicker() throws {
        let dir = TestPaths.tempDir("pad-banding-flicker")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d3 = TestPaths.fixture(Self.d3)
        func flicker(_ hz: Int, _ depth: Double) throws -> BandingCue {
            let out = dir + "/flicker\(hz).mp4"
            let wave = "sin(2*PI*\(hz)*(T+Y*0.030/H))"
            try ffmpeg(["-t", "2", "-i", d3, "-an", "-vf", "format=yuv420p,geq=lum='clip(lum(X,Y)*(1+\(depth)*\(wave)),0,255)':cb='cb(X,Y)':cr='cr(X,Y)'",
                        "-c:v", "mpeg4", "-q:v", "2", out])
            return try Self.banding(out)
        }
        // 120 Hz at 30 fps stands still: quiet. 50 Hz (1.5 cycles at a 30 ms readout) rolls at −10 Hz: the
        // low-frequency roll test sees the band and its lamp model (50 Hz) explains it: abstain (session 10; before,
        // 1.5 cycles were simply not searched).
        let locked = try flicker(120, 0.1)
        #expect(locked.pairs >= BandingCue.minimumPairs)
        #expect(locked.reading.state == .neutral, "120 Hz: \(locked.reading.note)")
        let mains = try flicker(50, 0.3)
        #expect(mains.reading.state == .abstain, "50 Hz: \(mains.reading.note)")
        #expect((mains.lowBand?.lamp ?? 0) >= BandingCue.lowLampShare)
        let rolling = try flicker(100, 0.1)
        #expect(rolling.reading.state == .abstain, "\(rolling.reading.note)")
        #expect((rolling.peak?.ratio ?? 0) >= BandingCue.spoofRatio, "the band is there: \(rolling.reading.note)")
        let lamp = try #require(rolling.peak.flatMap { rolling.lampCoherence(cycles: $0.cycles) })
        #expect(lamp.frequency == 100 || lamp.frequency == 400, "\(lamp)")  // 400 Hz aliases 100 Hz at 30 fps
        // Without timestamps the lamp test cannot run: the same frames are refused as before.
        var untimed = BandingCue()
        let src = try VideoSource.file(dir + "/flicker100.mp4")
        var n = 0
        while n < 50, let f = try src.next() { if let p = PadNative.rowProfile(f.image) { untimed.add(rowProfile: p) }; n += 1 }
        #expect(untimed.reading.state == .spoof, "\(untimed.reading.note)")
    }

    @Test(.enabled(if: ready)) func quietOnAFrozenClipAndAbstainsOnAStill() throws {
        let dir = TestPaths.tempDir("pad-banding-still")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A photo looped into a video: only codec noise changes between frames — no band.
        let photo = TestPaths.fixture("identities/ageitgey__face_recognition/examples/knn_examples/train/obama/obama.jpg")
        try ffmpeg(["-loop", "1", "-t", "2", "-i", photo, "-vf", "scale=480:-2,fps=25", "-c:v", "mpeg4", "-q:v", "2", dir + "/frozen.mp4"])
        let frozen = try Self.banding(dir + "/frozen.mp4")
        #expect(frozen.reading.state != .spoof && (frozen.reading.level ?? 0) < 0.5, "\(frozen.reading.note)")
        // The photo itself: a still has no bands to see.
        let rep = try EnginePool.shared.with { try PassiveRunner.run(try openSource(photo), engine: $0, options: PassiveOptions()) }
        #expect(rep.verdict.cues.first { $0.name == PadCue.banding.name }?.state == .abstain)
    }
}
