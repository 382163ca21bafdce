import FaceGate
import FaceGateConfig
import FaceGateCore
import FaceGateServer
import Foundation
import Testing

/// `ServerConfiguration` takes the typed settings as they are: its own defaults equal the schema's, so a server started
/// without a configuration file and one started with an empty file behave the same.
@Suite struct ServerSettingsTests {
    @Test func serverDefaultsEqualTheSchemaDefaults() throws {
        let defaults = try FaceGateConfig(ConfigLoader.resolve(text: nil, path: nil, environment: [:], overrides: [:]),
                                          environment: ["HOME": "/home/x"])
        let before = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"))
        var after = before
        after.apply(defaults)
        #expect(after.host == before.host && after.port == before.port)
        #expect(after.challenges == before.challenges)
        #expect(after.challengeTypes == before.challengeTypes)
        #expect(after.liveness.challengeTimeout == before.liveness.challengeTimeout)
        #expect(after.livenessMode == before.livenessMode)
        #expect(after.passiveMode == before.passiveMode)
        #expect(after.padThreshold == before.padThreshold)
        #expect(after.passiveFrames == before.passiveFrames)
        #expect(after.identityThreshold == before.identityThreshold)
        #expect(after.enrollmentQuality == before.enrollmentQuality)
        #expect(after.lockout == before.lockout && after.lockoutEnabled == before.lockoutEnabled)
    }

    /// One source of defaults: every settings-backed value of a `ServerConfiguration` built without settings is the
    /// schema's typed default (read from `FaceGateConfig.defaults`, not restated).
    @Test func settingsBackedDefaultsAreTheSchemas() throws {
        let d = try FaceGateConfig(ConfigLoader.resolve(text: nil, path: nil, environment: [:], overrides: [:]), environment: ["HOME": "/home/x"])
        let s = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"))
        #expect(s.host == d.server.host && s.port == d.server.port && s.allowImageProbes == d.server.allowImageProbes)
        #expect(s.challenges == d.liveness.challenges && s.challengeTypes == d.liveness.challengeTypes)
        #expect(s.liveness == LivenessTiming.configuration(d, environment: [:]))
        #expect(s.livenessMode == d.liveness.mode && s.passiveMode == d.liveness.passiveMode)
        #expect(s.livenessModel == d.liveness.model && s.padModels == d.liveness.padModels)
        #expect(s.useInstalledPadModels == d.liveness.useInstalledModels && s.padThreshold == d.liveness.padThreshold)
        #expect(s.passiveFrames == d.liveness.passiveFrames)
        #expect(s.identityThreshold == d.identity.threshold && s.enrollmentQuality == d.identity.quality)
        #expect(s.lockoutEnabled == d.lockout.enabled && s.lockout == d.lockout.policy)
    }

    /// Every settings-backed value follows the TOML file into `ServerConfiguration(database:settings:)`, the
    /// constructor `facegate serve` uses.
    @Test func everyServerSettingComesFromTheFile() throws {
        let text = """
        [server]
        host = "0.0.0.0"
        port = 9191
        allow_image_probes = true
        [identity]
        threshold = 0.5
        quality = "lenient"
        [liveness]
        mode = "both"
        challenges = 4
        challenge_types = ["nod", "shake"]
        timeout = "45s"
        challenge_timeout = "7s"
        passive_mode = "strict"
        pad_models = ["minifasnet-v2"]
        use_installed_models = false
        pad_threshold = 0.6
        passive_frames = 45
        [lockout]
        enabled = false
        max_failures = 9
        window = "20m"
        duration = "30m"
        """
        let c = try FaceGateConfig(ConfigLoader.resolve(text: text, path: "t.toml", environment: [:], overrides: [:]),
                                   environment: ["HOME": "/home/x"])
        let s = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"), settings: c)
        #expect(s.host == "0.0.0.0" && s.port == 9191 && s.allowImageProbes)
        #expect(s.identityThreshold == 0.5 && s.enrollmentQuality == .lenient)
        #expect(s.livenessMode == .both && s.challenges == 4 && s.challengeTypes == [.nod, .shake])
        #expect(s.liveness.totalTimeout(challenges: 4) == 45 && s.liveness.challengeTimeout == 7 && s.liveness.identityThreshold == LivenessTiming.continuityFloor)
        #expect(s.passiveMode == .strict && s.padModels == ["minifasnet-v2"] && !s.useInstalledPadModels)
        #expect(s.padThreshold == 0.6 && s.passiveFrames == 45)
        #expect(!s.lockoutEnabled && s.lockout == LockoutPolicy(maxFailures: 9, window: 1200, duration: 1800))
    }

