import FaceGate
import FaceGateStore
import Foundation
import Testing

/// A configured `[store]` section (database and key file) means the same gallery and key in every command, as it
/// does for `serve`: before, the CLI's gallery commands ignored it and opened a different database and key.
@Suite(.serialized, .enabled(if: TestPaths.hasFixtures && TestPaths.hasModels && FileManager.default.isExecutableFile(atPath: TestPaths.cli),
                             "needs ../shared/fixtures, models and the facegate binary"))
struct StoreConfigCLITests {
    private static let woz = "identities/ageitgey__face_recognition/examples/face_recognition_svm_proba/people_dataset/train/steve_wozniak/"

    @Test func configuredStoreIsUsedByEnrollUsersAndKeysRotate() throws {
        let dir = TestPaths.tempDir("facegate-store-config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = dir + "/configured.sqlite", keyFile = dir + "/configured.key", cfg = dir + "/facegate.toml"
        try "[store]\ndatabase = \"\(db)\"\nkey_file = \"\(keyFile)\"\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        // A different default database and key through the environment: the configuration must win over both.
        let env = ["FACEGATE_CONFIG": cfg, "FACEGATE_DB": "sqlite:" + dir + "/other.sqlite",
                   "FACEGATE_KEY": GalleryKey.generate().base64, "XDG_DATA_HOME": dir + "/xdg"]
        let photos = ["steve_wozniak2.jpg", "steve_wozniak3.jpg"].map { TestPaths.fixture(Self.woz + $0) }
        var r = try runCLI(["enroll", "--user", "woz", "--images"] + photos, environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: db), "enroll wrote to \(db)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/other.sqlite"), "enroll must not open FACEGATE_DB when store.database is set")
        let firstKey = try GalleryKey.load(file: keyFile)
        r = try runCLI(["users", "list"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("woz"), "\(r.stdout) \(r.stderr)")
        // Rotation replaces the configured key file (not the environment's or the data directory's).
        r = try runCLI(["keys", "rotate"], environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: keyFile + ".old"), "\(r.stdout)")
        #expect(try GalleryKey.load(file: keyFile).fingerprint != firstKey.fingerprint)
        r = try runCLI(["users", "list"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("woz"), "after rotation: \(r.stdout) \(r.stderr)")
        // A broken configuration is a one-line usage error, not a different gallery.
        try "[store]\ndatabase = 3\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        r = try runCLI(["users", "list"], environment: env)
        #expect(r.status == 2 && r.stderr.contains("configuration"), "\(r.stdout) \(r.stderr)")
    }

    /// `users` subcommands take `--config` like every other gallery command and open the gallery through
    /// `RuntimeEnvironment.open`: the configured key file opens the gallery (the environment's FACEGATE_KEY would
    /// not), and `users export` says which key it sealed with. Before, `users list/export/remove/rename/import` had
    /// no `--config` (exit 2: unknown option) and only read a configuration named by FACEGATE_CONFIG.
    @Test func usersCommandsTakeTheConfiguredKeyFileFromConfigFlag() throws {
        let dir = TestPaths.tempDir("facegate-users-config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = dir + "/configured.sqlite", keyFile = dir + "/configured.key", cfg = dir + "/users.toml"
        try "[store]\ndatabase = \"\(db)\"\nkey_file = \"\(keyFile)\"\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        let env = ["FACEGATE_DB": "sqlite:" + dir + "/other.sqlite", "FACEGATE_KEY": GalleryKey.generate().base64,
                   "XDG_DATA_HOME": dir + "/xdg", "FACEGATE_CONFIG": dir + "/empty.toml"]
        try "".write(toFile: dir + "/empty.toml", atomically: true, encoding: .utf8)
        let photos = ["steve_wozniak2.jpg", "steve_wozniak3.jpg"].map { TestPaths.fixture(Self.woz + $0) }
        var r = try runCLI(["enroll", "--user", "woz", "--config", cfg, "--images"] + photos, environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let fingerprint = try GalleryKey.load(file: keyFile).fingerprint
        r = try runCLI(["users", "list", "--config", cfg], environment: env)
        #expect(r.status == 0 && r.stdout.contains("woz"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["users", "export", "--config", cfg, dir + "/out.json"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("key \(fingerprint)"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["users", "rename", "--config", cfg, "woz", "steve"], environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        r = try runCLI(["users", "show", "--config", cfg, "steve", "--json"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("\"effective_threshold\""), "\(r.stdout) \(r.stderr)")
        // Without the configuration: the environment's database, which holds nobody.
        r = try runCLI(["users", "list"], environment: env)
        #expect(r.status == 0 && !r.stdout.contains("steve"), "\(r.stdout) \(r.stderr)")
    }
}
