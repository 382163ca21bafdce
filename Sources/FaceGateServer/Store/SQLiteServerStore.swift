import Foundation
import GRDB

/// Server tables in the gallery's SQLite file (separate tables, own migrations, WAL shared with the gallery).
public final class SQLiteServerStore: ServerStore, @unchecked Sendable {
    let pool: DatabasePool
    /// Seconds a writer waits for another connection's write transaction (same value as the gallery).
    static let busyTimeout: TimeInterval = 10

    public init(path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.label = "facegate-server"
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch { throw ServerStoreError.database("cannot open \(path): \(error)") }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("server-v1") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS server_api_keys (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
                    scope TEXT NOT NULL, hash TEXT NOT NULL, created REAL NOT NULL, revoked REAL);
                CREATE TABLE IF NOT EXISTS server_sessions (id TEXT PRIMARY KEY NOT NULL, token_hash TEXT NOT NULL,
                    status TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL, updated REAL NOT NULL,
                    instance TEXT, spec TEXT NOT NULL, outcome TEXT, embeddings BLOB, consumed INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX IF NOT EXISTS server_sessions_status ON server_sessions(status, expires);
                CREATE TABLE IF NOT EXISTS server_enroll_links (token_hash TEXT PRIMARY KEY NOT NULL, user TEXT NOT NULL,
                    created REAL NOT NULL, expires REAL NOT NULL, used REAL, session_id TEXT);
                CREATE TABLE IF NOT EXISTS server_pending_users (name TEXT PRIMARY KEY NOT NULL, threshold REAL,
                    created REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS server_lockout (subject TEXT PRIMARY KEY NOT NULL, failures TEXT NOT NULL,
                    locked_until REAL);
                """)
        }
        // Lockout counters moved to the one `LockoutStore` table (facegate_lockout) shared with the CLI.
        m.registerMigration("server-v2-lockout-moved") { db in try db.execute(sql: "DROP TABLE IF EXISTS server_lockout") }
        return m
    }

    private func run<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() }
        catch let e as ServerStoreError { throw e }
        catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT { throw ServerStoreError.duplicate(what) }
        catch { throw ServerStoreError.database("\(what): \(error)") }
    }

    static let enc: JSONEncoder = { let e = JSONEncoder(); e.dateEncodingStrategy = .secondsSince1970; return e }()
    static let dec: JSONDecoder = { let d = JSONDecoder(); d.dateDecodingStrategy = .secondsSince1970; return d }()
    static func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try enc.encode(v), as: UTF8.self) }
    static func unjson<T: Decodable>(_ t: T.Type, _ s: String) throws -> T { try dec.decode(t, from: Data(s.utf8)) }

    // MARK: keys

    public func insertKey(_ k: APIKeyRecord) async throws {
        try await run("key \(k.id)") {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO server_api_keys(id,name,scope,hash,created,revoked) VALUES (?,?,?,?,?,?)",
                               arguments: [k.id, k.name, k.scope.rawValue, k.hash, k.created.timeIntervalSince1970,
                                           k.revoked?.timeIntervalSince1970])
            }
        }
    }

    private static func keyRow(_ r: Row) -> APIKeyRecord? {
        guard let scope = APIScope(rawValue: r["scope"]) else { return nil }
        let rev: Double? = r["revoked"]
        return APIKeyRecord(id: r["id"], name: r["name"], scope: scope, hash: r["hash"],
                            created: Date(timeIntervalSince1970: r["created"]), revoked: rev.map { Date(timeIntervalSince1970: $0) })
    }

    public func key(id: String) async throws -> APIKeyRecord? {
        try await run("read key") {
            try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM server_api_keys WHERE id = ?", arguments: [id]).flatMap(Self.keyRow) }
        }
    }

    public func listKeys() async throws -> [APIKeyRecord] {
        try await run("list keys") {
            try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM server_api_keys ORDER BY created").compactMap(Self.keyRow) }
        }
    }

    public func revokeKey(id: String, at: Date) async throws -> Bool {
        try await run("revoke key") {
            try await pool.write { db in
                try db.execute(sql: "UPDATE server_api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                               arguments: [at.timeIntervalSince1970, id])
                return db.changesCount == 1
            }
        }
    }

    // MARK: sessions

    public func insertSession(_ s: SessionRecord) async throws {
        let spec = try Self.json(s.spec)
        let outcome = try s.outcome.map(Self.json)
        try await run("session \(s.id)") {
            try await pool.write { db in
                try db.execute(sql: """
                    INSERT INTO server_sessions(id,token_hash,status,created,expires,updated,instance,spec,outcome,embeddings,consumed)
                    VALUES (?,?,?,?,?,?,?,?,?,?,?)
                    """, arguments: [s.id, s.tokenHash, s.status.rawValue, s.created.timeIntervalSince1970,
                                     s.expires.timeIntervalSince1970, s.updated.timeIntervalSince1970, s.instance, spec,
                                     outcome, s.embeddings, s.consumed])
            }
        }
    }

    private static func sessionRow(_ r: Row) throws -> SessionRecord? {
        guard let status = SessionStatus(rawValue: r["status"]) else { return nil }
        let outcome: String? = r["outcome"]
        return SessionRecord(id: r["id"], tokenHash: r["token_hash"], status: status,
                             created: Date(timeIntervalSince1970: r["created"]), expires: Date(timeIntervalSince1970: r["expires"]),
                             updated: Date(timeIntervalSince1970: r["updated"]), instance: r["instance"],
                             spec: try unjson(SessionSpec.self, r["spec"]),
                             outcome: try outcome.map { try unjson(SessionOutcome.self, $0) },
                             embeddings: r["embeddings"], consumed: r["consumed"])
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await run("read session") {
            try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM server_sessions WHERE id = ?", arguments: [id]).flatMap(Self.sessionRow) }
        }
    }

    public func claimSession(id: String, instance: String, now: Date) async throws -> Bool {
        try await run("claim session") {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE server_sessions SET status = 'in_progress', instance = ?, updated = ?
                    WHERE id = ? AND status = 'created' AND expires > ?
                    """, arguments: [instance, now.timeIntervalSince1970, id, now.timeIntervalSince1970])
                return db.changesCount == 1
            }
        }
    }

    public func finishSession(id: String, status: SessionStatus, outcome: SessionOutcome?, embeddings: Data?, now: Date) async throws -> Bool {
        let o = try outcome.map(Self.json)
        return try await run("finish session") {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE server_sessions SET status = ?, outcome = ?, embeddings = ?, updated = ?
                    WHERE id = ? AND status IN ('created','in_progress')
                    """, arguments: [status.rawValue, o, embeddings, now.timeIntervalSince1970, id])
                return db.changesCount == 1
            }
        }
    }

    public func consumeSession(id: String) async throws -> Bool {
        try await run("consume session") {
            try await pool.write { db in
                try db.execute(sql: "UPDATE server_sessions SET consumed = 1, embeddings = NULL WHERE id = ? AND consumed = 0 AND status = 'succeeded'",
                               arguments: [id])
                return db.changesCount == 1
            }
        }
    }

    public func purgeSessions(expiredBefore: Date) async throws -> Int {
        try await run("purge sessions") {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM server_sessions WHERE expires < ?", arguments: [expiredBefore.timeIntervalSince1970])
                return db.changesCount
            }
        }
    }

    public func expireSessions(now: Date) async throws -> Int {
        try await run("expire sessions") {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE server_sessions SET status = 'expired', updated = ? WHERE status IN ('created','in_progress') AND expires <= ?
                    """, arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970])
                return db.changesCount
            }
        }
    }

    // MARK: links

    public func insertLink(_ l: EnrollLinkRecord) async throws {
        try await run("enrollment link") {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO server_enroll_links(token_hash,user,created,expires,used,session_id) VALUES (?,?,?,?,?,?)",
                               arguments: [l.tokenHash, l.user, l.created.timeIntervalSince1970, l.expires.timeIntervalSince1970,
                                           l.used?.timeIntervalSince1970, l.sessionID])
            }
        }
    }

    public func link(tokenHash: String) async throws -> EnrollLinkRecord? {
        try await run("read link") {
            try await pool.read { db in
                guard let r = try Row.fetchOne(db, sql: "SELECT * FROM server_enroll_links WHERE token_hash = ?", arguments: [tokenHash]) else { return nil }
                let used: Double? = r["used"]
                return EnrollLinkRecord(tokenHash: r["token_hash"], user: r["user"], created: Date(timeIntervalSince1970: r["created"]),
                                        expires: Date(timeIntervalSince1970: r["expires"]), used: used.map { Date(timeIntervalSince1970: $0) },
                                        sessionID: r["session_id"])
            }
        }
    }

    public func useLink(tokenHash: String, sessionID: String, now: Date) async throws -> Bool {
        try await run("use link") {
            try await pool.write { db in
                try db.execute(sql: "UPDATE server_enroll_links SET used = ?, session_id = ? WHERE token_hash = ? AND used IS NULL AND expires > ?",
                               arguments: [now.timeIntervalSince1970, sessionID, tokenHash, now.timeIntervalSince1970])
                return db.changesCount == 1
            }
        }
    }

    // MARK: pending users

    public func insertPendingUser(_ u: PendingUser) async throws {
        try await run("user \(u.name)") {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO server_pending_users(name,threshold,created) VALUES (?,?,?)",
                               arguments: [u.name, u.threshold, u.created.timeIntervalSince1970])
            }
        }
    }

    public func pendingUsers() async throws -> [PendingUser] {
        try await run("list pending users") {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM server_pending_users ORDER BY name").map {
                    PendingUser(name: $0["name"], threshold: $0["threshold"], created: Date(timeIntervalSince1970: $0["created"]))
                }
            }
        }
    }

    public func removePendingUser(name: String) async throws -> Bool {
        try await run("remove pending user") {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM server_pending_users WHERE name = ?", arguments: [name])
                return db.changesCount == 1
            }
        }
    }

    public func forgetUser(name: String, now: Date) async throws -> Int {
        try await run("forget user") {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM server_enroll_links WHERE user = ?", arguments: [name])
                var n = db.changesCount
                try db.execute(sql: """
                    UPDATE server_sessions SET status = 'expired', updated = ?, embeddings = NULL
                    WHERE json_extract(spec, '$.user') = ? AND status IN ('created','in_progress')
                    """, arguments: [now.timeIntervalSince1970, name])
                n += db.changesCount
                try db.execute(sql: "UPDATE server_sessions SET consumed = 1, embeddings = NULL WHERE json_extract(spec, '$.user') = ? AND consumed = 0",
                               arguments: [name])
                n += db.changesCount
                try db.execute(sql: "DELETE FROM server_pending_users WHERE name = ?", arguments: [name])
                return n
            }
        }
    }

    public func ping() async throws {
        try await run("ping") { _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
    }

    public func close() async { try? pool.close() }
}
