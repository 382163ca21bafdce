import ArgumentParser
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import Foundation

/// `--config FILE` and `--set section.key=value`: include with `@OptionGroup var config: ConfigOptions` in any
/// command that reads facegate.toml.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $FACEGATE_CONFIG, ~/.config/facegate/facegate.toml, /etc/facegate/facegate.toml).")
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override one key, e.g. --set lockout.max_failures=3 (repeatable).", valueName: "section.key=value"))
    var sets: [String] = []

    /// Parsed --set pairs merged with command-specific overrides (those win).
    func overrides(_ extra: [String: String] = [:]) throws -> [String: String] {
        var out: [String: String] = [:]
        for s in sets {
            guard let eq = s.firstIndex(of: "="), s[..<eq].contains(".") else {
                throw ValidationError("--set expects section.key=value, got '\(s)'")
            }
            out[String(s[..<eq]).trimmingCharacters(in: .whitespaces)] = String(s[s.index(after: eq)...])
        }
        return out.merging(extra) { _, new in new }
    }

    /// The effective configuration; invalid configuration exits 2 with every error and its line.
    func load(_ extra: [String: String] = [:]) throws -> FaceGateConfig {
        do {
            return try FaceGateConfig.load(explicit: config, overrides: try overrides(extra))
        } catch let e as FaceGateConfigError {
            printError("facegate: error: \(e.description)")
            throw ExitCode(e.exitCode)
        }
    }
}

/// Flags for commands that run decision actions (authenticate, serve).
struct ActionOptions: ParsableArguments {
    @Flag(name: .long, inversion: .prefixedNo, help: "Speak the result with espeak-ng (default: voice.enabled, \"auto\" = only with an audio device).")
    var voice: Bool? = nil

    @Option(name: .long, help: "Also write each spoken message as a WAV file into this directory (voice.save_dir).")
    var voiceDir: String?

    @Flag(name: .long, help: "Lock the desktop session on an unauthorized attempt (lock.enabled; off by default).")
    var lock = false

    @Flag(name: .long, help: "Do not run the lock command; log it (lock.dry_run).")
    var lockDryRun = false

    /// Config overrides these flags imply.
    var overrides: [String: String] {
        var o: [String: String] = [:]
        if let v = voice { o["voice.enabled"] = v ? "on" : "off" }
        if let d = voiceDir { o["voice.save_dir"] = d }
        if lock { o["lock.enabled"] = "true" }
        if lockDryRun { o["lock.dry_run"] = "true" }
        return o
    }
}

