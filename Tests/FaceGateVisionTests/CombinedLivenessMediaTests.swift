import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// Active and passive liveness in one session, end to end through the CLI on fixture recordings and on a replay
/// rendered by the attack simulator from the same recording.
@Suite(.serialized) struct CombinedLivenessMediaTests {
    static let blinkClip = "motion/repeating__Blink-Detector/video.mp4"

    /// A screen replay of the blink clip (`facegate attack --kind replay`): the replayed person blinks, so the blink
    /// challenge passes on it. Rendered once (3 s at 25 fps covers the clip's first blinks) and kept in the temporary
    /// directory, so the suites that use it do not render it again.
    static func replayOfBlinkClip() throws -> String {
        let dir = NSTemporaryDirectory() + "facegate-test-cache"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // 6 s: the challenge now starts after a 0.5–1.5 s hold-still pause (#14), which a 3 s replay did not outlast.
        let out = dir + "/replay-blink-seed3-6s.mp4"
        if FileManager.default.fileExists(atPath: out) { return out }
        let tmp = dir + "/replay-\(UUID().uuidString.prefix(8)).mp4"
        var sim = AttackSimulator(kind: .replay, seed: 3)
        sim.fps = 25
        sim.duration = 6
        try sim.render(input: TestPaths.fixture(blinkClip), output: tmp)
        try? FileManager.default.moveItem(atPath: tmp, toPath: out)
        try? FileManager.default.removeItem(atPath: tmp)
        return out
    }

