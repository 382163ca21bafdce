import FaceGate
import FaceGateConfig
import FaceGateCore
import Foundation
import Testing

/// `identity.threshold` follows the one settings order (flags > environment > file > defaults), with a command's
/// `--threshold` over everything. Before session 9 the file beat `FACEGATE_IDENTITY_THRESHOLD` (a documented
/// exception): `environmentBeatsTheFile` failed then (0.3 from the file).
@Suite struct ThresholdResolutionOrderTests {
    func settings(file: Double?, env: Double?, set: Double? = nil, flag: Double? = nil) throws -> ThresholdSettings {
        let dir = TestPaths.tempDir("threshold-order")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("facegate.toml").path
        try (file.map { "[identity]\nthreshold = \($0)\n" } ?? "").write(toFile: path, atomically: true, encoding: .utf8)
        let environment = env.map { [ThresholdSettings.environmentName: "\($0)"] } ?? [:]
        let config = try FaceGateConfig.load(explicit: path, environment: environment,
                                             overrides: set.map { ["identity.threshold": "\($0)"] } ?? [:])
        return try ThresholdSettings(flag: flag, config: config, environment: environment)
    }

    @Test func environmentBeatsTheFile() throws {
        let g = try settings(file: 0.3, env: 0.7).global
        #expect(g.value == 0.7 && g.source == .environment)
    }

    @Test func setBeatsTheEnvironmentAndTheFlagBeatsAll() throws {
        let s = try settings(file: 0.3, env: 0.7, set: 0.4)
        #expect(s.global.value == 0.4 && s.global.source == .config)
        let f = try settings(file: 0.3, env: 0.7, set: 0.4, flag: 0.5)
        #expect(f.resolve(user: 0.2).value == 0.5 && f.resolve(user: 0.2).source == .flag)
    }

    @Test func fileAloneAndDefault() throws {
        let file = try settings(file: 0.3, env: nil).global, none = try settings(file: nil, env: nil).global
        #expect(file.value == 0.3 && file.source == .config)
        #expect(none.value == IdentityThreshold.default && none.source == .default)
        // The environment the loader saw counts even when the caller passes none (the server's init).
        let dir = TestPaths.tempDir("threshold-order-env")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("facegate.toml").path
        try "[identity]\nthreshold = 0.3\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try FaceGateConfig.load(explicit: path, environment: [ThresholdSettings.environmentName: "0.6"])
        let g = try ThresholdSettings(flag: nil, config: config, environment: [:]).global
        #expect(g.value == 0.6 && g.source == .environment)
    }

    @Test func outOfRangeEnvironmentIsRefused() throws {
        #expect(throws: IdentityError.self) { _ = try ThresholdSettings(flag: nil, config: nil, environment: [ThresholdSettings.environmentName: "7"]) }
    }
}
