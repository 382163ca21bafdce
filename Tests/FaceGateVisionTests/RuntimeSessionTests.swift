import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// The runtime layer (#18): `AuthenticationSession` / `EnrollmentSession` are the one path of `liveness`,
/// `authenticate`, `enroll` and the server; identity anchors are chosen and embedded once (`IdentityContinuity`).
@Suite(.serialized) struct RuntimeSessionTests {
    static let blinkClip = "motion/repeating__Blink-Detector/video.mp4"

    static func env(_ dir: String) throws -> [String: String] {
        try "".write(toFile: dir + "/none.toml", atomically: true, encoding: .utf8)
        return ["FACEGATE_DB": dir + "/g.sqlite", "FACEGATE_KEY": GalleryKeyForTests.base64, "FACEGATE_CONFIG": dir + "/none.toml",
                "FACEGATE_AUDIT_ENABLED": "false", "FACEGATE_LOCK_ENABLED": "false", "FACEGATE_VOICE_ENABLED": "off",
                "FACEGATE_ACTIONS_SPOOL_DIR": dir + "/spool"]
    }

    func json(_ r: CLIResult) throws -> [String: Any] {
        let line = try #require(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// The same clip gives the same liveness result through `liveness` and `authenticate` (same code path, same
    /// timeouts, same mode rule): a pass, and a failure with the same reason. `authenticate --annotate` writes the video.
    @Test func sameClipSameLivenessThroughLivenessAndAuthenticate() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let dir = TestPaths.tempDir("facegate-runtime-same")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Self.env(dir)
        let clip = TestPaths.fixture(Self.blinkClip)
        let e = try runCLI(["enroll", "--user", "blinker", "--video", clip], environment: env)
        try #require(e.status == 0, "\(e.stdout) \(e.stderr)")
        // blink passes on this clip; turn-left is never done in it (the recording ends first or the challenge times out)
        for challenges in ["blink", "turn-left"] {
            let common = ["--video", clip, "--challenges", challenges, "--timeout", "4", "--json"]
            let l = try runCLI(["liveness"] + common, environment: env)
            let lj = try json(l)
            let annotated = dir + "/auth-\(challenges).mp4"
            let a = try runCLI(["authenticate"] + common + ["--annotate", annotated], environment: env)
            let aj = try json(a)
            #expect(lj["live"] as? Bool == aj["live"] as? Bool, "\(challenges): liveness \(lj) vs authenticate \(aj)")
            #expect((lj["mode"] as? String ?? "active") == aj["liveness_mode"] as? String, "\(challenges)")
            if lj["live"] as? Bool == false {
                let reason = try #require(lj["reason"] as? String)
                #expect(aj["reason"] as? String == "liveness failed: \(reason)", "\(challenges): \(aj)")
            } else {
                #expect(aj["authorized"] as? Bool == true, "\(aj)")
            }
            // --annotate writes the annotated session (it wrote nothing before)
            let written = try VideoSource.file(annotated)
            var frames = 0
            while try written.next() != nil { frames += 1 }
            #expect(frames > 0, "\(challenges): no annotated frame in \(annotated)")
        }
        #expect(try json(try runCLI(["liveness", "--video", clip, "--challenges", "blink", "--timeout", "4", "--json"], environment: env))["live"] as? Bool == true)
    }

