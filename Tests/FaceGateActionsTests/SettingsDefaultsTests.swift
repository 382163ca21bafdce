import FaceGate
import FaceGateConfig
import FaceGateCore
import Foundation
import Testing

/// The settings schema names the core's constants and types: a default written twice drifts (the schema's challenge
/// timeout was 6 s while the core's was 5 s), and a string re-parsed at every use disagrees with its neighbour.
@Suite struct SettingsDefaultsTests {
    static let env = ["HOME": "/home/x"]

    @Test func everySchemaDefaultIsTheCoreConstant() throws {
        let d = try FaceGateConfig(ConfigLoader.resolve(text: nil, path: nil, environment: [:], overrides: [:]), environment: Self.env)
        #expect(d.identity.threshold == IdentityThreshold.default)
        #expect(d.identity.quality == .standard)
        #expect(d.liveness.mode == .active)
        #expect(d.liveness.challenges == ChallengePlan.defaultCount)
        #expect(d.liveness.challengeTypes == ChallengeType.allCases)
        #expect(d.liveness.challengeTimeout == LivenessConfiguration.defaultChallengeTimeout)
        #expect(d.liveness.passiveMode == PassiveOptions().mode)
        #expect(d.liveness.padThreshold == PassiveFusion.defaultScoreThreshold)
        #expect(d.liveness.passiveFrames == PassiveCapture.defaultFrames)
        #expect(d.lockout.policy == LockoutPolicy.default)
        // The ranges the schema accepts are the core's too.
        #expect(ConfigSchema.spec(path: "identity.threshold")?.kind == .double(IdentityThreshold.allowedRange))
        #expect(ConfigSchema.spec(path: "liveness.pad_threshold")?.kind
                == .double(PassiveFusion.defaultScoreThreshold...PassiveFusion.maximumScoreThreshold))
        #expect(ConfigSchema.spec(path: "liveness.mode")?.kind == .choice(LivenessMode.allCases.map(\.rawValue)))
        #expect(ConfigSchema.spec(path: "liveness.passive_mode")?.kind == .choice(PassiveMode.allCases.map(\.rawValue)))
        #expect(ConfigSchema.spec(path: "identity.quality")?.kind == .choice(QualityLevel.allCases.map(\.rawValue)))
    }

    /// TOML values arrive as the core's types (old underscore spellings of challenges mapped).
    @Test func fileValuesAreTyped() throws {
        let text = """
        [identity]
        quality = "strict"
        [liveness]
        mode = "both"
        passive_mode = "strict"
        challenge_types = ["turn_left", "blink"]
        """
        let c = try FaceGateConfig(ConfigLoader.resolve(text: text, path: "t.toml", environment: [:], overrides: [:]), environment: Self.env)
        #expect(c.identity.quality == .strict)
        #expect(c.liveness.mode == .both)
        #expect(c.liveness.passiveMode == .strict)
        #expect(c.liveness.challengeTypes == [.turnLeft, .blink])
    }

    /// One order for every key: flags > environment > file > defaults.
    @Test func resolutionOrderIsFlagsThenEnvironmentThenFileThenDefaults() throws {
        let file = "[liveness]\nchallenges = 2\npassive_frames = 40\n[lockout]\nmax_failures = 7\n"
        let env = ["FACEGATE_LIVENESS_CHALLENGES": "4", "FACEGATE_LIVENESS_PASSIVE_FRAMES": "50"]
        let loaded = ConfigLoader.resolve(text: file, path: "t.toml", environment: env, overrides: ["liveness.challenges": "5"])
        let c = try FaceGateConfig(loaded, environment: Self.env)
        #expect(c.liveness.challenges == 5)             // flag over environment and file
        #expect(c.liveness.passiveFrames == 50)         // environment over file
        #expect(c.lockout.policy.maxFailures == 7)      // file over default
        #expect(c.lockout.policy.window == LockoutPolicy.defaultWindow)  // default
        #expect(loaded.origins["liveness.challenges"] == .flag)
        #expect(loaded.origins["liveness.passive_frames"] == .environment("FACEGATE_LIVENESS_PASSIVE_FRAMES"))
    }
}
