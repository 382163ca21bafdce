import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Testing

/// `RuntimeEnvironment.open` (#18): the one way a front-end opens gallery, key, identity index and lockout gate —
/// the CLI from its configuration and flags, the server from its resolved configuration.
@Suite struct RuntimeEnvironmentTests {
    func config(_ dir: URL, lockout: Bool = true) throws -> FaceGateConfig {
        let path = dir.appendingPathComponent("facegate.toml").path
        try """
        [store]
        database = "\(dir.path)/configured.sqlite"
        key_file = "\(dir.path)/configured.key"

        [identity]
        threshold = 0.5

        [lockout]
        enabled = \(lockout)
        max_failures = 2
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try FaceGateConfig.load(explicit: path, environment: [:])
    }

    @Test func configurationResolvesStoreKeyThresholdAndLockout() async throws {
        let dir = TestPaths.tempDir("runtime-env")
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = try await RuntimeEnvironment.open(config: try config(dir), databaseFlag: nil, thresholdFlag: nil, environment: [:])
        #expect(env.location == .sqlite(path: dir.path + "/configured.sqlite"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/configured.key"), "the configured key file was not created")
        let policy = await env.index.policy
        #expect(policy.threshold == 0.5 && policy.flagThreshold == nil)
        #expect(env.lockout.enabled && env.lockout.policy.maxFailures == 2)
        // The gate works on the gallery's database: one failure of two, then locked after the second.
        try await env.lockout.settle(.init(attempt: "a", subjects: [.user("alice")]), effect: .failure)
        #expect(try await env.lockout.status(user: "alice", source: nil) == .open)
        try await env.lockout.settle(.init(attempt: "b", subjects: [.user("alice")]), effect: .failure)
        #expect(try await env.lockout.status(user: "alice", source: nil).isLocked)
        await env.close()
    }

    @Test func flagsWinAndLockoutCanBeOff() async throws {
        let dir = TestPaths.tempDir("runtime-env-flags")
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = try await RuntimeEnvironment.open(config: try config(dir, lockout: false), databaseFlag: dir.path + "/flag.sqlite",
                                                    thresholdFlag: 0.4, environment: [:])
        #expect(env.location == .sqlite(path: dir.path + "/flag.sqlite"))
        #expect(await env.index.policy.flagThreshold == 0.4)
        #expect(!env.lockout.enabled)
        await env.close()
        // An out-of-range threshold is refused before anything is opened.
        await #expect(throws: IdentityError.self) {
            _ = try await RuntimeEnvironment.open(config: try config(dir), databaseFlag: dir.path + "/never.sqlite", thresholdFlag: 7, environment: [:])
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/never.sqlite"))
    }
}
