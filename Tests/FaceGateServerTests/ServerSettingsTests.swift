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

    @Test func typedValuesReachTheServer() throws {
        let text = "[identity]\nquality = \"strict\"\n[liveness]\nmode = \"passive\"\npassive_mode = \"strict\"\nchallenge_types = [\"blink\", \"nod\"]\n"
        let c = try FaceGateConfig(ConfigLoader.resolve(text: text, path: "t.toml", environment: [:], overrides: [:]),
                                   environment: ["HOME": "/home/x"])
        var s = ServerConfiguration(database: .sqlite(path: "/tmp/unused.sqlite"))
        s.apply(c)
        #expect(s.livenessMode == .passive && s.passiveMode == .strict && s.enrollmentQuality == .strict)
        #expect(s.challengeTypes == [.blink, .nod])
    }
}