    func json(_ r: CLIResult) throws -> [String: Any] {
        let line = try #require(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func aRealBlinkPassesBothChallengeAndPassiveCues() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let r = try runCLI(["liveness", "--video", TestPaths.fixture(Self.blinkClip), "--challenges", "blink", "--timeout", "15",
                            "--passive", "--no-installed-models", "--no-identity", "--json"])
        let j = try json(r)
        #expect(r.status == 0, "\(j)")
        #expect(j["live"] as? Bool == true)
        #expect(j["mode"] as? String == "both")
        #expect((j["decided_by"] as? [String])?.first == "challenge")
        let challenges = try #require(j["challenges"] as? [[String: Any]])
        #expect(challenges.count == 1 && challenges[0]["type"] as? String == "blink" && challenges[0]["passed"] as? Bool == true)
        let passive = try #require(j["passive"] as? [String: Any])
        #expect(passive["live"] as? Bool == true)
        #expect((passive["score"] as? Double ?? 0) >= 0.5)
        #expect(passive["decided_by"] is [String])
        let cues = try #require(passive["cues"] as? [String: Any])
        #expect(cues["moire"] != nil && cues["bezel"] != nil && cues["blink"] != nil)
        // the same frames fed the passive cues: the spontaneous-blink cue saw the blink the challenge asked for
        #expect((cues["blink"] as? [String: Any])?["state"] as? String == "live")

        // strict mode: the passed challenge is the confirm cue "challenge"
        let strict = try runCLI(["liveness", "--video", TestPaths.fixture(Self.blinkClip), "--challenges", "blink", "--timeout", "15",
                                 "--passive", "--mode", "strict", "--no-installed-models", "--no-identity", "--json"])
        let sj = try json(strict)
        #expect(strict.status == 0, "\(sj)")
        let sp = try #require(sj["passive"] as? [String: Any])
        #expect((sp["decided_by"] as? [String])?.contains("challenge") == true, "\(sp)")
        #expect(((sp["cues"] as? [String: Any])?["challenge"] as? [String: Any])?["state"] as? String == "live")
    }

    @Test func aRenderedReplayIsRefusedInBothModeThoughItPassesTheChallenge() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let replay = try Self.replayOfBlinkClip()
        // Challenges alone: the replay blinks on cue and passes — this is the attack the passive cues are for.
        let active = try runCLI(["liveness", "--video", replay, "--challenges", "blink", "--timeout", "15", "--no-installed-models",
                                 "--no-identity", "--json"])
        let aj = try json(active)
        #expect(active.status == 0, "the replay should pass the challenge alone (else this test proves nothing): \(aj["reason"] ?? "")")
        // By default, once an anti-spoof model is installed, challenges run with the passive cues (mode both).
        if !PadModelResolver.installedAntiSpoof(in: .resolve()).isEmpty {
            let byDefault = try runCLI(["liveness", "--video", replay, "--challenges", "blink", "--timeout", "15", "--no-identity", "--json"])
            let dj = try json(byDefault)
            #expect(byDefault.status == 1, "\(dj)")
            #expect(dj["mode"] as? String == "both")
        }
        // Both: the challenge still passes, a deny cue refuses the session and is named.
        let both = try runCLI(["liveness", "--video", replay, "--challenges", "blink", "--timeout", "15", "--passive",
                               "--no-installed-models", "--no-identity", "--json"])
        let j = try json(both)
        #expect(both.status == 1, "\(j)")
        #expect(j["live"] as? Bool == false)
        #expect((j["failure"] as? [String: Any])?["presentationAttack"] != nil, "\(j["failure"] ?? "")")
        let by = try #require(j["decided_by"] as? [String])
        let passive = try #require(j["passive"] as? [String: Any])
        #expect(passive["live"] as? Bool == false)
        #expect(by == passive["decided_by"] as? [String])
        let cues = try #require(passive["cues"] as? [String: [String: Any]])
        for name in by { #expect(cues[name]?["state"] as? String == "spoof", "\(name) decided but is not a deny reading") }
        #expect((j["challenges"] as? [[String: Any]])?.first?["passed"] as? Bool == true)
    }

    @Test func usageErrorsOfTheCombinedPath() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let photo = TestPaths.fixture("identities/ageitgey__face_recognition/examples/knn_examples/train/obama/obama.jpg")
        let r = try runCLI(["liveness", "--image", photo, "--passive", "--challenges", "blink"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("challenges need motion"))
        let m = try runCLI(["liveness", "--video", TestPaths.fixture(Self.blinkClip), "--passive", "--challenges", "blink", "--mode", "paranoid"])
        #expect(m.status == 2)
        #expect(m.stderr.contains("--mode must be light or strict"))
    }

    /// authenticate: passive cues run with the challenges when asked (`--passive`), and identity is checked on the
    /// frames that passed; the replay of an enrolled person is refused by the cues although identity would match.
    @Test func authenticateRunsPassiveCuesWithTheChallenges() throws {
        guard TestPaths.hasFixtures, TestPaths.hasModels else { try Test.cancel("fixtures or models missing — run `make models testdata` with ../shared beside the repo") }
        let dir = TestPaths.tempDir("facegate-auth-both")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["FACEGATE_DB": dir + "/g.sqlite", "FACEGATE_KEY": GalleryKeyForTests.base64, "FACEGATE_CONFIG": dir + "/none.toml",
                   "FACEGATE_AUDIT_ENABLED": "false", "FACEGATE_LOCK_ENABLED": "false", "FACEGATE_VOICE_ENABLED": "off",
                   "FACEGATE_ACTIONS_SPOOL_DIR": dir + "/spool"]
        try "".write(toFile: dir + "/none.toml", atomically: true, encoding: .utf8)
        let clip = TestPaths.fixture(Self.blinkClip)
        let e = try runCLI(["enroll", "--user", "blinker", "--video", clip], environment: env)
        try #require(e.status == 0, "\(e.stdout) \(e.stderr)")
        let args = ["authenticate", "--challenges", "blink", "--timeout", "15", "--passive", "--no-installed-models", "--json"]
        let ok = try runCLI(args + ["--video", clip], environment: env)
        let oj = try json(ok)
        #expect(ok.status == 0, "\(oj) \(ok.stderr)")
        #expect(oj["authorized"] as? Bool == true && oj["user"] as? String == "blinker")
        #expect(oj["liveness_mode"] as? String == "both")
        #expect((oj["passive"] as? [String: Any])?["live"] as? Bool == true)
        #expect((oj["identity_frames"] as? Int ?? 0) >= 2)

        let replay = try Self.replayOfBlinkClip()
        let bad = try runCLI(args + ["--video", replay], environment: env)
        let bj = try json(bad)
        #expect(bad.status == 1, "\(bj)")
        #expect(bj["authorized"] as? Bool == false && bj["live"] as? Bool == false)
        #expect((bj["reason"] as? String ?? "").contains("presentation attack"), "\(bj)")
        #expect((bj["passive"] as? [String: Any])?["live"] as? Bool == false)
    }
}

enum GalleryKeyForTests {
    /// A fixed test key (32 bytes, base64): the gallery is a throw-away temporary file.
    static let base64 = Data((0..<32).map { UInt8($0 &* 7 &+ 3) }).base64EncodedString()
}
