import Foundation
import TOMLKit

/// One problem found in a configuration file, environment variable or flag.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var severity: Severity
    /// Where: file path, "environment" or "flag".
    public var origin: String
    /// 1-based line in the file, when known.
    public var line: Int?
    public var message: String

    public var description: String {
        let loc = line.map { "\(origin):\($0)" } ?? origin
        return "\(loc): \(severity.rawValue): \(message)"
    }
}

/// Where an effective value came from.
public enum ConfigOrigin: Sendable, Hashable, CustomStringConvertible {
    case defaultValue
    case file(String, line: Int?)
    case environment(String)
    case flag

    public var description: String {
        switch self {
        case .defaultValue: return "default"
        case .file(let p, let l): return l.map { "\(p):\($0)" } ?? p
        case .environment(let n): return "env \(n)"
        case .flag: return "flag"
        }
    }
}

/// The result of reading a configuration: effective values (default < file < environment < flags) and problems.
public struct LoadedConfig: Sendable {
    public var path: String?
    public var values: [String: ConfigValue]
    public var origins: [String: ConfigOrigin]
    public var issues: [ConfigIssue]
    public var isValid: Bool { !issues.contains { $0.severity == .error } }

    public func value(_ path: String) -> ConfigValue {
        values[path] ?? ConfigSchema.spec(path: path)?.defaultValue ?? .unset
    }
}

/// Finds, parses and validates `facegate.toml`.
public enum ConfigLoader {
    public static let environmentVariable = "FACEGATE_CONFIG"

    /// Search order: explicit path, $FACEGATE_CONFIG, ~/.config/facegate/facegate.toml, /etc/facegate/facegate.toml.
    /// Returns nil when no file exists (defaults apply). An explicit or env path that does not exist is an error.
    public static func locate(explicit: String?, environment: [String: String]) throws -> String? {
        if let p = explicit, !p.isEmpty {
            let e = expandTilde(p, environment: environment)
            guard FileManager.default.fileExists(atPath: e) else { throw FaceGateConfigError.missingFile(e, via: "--config") }
            return e
        }
        if let p = environment[environmentVariable], !p.isEmpty {
            let e = expandTilde(p, environment: environment)
            guard FileManager.default.fileExists(atPath: e) else { throw FaceGateConfigError.missingFile(e, via: environmentVariable) }
            return e
        }
        for c in ["~/.config/facegate/facegate.toml", "/etc/facegate/facegate.toml"] {
            let e = expandTilde(c, environment: environment)
            if FileManager.default.fileExists(atPath: e) { return e }
        }
        return nil
    }

    /// The file a command that writes settings edits: explicit path, else $FACEGATE_CONFIG, else the user's
    /// ~/.config/facegate/facegate.toml (the file need not exist yet; /etc is never written).
    public static func writablePath(explicit: String?, environment: [String: String]) -> String {
        if let p = explicit, !p.isEmpty { return expandTilde(p, environment: environment) }
        if let p = environment[environmentVariable], !p.isEmpty { return expandTilde(p, environment: environment) }
        return expandTilde("~/.config/facegate/facegate.toml", environment: environment)
    }

    /// Writes `text` to `path` atomically only if it validates as a whole configuration; false (nothing written)
    /// when it does not.
    public static func writeIfValid(_ text: String, to path: String, environment: [String: String]) throws -> Bool {
        guard resolve(text: text, path: path, environment: environment, overrides: [:]).isValid else { return false }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return true
    }

    /// Loads the effective configuration. `overrides` are "section.key" → text (from flags).
    public static func load(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [String: String] = [:]) throws -> LoadedConfig {
        let path = try locate(explicit: explicit, environment: environment)
        var text: String? = nil
        if let path {
            do { text = try String(contentsOfFile: path, encoding: .utf8) }
            catch { throw FaceGateConfigError.unreadable(path, error.localizedDescription) }
        }
        return resolve(text: text, path: path, environment: environment, overrides: overrides)
    }

