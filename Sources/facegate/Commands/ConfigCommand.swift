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

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check or show the configuration file (facegate.toml).",
        discussion: "Reference with every key, default and meaning: docs/facegate.example.toml.",
        subcommands: [Check.self, Show.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file: unknown keys, wrong types and bad values, with line numbers.",
            discussion: "Exit status: 0 valid (warnings allowed), 2 invalid. Environment overrides (FACEGATE_<SECTION>_<KEY>) are checked too.")

        @Argument(help: "File to check (default: the one FaceGate would use).")
        var file: String?

        @Flag(name: .long, help: "Print issues as JSON lines.")
        var json = false

        func run() async throws {
            let env = ProcessInfo.processInfo.environment
            let loaded: LoadedConfig
            do { loaded = try ConfigLoader.load(explicit: file, environment: env) }
            catch let e as FaceGateConfigError { printError("facegate: error: \(e.description)"); throw ExitCode(e.exitCode) }
            let issues = loaded.issues.sorted { ($0.origin, $0.line ?? 0) < ($1.origin, $1.line ?? 0) }
            if json {
                struct J: Encodable { var severity: String; var origin: String; var line: Int?; var message: String }
                for i in issues { print(jsonLine(J(severity: i.severity.rawValue, origin: i.origin, line: i.line, message: i.message))) }
                print(jsonLine(["file": loaded.path ?? "", "valid": loaded.isValid ? "true" : "false"]))
            } else {
                for i in issues { print(i.description) }
                let name = loaded.path ?? "(no configuration file found; defaults)"
                let errors = issues.filter { $0.severity == .error }.count, warnings = issues.count - errors
                if loaded.isValid {
                    print("\(name): OK\(warnings > 0 ? " (\(warnings) warning\(warnings == 1 ? "" : "s"))" : "")")
                } else {
                    print("\(name): INVALID — \(errors) error\(errors == 1 ? "" : "s")\(warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : "")")
                }
            }
            if !loaded.isValid { throw ExitCode(2) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration (defaults < file < environment < flags); secrets are hidden.")

        @OptionGroup var options: ConfigOptions

        @Flag(name: .long, help: "Annotate each key with where its value came from.")
        var origin = false

        @Flag(name: .long, help: "Print as one JSON object.")
        var json = false

        func run() async throws {
            let loaded: LoadedConfig
            do { loaded = try ConfigLoader.load(explicit: options.config, overrides: try options.overrides()) }
            catch let e as FaceGateConfigError { printError("facegate: error: \(e.description)"); throw ExitCode(e.exitCode) }
            for i in loaded.issues { printError(i.description) }
            if json {
                var obj: [String: [String: Any]] = [:]
                for k in ConfigSchema.keys {
                    let v = loaded.value(k.path)
                    var out: Any
                    switch v {
                    case .string(let s): out = k.secret && !s.isEmpty ? "***" : s
                    case .int(let i): out = i
                    case .double(let d): out = d
                    case .bool(let b): out = b
                    case .strings(let a): out = a
                    case .unset: out = NSNull()
                    }
                    obj[k.section, default: [:]][k.key] = out
                }
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("# effective configuration — file: \(loaded.path ?? "none (defaults)")")
                var section = ""
                for k in ConfigSchema.keys {
                    if k.section != section { section = k.section; print("\n[\(section)]") }
                    let v = loaded.value(k.path)
                    var text: String
                    switch v {
                    case .string(let s) where k.secret && !s.isEmpty: text = "\"***\""
                    case .double(let d) where k.kind == .duration: text = "\"\(ConfigSchema.formatDuration(d))\""
                    case .unset: text = ""
                    default: text = v.description
                    }
                    let from = origin ? "  # \(loaded.origins[k.path]?.description ?? "default")" : ""
                    if v == .unset { print("# \(k.key) =\(from.isEmpty ? "  # unset" : from)") }
                    else { print("\(k.key) = \(text)\(from)") }
                }
            }
            if !loaded.isValid { throw ExitCode(2) }
        }
    }
}
