import FaceGate
import FaceGateCore
import FaceGateLab
import Foundation
import Testing

/// `facegate calibrate-pad` end to end: genuine clips cut from the fixtures → threshold at a target BPCER → written to
/// the configuration → read back by `facegate liveness --passive`; the unreachable case and bad input.
@Suite(.serialized, .enabled(if: TestPaths.hasFixtures && TestPaths.hasModels && FileManager.default.isExecutableFile(atPath: TestPaths.cli),
                             "needs ../shared/fixtures, models and the facegate binary"))
struct CalibratePadCLITests {
    static let clips = ["motion/KwaiVGI__LivePortrait/assets/examples/driving/d0.mp4",
                        "motion/KwaiVGI__LivePortrait/assets/examples/driving/d9.mp4",
                        "motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4"]
    static let fast = ["--no-installed-models", "--max-frames", "30"]

    struct Calibration: Decodable {
        struct Rec: Decodable { var path: String; var score: Double? }
        var threshold: Double; var reachable: Bool; var resolved: Bool; var minimum_recordings: Int?; var config_written: String?
        var recordings: [Rec]; var used: Int
    }
    struct Liveness: Decodable { var live: Bool; var score: Double }

    @Test func calibratedThresholdIsWrittenAndReachesLiveness() throws {
        let dir = TestPaths.tempDir("calibrate-pad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let own = dir + "/own"
        try FileManager.default.createDirectory(atPath: own + "/day2", withIntermediateDirectories: true)
        for (i, c) in Self.clips.enumerated() {
            try ffmpeg(["-t", "1.5", "-i", TestPaths.fixture(c), "-an", "-c:v", "mpeg4", "-q:v", "3", own + (i == 2 ? "/day2/" : "/") + "clip\(i).mp4"])
        }
        try "not media".write(toFile: own + "/notes.txt", atomically: true, encoding: .utf8)
        let cfg = dir + "/facegate.toml"
        try "[identity]\nthreshold = 0.5\n\n[liveness]\nchallenges = 2\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let env = ["FACEGATE_CONFIG": cfg]

        // 3 recordings cannot resolve 5 % (19 needed): exit 1, nothing written.
        var r = try runCLI(["calibrate-pad", own, "--target-bpcer", "0.05", "--write", "--json"] + Self.fast, environment: env)
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        let u = try JSONDecoder().decode(Calibration.self, from: Data(r.stdout.utf8))
        #expect(!u.resolved && u.minimum_recordings == 19 && u.config_written == nil && u.threshold == 0.5)
        #expect(try String(contentsOfFile: cfg, encoding: .utf8) == "[identity]\nthreshold = 0.5\n\n[liveness]\nchallenges = 2\n")
        r = try runCLI(["calibrate-pad", own, "--target-bpcer", "0.05"] + Self.fast, environment: env)
        #expect(r.status == 1 && r.stdout.contains("target not resolvable"), "\(r.stdout)")

        r = try runCLI(["calibrate-pad", own, "--target-bpcer", "0.25", "--write", "--json"] + Self.fast, environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let c = try JSONDecoder().decode(Calibration.self, from: Data(r.stdout.utf8))
        #expect(c.used == 3 && c.recordings.count == 3, "the three clips (also in a sub-folder), not the text file")
        #expect(c.reachable && c.resolved && c.config_written == cfg)
        let scores = c.recordings.compactMap(\.score)
        let lowest = try #require(scores.min())
        // 25 % of 3 recordings: k = ⌊0.25 · 4⌋ = 1, the lowest genuine score (rounded down), never below 0.5.
        #expect(c.threshold <= lowest && c.threshold > lowest - 0.0011 || c.threshold == 0.5, "\(c.threshold) vs \(scores)")
        let text = try String(contentsOfFile: cfg, encoding: .utf8)
        #expect(text.contains(String(format: "pad_threshold = %.3f", c.threshold)), "\(text)")
        #expect(text.contains("[identity]\nthreshold = 0.5") && text.contains("challenges = 2"), "other keys kept: \(text)")

        // The genuine clip that set the threshold stays live when liveness reads the configuration…
        let setter = try #require(c.recordings.first { $0.score == lowest }?.path)
        r = try runCLI(["liveness", "--passive", "--video", setter, "--json"] + Self.fast, environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let live = try JSONDecoder().decode(Liveness.self, from: Data(r.stdout.utf8))
        #expect(live.live && live.score >= c.threshold)
        // …and a stricter configured threshold (above its score) refuses it: the key is what decides.
        try text.replacingOccurrences(of: String(format: "pad_threshold = %.3f", c.threshold), with: "pad_threshold = 0.95")
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        r = try runCLI(["liveness", "--passive", "--video", setter, "--json"] + Self.fast, environment: env)
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        // The flag overrides the configuration.
        r = try runCLI(["liveness", "--passive", "--video", setter, "--json", "--pad-threshold", "0.5"] + Self.fast, environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
    }

    @Test func unreachableTargetWritesNothingAndBadInputExits2() throws {
        let dir = TestPaths.tempDir("calibrate-pad-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A "genuine" folder holding a print attack: the cues refuse it at their own thresholds; calibration cannot
        // buy it back, so target 0 is not reachable and the configuration stays as it was.
        let own = dir + "/own"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        var sim = AttackSimulator(kind: .print, seed: 1)
        sim.duration = 1.2
        try sim.render(input: TestPaths.fixture("identities/ageitgey__face_recognition/examples/knn_examples/train/obama/obama.jpg"),
                       output: own + "/print.mp4")
        let cfg = dir + "/facegate.toml"
        try "[liveness]\npad_threshold = 0.6\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        var r = try runCLI(["calibrate-pad", own, "--target-bpcer", "0", "--write", "--config", cfg] + Self.fast)
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("target not reachable"), "\(r.stdout)")
        #expect(try String(contentsOfFile: cfg, encoding: .utf8) == "[liveness]\npad_threshold = 0.6\n")
        // Bad input: one line, exit 2.
        r = try runCLI(["calibrate-pad", dir + "/missing"] + Self.fast)
        #expect(r.status == 2, "\(r.stderr)")
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        r = try runCLI(["calibrate-pad", dir + "/empty"] + Self.fast)
        #expect(r.status == 2 && r.stderr.contains("no images or videos"), "\(r.stderr)")
        r = try runCLI(["calibrate-pad", own, "--target-bpcer", "0.7"] + Self.fast)
        #expect(r.status == 2, "\(r.stderr)")
        r = try runCLI(["liveness", "--passive", "--video", own + "/print.mp4", "--pad-threshold", "0.3"] + Self.fast)
        #expect(r.status == 2, "a threshold below the cues' own is refused: \(r.stderr)")
    }

    @Test func settingTheThresholdKeepsTheRestOfTheFile() {
        #expect(PadCalibrationRun.settingThreshold(0.61, in: nil) == "[liveness]\npad_threshold = 0.610\n")
        #expect(PadCalibrationRun.settingThreshold(0.7, in: "[identity]\nthreshold = 0.5\n")
                == "[identity]\nthreshold = 0.5\n\n[liveness]\npad_threshold = 0.700\n")
        #expect(PadCalibrationRun.settingThreshold(0.7, in: "[liveness]\nmode = \"both\"\n[voice]\nspeed = 160\n")
                == "[liveness]\npad_threshold = 0.700\nmode = \"both\"\n[voice]\nspeed = 160\n")
        #expect(PadCalibrationRun.settingThreshold(0.8, in: "# mine\n[liveness]\npad_threshold = 0.6   \nmode = \"both\"\n")
                == "# mine\n[liveness]\npad_threshold = 0.800\nmode = \"both\"\n")
        // A key of the same name in another section is not touched.
        #expect(PadCalibrationRun.settingThreshold(0.8, in: "[other]\npad_threshold = 1\n")
                == "[other]\npad_threshold = 1\n\n[liveness]\npad_threshold = 0.800\n")
    }
}