    /// Validates and merges; never throws — every problem is an issue.
    public static func resolve(text: String?, path: String?, environment: [String: String],
                               overrides: [String: String]) -> LoadedConfig {
        var values: [String: ConfigValue] = [:]
        var origins: [String: ConfigOrigin] = [:]
        var issues: [ConfigIssue] = []
        for k in ConfigSchema.keys { values[k.path] = k.defaultValue; origins[k.path] = .defaultValue }

        if let text {
            let origin = path ?? "config"
            let lines = TOMLLineLocator(text)
            do {
                let table = try TOMLTable(string: text)
                for section in table.keys {
                    guard let sub = table[section] else { continue }
                    guard ConfigSchema.sections.contains(section) else {
                        issues.append(.init(severity: .error, origin: origin, line: lines.line(section: section),
                                            message: "unknown section [\(section)] — known sections: \(ConfigSchema.sections.joined(separator: ", "))"))
                        continue
                    }
                    guard let st = sub.table else {
                        issues.append(.init(severity: .error, origin: origin, line: lines.line(section: nil, key: section),
                                            message: "\(section) must be a table ([\(section)]), not a \(sub.type)"))
                        continue
                    }
                    for key in st.keys {
                        guard let raw = st[key] else { continue }
                        let line = lines.line(section: section, key: key)
                        guard let spec = ConfigSchema.spec(section, key) else {
                            let known = ConfigSchema.keys.filter { $0.section == section }.map(\.key)
                            let hint = closest(key, in: known).map { " (did you mean \($0)?)" } ?? ""
                            issues.append(.init(severity: .error, origin: origin, line: line,
                                                message: "unknown key \(section).\(key)\(hint) — known keys in [\(section)]: \(known.joined(separator: ", "))"))
                            continue
                        }
                        switch convert(raw, spec: spec) {
                        case .success(let v):
                            values[spec.path] = v; origins[spec.path] = .file(origin, line: line)
                            if spec.secret, v != .string("") {
                                issues.append(.init(severity: .warning, origin: origin, line: line,
                                                    message: "\(spec.path) is a secret written in the file — prefer \(spec.key)_file or \(spec.environmentName), and keep the file mode 600"))
                            }
                        case .failure(let msg):
                            issues.append(.init(severity: .error, origin: origin, line: line, message: "\(spec.path): \(msg)"))
                        }
                    }
                }
            } catch let e as TOMLParseError {
                issues.append(.init(severity: .error, origin: origin, line: e.source.begin.line,
                                    message: "TOML syntax: \(e.description)"))
            } catch {
                issues.append(.init(severity: .error, origin: origin, line: nil, message: "cannot parse: \(error)"))
            }
        }

        // Environment: FACEGATE_<SECTION>_<KEY>. Only known sections are inspected (other FACEGATE_* variables,
        // e.g. FACEGATE_MODELS or FACEGATE_CONFIG, belong to other parts of FaceGate).
        for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("FACEGATE_") {
            let rest = name.dropFirst("FACEGATE_".count).lowercased()
            guard let us = rest.firstIndex(of: "_") else { continue }
            let section = String(rest[..<us]), key = String(rest[rest.index(after: us)...])
            guard ConfigSchema.sections.contains(section) else { continue }
            guard let spec = ConfigSchema.spec(section, key) else {
                issues.append(.init(severity: .warning, origin: "environment", line: nil,
                                    message: "\(name) does not name a configuration key (ignored)"))
                continue
            }
            switch convert(text: text, spec: spec) {
            case .success(let v): values[spec.path] = v; origins[spec.path] = .environment(name)
            case .failure(let msg): issues.append(.init(severity: .error, origin: "environment", line: nil, message: "\(name): \(msg)"))
            }
        }

        for (path, text) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let spec = ConfigSchema.spec(path: path) else {
                issues.append(.init(severity: .error, origin: "flag", line: nil,
                                    message: "unknown key \(path) — run `facegate config show` to list keys"))
                continue
            }
            switch convert(text: text, spec: spec) {
            case .success(let v): values[spec.path] = v; origins[spec.path] = .flag
            case .failure(let msg): issues.append(.init(severity: .error, origin: "flag", line: nil, message: "\(path): \(msg)"))
            }
        }

