import FaceGateCore
import Foundation

/// A configuration value after parsing. Durations are stored in seconds.
public enum ConfigValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case strings([String])
    /// An optional key that is not set.
    case unset

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .strings(let a): return "[" + a.map { ConfigValue.string($0).description }.joined(separator: ", ") + "]"
        case .unset: return "(unset)"
        }
    }
}

/// The type a key accepts.
public enum ConfigKind: Sendable, Hashable {
    case string
    case int(ClosedRange<Int>)
    case double(ClosedRange<Double>)
    case bool
    case strings
    /// One of the listed words.
    case choice([String])
    /// A list whose items are each one of the listed words.
    case choices([String])
    /// "90s", "3m", "1h", "2d" or a number of seconds; stored in seconds.
    case duration

    var name: String {
        switch self {
        case .string: return "a string"
        case .int(let r): return "an integer in \(r.lowerBound)…\(r.upperBound)"
        case .double(let r): return "a number in \(r.lowerBound)…\(r.upperBound)"
        case .bool: return "true or false"
        case .strings: return "an array of strings"
        case .choice(let c): return "one of " + c.map { "\"\($0)\"" }.joined(separator: ", ")
        case .choices(let c): return "an array of " + c.map { "\"\($0)\"" }.joined(separator: ", ")
        case .duration: return "a duration like \"90s\", \"3m\", \"1h\" (or a number of seconds)"
        }
    }
}

/// One documented configuration key.
public struct ConfigKeySpec: Sendable {
    public var section: String
    public var key: String
    public var kind: ConfigKind
    public var defaultValue: ConfigValue
    public var help: String
    /// Secrets are never printed by `config show`.
    public var secret: Bool

    public init(_ section: String, _ key: String, _ kind: ConfigKind, _ defaultValue: ConfigValue, _ help: String,
                secret: Bool = false) {
        self.section = section; self.key = key; self.kind = kind; self.defaultValue = defaultValue
        self.help = help; self.secret = secret
    }
    public var path: String { "\(section).\(key)" }
    /// FACEGATE_<SECTION>_<KEY>
    public var environmentName: String { "FACEGATE_\(section.uppercased())_\(key.uppercased())" }
}

/// Every key FaceGate reads from `facegate.toml`. docs/facegate.example.toml lists the same keys (a test checks).
/// To add a key: add it here, read it in `FaceGateConfig`, document it in the example file.
public enum ConfigSchema {
    /// The challenge types (`ChallengeType` raw values, as the CLI spells them).
    public static let challengeNames = ChallengeType.allCases.map(\.rawValue)
    /// Older spellings still accepted in `liveness.challenge_types` (mapped to the hyphenated names).
    public static let challengeAliases = ["turn_left", "turn_right", "tilt_left", "tilt_right", "look_up", "look_down", "open_mouth"]
    public static let webhookEvents = ["authorized", "denied", "spoof", "enrolled", "removed"]

