import FaceGateCore
import Foundation
import GRDB
import Logging
import PostgresNIO

/// Lockout counters of every front-end (CLI, server, face unlock) in the gallery's database, so a lock set by one is
/// seen — and lifted by `facegate audit unlock` — by all of them, and by every server instance on the same database.
///
/// Implementations run `update` as one transaction serialised against every other lockout transaction on the
/// database (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock), so check-and-reserve and
/// settle are atomic: a parallel burst of attempts gets at most the tries that are left.
public protocol LockoutStore: AnyObject, Sendable {
    /// Loads the state of `subjects`, runs `body` on it and saves what it changed, in one transaction.
    func update<T: Sendable>(_ subjects: [LockoutSubject], policy: LockoutPolicy, now: Date,
                             _ body: @Sendable (inout Lockout) -> T) async throws -> T
    /// Lifts a subject's lock, failure count and holds. False when there was nothing to lift.
    func clear(_ subject: LockoutSubject) async throws -> Bool
    /// Subjects locked at `now`, soonest expiry first.
    func activeLocks(now: Date) async throws -> [(subject: LockoutSubject, until: Date)]
    func close() async
}

extension LockoutStore {
    /// Refuses (locked/busy) or reserves one try of each subject for `attempt` until `holdUntil`.
    public func checkAndReserve(_ subjects: [LockoutSubject], attempt: String, holdUntil: Date, policy: LockoutPolicy,
                                now: Date = Date()) async throws -> LockoutStatus {
        try await update(subjects, policy: policy, now: now) { $0.admit(subjects, attempt: attempt, holdUntil: holdUntil, now: now) }
    }

    /// Frees `attempt`'s reservation and applies `effect` to `subjects`.
    @discardableResult
    public func settle(_ subjects: [LockoutSubject], attempt: String, effect: LockoutEffect, policy: LockoutPolicy,
                       now: Date = Date()) async throws -> LockoutStatus {
        try await update(subjects, policy: policy, now: now) { $0.settle(subjects, attempt: attempt, effect: effect, now: now) }
    }

    /// The status without reserving anything (listing, tests).
    public func status(_ subjects: [LockoutSubject], policy: LockoutPolicy, now: Date = Date()) async throws -> LockoutStatus {
        try await update(subjects, policy: policy, now: now) { $0.check(subjects, now: now) }
    }
}

/// Errors of the lockout tables.
public struct LockoutStoreError: Error, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { "lockout database error: \(detail) — check the database location (store.database / --db) and that it is reachable" }
}

/// Opens the lockout store of a gallery location.
public enum LockoutStores {
    public static func open(_ location: GalleryLocation, logger: Logger = Logger(label: "facegate.lockout")) async throws -> any LockoutStore {
        switch location {
        case .sqlite(let path): return try SQLiteLockoutStore(path: path)
        case .postgres(let url): return try await PostgresLockoutStore(url: url, logger: logger)
        }
    }
}

/// The one lockout path every front-end calls: `admit` before the work, `settle` with the decision after it.
/// A disabled gate admits everything and records nothing.
public struct LockoutGate: Sendable {
    public let store: (any LockoutStore)?
    public let policy: LockoutPolicy

    public init(store: (any LockoutStore)?, policy: LockoutPolicy) { self.store = store; self.policy = policy }
    public static let disabled = LockoutGate(store: nil, policy: .default)
    public var enabled: Bool { store != nil }

    /// An admitted attempt: settle it exactly once with its decision (or `release` it when it never became one).
    public struct Ticket: Sendable, Hashable {
        public let attempt: String
        public let subjects: [LockoutSubject]
        public init(attempt: String, subjects: [LockoutSubject]) { self.attempt = attempt; self.subjects = subjects }
    }

