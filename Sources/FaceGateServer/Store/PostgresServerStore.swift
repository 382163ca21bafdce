import FaceGateStore
import Foundation
import Logging
import PostgresNIO

/// Server tables in the gallery's PostgreSQL database, so every instance behind a load balancer sees the same
/// keys, sessions and links (lockout counters: `PostgresLockoutStore`).
public final class PostgresServerStore: ServerStore, @unchecked Sendable {
    let client: PostgresClient
    let logger: Logger
    private let runTask: Task<Void, Never>
    /// Serialises schema creation between instances starting together ("FGServer").
    static let migrationLockID: Int64 = 0x4647_5365_7276_6572

    public init(url: PostgresURL, logger: Logger = Logger(label: "facegate.server.postgres")) async throws {
        self.logger = logger
        (client, runTask) = url.startClient(logger: logger)
        do { try await migrate() } catch { runTask.cancel(); throw error }
    }

    deinit { runTask.cancel() }

    private func wrap<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() }
        catch let e as ServerStoreError { throw e }
        catch let e as PSQLError {
            if e.serverInfo?[.sqlState] == "23505" { throw ServerStoreError.duplicate(what) }
            throw ServerStoreError.database("\(what): \(e.serverInfo?[.message] ?? "\(e.code)")")
        }
        catch { throw ServerStoreError.database("\(what): \(error)") }
    }

    private func migrate() async throws {
        let logger = self.logger
        try await wrap("create server schema") {
            try await client.withTransaction(logger: logger) { c in
                try await c.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockID))", logger: logger)
                for ddl: PostgresQuery in [
                    """
                    CREATE TABLE IF NOT EXISTS server_api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT NULL,
                        hash TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION)
                    """,
                    """
                    CREATE TABLE IF NOT EXISTS server_sessions (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, status TEXT NOT NULL,
                        created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL,
                        instance TEXT, spec TEXT NOT NULL, outcome TEXT, embeddings BYTEA, consumed BOOLEAN NOT NULL DEFAULT FALSE)
                    """,
                    "CREATE INDEX IF NOT EXISTS server_sessions_status ON server_sessions(status, expires)",
                    """
                    CREATE TABLE IF NOT EXISTS server_enroll_links (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL,
                        created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL, used DOUBLE PRECISION, session_id TEXT)
                    """,
                    "CREATE TABLE IF NOT EXISTS server_pending_users (name TEXT PRIMARY KEY, threshold DOUBLE PRECISION, created DOUBLE PRECISION NOT NULL)",
                    // Lockout counters moved to the one `LockoutStore` table (facegate_lockout) shared with the CLI.
                    "DROP TABLE IF EXISTS server_lockout",
                ] { try await c.query(ddl, logger: logger) }
            }
        }
    }

    /// Runs a statement and counts returned rows (statements use RETURNING to report what they changed).
    private func count(_ what: String, _ q: PostgresQuery) async throws -> Int {
        try await wrap(what) {
            var n = 0
            for try await _ in try await client.query(q, logger: logger) { n += 1 }
            return n
        }
    }

    // MARK: keys

    public func insertKey(_ k: APIKeyRecord) async throws {
        let rev = k.revoked?.timeIntervalSince1970
        _ = try await count("key \(k.id)", """
            INSERT INTO server_api_keys(id,name,scope,hash,created,revoked)
            VALUES (\(k.id),\(k.name),\(k.scope.rawValue),\(k.hash),\(k.created.timeIntervalSince1970),\(rev))
            """)
    }

    private func keys(_ q: PostgresQuery) async throws -> [APIKeyRecord] {
        try await wrap("read keys") {
            var out: [APIKeyRecord] = []
            for try await (id, name, scope, hash, created, revoked) in try await client.query(q, logger: logger)
                .decode((String, String, String, String, Double, Double?).self) {
                guard let s = APIScope(rawValue: scope) else { continue }
                out.append(APIKeyRecord(id: id, name: name, scope: s, hash: hash, created: Date(timeIntervalSince1970: created),
                                        revoked: revoked.map { Date(timeIntervalSince1970: $0) }))
            }
            return out
        }
    }

    public func key(id: String) async throws -> APIKeyRecord? {
        try await keys("SELECT id,name,scope,hash,created,revoked FROM server_api_keys WHERE id = \(id)").first
    }

    public func listKeys() async throws -> [APIKeyRecord] {
        try await keys("SELECT id,name,scope,hash,created,revoked FROM server_api_keys ORDER BY created")
    }

    public func revokeKey(id: String, at: Date) async throws -> Bool {
        try await count("revoke key", "UPDATE server_api_keys SET revoked = \(at.timeIntervalSince1970) WHERE id = \(id) AND revoked IS NULL RETURNING id") == 1
    }

    // MARK: sessions

    public func insertSession(_ s: SessionRecord) async throws {
        let spec = try SQLiteServerStore.json(s.spec)
        let outcome = try s.outcome.map(SQLiteServerStore.json)
        _ = try await count("session \(s.id)", """
            INSERT INTO server_sessions(id,token_hash,status,created,expires,updated,instance,spec,outcome,embeddings,consumed)
            VALUES (\(s.id),\(s.tokenHash),\(s.status.rawValue),\(s.created.timeIntervalSince1970),\(s.expires.timeIntervalSince1970),
                    \(s.updated.timeIntervalSince1970),\(s.instance),\(spec),\(outcome),\(s.embeddings),\(s.consumed))
            """)
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await wrap("read session") {
            let q: PostgresQuery = """
                SELECT id,token_hash,status,created,expires,updated,instance,spec,outcome,embeddings,consumed
                FROM server_sessions WHERE id = \(id)
                """
            for try await r in try await client.query(q, logger: logger)
                .decode((String, String, String, Double, Double, Double, String?, String, String?, Data?, Bool).self) {
                guard let st = SessionStatus(rawValue: r.2) else { return nil }
                return SessionRecord(id: r.0, tokenHash: r.1, status: st, created: Date(timeIntervalSince1970: r.3),
                                     expires: Date(timeIntervalSince1970: r.4), updated: Date(timeIntervalSince1970: r.5),
                                     instance: r.6, spec: try SQLiteServerStore.unjson(SessionSpec.self, r.7),
                                     outcome: try r.8.map { try SQLiteServerStore.unjson(SessionOutcome.self, $0) },
                                     embeddings: r.9, consumed: r.10)
            }
            return nil
        }
    }

    public func claimSession(id: String, instance: String, now: Date) async throws -> Bool {
        let t = now.timeIntervalSince1970
        return try await count("claim session", """
            UPDATE server_sessions SET status = 'in_progress', instance = \(instance), updated = \(t)
            WHERE id = \(id) AND status = 'created' AND expires > \(t) RETURNING id
            """) == 1
    }

    public func finishSession(id: String, status: SessionStatus, outcome: SessionOutcome?, embeddings: Data?, now: Date) async throws -> Bool {
        let o = try outcome.map(SQLiteServerStore.json)
        return try await count("finish session", """
            UPDATE server_sessions SET status = \(status.rawValue), outcome = \(o), embeddings = \(embeddings),
                updated = \(now.timeIntervalSince1970)
            WHERE id = \(id) AND status IN ('created','in_progress') RETURNING id
            """) == 1
    }

    public func consumeSession(id: String) async throws -> Bool {
        try await count("consume session", "UPDATE server_sessions SET consumed = TRUE, embeddings = NULL WHERE id = \(id) AND NOT consumed AND status = 'succeeded' RETURNING id") == 1
    }

    public func purgeSessions(expiredBefore: Date) async throws -> Int {
        try await count("purge sessions", "DELETE FROM server_sessions WHERE expires < \(expiredBefore.timeIntervalSince1970) RETURNING id")
    }

    public func expireSessions(now: Date) async throws -> Int {
        let t = now.timeIntervalSince1970
        return try await count("expire sessions", """
            UPDATE server_sessions SET status = 'expired', updated = \(t)
            WHERE status IN ('created','in_progress') AND expires <= \(t) RETURNING id
            """)
    }

    // MARK: links

    public func insertLink(_ l: EnrollLinkRecord) async throws {
        let used = l.used?.timeIntervalSince1970
        _ = try await count("enrollment link", """
            INSERT INTO server_enroll_links(token_hash,username,created,expires,used,session_id)
            VALUES (\(l.tokenHash),\(l.user),\(l.created.timeIntervalSince1970),\(l.expires.timeIntervalSince1970),\(used),\(l.sessionID))
            """)
    }

    public func link(tokenHash: String) async throws -> EnrollLinkRecord? {
        try await wrap("read link") {
            let q: PostgresQuery = "SELECT token_hash,username,created,expires,used,session_id FROM server_enroll_links WHERE token_hash = \(tokenHash)"
            for try await r in try await client.query(q, logger: logger).decode((String, String, Double, Double, Double?, String?).self) {
                return EnrollLinkRecord(tokenHash: r.0, user: r.1, created: Date(timeIntervalSince1970: r.2),
                                        expires: Date(timeIntervalSince1970: r.3), used: r.4.map { Date(timeIntervalSince1970: $0) }, sessionID: r.5)
            }
            return nil
        }
    }

    public func useLink(tokenHash: String, sessionID: String, now: Date) async throws -> Bool {
        let t = now.timeIntervalSince1970
        return try await count("use link", """
            UPDATE server_enroll_links SET used = \(t), session_id = \(sessionID)
            WHERE token_hash = \(tokenHash) AND used IS NULL AND expires > \(t) RETURNING token_hash
            """) == 1
    }

    // MARK: pending users

    public func insertPendingUser(_ u: PendingUser) async throws {
        _ = try await count("user \(u.name)", "INSERT INTO server_pending_users(name,threshold,created) VALUES (\(u.name),\(u.threshold),\(u.created.timeIntervalSince1970))")
    }

    public func pendingUsers() async throws -> [PendingUser] {
        try await wrap("list pending users") {
            var out: [PendingUser] = []
            for try await (n, t, c) in try await client.query("SELECT name,threshold,created FROM server_pending_users ORDER BY name", logger: logger)
                .decode((String, Double?, Double).self) {
                out.append(PendingUser(name: n, threshold: t, created: Date(timeIntervalSince1970: c)))
            }
            return out
        }
    }

    public func removePendingUser(name: String) async throws -> Bool {
        try await count("remove pending user", "DELETE FROM server_pending_users WHERE name = \(name) RETURNING name") == 1
    }

    public func forgetUser(name: String, now: Date) async throws -> Int {
        let t = now.timeIntervalSince1970
        var n = try await count("forget user's links", "DELETE FROM server_enroll_links WHERE username = \(name) RETURNING token_hash")
        n += try await count("forget user's sessions", """
            UPDATE server_sessions SET status = 'expired', updated = \(t), embeddings = NULL
            WHERE (spec::jsonb)->>'user' = \(name) AND status IN ('created','in_progress') RETURNING id
            """)
        n += try await count("forget user's results", """
            UPDATE server_sessions SET consumed = TRUE, embeddings = NULL WHERE (spec::jsonb)->>'user' = \(name) AND NOT consumed RETURNING id
            """)
        _ = try await count("forget pending user", "DELETE FROM server_pending_users WHERE name = \(name) RETURNING name")
        return n
    }

    public func ping() async throws { _ = try await count("ping", "SELECT 1") }

    public func close() async { runTask.cancel() }
}
