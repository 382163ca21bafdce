import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// `facegate evaluate-liveness`: manifest parsing (pure) and the real session on resampled fixture clips.
struct LivenessManifestTests {
    /// An event's session restarts earlier when calibration has not completed `minPromptLead` before the event —
    /// late, or not at all (before session 10 only a late calibration restarted, so a person still moving at the
    /// deadline was never prompted and the trial counted as `input_ended` / `no_stable_face`).
    @Test func anEventSessionRestartsEarlierWhenCalibrationIsLateOrMissing() {
        let lead = LivenessEvaluator.minPromptLead
        // before the deadline nothing is decided
        #expect(!LivenessEvaluator.startsEarlier(calibratedAt: nil, at: 5.0 - lead - 0.1, event: 5.0))
        // calibrated in time: the session goes on
        #expect(!LivenessEvaluator.startsEarlier(calibratedAt: 4.0, at: 5.0, event: 5.0))
        // calibrated late: restart (the rule before session 10)
        #expect(LivenessEvaluator.startsEarlier(calibratedAt: 4.9, at: 4.9, event: 5.0))
        // still calibrating at the deadline: restart too
        #expect(LivenessEvaluator.startsEarlier(calibratedAt: nil, at: 5.0 - lead + 0.05, event: 5.0))
    }

    @Test func rowsPlansEventsAttacksAndOptions() throws {
        let text = """
        # comment
        path\tlabel\tactions\toptions
        a.mp4\tbona-fide\tblink,turn-left
        /abs/b.mp4\tbonafide\tblink@2.1,turn-left@4.0\tstart=1 end=9\tnote
        c.jpg\tmoving-print\tall\trender=print-moving seed=3 duration=6
        d.mp4\tall-actions-loop\trandom:3:20\tloop=3
        e.mp4\tbona-fide\tnone
        """
        let m = try LivenessManifest.parse(text, base: "/m")
        #expect(m.rows.count == 5)
        #expect(m.rows[0].path == "/m/a.mp4" && m.rows[0].isBonaFide && m.rows[0].script == .plan([.blink, .turnLeft]))
        #expect(m.rows[1].path == "/abs/b.mp4" && m.rows[1].start == 1 && m.rows[1].end == 9)
        #expect(m.rows[1].script == .events([.init(type: .blink, time: 2.1), .init(type: .turnLeft, time: 4.0)]))
        #expect(m.rows[2].render == .printMoving && m.rows[2].seed == 3 && m.rows[2].renderDuration == 6 && m.rows[2].script == .everyType)
        #expect(!m.rows[2].isBonaFide && m.rows[2].label == "moving-print")
        #expect(m.rows[3].script == .random(count: 3, sessions: 20) && m.rows[3].loop == 3)
        #expect(m.rows[4].script == LivenessManifest.Script.none)
    }

    @Test(arguments: [
        "a.mp4\tbona-fide",                                  // too few fields
        "a.mp4\tbona-fide\twink",                            // unknown challenge
        "a.mp4\tbona-fide\tblink@2,turn-left",               // times for some only
        "a.mp4\tbona-fide\tblink@3,turn-left@2",             // times decrease
        "a.mp4\tbona-fide\tblink,blink",                     // a plan cannot repeat back to back
        "a.mp4\tbona-fide\tall",                             // attacks only
        "a.mp4\tprint\tall\trender=hologram",                // unknown attack kind
        "a.mp4\tprint\tall\tloop=0",                         // out of range
        "a.mp4\tprint\trandom:3",                            // malformed
        "a.mp4\tbona-fide\tblink\tstart=5 end=2",            // end before start
        "# only a comment",                                  // no rows
    ])
    func badRowsAreOneLineErrors(_ row: String) {
        #expect(throws: FaceGateError.self) { try LivenessManifest.parse(row, base: "/m") }
        do { _ = try LivenessManifest.parse(row, base: "/m") } catch {
            #expect(!"\(error)".contains("\n"), "one line: \(error)")
        }
    }
}

/// The real session on fixture clips resampled with ffmpeg: fails when a detector regresses at the browser's rates.
@Suite(.serialized) struct EvaluateLivenessMediaTests {
    static var ready: Bool {
        TestPaths.hasFixtures && TestPaths.hasModels && FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg")
    }