    /// Thrown by `admit` when the attempt must not start; `status` says why and for how long.
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public let status: LockoutStatus
        public var description: String { status.message ?? "refused" }
    }

    /// Check-and-count in one transaction: throws `Refused` when a subject is locked or every try it has left is in
    /// progress; otherwise the attempt holds one try of each subject for at most `holdFor` seconds.
    public func admit(user: String?, source: LockoutSubject?, attempt: String = UUID().uuidString.lowercased(),
                      holdFor: TimeInterval, now: Date = Date()) async throws -> Ticket {
        var subjects = LockoutSubject.of(user: user, source: nil)
        if let source { subjects.append(source) }
        let ticket = Ticket(attempt: attempt, subjects: subjects)
        guard let store, !subjects.isEmpty else { return ticket }
        let st = try await store.checkAndReserve(subjects, attempt: attempt, holdUntil: now.addingTimeInterval(holdFor), policy: policy, now: now)
        if st.refuses { throw Refused(status: st) }
        return ticket
    }

    /// Applies a finished attempt's decision (`Decision.lockoutEffect`) to its subjects and to the user it concerns
    /// (`Decision.subjectUser`, e.g. the enrolled face a spoof matched). Returns the status afterwards.
    @discardableResult
    public func settle(_ ticket: Ticket, with decision: Decision, now: Date = Date()) async throws -> LockoutStatus {
        try await settle(ticket, effect: decision.lockoutEffect, alsoUser: decision.subjectUser, now: now)
    }

    /// Settles with an explicit effect (`.none` releases the reservation of an attempt that ended without a decision).
    @discardableResult
    public func settle(_ ticket: Ticket, effect: LockoutEffect, alsoUser: String? = nil, now: Date = Date()) async throws -> LockoutStatus {
        var subjects = ticket.subjects
        if let u = alsoUser, !u.isEmpty, !subjects.contains(.user(u)) { subjects.append(.user(u)) }
        guard let store, !subjects.isEmpty else { return .open }
        return try await store.settle(subjects, attempt: ticket.attempt, effect: effect, policy: policy, now: now)
    }

    /// The status of a user/source without reserving (nothing stored when disabled).
    public func status(user: String?, source: LockoutSubject?, now: Date = Date()) async throws -> LockoutStatus {
        var subjects = LockoutSubject.of(user: user, source: nil)
        if let source { subjects.append(source) }
        guard let store, !subjects.isEmpty else { return .open }
        return try await store.status(subjects, policy: policy, now: now)
    }
}

/// One row per subject: the failures inside the window and the holds as JSON, the lock expiry as a column (listing).
struct LockoutRowState: Codable {
    var failures: [Double]
    var holds: [Hold]
    struct Hold: Codable { var attempt: String; var until: Double }

    static func load(_ rows: [(subject: String, state: String, until: Double?)], policy: LockoutPolicy) throws -> Lockout {
        var failures: [String: [Date]] = [:], locks: [String: Date] = [:], holds: [String: [LockoutHold]] = [:]
        for r in rows {
            let s = try JSONDecoder().decode(LockoutRowState.self, from: Data(r.state.utf8))
            failures[r.subject] = s.failures.map { Date(timeIntervalSince1970: $0) }
            holds[r.subject] = s.holds.map { LockoutHold(attempt: $0.attempt, until: Date(timeIntervalSince1970: $0.until)) }
            if let u = r.until { locks[r.subject] = Date(timeIntervalSince1970: u) }
        }
        return Lockout(policy: policy, failures: failures, lockedUntil: locks, holds: holds)
    }

    /// Rows to write for `subjects` (nil state: delete the row — nothing counted, held or locked).
    static func rows(_ l: Lockout, _ subjects: [LockoutSubject], now: Date) throws -> [(subject: String, state: String?, until: Double?)] {
        var out: [(String, String?, Double?)] = []
        for key in Set(subjects.map(\.key)).sorted() {
            let f = (l.failures[key] ?? []).filter { now.timeIntervalSince($0) < l.policy.window }.map(\.timeIntervalSince1970)
            let h = (l.holds[key] ?? []).filter { $0.until > now }.map { Hold(attempt: $0.attempt, until: $0.until.timeIntervalSince1970) }
            let u = l.lockedUntil[key].flatMap { $0 > now ? $0.timeIntervalSince1970 : nil }
            if f.isEmpty && h.isEmpty && u == nil { out.append((key, nil, nil)); continue }
            let json = String(decoding: try JSONEncoder().encode(LockoutRowState(failures: f, holds: h)), as: UTF8.self)
            out.append((key, json, u))
        }
        return out
    }
}

