import FaceGateConfig
import Foundation

/// What `facegate config check` and `config show` report about a loaded configuration: the issues in file order, a
/// one-line verdict, and the effective values with secrets hidden (as one JSON object or as TOML, each key
/// optionally annotated with where its value came from). Front-ends print these lines.
public struct ConfigReport: Sendable {
    public let loaded: LoadedConfig
    public init(_ loaded: LoadedConfig) { self.loaded = loaded }

    /// The issues sorted by origin, then line.
    public var issues: [ConfigIssue] { loaded.issues.sorted { ($0.origin, $0.line ?? 0) < ($1.origin, $1.line ?? 0) } }

    /// `FILE: OK (n warnings)` or `FILE: INVALID — n errors, m warnings`.
    public var verdict: String {
        let name = loaded.path ?? "(no configuration file found; defaults)"
        let errors = issues.filter { $0.severity == .error }.count, warnings = issues.count - errors
        let w = warnings > 0 ? "\(warnings) warning\(warnings == 1 ? "" : "s")" : ""
        if loaded.isValid { return "\(name): OK\(w.isEmpty ? "" : " (\(w))")" }
        return "\(name): INVALID — \(errors) error\(errors == 1 ? "" : "s")\(w.isEmpty ? "" : ", \(w)")"
    }

    /// The issues as JSON lines, then `{"file":…,"valid":…}`.
    public var jsonLines: [String] {
        struct J: Encodable { var severity: String; var origin: String; var line: Int?; var message: String }
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        func line<T: Encodable>(_ v: T) -> String { (try? enc.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "{}" }
        return issues.map { line(J(severity: $0.severity.rawValue, origin: $0.origin, line: $0.line, message: $0.message)) }
            + [line(["file": loaded.path ?? "", "valid": loaded.isValid ? "true" : "false"])]
    }

    /// Every schema key's effective value as one JSON object `{section: {key: value}}` (secrets as `***`).
    public func effectiveJSON() throws -> String {
        var obj: [String: [String: Any]] = [:]
        for k in ConfigSchema.keys {
            let out: Any
            switch loaded.value(k.path) {
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
        return String(decoding: data, as: UTF8.self)
    }

    /// The effective configuration as TOML lines (secrets as `"***"`, durations as text, unset keys commented out),
    /// each key annotated with its origin when `origins`.
    public func effectiveTOML(origins: Bool) -> [String] {
        var lines = ["# effective configuration — file: \(loaded.path ?? "none (defaults)")"]
        var section = ""
        for k in ConfigSchema.keys {
            if k.section != section { section = k.section; lines.append("\n[\(section)]") }
            let v = loaded.value(k.path)
            let text: String
            switch v {
            case .string(let s) where k.secret && !s.isEmpty: text = "\"***\""
            case .double(let d) where k.kind == .duration: text = "\"\(ConfigSchema.formatDuration(d))\""
            case .unset: text = ""
            default: text = v.description
            }
            let from = origins ? "  # \(loaded.origins[k.path]?.description ?? "default")" : ""
            if v == .unset { lines.append("# \(k.key) =\(from.isEmpty ? "  # unset" : from)") }
            else { lines.append("\(k.key) = \(text)\(from)") }
        }
        return lines
    }
}
