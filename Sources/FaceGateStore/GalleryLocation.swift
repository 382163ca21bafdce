import Foundation

/// Where a gallery lives: a SQLite file or a PostgreSQL database.
public enum GalleryLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// Parses `--db`: a plain path, `sqlite:PATH` (also `sqlite://PATH`), or `postgres://` / `postgresql://` URL.
    public init(parsing s: String) throws {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { throw GalleryError.badLocation("empty location") }
        let lower = t.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            self = .postgres(try PostgresURL(parsing: t))
        } else if lower.hasPrefix("sqlite://") {
            let p = String(t.dropFirst("sqlite://".count))
            guard !p.isEmpty else { throw GalleryError.badLocation("'\(s)' has no path") }
            self = .sqlite(path: Self.expand(p))
        } else if lower.hasPrefix("sqlite:") {
            let p = String(t.dropFirst("sqlite:".count))
            guard !p.isEmpty else { throw GalleryError.badLocation("'\(s)' has no path") }
            self = .sqlite(path: Self.expand(p))
        } else if lower.contains("://") {
            throw GalleryError.badLocation("unsupported scheme in '\(s)'")
        } else {
            self = .sqlite(path: Self.expand(t))
        }
    }

    /// `--db` if given, else `FACEGATE_DB`, else the SQLite file in the data directory.
    public static func resolve(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GalleryLocation {
        if let f = flag, !f.isEmpty { return try GalleryLocation(parsing: f) }
        if let e = environment["FACEGATE_DB"], !e.isEmpty { return try GalleryLocation(parsing: e) }
        return .sqlite(path: dataDirectory(environment: environment) + "/facegate.sqlite")
    }

    /// `$XDG_DATA_HOME/facegate`, else `~/.local/share/facegate`.
    public static func dataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let x = environment["XDG_DATA_HOME"], x.hasPrefix("/") { return x + "/facegate" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/share/facegate"
    }

    static func expand(_ p: String) -> String {
        if p == "~" || p.hasPrefix("~/") { return NSHomeDirectory() + p.dropFirst() }
        return p
    }

    /// Printable form without the password.
    public var description: String {
        switch self {
        case .sqlite(let p): return "sqlite:\(p)"
        case .postgres(let u): return u.redacted
        }
    }
}

/// `postgres://user:pass@host:port/db?sslmode=disable|prefer|require`.
public struct PostgresURL: Sendable, Hashable {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public enum TLSMode: String, Sendable, Hashable { case disable, prefer, require }
    public var tls: TLSMode

    public static let defaultPort = 5432

    public init(user: String, password: String?, host: String, port: Int = PostgresURL.defaultPort, database: String, tls: TLSMode = .disable) {
        self.user = user; self.password = password; self.host = host; self.port = port; self.database = database; self.tls = tls
    }

    public init(parsing s: String) throws {
        guard let c = URLComponents(string: s), let scheme = c.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw GalleryError.badLocation("'\(PostgresURL.redact(s))' is not a postgres:// URL")
        }
        guard let host = c.host, !host.isEmpty else { throw GalleryError.badLocation("'\(PostgresURL.redact(s))' has no host") }
        let db = String(c.path.drop(while: { $0 == "/" }))
        guard !db.isEmpty else { throw GalleryError.badLocation("'\(PostgresURL.redact(s))' has no database name (…/DBNAME)") }
        user = c.user?.removingPercentEncoding ?? c.user ?? "postgres"
        password = c.password?.removingPercentEncoding ?? c.password
        self.host = host
        port = c.port ?? Self.defaultPort
        database = db.removingPercentEncoding ?? db
        // Loopback servers default to no TLS; others prefer it.
        let loopback = host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]"
        var mode: TLSMode = loopback ? .disable : .prefer
        if let v = c.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            switch v {
            case "disable", "allow": mode = .disable
            case "prefer": mode = .prefer
            case "require", "verify-ca", "verify-full": mode = .require
            default: throw GalleryError.badLocation("unknown sslmode '\(v)' (use disable, prefer or require)")
            }
        }
        tls = mode
    }

    public var redacted: String { "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)" }

    static func redact(_ s: String) -> String {
        guard var c = URLComponents(string: s) else { return "postgres://…" }
        if c.password != nil { c.password = "***" }
        return c.string ?? "postgres://…"
    }
}