    /// The settings' liveness timing reaches `liveness` and `authenticate` alike (`LivenessTiming`, the server's rule
    /// too): a 0.3 s session limit from `--set` ends both sessions on the same clip with the same session timeout.
    /// Before, `liveness` read no settings (it refused `--set`) and `authenticate` ignored `liveness.timeout`.
    @Test func configuredSessionLimitReachesLivenessAndAuthenticate() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let dir = TestPaths.tempDir("facegate-runtime-timing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Self.env(dir)
        let clip = TestPaths.fixture(Self.blinkClip)
        let e = try runCLI(["enroll", "--user", "blinker", "--video", clip], environment: env)
        try #require(e.status == 0, "\(e.stdout) \(e.stderr)")
        // 0.3 s is shorter than the shortest hold-still before the first prompt (0.5 s): the session limit decides.
        let common = ["--video", clip, "--challenges", "blink", "--json",
                      "--set", "liveness.timeout=0.3s", "--set", "liveness.challenge_timeout=0.3s"]
        let l = try runCLI(["liveness"] + common, environment: env)
        let lj = try json(l)
        #expect(lj["live"] as? Bool == false, "\(lj)")
        let failure = try #require(lj["failure"] as? [String: Any], "\(lj)")
        #expect(failure.keys.contains("sessionTimeout"), "\(failure)")
        let a = try runCLI(["authenticate"] + common, environment: env)
        let aj = try json(a)
        #expect(aj["authorized"] as? Bool == false, "\(aj)")
        #expect(aj["reason"] as? String == "liveness failed: \(lj["reason"] as? String ?? "?")", "\(aj)")
        // Without the limit the same clip passes through both (the default is the plan's total).
        let plain = ["--video", clip, "--challenges", "blink", "--json"]
        #expect(try json(try runCLI(["liveness"] + plain, environment: env))["live"] as? Bool == true)
        #expect(try json(try runCLI(["authenticate"] + plain, environment: env))["authorized"] as? Bool == true)
    }

