import Crypto
import FaceGateCore
import FaceGateStore
import Foundation
import GRDB
import Logging

/// The audit log, in the same SQLite file as the gallery (own tables, own migrations:
/// identifiers "facegate.actions.*", independent of FaceGateStore's). Snapshots are sealed with AES-256-GCM under
/// the gallery key (`GalleryKey`), bound to the record id.
public final class AuditStore: Sendable {
    public let path: String
    let pool: DatabasePool
    let key: GalleryKey?

    /// Seconds a writer waits for another process's write (same value as the gallery: both share the file).
    static let busyTimeout: TimeInterval = 10

    /// `key` nil: snapshots are not stored (and cannot be read).
    public init(path: String, key: GalleryKey?) throws {
        self.path = path
        self.key = key
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.label = "facegate-audit"
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw ActionError.audit("cannot open audit database \(path): \(error) — check store.database and its permissions")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("facegate.actions.audit.v1") { db in
            try db.execute(sql: """
                CREATE TABLE audit_log (
                    id TEXT PRIMARY KEY NOT NULL,
                    time REAL NOT NULL,
                    source TEXT NOT NULL,
                    claimed_user TEXT,
                    matched_user TEXT,
                    decision TEXT NOT NULL,
                    reason TEXT,
                    record TEXT NOT NULL,
                    snapshot_id TEXT);
                CREATE INDEX audit_log_time ON audit_log(time);
                CREATE INDEX audit_log_claimed ON audit_log(claimed_user, time);
                CREATE INDEX audit_log_matched ON audit_log(matched_user, time);
                CREATE TABLE audit_snapshot (
                    id TEXT PRIMARY KEY NOT NULL,
                    created REAL NOT NULL,
                    key_id TEXT NOT NULL,
                    box BLOB NOT NULL);
                """)
        }
        m.registerMigration("facegate.actions.lockout.v1") { db in
            try db.execute(sql: """
                CREATE TABLE lockout_failure (subject TEXT NOT NULL, time REAL NOT NULL);
                CREATE INDEX lockout_failure_subject ON lockout_failure(subject, time);
                CREATE TABLE lockout_lock (subject TEXT PRIMARY KEY NOT NULL, until REAL NOT NULL);
                """)
        }
        // Lockout counters moved to the one `LockoutStore` table (facegate_lockout) shared with the server.
        m.registerMigration("facegate.actions.lockout.v2-moved") { db in
            try db.execute(sql: "DROP TABLE IF EXISTS lockout_failure; DROP TABLE IF EXISTS lockout_lock;")
        }
        return m
    }

    static func snapshotAAD(_ id: String) -> Data { Data("facegate.audit-snapshot.v1|\(id)".utf8) }

    // MARK: Audit