/// Lockout table in the gallery's SQLite file (own migration, shared WAL). Transactions are `BEGIN IMMEDIATE`, so
/// they are serialised between connections and processes (the CLI and a server on the same file).
public final class SQLiteLockoutStore: LockoutStore, @unchecked Sendable {
    public let path: String
    let pool: DatabasePool
    /// Seconds a transaction waits for another connection's write (same value as the gallery: both share the file).
    static let busyTimeout: TimeInterval = 10

    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.label = "facegate-lockout"
        do {
            pool = try DatabasePool(path: path, configuration: config)
            var m = DatabaseMigrator()
            m.registerMigration("facegate.lockout.v1") { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS facegate_lockout (subject TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL, locked_until REAL);
                    CREATE INDEX IF NOT EXISTS facegate_lockout_until ON facegate_lockout(locked_until);
                    """)
            }
            try m.migrate(pool)
        } catch { throw LockoutStoreError(detail: "cannot open \(path): \(error)") }
    }

    public func update<T: Sendable>(_ subjects: [LockoutSubject], policy: LockoutPolicy, now: Date,
                                    _ body: @Sendable (inout Lockout) -> T) async throws -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    var rows: [(subject: String, state: String, until: Double?)] = []
                    for s in subjects {
                        if let r = try Row.fetchOne(db, sql: "SELECT subject, state, locked_until FROM facegate_lockout WHERE subject = ?", arguments: [s.key]) {
                            rows.append((r["subject"], r["state"], r["locked_until"]))
                        }
                    }
                    var l = try LockoutRowState.load(rows, policy: policy)
                    result = body(&l)
                    for r in try LockoutRowState.rows(l, subjects, now: now) {
                        if let state = r.state {
                            try db.execute(sql: "INSERT OR REPLACE INTO facegate_lockout(subject, state, locked_until) VALUES (?, ?, ?)",
                                           arguments: [r.subject, state, r.until])
                        } else {
                            try db.execute(sql: "DELETE FROM facegate_lockout WHERE subject = ?", arguments: [r.subject])
                        }
                    }
                    return .commit
                }
                return result!
            }
        } catch let e as LockoutStoreError { throw e } catch { throw LockoutStoreError(detail: "\(error)") }
    }

    public func clear(_ subject: LockoutSubject) async throws -> Bool {
        do {
            return try await pool.write { db in
                try db.execute(sql: "DELETE FROM facegate_lockout WHERE subject = ?", arguments: [subject.key])
                return db.changesCount > 0
            }
        } catch { throw LockoutStoreError(detail: "\(error)") }
    }

    public func activeLocks(now: Date) async throws -> [(subject: LockoutSubject, until: Date)] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT subject, locked_until FROM facegate_lockout WHERE locked_until > ? ORDER BY locked_until",
                                 arguments: [now.timeIntervalSince1970])
                    .compactMap { r -> (subject: LockoutSubject, until: Date)? in
                        LockoutSubject(key: r["subject"]).map { ($0, Date(timeIntervalSince1970: r["locked_until"])) }
                    }
            }
        } catch { throw LockoutStoreError(detail: "\(error)") }
    }

    public func close() async { try? pool.close() }
}

/// Lockout table in the gallery's PostgreSQL database, shared by every server instance and the CLI. Each update is
/// one transaction holding a transaction-scoped advisory lock, so updates from all instances run one at a time.
public final class PostgresLockoutStore: LockoutStore, @unchecked Sendable {
    let client: PostgresClient
    let logger: Logger
    private let runTask: Task<Void, Never>
    /// Advisory lock serialising lockout transactions ("FGLockou").
    static let advisoryLockID: Int64 = 0x4647_4C6F_636B_6F75

    public init(url: PostgresURL, logger: Logger = Logger(label: "facegate.lockout.postgres")) async throws {
        self.logger = logger
        (client, runTask) = url.startClient(logger: logger)
        do {
            try await client.withTransaction(logger: logger) { c in
                try await c.query("SELECT pg_advisory_xact_lock(\(Self.advisoryLockID))", logger: logger)
                try await c.query("""
                    CREATE TABLE IF NOT EXISTS facegate_lockout (subject TEXT PRIMARY KEY, state TEXT NOT NULL, locked_until DOUBLE PRECISION)
                    """, logger: logger)
            }
        } catch {
            runTask.cancel()
            throw LockoutStoreError(detail: "cannot create the lockout table in \(url.redacted): \(Self.text(error))")
        }
    }

    deinit { runTask.cancel() }

    static func text(_ error: Error) -> String {
        if let e = error as? PSQLError { return e.serverInfo?[.message] ?? "\(e.code)" }
        return "\(error)"
    }

    public func update<T: Sendable>(_ subjects: [LockoutSubject], policy: LockoutPolicy, now: Date,
                                    _ body: @Sendable (inout Lockout) -> T) async throws -> T {
        let logger = self.logger
        do {
            return try await client.withTransaction(logger: logger) { c -> T in
                try await c.query("SELECT pg_advisory_xact_lock(\(Self.advisoryLockID))", logger: logger)
                var rows: [(subject: String, state: String, until: Double?)] = []
                for s in subjects {
                    let key = s.key
                    for try await (subject, state, until) in try await c.query(
                        "SELECT subject, state, locked_until FROM facegate_lockout WHERE subject = \(key)", logger: logger)
                        .decode((String, String, Double?).self) {
                        rows.append((subject, state, until))
                    }
                }
                var l = try LockoutRowState.load(rows, policy: policy)
                let result = body(&l)
                for r in try LockoutRowState.rows(l, subjects, now: now) {
                    let subject = r.subject, until = r.until
                    if let state = r.state {
                        try await c.query("""
                            INSERT INTO facegate_lockout(subject, state, locked_until) VALUES (\(subject), \(state), \(until))
                            ON CONFLICT (subject) DO UPDATE SET state = EXCLUDED.state, locked_until = EXCLUDED.locked_until
                            """, logger: logger)
                    } else {
                        try await c.query("DELETE FROM facegate_lockout WHERE subject = \(subject)", logger: logger)
                    }
                }
                return result
            }
        } catch let e as LockoutStoreError { throw e } catch { throw LockoutStoreError(detail: Self.text(error)) }
    }

    public func clear(_ subject: LockoutSubject) async throws -> Bool {
        let key = subject.key
        do {
            var n = 0
            for try await _ in try await client.query("DELETE FROM facegate_lockout WHERE subject = \(key) RETURNING subject", logger: logger) { n += 1 }
            return n > 0
        } catch { throw LockoutStoreError(detail: Self.text(error)) }
    }

    public func activeLocks(now: Date) async throws -> [(subject: LockoutSubject, until: Date)] {
        let t = now.timeIntervalSince1970
        do {
            var out: [(subject: LockoutSubject, until: Date)] = []
            for try await (subject, until) in try await client.query(
                "SELECT subject, locked_until FROM facegate_lockout WHERE locked_until > \(t) ORDER BY locked_until", logger: logger)
                .decode((String, Double).self) {
                if let s = LockoutSubject(key: subject) { out.append((s, Date(timeIntervalSince1970: until))) }
            }
            return out
        } catch { throw LockoutStoreError(detail: Self.text(error)) }
    }

    public func close() async { runTask.cancel() }
}
