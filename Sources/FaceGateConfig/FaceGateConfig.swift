import FaceGateCore
import Foundation

/// The typed, effective configuration every part of FaceGate reads. Build it with `FaceGateConfig.load(...)`.
///
/// One resolution order for every key: **flags** (`--set section.key=value`, and a command's own flags such as `--db`)
/// > **environment** (`FACEGATE_<SECTION>_<KEY>`) > **TOML file** (`--config`, `$FACEGATE_CONFIG`,
/// `~/.config/facegate/facegate.toml`, `/etc/facegate/facegate.toml`: the first that exists) > **defaults**
/// (`ConfigSchema.keys`, which name the core's constants; `SettingsDefaultsTests` checks they agree).
/// `identity.threshold` follows it too (`ThresholdSettings`; a command's `--threshold` and a user's own threshold
/// come first).
///
/// Values use the core's types (`LivenessMode`, `PassiveMode`, `ChallengeType`, `QualityLevel`, `LockoutPolicy`),
/// so front-ends and `ServerConfiguration` take them as they are instead of re-parsing strings.
public struct FaceGateConfig: Sendable {
    public struct Identity: Sendable {
        public var threshold: Double
        /// Enrollment quality gate (`identity.quality`; `enroll --quality` overrides).
        public var quality: QualityLevel = .standard
    }
    public struct Store: Sendable {
        /// SQLite path or postgres:// URL; nil = FaceGateStore's default resolution (FACEGATE_DB, data directory).
        public var database: String?
        /// nil = FaceGateStore's default key resolution (FACEGATE_KEY_FILE, FACEGATE_KEY, data directory).
        public var keyFile: String?
        /// Key given directly (config or FACEGATE_STORE_KEY), base64.
        public var key: String?
    }
    public struct Liveness: Sendable {
        public var mode: LivenessMode
        public var challenges: Int
        /// The pool random challenges are drawn from (older underscore spellings already mapped).
        public var challengeTypes: [ChallengeType]
        public var timeout: TimeInterval
        public var challengeTimeout: TimeInterval
        public var passiveMode: PassiveMode = .light
        /// Trained FaceGate liveness model (texture cue); nil = none.
        public var model: String?
        /// Anti-spoof models (catalog names or ONNX paths); empty = installed ones (when `useInstalledModels`).
        public var padModels: [String] = []
        public var useInstalledModels = true
        public var passiveFrames = 30
        /// Passive PAD operating point (liveness.pad_threshold; `facegate calibrate-pad`).
        public var padThreshold = 0.5
    }
    public struct Voice: Sendable {
        public enum Enabled: String, Sendable { case auto, on, off }
        public var enabled: Enabled
        public var voice: String
        public var speed: Int
        public var grantedText: String
        public var deniedText: String
        public var saveDir: String?
    }
    public struct Mail: Sendable {
        public enum Security: String, Sendable { case starttls, tls, none }
        public var enabled: Bool
        public var smtpURL: String
        public var security: Security
        public var caFile: String?
        public var user: String?
        public var password: String?
        public var from: String
        public var to: [String]
        public var subject: String
        public var location: String?
        public var latitude: Double?
        public var longitude: Double?
        public var timeout: TimeInterval
        public var maxAge: TimeInterval
    }
    public struct Lock: Sendable {
        public var enabled: Bool
        public var command: [String]
        public var fallback: [String]?
        public var dryRun: Bool
        public var timeout: TimeInterval
    }
    public struct Webhooks: Sendable {
        public var urls: [String]
        public var secret: String?
        public var events: [String]
        public var timeout: TimeInterval
        public var maxAge: TimeInterval
    }
    public struct Audit: Sendable {
        public var enabled: Bool
        /// JSON-lines destination: nil = off, "-" = stdout, else a path.
        public var file: String?
        public var retentionDays: Int
        public var snapshots: Bool
    }
    public struct Lockout: Sendable {
        public var enabled: Bool
        public var policy: LockoutPolicy
    }
    public struct Server: Sendable {
        public var host: String
        public var port: Int
        /// `/v1/verify` and `/v1/identify` accept `{"image": …}` (a comparison no liveness check saw) from non-admin
        /// keys; default false: they need a succeeded session (`{"session": id}`), admin keys always may.
        public var allowImageProbes: Bool
    }

    public var identity: Identity
    public var store: Store
    public var liveness: Liveness
    public var voice: Voice
    public var mail: Mail
    public var lock: Lock
    public var webhooks: Webhooks
    public var audit: Audit
    public var lockout: Lockout
    public var server: Server
    /// Durable queue directory (mail/ and webhooks/ below it).
    public var spoolDir: String
    /// How much of the spool's failed/ is kept (#17): newest `spoolFailedKeep` items, none older than
    /// `spoolFailedMaxAge` seconds (`FailedRetention`).
    public var spoolFailedKeep: Int
    public var spoolFailedMaxAge: Double
    /// The raw effective values, for keys added later by other parts of FaceGate.
    public var loaded: LoadedConfig

    /// Defaults only (no file, no environment).
    public static var defaults: FaceGateConfig {
        // Defaults are valid by construction (a test checks); secrets are empty so nothing is read.
        try! FaceGateConfig(ConfigLoader.resolve(text: nil, path: nil, environment: [:], overrides: [:]), environment: [:])
    }

    /// Finds, reads and validates the configuration; throws `FaceGateConfigError.invalid` listing every error.
    public static func load(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [String: String] = [:]) throws -> FaceGateConfig {
        let loaded = try ConfigLoader.load(explicit: explicit, environment: environment, overrides: overrides)
        guard loaded.isValid else { throw FaceGateConfigError.invalid(loaded.issues) }
        return try FaceGateConfig(loaded, environment: environment)
    }