    public static let keys: [ConfigKeySpec] = [
        // [identity]
        .init("identity", "threshold", .double(IdentityThreshold.allowedRange), .double(IdentityThreshold.default),
              "Same-person threshold on dlib ResNet embedding distance (lower = stricter). Order: a command's --threshold > the user's own > --set > FACEGATE_IDENTITY_THRESHOLD > this > default."),
        .init("identity", "quality", .choice(QualityLevel.allCases.map(\.rawValue)), .string(QualityLevel.standard.rawValue),
              "Enrollment quality gate: lenient, standard or strict (enroll --quality overrides)."),
        // [store] — resolved by FaceGateStore (GalleryLocation / GalleryKey) when empty.
        .init("store", "database", .string, .string(""),
              "Gallery + audit database: a SQLite path or postgres:// URL. Empty = $FACEGATE_DB, else $XDG_DATA_HOME/facegate/facegate.sqlite (~/.local/share/facegate/facegate.sqlite)."),
        .init("store", "key_file", .string, .string(""),
              "File with the AES-256-GCM key (base64) for templates and audit snapshots. Empty = $FACEGATE_KEY_FILE, else <data dir>/facegate.key (created on first use)."),
        .init("store", "key", .string, .string(""),
              "The key itself (base64). Prefer key_file, or the environment (FACEGATE_STORE_KEY or FACEGATE_KEY).", secret: true),
        // [liveness]
        .init("liveness", "mode", .choice(LivenessMode.allCases.map(\.rawValue)), .string(LivenessMode.active.rawValue),
              "Liveness mode of server sessions that do not ask for one: challenges (active), passive cues only (passive), or both on the same frames. \"active\" runs as both while an anti-spoof model is installed and use_installed_models is true."),
        .init("liveness", "challenges", .int(0...8), .int(ChallengePlan.defaultCount),
              "Number of random challenges per session (active mode)."),
        .init("liveness", "challenge_types", .choices(challengeNames + challengeAliases), .strings(challengeNames),
              "Pool the random challenges are drawn from."),
        .init("liveness", "passive_mode", .choice(PassiveMode.allCases.map(\.rawValue)), .string(PassiveMode.light.rawValue),
              "Passive fusion: light = deny cues only; strict = also needs a confirm cue (a passed challenge counts)."),
        .init("liveness", "model", .string, .string(""),
              "Your own liveness model from `facegate train` (LivenessNet or texture), used as the passive texture cue. Empty = none."),
        .init("liveness", "pad_models", .strings, .strings([]),
              "Anti-spoof ONNX models for the passive cues: catalog names or paths. Empty = every installed anti-spoof model."),
        .init("liveness", "use_installed_models", .bool, .bool(true),
              "With pad_models empty, use every installed anti-spoof model, and run challenges together with the passive cues (mode both) by default (false = hand-made passive cues only, and active sessions stay active)."),
        .init("liveness", "pad_threshold", .double(PassiveFusion.defaultScoreThreshold...PassiveFusion.maximumScoreThreshold),
              .double(PassiveFusion.defaultScoreThreshold),
              "Passive PAD operating point on the fused score: refused below it. 0.5 = the cues' own thresholds; `facegate calibrate-pad` picks a stricter one on your own genuine recordings for a target BPCER."),
        .init("liveness", "passive_frames", .int(PassiveCapture.minimumFrames...300), .int(PassiveCapture.defaultFrames),
              "Frames with one face a passive-only session collects before deciding (30 ≈ 2 s at 15 fps)."),
        .init("liveness", "timeout", .duration, .double(0),
              "Whole-session time limit; a session that has not decided is denied with reason timeout. 0 = from the plan: calibration + per challenge its timeout and the longest hold-still (24.5 s for 3 challenges; a passive-only capture 10 s). The same rule for the CLI, the daemon and the server (`LivenessTiming`)."),
        .init("liveness", "challenge_timeout", .duration, .double(LivenessConfiguration.defaultChallengeTimeout),
              "Time allowed to answer one challenge (the core's default, the same for the CLI and the server)."),
        // [voice]
        .init("voice", "enabled", .choice(["auto", "on", "off"]), .string("auto"),
              "Spoken result through espeak-ng. auto = only when an audio output device exists; --voice forces on."),
        .init("voice", "voice", .string, .string("en"),
              "espeak-ng voice / language (see `espeak-ng --voices`), e.g. en, en-us, de, fr."),
        .init("voice", "speed", .int(80...450), .int(160), "Speaking rate, words per minute."),
        .init("voice", "granted_text", .string, .string("Access granted, {user}"),
              "Spoken on success; {user} is replaced by the user name."),
        .init("voice", "denied_text", .string, .string("Access denied"), "Spoken on refusal."),
        .init("voice", "save_dir", .string, .string(""),
              "If set, every spoken message is also written there as a WAV file."),
        // [mail]
        .init("mail", "enabled", .bool, .bool(false), "Send an e-mail alert on every unauthorized attempt."),
        .init("mail", "smtp_url", .string, .string("smtp://localhost:587"),
              "SMTP server: smtp://host:port (plain or STARTTLS) or smtps://host:465 (implicit TLS)."),
        .init("mail", "security", .choice(["starttls", "tls", "none"]), .string("starttls"),
              "starttls = upgrade and require TLS; tls = implicit TLS (smtps); none = plain text (loopback tests only)."),
        .init("mail", "ca_file", .string, .string(""),
              "PEM file of CA certificates to trust for the SMTP server (default: system store)."),
        .init("mail", "user", .string, .string(""), "SMTP login name (empty = no authentication)."),
        .init("mail", "password", .string, .string(""),
              "SMTP password; prefer password_file or FACEGATE_MAIL_PASSWORD.", secret: true),
        .init("mail", "password_file", .string, .string(""), "File whose first line is the SMTP password."),
        .init("mail", "from", .string, .string("facegate@localhost"), "Sender address."),
        .init("mail", "to", .strings, .strings([]), "Recipient addresses (the owner)."),
        .init("mail", "subject", .string, .string("FaceGate: unauthorized attempt on {host}"),
              "Subject line; {host}, {reason} and {user} are replaced."),
        .init("mail", "location", .string, .string(""),
              "Where this computer is, as text (e.g. \"Office 3.14, Main St 1\"). No network look-up is done."),
        .init("mail", "latitude", .double(-90...90), .unset, "Optional coordinates of the computer (degrees)."),
        .init("mail", "longitude", .double(-180...180), .unset, "Optional coordinates of the computer (degrees)."),
        .init("mail", "timeout", .duration, .double(30), "Time limit for one delivery attempt."),
        .init("mail", "max_age", .duration, .double(72 * 3600),
              "A queued alert not delivered after this long is moved to spool/mail/failed and logged as an error."),
        // [lock]
        .init("lock", "enabled", .bool, .bool(false), "Lock the session on an unauthorized attempt (opt-in: a denied face must not lock the desktop of whoever runs the command)."),
        .init("lock", "command", .string, .string("loginctl lock-session"), "Lock command (run without a shell)."),
        .init("lock", "fallback", .string, .string("xdg-screensaver lock"),
              "Tried when the lock command fails or is missing (empty = none)."),
        .init("lock", "dry_run", .bool, .bool(false), "Log the command instead of running it."),
        .init("lock", "timeout", .duration, .double(10), "Time limit for the lock command."),
        // [webhooks]
        .init("webhooks", "urls", .strings, .strings([]), "URLs that receive a signed JSON POST per event."),
        .init("webhooks", "secret", .string, .string(""),
              "HMAC-SHA256 signing secret; prefer secret_file or FACEGATE_WEBHOOKS_SECRET.", secret: true),
        .init("webhooks", "secret_file", .string, .string(""), "File whose first line is the signing secret."),
        .init("webhooks", "events", .choices(webhookEvents), .strings(webhookEvents), "Events to send."),
        .init("webhooks", "timeout", .duration, .double(10), "Time limit for one POST."),
        .init("webhooks", "max_age", .duration, .double(24 * 3600),
              "A queued event not delivered after this long is moved to spool/webhooks/failed and logged."),
        // [audit]
        .init("audit", "enabled", .bool, .bool(true), "Record every attempt in the database."),
        .init("audit", "file", .string, .string(""),
              "Also append each record as one JSON line to this file; \"-\" = standard output; empty = off."),
        .init("audit", "retention_days", .int(1...36500), .int(90),
              "Records (and their snapshots) older than this are deleted."),
        .init("audit", "snapshots", .bool, .bool(true),
              "Keep the attempt's snapshot JPEG, encrypted with the store key."),
        // [lockout]
        .init("lockout", "enabled", .bool, .bool(true), "Refuse attempts after repeated failures."),
        .init("lockout", "max_failures", .int(1...1000), .int(LockoutPolicy.defaultMaxFailures), "Failures (per user and per source) that trigger a lockout."),
        .init("lockout", "window", .duration, .double(LockoutPolicy.defaultWindow), "…counted within this sliding window."),
        .init("lockout", "duration", .duration, .double(LockoutPolicy.defaultDuration), "How long further attempts are refused."),
        // [server]
        .init("server", "host", .string, .string("127.0.0.1"), "Address the HTTP/WebSocket server listens on."),
        .init("server", "port", .int(1...65535), .int(8080), "Port the server listens on."),
        .init("server", "allow_image_probes", .bool, .bool(false),
              "Let non-admin keys send /v1/verify and /v1/identify an uploaded image: a face comparison that no liveness check saw (a photo of the person passes). Default false: those keys need a succeeded session ({\"session\": id}); admin keys always may."),
        // [actions]
        .init("actions", "spool_dir", .string, .string("~/.local/state/facegate/spool"),
              "Durable queue for e-mail alerts and webhook events not yet delivered."),
        .init("actions", "spool_failed_keep", .int(0...100_000), .int(100),
              "Undelivered items kept in <spool_dir>/*/failed for inspection, newest first (mail alerts carry the attempt's face snapshot)."),
        .init("actions", "spool_failed_max_age", .duration, .double(7 * 86_400),
              "Undelivered items older than this are deleted from <spool_dir>/*/failed."),
    ]