        // Cross-key checks on the effective values.
        var cfg = LoadedConfig(path: path, values: values, origins: origins, issues: issues)
        cfg.issues += crossChecks(cfg)
        return cfg
    }

    static func crossChecks(_ c: LoadedConfig) -> [ConfigIssue] {
        var out: [ConfigIssue] = []
        func err(_ path: String, _ msg: String) {
            var line: Int? = nil
            var origin = "config"
            switch c.origins[path] {
            case .file(let p, let l): origin = p; line = l
            case .environment(let n): origin = "environment (\(n))"
            case .flag: origin = "flag"
            default: origin = c.path ?? "defaults"
            }
            out.append(.init(severity: .error, origin: origin, line: line, message: msg))
        }
        if case .bool(true) = c.value("mail.enabled") {
            if case .strings(let to) = c.value("mail.to"), to.isEmpty {
                err(c.origins["mail.to"] == .defaultValue ? "mail.enabled" : "mail.to", "mail.enabled is true but mail.to is empty — add the owner's address")
            }
            if case .string(let u) = c.value("mail.smtp_url"), !(u.hasPrefix("smtp://") || u.hasPrefix("smtps://")) {
                err("mail.smtp_url", "mail.smtp_url must start with smtp:// or smtps://, got \"\(u)\"")
            }
        }
        if case .string(let u) = c.value("mail.smtp_url"), u.hasPrefix("smtps://"),
           case .string("starttls") = c.value("mail.security"), c.origins["mail.security"] != .defaultValue {
            err("mail.security", "mail.smtp_url is smtps:// (implicit TLS) but mail.security is \"starttls\" — use \"tls\"")
        }
        for addr in (c.value("mail.to").stringsValue ?? []) + [c.value("mail.from").stringValue ?? ""] where !addr.isEmpty {
            if !addr.contains("@") || addr.contains(" ") { err(addr == c.value("mail.from").stringValue ? "mail.from" : "mail.to", "\"\(addr)\" is not an e-mail address") }
        }
        let lat = c.value("mail.latitude"), lon = c.value("mail.longitude")
        if (lat == .unset) != (lon == .unset) { err(lat == .unset ? "mail.longitude" : "mail.latitude", "set both mail.latitude and mail.longitude, or neither") }
        for u in c.value("webhooks.urls").stringsValue ?? [] {
            if URL(string: u)?.scheme.map({ ["http", "https"].contains($0) }) != true {
                err("webhooks.urls", "webhook URL \"\(u)\" must be http:// or https://")
            }
        }
        if !(c.value("webhooks.urls").stringsValue ?? []).isEmpty,
           c.value("webhooks.secret").stringValue ?? "" == "", c.value("webhooks.secret_file").stringValue ?? "" == "" {
            out.append(.init(severity: .warning, origin: c.path ?? "config", line: nil,
                             message: "webhooks.urls is set but no secret: events will be sent unsigned — set webhooks.secret_file or FACEGATE_WEBHOOKS_SECRET"))
        }
        if case .string(let cmd) = c.value("lock.command"), cmd.trimmingCharacters(in: .whitespaces).isEmpty,
           case .bool(true) = c.value("lock.enabled") {
            err("lock.command", "lock.enabled is true but lock.command is empty")
        }
        if let t = c.value("liveness.timeout").doubleValue, let ct = c.value("liveness.challenge_timeout").doubleValue, t > 0, ct > t {
            err("liveness.challenge_timeout", "liveness.challenge_timeout (\(ConfigSchema.formatDuration(ct))) is longer than liveness.timeout (\(ConfigSchema.formatDuration(t)))")
        }
        if let n = c.value("liveness.challenges").intValue, let pool = c.value("liveness.challenge_types").stringsValue, n > 0, pool.isEmpty {
            err("liveness.challenge_types", "liveness.challenges is \(n) but liveness.challenge_types is empty")
        }
        if let f = c.value("liveness.model").stringValue, !f.isEmpty, !FileManager.default.isReadableFile(atPath: expandTilde(f)) {
            err("liveness.model", "liveness.model \"\(f)\" does not exist or is not readable — train one with `facegate train` or leave it empty")
        }
        for p in ["mail.password_file", "webhooks.secret_file"] {
            if let f = c.value(p).stringValue, !f.isEmpty, !FileManager.default.isReadableFile(atPath: expandTilde(f)) {
                err(p, "\(p) \"\(f)\" does not exist or is not readable")
            }
        }
        return out
    }

    enum Conversion { case success(ConfigValue), failure(String) }

    static func convert(_ raw: TOMLValueConvertible, spec: ConfigKeySpec) -> Conversion {
        let got = "got a \(raw.type) (\(raw.debugDescription.prefix(60)))"
        switch spec.kind {
        case .string:
            guard let s = raw.string else { return .failure("expected a string, \(got)") }
            return .success(.string(s))
        case .bool:
            guard let b = raw.bool else { return .failure("expected true or false, \(got)") }
            return .success(.bool(b))
        case .int(let r):
            guard let i = raw.int else { return .failure("expected an integer, \(got)") }
            guard r.contains(i) else { return .failure("\(i) is out of range — expected \(spec.kind.name)") }
            return .success(.int(i))
        case .double(let r):
            guard let d = raw.double ?? raw.int.map(Double.init) else { return .failure("expected a number, \(got)") }
            guard r.contains(d) else { return .failure("\(d) is out of range — expected \(spec.kind.name)") }
            return .success(.double(d))
        case .duration:
            if let n = raw.double ?? raw.int.map(Double.init) {
                guard n >= 0 else { return .failure("a duration cannot be negative") }
                return .success(.double(n))
            }
            guard let s = raw.string else { return .failure("expected \(spec.kind.name), \(got)") }
            return convert(text: s, spec: spec)
        case .choice:
            guard let s = raw.string else { return .failure("expected \(spec.kind.name), \(got)") }
            return convert(text: s, spec: spec)
        case .strings, .choices:
            guard let a = raw.array else { return .failure("expected \(spec.kind.name), \(got)") }
            var out: [String] = []
            for (i, e) in a.enumerated() {
                guard let s = e.string else { return .failure("item \(i + 1) must be a string, got a \(e.type)") }
                out.append(s)
            }
            return validateList(out, spec: spec)
        }
    }

    /// Converts text from the environment or a flag.
    static func convert(text: String, spec: ConfigKeySpec) -> Conversion {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch spec.kind {
        case .string: return .success(.string(text))
        case .bool:
            switch t.lowercased() {
            case "true", "1", "yes", "on": return .success(.bool(true))
            case "false", "0", "no", "off": return .success(.bool(false))
            default: return .failure("expected true or false, got \"\(text)\"")
            }
        case .int(let r):
            guard let i = Int(t) else { return .failure("expected an integer, got \"\(text)\"") }
            guard r.contains(i) else { return .failure("\(i) is out of range — expected \(spec.kind.name)") }
            return .success(.int(i))
        case .double(let r):
            if t.isEmpty, spec.defaultValue == .unset { return .success(.unset) }
            guard let d = Double(t), d.isFinite else { return .failure("expected a number, got \"\(text)\"") }
            guard r.contains(d) else { return .failure("\(d) is out of range — expected \(spec.kind.name)") }
            return .success(.double(d))
        case .duration:
            guard let d = ConfigSchema.parseDuration(t) else { return .failure("expected \(spec.kind.name), got \"\(text)\"") }
            return .success(.double(d))
        case .choice(let options):
            guard options.contains(t) else { return .failure("\"\(t)\" is not allowed — expected \(spec.kind.name)") }
            return .success(.string(t))
        case .strings, .choices:
            let items = t.isEmpty ? [] : t.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return validateList(items, spec: spec)
        }
    }

    static func validateList(_ items: [String], spec: ConfigKeySpec) -> Conversion {
        if case .choices(let options) = spec.kind {
            for s in items where !options.contains(s) {
                return .failure("\"\(s)\" is not allowed — expected \(spec.kind.name)")
            }
        }
        return .success(.strings(items))
    }

    /// Closest known key by edit distance (≤ 3), for "did you mean".
    static func closest(_ word: String, in options: [String]) -> String? {
        func dist(_ a: [Character], _ b: [Character]) -> Int {
            var prev = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var cur = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                prev = cur
            }
            return prev[b.count]
        }
        let best = options.map { ($0, dist(Array(word), Array($0))) }.min { $0.1 < $1.1 }
        return best.flatMap { $0.1 <= 3 ? $0.0 : nil }
    }

    public static func expandTilde(_ p: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        guard p.hasPrefix("~") else { return p }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + p.dropFirst()
    }
}

