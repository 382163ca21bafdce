import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// Active liveness on real recordings (fixtures) and on still photos rendered to video with ffmpeg.
@Suite(.serialized) struct ActiveLivenessMediaTests {
    static let driving = "motion/KwaiVGI__LivePortrait/assets/examples/driving/"

    /// Runs a session with an explicit plan over a clip. A recording does not act on cue, so each challenge gets
    /// the clip's whole length (`timeout`) and no hold-still before its prompt (a recording cannot wait for one);
    /// everything else (calibration, neutral, wrong action) is as live.
    func session(_ clip: String, _ plan: [ChallengeType], timeout: Double = 20) throws -> LivenessResult? {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { return nil }
        return try EnginePool.shared.with { engine in
            let runner = ActiveRunner(engine: engine, plan: try ChallengePlan(explicit: plan),
                                      configuration: LivenessConfiguration(challengeTimeout: timeout, holdStill: nil), checkIdentity: false)
            return try runner.run(try VideoSource.file(TestPaths.fixture(clip)))
        }
    }

    /// Every action the engine sees in a whole video (calibrating on its first still frames).
    func actions(in path: String) throws -> [DetectedAction] {
        try EnginePool.shared.with { engine in
            let tracker = FaceTracker(engine: engine)
            let source = try VideoSource.file(path)
            var calibrator = BaselineCalibrator()
            var active: ActionEngine? = nil
            var out: [DetectedAction] = []
            while let frame = try source.next() {
                let a = tracker.process(frame)
                guard let face = a.primary else { continue }
                let s = FaceSignal(face: face, stamp: FrameStamp(index: a.index, timestamp: a.timestamp))
                if var e = active { out += e.step(s); active = e } else if let b = calibrator.add(s) { active = ActionEngine(baseline: b) }
            }
            #expect(active != nil, "never calibrated on \(path)")
            return out
        }
    }

    @Test(arguments: ["motion/repeating__Blink-Detector/video.mp4", driving + "d10.mp4", driving + "d9.mp4", driving + "d14.mp4"])
    func clipsWithVerifiedBlinksPassBlink(_ clip: String) throws {
        guard let r = try session(clip, [.blink]) else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        #expect(r.live, "\(clip): \(r.reason ?? "")")
        let latency = try #require(r.challenges[0].latency)
        #expect(latency >= LivenessConfiguration.defaultMinReactionTime)
    }

    /// Issue 14: the browser page sends 12 fps, and a blink that passed at a clip's native rate failed resampled to
    /// 12 fps (a blink can be one frame) and to 30 fps with duplicated frames. The first 6 s of clips with verified
    /// blinks, resampled by ffmpeg, through the real tracker and a blink session. Before the change, d10 at 12 fps
    /// saw no blink at all (its first blink reopens to 0.33 from 0.24 with an open EAR of 0.38–0.45).
    @Test(.enabled(if: TestPaths.hasFixtures && TestPaths.hasModels),
          arguments: [("motion/repeating__Blink-Detector/video.mp4", 12.0), (driving + "d10.mp4", 12.0), (driving + "d9.mp4", 12.0),
                      ("motion/repeating__Blink-Detector/video.mp4", 30.0), (driving + "d10.mp4", 10.0)])
    func blinksPassResampled(_ clip: String, fps: Double) throws {
        let dir = TestPaths.tempDir("active-fps")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/clip.mp4"
        try ffmpeg(["-i", TestPaths.fixture(clip), "-t", "6", "-vf", "fps=\(Int(fps))", "-an", out])
        let r = try EnginePool.shared.with { engine in
            try ActiveRunner(engine: engine, plan: try ChallengePlan(explicit: [.blink]),
                             configuration: LivenessConfiguration(holdStill: nil), checkIdentity: false)
                .run(try VideoSource.file(out))
        }
        #expect(r.live, "\(clip) at \(Int(fps)) fps: \(r.reason ?? "")")
        let latency = try #require(r.challenges[0].latency)
        #expect(latency >= LivenessConfiguration.defaultMinReactionTime)
    }

    @Test func clipsWithHeadTurnsPassTheTurnsTheyContain() throws {
        // Jackie Chan talking head: turns to his left (yaw up to +28°); woman looking around: turns right (−21°)
        let cases: [(String, ChallengeType)] = [("motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4", .turnLeft),
                                                (Self.driving + "d3.mp4", .turnRight)]
        for (clip, turn) in cases {
            guard let r = try session(clip, [turn]) else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
            #expect(r.live, "\(clip) \(turn): \(r.reason ?? "")")
        }
        // and the opposite direction is never mistaken for it: the left-turning clip fails turn-right on a wrong action
        let wrong = try #require(try session("motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4", [.turnRight]))
        #expect(!wrong.live)
    }

    @Test func aMouthOpeningClipPassesOpenMouth() throws {
        guard let r = try session(Self.driving + "d18.mp4", [.openMouth]) else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        #expect(r.live, "\(r.reason ?? "")")
    }