    /// Three clips cut short around clear blinks (read by hand, Tests/Fixtures/liveness-manifest.tsv), and a still
    /// photo held for 6 s (made with ffmpeg). The blinks last 100–170 ms: 1–2 frames at 12 fps.
    static func manifest(_ dir: String, duplicatedOnly: Bool = false) throws -> String {
        let fx = TestPaths.fixtures.path
        let d = fx + "/motion/KwaiVGI__LivePortrait/assets/examples/driving"
        let photo = dir + "/photo.mp4"
        try ffmpeg(["-loop", "1", "-i", fx + "/identities/ageitgey__face_recognition/examples/knn_examples/train/obama/obama.jpg",
                    "-t", "6", "-r", "12", "-vf", "scale=480:-2", "-pix_fmt", "yuv420p", photo])
        var text = "\(fx)/motion/repeating__Blink-Detector/video.mp4\tbona-fide\tblink@1.63,blink@3.40,blink@4.62\tend=5.5\n"
        if !duplicatedOnly {
            text += """
            \(d)/d13.mp4\tbona-fide\tblink@1.37,blink@2.57,blink@3.37\tend=4.2
            \(d)/d10.mp4\tbona-fide\tblink@1.33\tstart=6 end=8.8
            \(photo)\tphoto\tblink

            """
        }
        let path = dir + "/manifest.tsv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func evaluate(variant: FrameVariant, duplicatedOnly: Bool = false) throws -> LivenessEvaluation {
        let dir = TestPaths.tempDir("fg-evaluate-liveness")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try LivenessManifest.read(try Self.manifest(dir, duplicatedOnly: duplicatedOnly))
        var o = LivenessEvaluationOptions()
        o.rates = [12]
        o.variants = [variant]
        return try EnginePool.shared.with { engine in try LivenessEvaluator(engine: engine, options: o).run(m) }
    }

    func expectAllBlinksPass(_ ev: LivenessEvaluation, variant: FrameVariant, trials: Int) throws {
        let c = try #require(ev.cell("blink", rate: "12", variant: variant.rawValue))
        #expect(c.genuineTrials == trials)
        let failed = ev.trials.filter { $0.isBonaFide && !$0.passed }.map { "\($0.clip)@\($0.eventAt ?? -1): \($0.failure ?? "")" }
        #expect(c.genuinePassRate == 1.0, "blink at 12 fps (\(variant.rawValue)): \(c.genuinePassed)/\(c.genuineTrials) — \(failed)")
        #expect(c.attackPassed == 0, "a still photo passed blink at 12 fps")
        for t in ev.trials where t.passed {
            #expect((t.latencyMs ?? 0) >= Int(LivenessConfiguration.defaultMinReactionTime * 1000), "\(t.clip)")
        }
    }

    /// The browser's low end: every clear blink passes at 12 fps, a still photo never does.
    @Test(.enabled(if: ready, "needs ../shared/fixtures, models and ffmpeg"))
    func clearBlinksPassAt12Fps() throws {
        try expectAllBlinksPass(try evaluate(variant: .plain), variant: .plain, trials: 7)
    }

    /// 12 fps content delivered at 30 fps by repeating frames (a camera or browser that duplicates).
    @Test(.enabled(if: ready, "needs ../shared/fixtures, models and ffmpeg"))
    func clearBlinksPassAt12FpsDuplicatedTo30() throws {
        try expectAllBlinksPass(try evaluate(variant: .duplicated, duplicatedOnly: true), variant: .duplicated, trials: 3)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: TestPaths.cli), "needs the built facegate binary"))
    func badManifestIsOneLineAndExit2() throws {
        let dir = TestPaths.tempDir("fg-evaluate-liveness")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "clip.mp4\tbona-fide\twave@1.0\n".write(toFile: dir + "/m.tsv", atomically: true, encoding: .utf8)
        let r = try runCLI(["evaluate-liveness", "--manifest", dir + "/m.tsv"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("line 1") && r.stderr.contains("wave"), "\(r.stderr)")
        #expect(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(r.stderr)")
        let missing = try runCLI(["evaluate-liveness", "--manifest", dir + "/none.tsv"])
        #expect(missing.status == 2)
    }

    /// `liveness --no-hold-still` is for recordings: with a camera it is a one-line error, exit 2, before the camera
    /// is opened (a live session keeps the random pause before each prompt).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: TestPaths.cli), "needs the built facegate binary"))
    func noHoldStillIsForRecordingsOnly() throws {
        let r = try runCLI(["liveness", "--camera", "0", "--challenges", "blink", "--no-hold-still", "--no-installed-models"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--no-hold-still") && r.stderr.contains("--video"), "\(r.stderr)")
        #expect(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