extension ConfigValue {
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
    public var doubleValue: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var stringsValue: [String]? { if case .strings(let a) = self { return a } else { return nil } }
}

/// Maps TOML keys to the line they are written on. TOMLKit does not expose node positions, so we scan the text:
/// enough for FaceGate's flat `[section]` + `key = value` layout (dotted and quoted keys included).
struct TOMLLineLocator {
    private var keyLines: [String: Int] = [:]
    private var sectionLines: [String: Int] = [:]

    init(_ text: String) {
        var section: String? = nil
        var inMultiline: String? = nil
        for (i, rawLine) in text.components(separatedBy: "\n").enumerated() {
            let lineNo = i + 1
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if let delim = inMultiline {
                if line.contains(delim) { inMultiline = nil }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                line = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] \t"))
                if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]).trimmingCharacters(in: CharacterSet(charactersIn: "[] \t")) }
                let name = line.replacingOccurrences(of: "\"", with: "")
                section = name
                let top = name.split(separator: ".").first.map(String.init) ?? name
                if sectionLines[top] == nil { sectionLines[top] = lineNo }
                if sectionLines[name] == nil { sectionLines[name] = lineNo }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "")
                .replacingOccurrences(of: "'", with: "")
            let full = section.map { "\($0).\(key)" } ?? key
            if keyLines[full] == nil { keyLines[full] = lineNo }
            if section == nil, let top = key.split(separator: ".").first, sectionLines[String(top)] == nil {
                sectionLines[String(top)] = lineNo
            }
            let value = line[line.index(after: eq)...]
            for d in ["\"\"\"", "'''"] where value.components(separatedBy: d).count == 2 { inMultiline = d }
        }
    }

    func line(section: String?, key: String) -> Int? {
        keyLines[section.map { "\($0).\(key)" } ?? key]
    }
    func line(section: String) -> Int? { sectionLines[section] }
}

/// Configuration problems that stop FaceGate from starting.
public enum FaceGateConfigError: Error, Sendable, CustomStringConvertible {
    case missingFile(String, via: String)
    case unreadable(String, String)
    case invalid([ConfigIssue])
    case secret(key: String, detail: String)

    public var description: String {
        switch self {
        case .missingFile(let p, let via): return "configuration file \(p) (from \(via)) does not exist — check the path, or run `facegate config show` to see defaults"
        case .unreadable(let p, let d): return "cannot read configuration file \(p): \(d) — check its permissions"
        case .invalid(let issues):
            return "invalid configuration:\n" + issues.filter { $0.severity == .error }.map { "  \($0)" }.joined(separator: "\n")
                + "\nrun `facegate config check` for details"
        case .secret(let k, let d): return "cannot read secret \(k): \(d)"
        }
    }
    public var exitCode: Int32 {
        switch self {
        case .unreadable: return 3
        default: return 2
        }
    }
}