    @Test func typedValuesReachTheServer() throws {
        let text = "[identity]\nquality = \"strict\"\n[liveness]\nmode = \"passive\"\npassive_mode = \"strict\"\nchallenge_types = [\"blink\", \"nod\"]\n"
        let c = try FaceGateConfig(ConfigLoader.resolve(text: text, path: "t.toml", environment: [:], overrides: [:]),
                                   environment: ["HOME": "/home/x"])
        var s = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"))
        s.apply(c)
        #expect(s.livenessMode == .passive && s.passiveMode == .strict && s.enrollmentQuality == .strict)
        #expect(s.challengeTypes == [.blink, .nod])
    }

    /// One timing rule (#18): for the same settings the server's sessions get exactly the configuration the CLI's
    /// `liveness`, `authenticate`, `enroll --liveness` and the unlock daemon get (`LivenessTiming`). Before, the CLI used
    /// the core's total for the plan (24.5 s for 3 challenges) and the server `liveness.timeout` (20 s).
    @Test func serverSessionsUseTheOneTimingRule() throws {
        func settings(_ text: String?) throws -> FaceGateConfig {
            try FaceGateConfig(ConfigLoader.resolve(text: text, path: text == nil ? nil : "t.toml", environment: [:], overrides: [:]),
                               environment: ["HOME": "/home/x"])
        }
        // Defaults: the whole-session limit is the core's total for the plan, the CLI's all along.
        var s = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"))
        s.apply(try settings(nil))
        for n in 1...5 {
            #expect(s.liveness.totalTimeout(challenges: n) == LivenessConfiguration().totalTimeout(challenges: n), "\(n) challenges")
        }
        #expect(LivenessTiming.captureTimeout(s.liveness) == PassiveCapture.defaultTimeout)
        for text in [nil, "[liveness]\ntimeout = \"30s\"\nchallenge_timeout = \"4s\"\n", "[liveness]\nchallenge_timeout = \"3s\"\n"] {
            let c = try settings(text)
            var server = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"))
            server.apply(c)
            #expect(server.liveness == LivenessTiming.configuration(c), "\(text ?? "defaults")")
        }
        // A configured limit is the limit for every plan and for a passive capture; a front-end's flag changes only the
        // per-challenge time.
        let c = try settings("[liveness]\ntimeout = \"30s\"\nchallenge_timeout = \"4s\"\n")
        let rule = LivenessTiming.configuration(c)
        #expect(rule.challengeTimeout == 4 && rule.totalTimeout(challenges: 3) == 30 && LivenessTiming.captureTimeout(rule) == 30)
        let flagged = LivenessTiming.configuration(c, challengeTimeout: 2)
        #expect(flagged.challengeTimeout == 2 && flagged.totalTimeout(challenges: 5) == 30)
    }

    /// One identity threshold on the server (#18): resolved once in the CLI's order (`ThresholdSettings`, the object
    /// `RuntimeEnvironment.open` builds for `authenticate`), and the sessions' continuity check follows it — before,
    /// `LivenessTiming` and `LiveStream` each set it. `[server] allow_image_probes` is typed (default false).
    @Test func oneThresholdResolutionAndImageProbePolicy() throws {
        let text = "[identity]\nthreshold = 0.52\n[server]\nallow_image_probes = true\n"
        let c = try FaceGateConfig(ConfigLoader.resolve(text: text, path: "t.toml", environment: [:], overrides: ["identity.threshold": "0.48"]),
                                   environment: ["HOME": "/home/x"])
        var s = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"), settings: c)
        #expect(s.thresholds == (try ThresholdSettings(flag: nil, config: c)))   // --set > env > file > default, as the CLI
        #expect(s.identityThreshold == 0.48 && s.thresholds.global.source == .config)
        // The continuity check follows it, but is never stricter than the default same-person threshold.
        #expect(s.liveness.identityThreshold == LivenessTiming.continuityFloor)
        // A user's own threshold applies over it through the same policy object.
        let policy = IdentityPolicy(settings: s.thresholds)
        #expect(policy.resolvedThreshold(override: 0.4) == (0.4, .user) && policy.resolvedThreshold(override: nil) == (0.48, .config))
        s.thresholds = ThresholdSettings(config: 0.45)
        #expect(s.identityThreshold == 0.45 && s.liveness.identityThreshold == LivenessTiming.continuityFloor)
        s.thresholds = ThresholdSettings(config: 0.6)
        #expect(s.identityThreshold == 0.6 && s.liveness.identityThreshold == 0.6)
        #expect(s.allowImageProbes)
        #expect(!ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite")).allowImageProbes)
    }
}
