import FaceGate
import FaceGateCore
import FaceGateStore
import Foundation
import Testing

/// The one threshold policy through the CLI: per-user range checks, and the configured threshold reaching
/// `verify` and `authenticate` (flag > per-user > config > environment > default).
@Suite(.serialized, .enabled(if: TestPaths.hasFixtures && TestPaths.hasModels && FileManager.default.isExecutableFile(atPath: TestPaths.cli),
                             "needs ../shared/fixtures, models and the facegate binary"))
struct IdentityThresholdCLITests {
    private static let woz = "identities/ageitgey__face_recognition/examples/face_recognition_svm_proba/people_dataset/train/steve_wozniak/"

    @Test func perUserThresholdOfSevenIsRefusedAndConfigReachesVerify() throws {
        let dir = TestPaths.tempDir("facegate-threshold")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["FACEGATE_DB": "sqlite:" + dir + "/g.sqlite", "FACEGATE_KEY": GalleryKey.generate().base64, "FACEGATE_CONFIG": ""]
        let photos = ["steve_wozniak2.jpg", "steve_wozniak3.jpg"].map { TestPaths.fixture(Self.woz + $0) }
        var r = try runCLI(["enroll", "--user", "woz", "--images"] + photos, environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        r = try runCLI(["users", "threshold", "woz", "7"], environment: env)
        #expect(r.status == 2 && r.stderr.contains("out of range"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["users", "threshold", "woz", "7", "--force"], environment: env)
        #expect(r.status == 2, "a forced 7 is still out of range")
        r = try runCLI(["users", "threshold", "woz", "0.75"], environment: env)
        #expect(r.status == 2 && r.stderr.contains("--force"), "\(r.stderr)")
        r = try runCLI(["users", "threshold", "woz", "0.45"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let probe = TestPaths.fixture(Self.woz + "steve_wozniak4.jpg")
        r = try runCLI(["verify", "--user", "woz", probe, "--json"], environment: env)
        #expect(r.stdout.contains("\"threshold\":0.45") && r.stdout.contains("\"threshold_source\":\"per-user\""), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["users", "threshold", "woz", "--clear"], environment: env)
        // The settings order: the environment beats the file, --set beats the environment, the flag beats all.
        let cfg = dir + "/facegate.toml"
        try "[identity]\nthreshold = 0.3\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        r = try runCLI(["verify", "--user", "woz", probe, "--json", "--config", cfg], environment: env)
        #expect(r.stdout.contains("\"threshold\":0.3") && r.stdout.contains("\"threshold_source\":\"config\""), "\(r.stdout) \(r.stderr)")
        let withEnv = env.merging([ThresholdSettings.environmentName: "0.7"]) { $1 }
        r = try runCLI(["verify", "--user", "woz", probe, "--json", "--config", cfg], environment: withEnv)
        #expect(r.stdout.contains("\"threshold\":0.7") && r.stdout.contains("\"threshold_source\":\"environment\""), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["verify", "--user", "woz", probe, "--json", "--config", cfg, "--set", "identity.threshold=0.35"], environment: withEnv)
        #expect(r.stdout.contains("\"threshold\":0.35") && r.stdout.contains("\"threshold_source\":\"config\""), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["verify", "--user", "woz", probe, "--json"], environment: withEnv)
        #expect(r.stdout.contains("\"threshold\":0.7") && r.stdout.contains("\"threshold_source\":\"environment\""), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["verify", "--user", "woz", probe, "--json", "--config", cfg, "--threshold", "0.5"], environment: withEnv)
        #expect(r.stdout.contains("\"threshold\":0.5") && r.stdout.contains("\"threshold_source\":\"flag\""), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["verify", "--user", "woz", probe, "--set", "identity.threshold=1.4"], environment: env)
        #expect(r.status == 2, "\(r.stderr)")
    }

    /// `identity.threshold` from the configuration changes what `authenticate` decides: the same blink session is
    /// authorized at the default and denied at a threshold below its distance.
    @Test func configThresholdChangesAuthenticate() throws {
        let clip = TestPaths.fixture("motion/repeating__Blink-Detector/video.mp4")
        let dir = TestPaths.tempDir("facegate-auth-threshold")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["FACEGATE_DB": "sqlite:" + dir + "/g.sqlite", "FACEGATE_KEY": GalleryKey.generate().base64, "FACEGATE_CONFIG": "",
                   "FACEGATE_AUDIT_ENABLED": "false", "FACEGATE_VOICE_ENABLED": "off", "FACEGATE_LOCK_ENABLED": "false",
                   "FACEGATE_LOCKOUT_ENABLED": "false"]
        // Enrolled from a mirrored, half-size copy: the live session's distance is then well above the smallest
        // allowed threshold, so a stricter configured threshold can deny it.
        let mirrored = dir + "/mirrored.mp4"
        try ffmpeg(["-i", clip, "-t", "8", "-vf", "hflip,scale=iw/2:-2", "-pix_fmt", "yuv420p", mirrored])
        var r = try runCLI(["enroll", "--user", "blinker", "--video", mirrored, "--max-seconds", "8"], environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let auth = ["authenticate", "--video", clip, "--challenges", "blink", "--json", "--no-installed-models", "--lock-dry-run"]
        r = try runCLI(auth, environment: env)
        #expect(r.status == 0 && r.stdout.contains("\"authorized\":true"), "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("\"threshold_source\":\"default\""), "\(r.stdout)")
        let distance = try #require(r.stdout.range(of: #""distance":([0-9.]+)"#, options: .regularExpression).flatMap {
            Double(r.stdout[$0].split(separator: ":")[1])
        })
        try #require(distance > IdentityThreshold.allowedRange.lowerBound + 0.01, "session distance \(distance) is too small to test a stricter threshold")
        let strict = String(format: "%.3f", max(IdentityThreshold.allowedRange.lowerBound, distance - 0.05))
        r = try runCLI(auth + ["--set", "identity.threshold=\(strict)"], environment: env)
        #expect(r.status == 1 && r.stdout.contains("\"authorized\":false") && r.stdout.contains("\"threshold_source\":\"config\""), "\(r.stdout) \(r.stderr)")
        r = try runCLI(auth, environment: env.merging([ThresholdSettings.environmentName: strict]) { $1 })
        #expect(r.status == 1 && r.stdout.contains("\"threshold_source\":\"environment\""), "\(r.stdout) \(r.stderr)")
    }
}