    /// Stores one attempt (and its encrypted snapshot if `keepSnapshot`). Returns the record as stored.
    @discardableResult
    public func record(_ d: Decision, keepSnapshot: Bool = true) throws -> AuditRecord {
        let id = d.id.uuidString.lowercased()
        var box: Data? = nil
        if keepSnapshot, let jpeg = d.snapshotJPEG, !jpeg.isEmpty, let key {
            do {
                box = try AES.GCM.seal(jpeg, using: key.key, authenticating: Self.snapshotAAD(id)).combined
            } catch { throw ActionError.audit("cannot encrypt snapshot: \(error)") }
        }
        let rec = AuditRecord(d, snapshotStored: box != nil)
        let json = rec.jsonLine()
        let keyID = key?.fingerprint ?? ""
        do {
            try pool.write { db in
                if let box {
                    try db.execute(sql: "INSERT OR REPLACE INTO audit_snapshot(id, created, key_id, box) VALUES (?, ?, ?, ?)",
                                   arguments: [id, d.time.timeIntervalSince1970, keyID, box])
                }
                try db.execute(sql: """
                    INSERT OR REPLACE INTO audit_log(id, time, source, claimed_user, matched_user, decision, reason, record, snapshot_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, d.time.timeIntervalSince1970, d.source, d.claimedUser, d.matchedUser,
                                     d.outcome.rawValue, d.reason?.rawValue, json, box == nil ? nil : id])
            }
        } catch { throw ActionError.audit("cannot write audit record: \(error)") }
        return rec
    }

    /// Records matching the query, newest first.
    public func records(_ q: AuditQuery) throws -> [AuditRecord] {
        var sql = "SELECT record FROM audit_log WHERE 1 = 1"
        var args: [any DatabaseValueConvertible] = []
        if let s = q.since { sql += " AND time >= ?"; args.append(s.timeIntervalSince1970) }
        if let u = q.until { sql += " AND time <= ?"; args.append(u.timeIntervalSince1970) }
        if let u = q.user { sql += " AND (claimed_user = ? OR matched_user = ?)"; args.append(u); args.append(u) }
        if let s = q.source { sql += " AND source = ?"; args.append(s) }
        if let d = q.decision { sql += " AND decision = ?"; args.append(d.rawValue) }
        sql += " ORDER BY time DESC LIMIT ?"
        args.append(q.limit)
        do {
            let rows = try pool.read { db in try String.fetchAll(db, sql: sql, arguments: StatementArguments(args)) }
            return try rows.map { try AuditRecord.decoder.decode(AuditRecord.self, from: Data($0.utf8)) }
        } catch { throw ActionError.audit("cannot read the audit log: \(error)") }
    }

    /// Decrypts a stored snapshot. `id` may be the full record id, a unique prefix, or "audit-snapshot:<id>".
    public func snapshot(_ idOrRef: String) throws -> Data {
        let id = idOrRef.hasPrefix("audit-snapshot:") ? String(idOrRef.dropFirst("audit-snapshot:".count)) : idOrRef.lowercased()
        let rows = try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, key_id, box FROM audit_snapshot WHERE id LIKE ? LIMIT 2", arguments: [id + "%"])
        }
        guard rows.count == 1, let row = rows.first else {
            throw ActionError.audit(rows.isEmpty ? "no snapshot for record \(id) — see `facegate audit` for ids with [snapshot]"
                                                 : "record id prefix \(id) is ambiguous — give more characters")
        }
        guard let key else { throw ActionError.audit("no gallery key available to decrypt snapshots — set store.key_file or FACEGATE_KEY_FILE") }
        let fullID: String = row["id"], keyID: String = row["key_id"], box: Data = row["box"]
        guard let sealed = try? AES.GCM.SealedBox(combined: box),
              let plain = try? AES.GCM.open(sealed, using: key.key, authenticating: Self.snapshotAAD(fullID)) else {
            throw ActionError.audit("snapshot \(fullID) does not decrypt: it was sealed with key \(keyID), the current key (\(key.source)) is \(key.fingerprint) — use the key that was current then")
        }
        return plain
    }

    /// Deletes records (and snapshots) older than `days`. Returns how many records went.
    @discardableResult
    public func prune(retentionDays days: Int, now: Date = Date()) throws -> Int {
        let cutoff = now.addingTimeInterval(-Double(days) * 86400).timeIntervalSince1970
        do {
            return try pool.write { db in
                try db.execute(sql: "DELETE FROM audit_snapshot WHERE id IN (SELECT snapshot_id FROM audit_log WHERE time < ? AND snapshot_id IS NOT NULL)", arguments: [cutoff])
                try db.execute(sql: "DELETE FROM audit_snapshot WHERE created < ?", arguments: [cutoff])
                try db.execute(sql: "DELETE FROM audit_log WHERE time < ?", arguments: [cutoff])
                return db.changesCount
            }
        } catch { throw ActionError.audit("cannot prune the audit log: \(error)") }
    }

    public func count() throws -> Int { try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM audit_log") ?? 0 } }
}

/// Appends audit records as JSON lines to a file (opened per write, O_APPEND: safe with several processes) or stdout.
public struct AuditJSONLWriter: Sendable {
    public var destination: String
    public init(destination: String) { self.destination = destination }

    public func write(_ r: AuditRecord) throws {
        let line = Data((r.jsonLine() + "\n").utf8)
        if destination == "-" {
            FileHandle.standardOutput.write(line)
            return
        }
        let dir = (destination as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let fd = open(destination, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw ActionError.audit("cannot open audit file \(destination): \(String(cString: strerror(errno))) — check audit.file") }
        defer { close(fd) }
        let n = line.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, line.count) }
        guard n == line.count else { throw ActionError.audit("cannot append to audit file \(destination): \(String(cString: strerror(errno)))") }
    }
}
