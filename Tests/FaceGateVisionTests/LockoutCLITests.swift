import FaceGateCore
import FaceGateStore
import Foundation
import Testing

/// The CLI's lockout refusal (#18): one clear line (what is locked, for how long in whole seconds/minutes, how to lift
/// it), exit 1 (a negative decision), video sources keyed by their full resolved path, lifted by `audit unlock`.
@Suite(.serialized, .enabled(if: TestPaths.hasTestImages && TestPaths.hasModels && FileManager.default.isExecutableFile(atPath: TestPaths.cli),
                             "needs testdata images, models and the facegate binary"))
struct LockoutCLITests {
    @Test func refusalIsOneLineExitOneAndKeyedByFullPath() async throws {
        let dir = URL(fileURLWithPath: TestPaths.tempDir("facegate-lockout")).resolvingSymlinksInPath().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["FACEGATE_DB": "sqlite:" + dir + "/g.sqlite", "FACEGATE_KEY": GalleryKey.generate().base64, "FACEGATE_CONFIG": "",
                   "FACEGATE_VOICE_ENABLED": "off", "FACEGATE_LOCK_ENABLED": "false", "FACEGATE_MAIL_ENABLED": "false"]
        var r = try runCLI(["enroll", "--user", "obama", "--images", TestPaths.testImage("obama.jpg")], environment: env)
        try #require(r.status == 0, "\(r.stdout) \(r.stderr)")
        // Two different files with the same base name (contents do not matter: a refusal happens before reading).
        for sub in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            try Data("not a video".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(sub)/fake.mp4"))
        }
        // Lock a/fake.mp4 the way 5 failures would.
        let store = try SQLiteLockoutStore(path: dir + "/g.sqlite")
        let a = LockoutSubject.source("video:\(dir)/a/fake.mp4")
        // One instant for all five: a loaded machine must not spread them beyond the counting window (in a parallel
        // whole-suite run the steps of this test were minutes apart: the refusal then said "try again in 12 min 37 s").
        let now = Date()
        for i in 0..<LockoutPolicy.defaultMaxFailures {
            _ = try await store.settle([a], attempt: "t\(i)", effect: .failure, policy: .default, now: now)
        }
        let locked = try await store.status([a], policy: .default)
        await store.close()
        try #require(locked != .open, "five failures did not lock \(a): \(locked)")

        let auth = ["authenticate", "--user", "obama", "--challenges", "blink", "--no-installed-models"]
        // Reached through a relative path with "..": the same file, the same counter.
        r = try runCLI(auth + ["--video", "\(dir)/b/../a/fake.mp4"], environment: env)
        #expect(r.status == 1, "a lockout refusal is a negative decision: \(r.stderr)")
        let line = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!line.contains("\n") && !line.contains("remaining") && !line.contains("locked(subject"), "\(r.stderr)")
        #expect(line.hasPrefix("facegate: refused: source video:\(dir)/a/fake.mp4 is locked out after too many failed attempts: try again in "), "\(line)")
        #expect(line.range(of: #"try again in ([0-9]{1,2} min( [0-9]{1,2} s)?|[0-9]{1,2} s), or an administrator can lift it with `facegate audit unlock --source video:"#,
                           options: .regularExpression) != nil, "\(line)")
        r = try runCLI(auth + ["--video", "\(dir)/a/fake.mp4", "--json"], environment: env)
        #expect(r.status == 1 && r.stdout.contains("\"reason\":\"locked_out\"") && r.stdout.contains("\"authorized\":false"), "\(r.stdout)")
        // The other fake.mp4 has its own counter: it is read (and fails as unreadable), not refused.
        r = try runCLI(auth + ["--video", "\(dir)/b/fake.mp4"], environment: env)
        #expect(!r.stderr.contains("locked out") && r.status != 1, "\(r.status) \(r.stderr)")
        // Lifted by `facegate audit unlock`; the refusal was audited.
        r = try runCLI(["audit", "lockouts"], environment: env)
        #expect(r.stdout.contains("source video:\(dir)/a/fake.mp4: locked until"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["audit", "--decision", "denied", "--json"], environment: env)
        #expect(r.stdout.contains("locked_out") || r.stdout.contains("lockedOut"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["audit", "unlock", "--source", "video:\(dir)/a/fake.mp4"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("unlocked"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(auth + ["--video", "\(dir)/a/fake.mp4"], environment: env)
        #expect(!r.stderr.contains("locked out"), "\(r.stderr)")
    }
}