    /// Builds the typed view; reads `*_file` secrets.
    public init(_ c: LoadedConfig, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func s(_ p: String) -> String { c.value(p).stringValue ?? "" }
        func opt(_ p: String) -> String? { let v = s(p); return v.isEmpty ? nil : v }
        func path(_ p: String) -> String { ConfigLoader.expandTilde(s(p), environment: environment) }
        func i(_ p: String) -> Int { c.value(p).intValue ?? 0 }
        func d(_ p: String) -> Double { c.value(p).doubleValue ?? 0 }
        func b(_ p: String) -> Bool { c.value(p).boolValue ?? false }
        func list(_ p: String) -> [String] { c.value(p).stringsValue ?? [] }
        func secret(_ p: String, file: String) throws -> String? {
            if let v = opt(p) { return v }
            guard let f = opt(file) else { return nil }
            return try Self.readSecretFile(ConfigLoader.expandTilde(f, environment: environment), key: file)
        }

        loaded = c
        identity = .init(threshold: d("identity.threshold"), quality: QualityLevel(rawValue: s("identity.quality").lowercased()) ?? .standard)
        store = .init(database: opt("store.database").map { ConfigLoader.expandTilde($0, environment: environment) },
                      keyFile: opt("store.key_file").map { ConfigLoader.expandTilde($0, environment: environment) }, key: opt("store.key"))
        liveness = .init(mode: .init(rawValue: s("liveness.mode")) ?? .active, challenges: i("liveness.challenges"),
                         challengeTypes: list("liveness.challenge_types").compactMap { ChallengeType(rawValue: $0.replacingOccurrences(of: "_", with: "-")) },
                         timeout: d("liveness.timeout"), challengeTimeout: d("liveness.challenge_timeout"),
                         passiveMode: PassiveMode(rawValue: s("liveness.passive_mode")) ?? .light,
                         model: opt("liveness.model").map { ConfigLoader.expandTilde($0, environment: environment) },
                         padModels: list("liveness.pad_models").map { ConfigLoader.expandTilde($0, environment: environment) },
                         useInstalledModels: b("liveness.use_installed_models"), passiveFrames: i("liveness.passive_frames"),
                         padThreshold: d("liveness.pad_threshold"))
        voice = .init(enabled: .init(rawValue: s("voice.enabled")) ?? .auto, voice: s("voice.voice"), speed: i("voice.speed"),
                      grantedText: s("voice.granted_text"), deniedText: s("voice.denied_text"),
                      saveDir: opt("voice.save_dir").map { ConfigLoader.expandTilde($0, environment: environment) })
        var security = Mail.Security(rawValue: s("mail.security")) ?? .starttls
        if s("mail.smtp_url").hasPrefix("smtps://") { security = .tls }
        mail = .init(enabled: b("mail.enabled"), smtpURL: s("mail.smtp_url"), security: security,
                     caFile: opt("mail.ca_file").map { ConfigLoader.expandTilde($0, environment: environment) },
                     user: opt("mail.user"), password: try secret("mail.password", file: "mail.password_file"),
                     from: s("mail.from"), to: list("mail.to"), subject: s("mail.subject"), location: opt("mail.location"),
                     latitude: c.value("mail.latitude").doubleValue, longitude: c.value("mail.longitude").doubleValue,
                     timeout: d("mail.timeout"), maxAge: d("mail.max_age"))
        lock = .init(enabled: b("lock.enabled"), command: Self.splitCommand(s("lock.command")),
                     fallback: opt("lock.fallback").map(Self.splitCommand), dryRun: b("lock.dry_run"), timeout: d("lock.timeout"))
        webhooks = .init(urls: list("webhooks.urls"), secret: try secret("webhooks.secret", file: "webhooks.secret_file"),
                         events: list("webhooks.events"), timeout: d("webhooks.timeout"), maxAge: d("webhooks.max_age"))
        audit = .init(enabled: b("audit.enabled"), file: opt("audit.file").map { $0 == "-" ? $0 : ConfigLoader.expandTilde($0, environment: environment) },
                      retentionDays: i("audit.retention_days"), snapshots: b("audit.snapshots"))
        lockout = .init(enabled: b("lockout.enabled"),
                        policy: LockoutPolicy(maxFailures: max(1, i("lockout.max_failures")), window: max(1, d("lockout.window")),
                                              duration: max(1, d("lockout.duration"))))
        server = .init(host: s("server.host"), port: i("server.port"), allowImageProbes: b("server.allow_image_probes"))
        spoolDir = path("actions.spool_dir")
        spoolFailedKeep = i("actions.spool_failed_keep")
        spoolFailedMaxAge = d("actions.spool_failed_max_age")
    }

    /// First line of a secret file, trimmed. Errors say which key and what to do.
    public static func readSecretFile(_ path: String, key: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FaceGateConfigError.secret(key: key, detail: "\(path) does not exist or is not readable — create it (mode 600) or fix \(key)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let first = text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !first.isEmpty else { throw FaceGateConfigError.secret(key: key, detail: "\(path) is empty") }
        return first
    }

    /// Splits a command line on spaces, honouring "double" and 'single' quotes (no shell is involved).
    public static func splitCommand(_ line: String) -> [String] {
        var out: [String] = [], cur = "", quote: Character? = nil, has = false
        for ch in line {
            if let q = quote {
                if ch == q { quote = nil } else { cur.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch; has = true
            } else if ch == " " || ch == "\t" {
                if has || !cur.isEmpty { out.append(cur); cur = ""; has = false }
            } else { cur.append(ch) }
        }
        if has || !cur.isEmpty { out.append(cur) }
        return out
    }
}
