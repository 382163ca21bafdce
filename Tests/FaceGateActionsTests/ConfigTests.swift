import FaceGateActions
import FaceGateConfig
import FaceGateCore
import Foundation
import Testing

@Suite struct ConfigTests {
    static let example = TestPaths.repoRoot.appendingPathComponent("docs/facegate.example.toml")

    @Test func exampleFileParsesAndMatchesDefaults() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let c = ConfigLoader.resolve(text: text, path: Self.example.path, environment: [:], overrides: [:])
        #expect(c.isValid, "\(c.issues)")
        #expect(c.issues.filter { $0.severity == .error }.isEmpty)
        // Every documented default equals the schema default (the example is the reference).
        for k in ConfigSchema.keys {
            #expect(c.value(k.path) == k.defaultValue, "\(k.path): example says \(c.value(k.path)), schema \(k.defaultValue)")
        }
        // Every key in the schema is documented in the example (latitude/longitude as commented lines).
        for k in ConfigSchema.keys {
            let documented = text.contains("\n\(k.key) =") || text.contains("\n# \(k.key) =")
            #expect(documented, "\(k.path) is not documented in docs/facegate.example.toml")
        }
    }

    @Test func defaultsAreValid() throws {
        let c = ConfigLoader.resolve(text: nil, path: nil, environment: [:], overrides: [:])
        #expect(c.isValid)
        let cfg = try FaceGateConfig(c, environment: ["HOME": "/home/x"])
        #expect(cfg.lockout.policy == LockoutPolicy(maxFailures: 5, window: 180, duration: 900))
        #expect(cfg.lock.command == ["loginctl", "lock-session"])
        #expect(cfg.lock.fallback == ["xdg-screensaver", "lock"])
        // Locking the desktop is opt-in: a denied `authenticate` must not lock whoever ran it.
        #expect(cfg.lock.enabled == false)
        let optedIn = try FaceGateConfig(ConfigLoader.resolve(text: nil, path: nil, environment: [:], overrides: ["lock.enabled": "true"]),
                                         environment: ["HOME": "/home/x"])
        #expect(optedIn.lock.enabled)
        #expect(cfg.store.database == nil)
        #expect(cfg.voice.enabled == .auto)
        #expect(cfg.identity.threshold == IdentityThreshold.default)
        // One challenge time limit: the configuration's default is the core's (it was 6 s against the core's 5 s,
        // so the server and the CLI timed challenges differently).
        #expect(cfg.liveness.challengeTimeout == LivenessConfiguration.defaultChallengeTimeout)
    }

    @Test func errorsCarryLineNumbers() {
        let text = """
        [identity]
        threshold = "low"

        [mail]
        enabled = true
        smtp_url = "smtp://127.0.0.1:2525"
        too = ["owner@example.org"]
        to = []

        [lockout]
        max_failures = 0
        window = "three minutes"

        [bogus]
        x = 1
        """
        let c = ConfigLoader.resolve(text: text, path: "f.toml", environment: [:], overrides: [:])
        #expect(!c.isValid)
        func issue(_ needle: String) -> ConfigIssue? { c.issues.first { $0.message.contains(needle) } }
        #expect(issue("identity.threshold")?.line == 2)
        #expect(issue("unknown key mail.too")?.line == 7)
        #expect(issue("unknown key mail.too")?.message.contains("did you mean to?") == true)
        #expect(issue("lockout.max_failures")?.line == 11)
        #expect(issue("lockout.window")?.line == 12)
        #expect(issue("unknown section [bogus]")?.line == 14)
        #expect(issue("mail.to is empty")?.line == 8)
        #expect(c.issues.first!.description.hasPrefix("f.toml:"))
    }

    @Test func syntaxErrorHasLine() {
        let c = ConfigLoader.resolve(text: "[lock]\ncommand = \"x\n", path: "f.toml", environment: [:], overrides: [:])
        #expect(!c.isValid)
        #expect(c.issues.first?.line == 2)
    }

    @Test func environmentAndFlagsOverrideFile() throws {
        let text = "[lockout]\nmax_failures = 7\nwindow = \"1m\"\n[voice]\nenabled = \"off\"\n"
        let env = ["FACEGATE_LOCKOUT_MAX_FAILURES": "3", "FACEGATE_WEBHOOKS_URLS": "http://127.0.0.1:1/a, http://127.0.0.1:2/b",
                   "FACEGATE_MODELS": "/elsewhere", "FACEGATE_VOICE_COLOUR": "red"]
        let c = ConfigLoader.resolve(text: text, path: "f.toml", environment: env, overrides: ["voice.enabled": "on"])
        #expect(c.isValid, "\(c.issues)")
        #expect(c.value("lockout.max_failures") == .int(3))
        #expect(c.value("lockout.window") == .double(60))
        #expect(c.value("voice.enabled") == .string("on"))
        #expect(c.value("webhooks.urls") == .strings(["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"]))
        #expect(c.origins["lockout.max_failures"] == .environment("FACEGATE_LOCKOUT_MAX_FAILURES"))
        #expect(c.origins["voice.enabled"] == .flag)
        #expect(c.issues.contains { $0.severity == .warning && $0.message.contains("FACEGATE_VOICE_COLOUR") })
        let bad = ConfigLoader.resolve(text: nil, path: nil, environment: ["FACEGATE_SERVER_PORT": "http"], overrides: ["lock.nope": "1"])
        #expect(bad.issues.filter { $0.severity == .error }.count == 2)
    }

    @Test func secretsFromFilesAndEnvironment() throws {
        let dir = TestPaths.tempDir("secret")
        let f = dir.appendingPathComponent("smtp.pass")
        try "s3cret pass\n".write(to: f, atomically: true, encoding: .utf8)
        let text = "[mail]\npassword_file = \"\(f.path)\"\n"
        let cfg = try FaceGateConfig(ConfigLoader.resolve(text: text, path: nil, environment: [:], overrides: [:]), environment: [:])
        #expect(cfg.mail.password == "s3cret pass")
        let env = ["FACEGATE_WEBHOOKS_SECRET": "hook-key"]
        let cfg2 = try FaceGateConfig(ConfigLoader.resolve(text: nil, path: nil, environment: env, overrides: [:]), environment: env)
        #expect(cfg2.webhooks.secret == "hook-key")
        // A missing secret file is reported with its line.
        let c3 = ConfigLoader.resolve(text: "[webhooks]\n\nsecret_file = \"/nonexistent/x\"\n", path: "f", environment: [:], overrides: [:])
        #expect(c3.issues.first { $0.message.contains("webhooks.secret_file") }?.line == 3)
        // An inline secret is accepted with a warning.
        let c4 = ConfigLoader.resolve(text: "[mail]\npassword = \"x\"\n", path: "f", environment: [:], overrides: [:])
        #expect(c4.isValid && c4.issues.contains { $0.severity == .warning && $0.line == 2 })
    }

    @Test func searchOrder() throws {
        let dir = TestPaths.tempDir("search")
        let home = dir.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".config/facegate"), withIntermediateDirectories: true)
        let homeFile = home.appendingPathComponent(".config/facegate/facegate.toml")
        try "[server]\nport = 9001\n".write(to: homeFile, atomically: true, encoding: .utf8)
        let envFile = dir.appendingPathComponent("env.toml")
        try "[server]\nport = 9002\n".write(to: envFile, atomically: true, encoding: .utf8)
        #expect(try ConfigLoader.locate(explicit: nil, environment: ["HOME": home.path]) == homeFile.path)
        #expect(try ConfigLoader.locate(explicit: nil, environment: ["HOME": home.path, "FACEGATE_CONFIG": envFile.path]) == envFile.path)
        #expect(try ConfigLoader.locate(explicit: homeFile.path, environment: ["FACEGATE_CONFIG": envFile.path]) == homeFile.path)
        #expect(throws: FaceGateConfigError.self) { try ConfigLoader.locate(explicit: "/nonexistent.toml", environment: [:]) }
        let cfg = try FaceGateConfig.load(environment: ["HOME": home.path, "FACEGATE_CONFIG": envFile.path])
        #expect(cfg.server.port == 9002)
    }

    @Test func durationsAndCommands() {
        #expect(ConfigSchema.parseDuration("3m") == 180)
        #expect(ConfigSchema.parseDuration("250ms") == 0.25)
        #expect(ConfigSchema.parseDuration("1.5h") == 5400)
        #expect(ConfigSchema.parseDuration("42") == 42)
        #expect(ConfigSchema.parseDuration("soon") == nil)
        #expect(ConfigSchema.formatDuration(900) == "15m")
        #expect(FaceGateConfig.splitCommand("sh -c 'echo a b' \"x y\"") == ["sh", "-c", "echo a b", "x y"])
    }
}