    /// A still photo rendered to 10 s of video: static, with small shakes (±20 px, ±2°), a slow 25 % zoom, and a
    /// perspective wobble (corners ±30 px, as when a printed photo is tilted by hand).
    @Test(arguments: ["static", "shake", "zoom", "wobble"])
    func aStillPhotoPassesNoChallenge(_ kind: String) throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let photo = TestPaths.fixture("identities/ageitgey__face_recognition/examples/knn_examples/train/obama/obama.jpg")
        let dir = TestPaths.tempDir("active-still")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/\(kind).mp4"
        let fit = "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2"
        let filter: String
        switch kind {
        case "shake":
            filter = "scale=720:540:force_original_aspect_ratio=decrease,pad=720:540:(ow-iw)/2:(oh-ih)/2,rotate='2*PI/180*sin(2*PI*t*1.3)':fillcolor=black,crop=640:480:40+20*sin(2*PI*t*0.9):30+15*sin(2*PI*t*1.7+1)"
        case "zoom":
            filter = fit + ",zoompan=z='1+0.25*(1-cos(2*PI*on/150))/2':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=640x480:fps=30"
        case "wobble":
            let a = "sin(2*PI*in/75)", b = "sin(2*PI*in/93)"
            filter = fit + ",perspective=x0='30*(1+\(a))':y0='15*(1+\(b))':x1='W-30*(1-\(a))':y1='15*(1-\(b))':x2='25*(1-\(a))':y2='H-15*(1-\(b))':x3='W-25*(1+\(a))':y3='H-15*(1+\(b))':eval=frame:sense=source"
        default:
            filter = fit
        }
        try ffmpeg(["-loop", "1", "-i", photo, "-t", "10", "-r", "30", "-vf", filter + ",format=yuv420p", out])
        let seen = try actions(in: out)
        #expect(seen.isEmpty, "\(kind): the photo performed \(seen.map { "\($0.type)@\(String(format: "%.2f", $0.onset.timestamp))" })")
        // and a whole random session on it fails
        let r = try EnginePool.shared.with { engine in
            try ActiveRunner(engine: engine, plan: try ChallengePlan(seed: 11, count: 3), checkIdentity: false).run(try VideoSource.file(out))
        }
        #expect(!r.live)
    }

    /// The moving print that passed `tilt-right` at every rate in the fixture evaluation (the rose_leslie photo,
    /// `AttackSimulator` print-moving seed 3, the manifest's row): the print wobbles in 3-D (±25° yaw, ±12° pitch,
    /// ±8° in-plane roll), and the solved roll reaches 19–20° from neutral at 2.9–3.3 s and comes back. A flat face
    /// rotated in its plane is a head tilt, and here the print's perspective even moves the nose against the jaw
    /// outline (≈ 0.005 per degree of solved yaw, inside the range measured on real heads), so no challenge rule
    /// can refuse it: the challenge session alone passes it. The liveness path that runs the passive cues with
    /// the challenges (the default when an anti-spoof model is installed; here without any model) refuses it
    /// with the model-free cues (flat 3-D structure, print border). Measured at 12 fps, the browser's rate.
    @Test func aMovingPrintsTiltIsRefusedByThePassiveCuesThatRunWithChallenges() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let photo = TestPaths.fixture("identities/ageitgey__face_recognition/examples/knn_examples/train/rose_leslie/img2.jpg")
        let dir = TestPaths.tempDir("active-moving-print")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var sim = AttackSimulator(kind: .printMoving, seed: 3)
        sim.fps = 30; sim.duration = 8
        _ = try sim.render(input: photo, output: dir + "/print30.mp4")
        try ffmpeg(["-i", dir + "/print30.mp4", "-vf", "fps=12", "-an", dir + "/print12.mp4"])
        let plan = try ChallengePlan(explicit: [.tiltRight])
        let config = LivenessConfiguration(challengeTimeout: 15)
        let (both, alone) = try EnginePool.shared.with { engine in
            let pipeline = try LivenessPipeline(engine: engine, options: LivenessPipelineOptions(
                mode: .both, plan: plan, configuration: config, passive: PassiveOptions(), checkIdentity: false))
            let b = try pipeline.run(try VideoSource.file(dir + "/print12.mp4"))
            let a = try ActiveRunner(engine: engine, plan: plan, configuration: config, checkIdentity: false)
                .run(try VideoSource.file(dir + "/print12.mp4"))
            return (b, a)
        }
        #expect(!both.live, "the moving print passed tilt-right with the passive cues: \(both.verdict)")
        #expect(both.verdict.reason == .denyCue, "\(both.verdict)")
        // the limit this test is about: the tilt itself is performed (if this changes, the docs' limit changes)
        print("moving print, tilt-right at 12 fps: challenges alone live=\(alone.live) (\(alone.reason ?? "-")); with passive cues: \(both.verdict.reason.rawValue) \(both.verdict.decidedBy)")
    }
}