    public static let sections: [String] = {
        var seen: [String] = []
        for k in keys where !seen.contains(k.section) { seen.append(k.section) }
        return seen
    }()

    public static func spec(_ section: String, _ key: String) -> ConfigKeySpec? {
        keys.first { $0.section == section && $0.key == key }
    }
    public static func spec(path: String) -> ConfigKeySpec? {
        guard let dot = path.firstIndex(of: ".") else { return nil }
        return spec(String(path[..<dot]), String(path[path.index(after: dot)...]))
    }

    /// Parses "90s", "3m", "1.5h", "2d", "250ms" or a bare number of seconds.
    public static func parseDuration(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (u, f) in units where t.hasSuffix(u) {
            let num = t.dropLast(u.count).trimmingCharacters(in: .whitespaces)
            if let v = Double(num), v >= 0, v.isFinite { return v * f }
        }
        if let v = Double(t), v >= 0, v.isFinite { return v }
        return nil
    }

    /// "180" seconds → "3m".
    public static func formatDuration(_ s: Double) -> String {
        if s >= 86400, s.truncatingRemainder(dividingBy: 86400) == 0 { return "\(Int(s / 86400))d" }
        if s >= 3600, s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600))h" }
        if s >= 60, s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60))m" }
        if s == s.rounded() { return "\(Int(s))s" }
        return "\(s)s"
    }
}