    /// `enroll --liveness --annotate` writes the annotated liveness session.
    @Test func enrollWithLivenessWritesTheAnnotatedVideo() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let dir = TestPaths.tempDir("facegate-runtime-enroll")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/enroll.mp4"
        let e = try runCLI(["enroll", "--user", "blinker", "--video", TestPaths.fixture(Self.blinkClip), "--liveness",
                            "--challenges", "blink", "--timeout", "15", "--annotate", out, "--json"], environment: try Self.env(dir))
        #expect(e.status == 0, "\(e.stdout) \(e.stderr)")
        #expect(try json(e)["live"] as? Bool == true)
        let written = try VideoSource.file(out)
        #expect(try written.next() != nil, "no annotated frame in \(out)")
    }

    /// Anchors are chosen once and embedded once, on the frames liveness proved on: the calibration frame and the
    /// blink's completion frame (the evidence of the result), each with exactly one embedding. The calibration
    /// anchor is the identity reference and must show open eyes (`OpenEyeReference`): on this clip calibration
    /// completes at 0.60 s while the eyes reopen from the blink at 0.43 s (EAR 0.24 of 0.34), so the reference is an
    /// open-eyed frame of the same still window.
    @Test func anchorsAreTheEvidenceFramesEmbeddedOnce() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let (result, anchors, skipped, identityReference) = try EnginePool.shared.with { engine in
            let options = LivenessPipelineOptions(mode: .active, plan: try ChallengePlan(explicit: [.blink]),
                                                  configuration: LivenessConfiguration(challengeTimeout: 15))
            let s = try AuthenticationSession(engine: engine, settings: AuthenticationSettings(liveness: options, source: "test"))
            let r = try s.runLiveness(try VideoSource.file(TestPaths.fixture(Self.blinkClip)))
            return (r, s.anchors, s.pipeline.identitySkipped, s.pipeline.active?.session.identityReference)
        }
        #expect(result.live)
        #expect(skipped == 0)
        #expect(anchors.map(\.role) == [.calibration, .challenge])
        let evidence = result.session.evidence
        let calibration = try #require(evidence.first { $0.role == .calibration })
        let completion = try #require(evidence.first { $0.role == .completion })
        #expect(anchors.map(\.frameIndex).last == completion.index)
        let reference = try #require(anchors.first)
        #expect(reference.frameIndex < calibration.index, "the closing-eye calibration frame is not the reference")
        #expect(calibration.timestamp - reference.timestamp <= OpenEyeReference<Int>.window + 1e-9)
        // the continuity check compared the completion anchor with the reference anchor and its other views (open-eyed
        // frames of the same calibration window, `IdentityReference`): the closest of them
        let views = try #require(identityReference).views
        #expect(views.first == anchors[0].embedding)
        let d = views.map { anchors[1].embedding.distance(to: $0) }.min() ?? -1
        #expect(abs((result.session.identityDistance ?? -1) - d) < 1e-9)
    }

    /// The CLI's decision for a liveness failure comes from the core's one table, as the server's does: a recording
    /// that ends mid-plan is a failed challenge (it was filed as `spoof` by the CLI), a passive-cue spoof is `spoof`.
    @Test func authenticationDecisionsUseTheCoreTable() throws {
        let plan = try ChallengePlan(explicit: [.blink])
        for f in LivenessFailure.representatives {
            let live = LivenessResult(live: false, plan: plan, challenges: [ChallengeOutcome(type: .blink)], failure: f, frames: 30,
                                      evidence: [], baseline: nil)
            let r = AuthenticationResult(authorized: false, user: nil, live: false, distance: nil, reason: "x", identityFrames: 0, liveness: live)
            let d = r.decision(source: "video:x", claimedUser: nil, threshold: 0.55)
            #expect(d.reason == f.denialReason, "\(f.code)")
        }
        #expect(LivenessFailure.inputEnded(challenge: .blink).denialReason == .challengeFailed)
        #expect(LivenessFailure.presentationAttack(cues: [.moire]).denialReason == .spoof)
        // live but not matched: unknown face (1:N) or the wrong user (1:1)
        let ok = LivenessResult(live: true, plan: plan, challenges: [], failure: nil, frames: 30, evidence: [], baseline: nil)
        let unknown = AuthenticationResult(authorized: false, user: nil, live: true, distance: 0.8, reason: "x", identityFrames: 2, liveness: ok)
        #expect(unknown.decision(source: "s", claimedUser: nil, threshold: 0.55).reason == .unknownFace)
        #expect(unknown.decision(source: "s", claimedUser: "alice", threshold: 0.55).reason == .wrongUser)
    }

    /// One mode rule for every front-end (authenticate had its own `usePassive` line; the full table is
    /// `LivenessModeRuleTests`): with the models of this machine, what the rule says follows what is installed.
    @Test func oneChallengeModeRule() {
        let dir = ModelDirectory.resolve()
        let installed = !PadModelResolver.installedAntiSpoof(in: dir).isEmpty
        #expect(LivenessModeRule.mode(LivenessModeInputs(passiveRequested: true, useInstalledModels: false), models: dir) == .both)
        #expect(LivenessModeRule.mode(LivenessModeInputs(passiveRequested: false, useInstalledModels: false), models: dir) == .active)
        #expect(LivenessModeRule.mode(LivenessModeInputs(passiveRequested: false, useInstalledModels: true), models: dir) == (installed ? .both : .active))
    }

    /// Server enrollment sessions: the session's anchors pass the same quality gate as `facegate enroll` (they were
    /// turned into templates without one before).
    @Test func sessionAnchorsPassTheEnrollmentQualityGate() {
        func anchor(_ i: Int, width: Double, eyes: Double = 0.3, yaw: Double = 0) -> IdentityAnchor {
            let m = SampleMeasurements(faces: 1, faceWidth: width, sharpness: 0.5, brightness: 120, eyeAspect: eyes,
                                       pose: HeadPose(yaw: yaw, pitch: 0, roll: 0))
            return IdentityAnchor(role: i == 0 ? .calibration : .challenge, frameIndex: i, timestamp: Double(i) / 15,
                                  embedding: Embedding([Float](repeating: Float(i), count: 128)), pose: m.pose, measurements: m)
        }
        var unmeasured = anchor(3, width: 200)
        unmeasured.measurements = nil
        let c = EnrollmentSession.collect(anchors: [anchor(0, width: 200), anchor(1, width: 40), anchor(2, width: 200, eyes: 0.05), unmeasured],
                                          gate: QualityGate(), source: "s")
        #expect(c.templates.count == 1)
        #expect(c.accepted.map(\.source) == ["s#0"])
        #expect(c.rejectionCounts["face_too_small"] == 1, "\(c.rejectionCounts)")
        #expect(c.rejected.count == 3)
        #expect(c.templates.first?.embedding == anchor(0, width: 200).embedding)
        // What a live server session records for its later `{"session"}` templates: the same rule, as anchor indices.
        #expect(EnrollmentSession.admissible(anchors: [anchor(0, width: 40), anchor(1, width: 200), unmeasured, anchor(3, width: 210)],
                                             gate: QualityGate()) == [1, 3])
    }
}
