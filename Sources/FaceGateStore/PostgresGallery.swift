import FaceGateCore
import Foundation
import Logging
import PostgresNIO

/// Gallery in PostgreSQL (postgres-nio): the same schema and behaviour as `SQLiteGallery`. Every mutation runs in
/// one transaction that also appends to `changes` and sends `NOTIFY facegate_gallery`, so other processes sharing
/// the database refresh their in-memory index (see `IdentityIndexService`).
public final class PostgresGallery: Gallery, @unchecked Sendable {
    public let location: GalleryLocation
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let lock = NSLock()
    private var _key: GalleryKey
    private var _previousKey: GalleryKey?
    private var _loader: (@Sendable () throws -> GalleryKey)?
    private var listeners: [Task<Void, Never>] = []
    var key: GalleryKey { lock.withLock { _key } }
    public var keys: [GalleryKey] { lock.withLock { [_key] + (_previousKey.map { [$0] } ?? []) } }
    public var keyFingerprint: String { key.fingerprint }

    /// NOTIFY channel for gallery changes.
    public static let channel = "facegate_gallery"
    /// Serialises schema creation between processes starting at the same time.
    static let migrationLockID: Int64 = 0x4661_6365_4761_7465   // "FaceGate"
    /// Seconds to wait before re-establishing a dropped LISTEN connection.
    static let listenRetrySeconds = 1.0

    public init(url: PostgresURL, key: GalleryKey, logger: Logger = Logger(label: "facegate.store.postgres")) async throws {
        location = .postgres(url)
        _key = key
        self.logger = logger
        (client, runTask) = url.startClient(logger: logger)
        do {
            try await migrate()
            try await checkKey()
        } catch {
            runTask.cancel()
            throw error
        }
    }

    deinit { runTask.cancel(); for l in listeners { l.cancel() } }

    // MARK: plumbing

    private func mapError(_ error: any Error, _ what: String) -> any Error {
        if let e = error as? GalleryError { return e }
        if let e = error as? IdentityError { return e }
        if let t = error as? PostgresTransactionError {
            if let c = t.closureError { return mapError(c, what) }
            if let c = t.beginError ?? t.commitError { return mapError(c, what) }
        }
        if let p = error as? PSQLError {
            if p.serverInfo?[.sqlState] == "23505" { return GalleryError.userExists("(name or key already taken)") }
            let msg = p.serverInfo?[.message] ?? "\(p.code)"
            return GalleryError.database("\(what) on \(location): \(msg)")
        }
        return GalleryError.database("\(what) on \(location): \(error)")
    }

    private func transaction<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { conn in try await body(conn) }
        } catch {
            let e = mapError(error, what)
            // Another process rotated the key (#17): reload it for the next call.
            if case GalleryError.wrongKey = e { _ = await reloadKey() }
            throw e
        }
    }

    private func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { conn in try await body(conn) }
        } catch {
            let e = mapError(error, what)
            // A record that fails authentication because the gallery was re-keyed meanwhile is a wrong key (#17).
            if case GalleryError.corruptRecord = e, let mismatch = await keyMismatch() { _ = await reloadKey(); throw mismatch }
            if case GalleryError.wrongKey = e { _ = await reloadKey() }
            throw e
        }
    }

    /// `wrongKey` when the stored key check no longer opens under this instance's key (`facegate keys rotate` ran in
    /// another process); nil otherwise.
    private func keyMismatch() async -> GalleryError? {
        let key = self.key, logger = self.logger
        guard let box = try? await client.withConnection({ c in try await Self.meta(c, "key_check", logger) }),
              !RecordCrypto.verifyKeyCheck(box, key: key) else { return nil }
        return GalleryError.wrongKey(expected: "the rotated key", got: key.fingerprint, source: key.source)
    }

    public func setKeyLoader(_ loader: @escaping @Sendable () throws -> GalleryKey) { lock.withLock { _loader = loader } }

    public func reloadKey() async -> Bool {
        guard let loader = lock.withLock({ _loader }), let fresh = try? loader() else { return false }
        let current = key, logger = self.logger
        guard fresh.fingerprint != current.fingerprint,
              let box = try? await client.withConnection({ c in try await Self.meta(c, "key_check", logger) }),
              RecordCrypto.verifyKeyCheck(box, key: fresh) else { return false }
        return lock.withLock {
            guard _key.fingerprint == current.fingerprint else { return false }   // another call adopted it first
            _previousKey = _key; _key = fresh
            return true
        }
    }

    private func migrate() async throws {
        let logger = self.logger
        _ = try await transaction("create schema") { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockID))", logger: logger)
            try await c.query("CREATE TABLE IF NOT EXISTS facegate_schema (version INT NOT NULL)", logger: logger)
            var version = 0
            for try await v in try await c.query("SELECT COALESCE(MAX(version), 0) FROM facegate_schema", logger: logger).decode(Int.self) { version = v }
            if version < 1 {
                for ddl: PostgresQuery in [
                    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL)",
                    """
                    CREATE TABLE users (id BIGSERIAL PRIMARY KEY, uid TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
                        threshold DOUBLE PRECISION, created DOUBLE PRECISION NOT NULL, thumbnail BYTEA)
                    """,
                    """
                    CREATE TABLE templates (id BIGSERIAL PRIMARY KEY,
                        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, pose TEXT NOT NULL,
                        quality DOUBLE PRECISION NOT NULL, created DOUBLE PRECISION NOT NULL, embedding BYTEA NOT NULL)
                    """,
                    "CREATE INDEX templates_user ON templates(user_id)",
                    "CREATE TABLE changes (seq BIGSERIAL PRIMARY KEY, uid TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
                    "INSERT INTO facegate_schema(version) VALUES (1)",
                ] { try await c.query(ddl, logger: logger) }
            }
            return version
        }
    }

    private static func meta(_ c: PostgresConnection, _ k: String, _ logger: Logger) async throws -> Data? {
        var out: Data?
        for try await v in try await c.query("SELECT value FROM meta WHERE key = \(k)", logger: logger).decode(Data.self) { out = v }
        return out
    }

    private static func writeKeyCheck(_ c: PostgresConnection, _ key: GalleryKey, _ logger: Logger) async throws {
        let check = try RecordCrypto.keyCheck(key), id = Data(key.fingerprint.utf8)
        try await c.query("""
            INSERT INTO meta(key, value) VALUES ('key_check', \(check)), ('key_id', \(id))
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """, logger: logger)
    }

    private func checkKey() async throws {
        let key = self.key, logger = self.logger
        _ = try await transaction("check the gallery key") { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockID))", logger: logger)
            if let box = try await Self.meta(c, "key_check", logger) {
                guard RecordCrypto.verifyKeyCheck(box, key: key) else {
                    let expected = try await Self.meta(c, "key_id", logger).flatMap { String(data: $0, encoding: .utf8) } ?? "unknown"
                    throw GalleryError.wrongKey(expected: expected, got: key.fingerprint, source: key.source)
                }
                // The first open of a v1 gallery re-seals its templates under v2 associated data (#17), in this
                // transaction (all or nothing), with writers locked out as `rotateKey` does.
                if try await Self.templateAADVersion(c, logger) != 2 {
                    try await c.query("LOCK TABLE users, templates, meta IN EXCLUSIVE MODE", logger: logger)
                    try await Self.migrateTemplatesToV2(c, key, logger)
                }
                return 0
            }
            var n = 0
            for try await v in try await c.query("SELECT COUNT(*) FROM templates", logger: logger).decode(Int.self) { n = v }
            guard n == 0 else {
                throw GalleryError.corruptRecord(user: "*", detail: "the key check value is missing although templates are stored")
            }
            try await Self.writeKeyCheck(c, key, logger)
            try await Self.writeTemplateAAD(c, keyVersion: 1, logger)
            return 0
        }
    }

    /// Version of the stored templates' associated data: 2 once `meta.template_aad` says so, else 1 (#17).
    static func templateAADVersion(_ c: PostgresConnection, _ logger: Logger) async throws -> Int {
        try await meta(c, "template_aad", logger).flatMap { String(data: $0, encoding: .utf8) }.flatMap { Int($0) } ?? 1
    }

    /// The gallery's key version (`meta.key_version`): 1 at creation, raised by every `rotateKey` (`TemplateAAD`).
    static func keyVersion(_ c: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        try await meta(c, "key_version", logger).flatMap { String(data: $0, encoding: .utf8) }.flatMap { Int64($0) } ?? 1
    }

    private static func writeTemplateAAD(_ c: PostgresConnection, keyVersion: Int64, _ logger: Logger) async throws {
        let two = Data("2".utf8), v = Data(String(keyVersion).utf8)
        try await c.query("""
            INSERT INTO meta(key, value) VALUES ('template_aad', \(two)), ('key_version', \(v))
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """, logger: logger)
    }

    /// Re-seals every v1 template under v2 associated data and sets the marker, in the caller's transaction.
    static func migrateTemplatesToV2(_ c: PostgresConnection, _ key: GalleryKey, _ logger: Logger) async throws {
        let version = try await keyVersion(c, logger)
        var rows: [(Int64, Data, String, String, Double?)] = []
        for try await r in try await c.query("SELECT t.id, t.embedding, u.uid, u.name, u.threshold FROM templates t JOIN users u ON u.id = t.user_id", logger: logger)
            .decode((Int64, Data, String, String, Double?).self) { rows.append(r) }
        for (id, box, u, name, t) in rows {
            guard let uid = UUID(uuidString: u) else { throw GalleryError.corruptRecord(user: name, detail: "the stored user key is not a UUID") }
            let e = try RecordCrypto.openTemplate(box, user: uid, userName: name, key: key)
            let sealed = try RecordCrypto.sealTemplate(e, TemplateAAD(user: uid, name: name, threshold: t, keyVersion: version), row: id, key: key)
            try await c.query("UPDATE templates SET embedding = \(sealed) WHERE id = \(id)", logger: logger)
        }
        try await writeTemplateAAD(c, keyVersion: version, logger)
    }

    /// Re-seals one user's templates from `old` to `new` associated data (and key) in the caller's transaction.
    private static func resealUser(_ c: PostgresConnection, userID: Int64, name: String, from old: TemplateAAD, to new: TemplateAAD,
                                   oldKey: GalleryKey, newKey: GalleryKey, _ logger: Logger) async throws {
        var rows: [(Int64, Data)] = []
        for try await r in try await c.query("SELECT id, embedding FROM templates WHERE user_id = \(userID)", logger: logger)
            .decode((Int64, Data).self) { rows.append(r) }
        for (id, box) in rows {
            let e = try RecordCrypto.openTemplate(box, old, row: id, userName: name, key: oldKey)
            let sealed = try RecordCrypto.sealTemplate(e, new, row: id, key: newKey)
            try await c.query("UPDATE templates SET embedding = \(sealed) WHERE id = \(id)", logger: logger)
        }
    }

    /// The key check under FOR SHARE (waits for a running rotation, then sees its result): `wrongKey` if `key` is
    /// not the gallery's key.
    private static func requireKey(_ c: PostgresConnection, _ key: GalleryKey, _ logger: Logger) async throws {
        var check: Data?
        for try await v in try await c.query("SELECT value FROM meta WHERE key = 'key_check' FOR SHARE", logger: logger).decode(Data.self) { check = v }
        if let check, !RecordCrypto.verifyKeyCheck(check, key: key) {
            let expected = try await Self.meta(c, "key_id", logger).flatMap { String(data: $0, encoding: .utf8) } ?? "unknown"
            throw GalleryError.wrongKey(expected: expected, got: key.fingerprint, source: key.source)
        }
    }

    private static func logChange(_ c: PostgresConnection, _ uid: String, _ logger: Logger) async throws {
        let now = Date().timeIntervalSince1970
        try await c.query("INSERT INTO changes(uid, at) VALUES (\(uid), \(now))", logger: logger)
        try await c.query("DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - \(changeLogRetention)", logger: logger)
        try await c.query("SELECT pg_notify(\(Self.channel), \(uid))", logger: logger)
    }

    private static func userID(_ c: PostgresConnection, name: String, _ logger: Logger) async throws -> (Int64, String)? {
        var out: (Int64, String)?
        for try await (id, uid) in try await c.query("SELECT id, uid FROM users WHERE name = \(name)", logger: logger).decode((Int64, String).self) {
            out = (id, uid)
        }
        return out
    }

    // MARK: Gallery

    @discardableResult
    public func enroll(_ e: Enrollment) async throws -> UserSummary {
        try await enroll(batch: [e])
        return try await user(named: e.name).summary
    }

    public func enroll(batch: [Enrollment]) async throws {
        for e in batch { try validate(e) }
        let key = self.key, logger = self.logger
        _ = try await transaction("enroll \(batch.count == 1 ? batch[0].name : "\(batch.count) users")") { c in
            // Sealed only under the current key (#17): FOR SHARE waits for a running `keys rotate` (it holds meta
            // EXCLUSIVE) and then reads its new check value, so a writer with the old key is refused (wrongKey).
            try await Self.requireKey(c, key, logger)
            let version = try await Self.keyVersion(c, logger)
            for e in batch { try await Self.insert(c, e, key, version, logger) }
            return 0
        }
    }

    private static func insert(_ c: PostgresConnection, _ e: Enrollment, _ key: GalleryKey, _ version: Int64, _ logger: Logger) async throws {
        let userID: Int64
        let uid: UUID
        var threshold = e.threshold
        if let (id, u) = try await Self.userID(c, name: e.name, logger) {
            guard e.mode != .create else { throw GalleryError.userExists(e.name) }
            userID = id; uid = UUID(uuidString: u) ?? UUID()
            var stored: Double?
            for try await t in try await c.query("SELECT threshold FROM users WHERE id = \(userID)", logger: logger).decode(Double?.self) { stored = t }
            if e.mode == .replace { try await c.query("DELETE FROM templates WHERE user_id = \(userID)", logger: logger) }
            if let t = e.threshold, t != stored {
                try await c.query("UPDATE users SET threshold = \(t) WHERE id = \(userID)", logger: logger)
                // The threshold is part of the templates' associated data: the kept ones are re-sealed.
                try await resealUser(c, userID: userID, name: e.name,
                                     from: TemplateAAD(user: uid, name: e.name, threshold: stored, keyVersion: version),
                                     to: TemplateAAD(user: uid, name: e.name, threshold: t, keyVersion: version),
                                     oldKey: key, newKey: key, logger)
            }
            threshold = e.threshold ?? stored
        } else {
            uid = e.key ?? UUID()
            var taken = 0
            for try await n in try await c.query("SELECT COUNT(*) FROM users WHERE uid = \(uid.uuidString)", logger: logger).decode(Int.self) { taken = n }
            if taken > 0 { throw GalleryError.userExists("\(e.name) (same key \(uid.uuidString) as another user)") }
            var newID: Int64 = 0
            for try await id in try await c.query("""
                INSERT INTO users(uid, name, threshold, created) VALUES (\(uid.uuidString), \(e.name), \(e.threshold), \(e.created.timeIntervalSince1970))
                RETURNING id
                """, logger: logger).decode(Int64.self) { newID = id }
            userID = newID
        }
        if let jpeg = e.thumbnailJPEG {
            let box = try RecordCrypto.seal(jpeg, aad: RecordCrypto.thumbnailAAD(uid), key: key)
            try await c.query("UPDATE users SET thumbnail = \(box) WHERE id = \(userID)", logger: logger)
        }
        // Each template is validated and sealed inside the transaction: an invalid one rolls back all. Row ids are
        // drawn from the table's sequence first (one query), so each row is sealed with its own id (v2 associated data).
        var ids: [Int64] = []
        if !e.templates.isEmpty {
            for try await id in try await c.query("SELECT nextval(pg_get_serial_sequence('templates', 'id')) FROM generate_series(1, \(e.templates.count))",
                                                  logger: logger).decode(Int64.self) { ids.append(id) }
        }
        guard ids.count == e.templates.count else { throw GalleryError.database("the template id sequence returned \(ids.count) of \(e.templates.count) ids") }
        let aad = TemplateAAD(user: uid, name: e.name, threshold: threshold, keyVersion: version)
        for (t, id) in zip(e.templates, ids) {
            let box = try RecordCrypto.sealTemplate(t.embedding, aad, row: id, key: key)
            try await c.query("""
                INSERT INTO templates(id, user_id, pose, quality, created, embedding)
                VALUES (\(id), \(userID), \(t.metadata.pose.rawValue), \(t.metadata.quality), \(t.metadata.created.timeIntervalSince1970), \(box))
                """, logger: logger)
        }
        try await logChange(c, uid.uuidString, logger)
    }

    private static let summarySQL = """
        SELECT u.id, u.uid, u.name, u.threshold, u.created, u.thumbnail IS NOT NULL,
               (SELECT COUNT(*) FROM templates t WHERE t.user_id = u.id)
        FROM users u
        """

    private typealias SummaryRow = (Int64, String, String, Double?, Double, Bool, Int)
    private static func summary(_ r: SummaryRow) -> UserSummary {
        UserSummary(key: UUID(uuidString: r.1) ?? UUID(), name: r.2, threshold: r.3,
                    created: Date(timeIntervalSince1970: r.4), templateCount: r.6, hasThumbnail: r.5)
    }

    private typealias TemplateRow = (Int64, Int64, String, Double, Double, Data)
    private static func template(_ r: TemplateRow, _ s: UserSummary, version: Int64, key: GalleryKey) throws -> StoredTemplate {
        let aad = TemplateAAD(user: s.key, name: s.name, threshold: s.threshold, keyVersion: version)
        let e = try RecordCrypto.openTemplate(r.5, aad, row: r.0, userName: s.name, key: key)
        let meta = TemplateMetadata(pose: PoseBucket(rawValue: r.2) ?? .unknown, quality: r.3, created: Date(timeIntervalSince1970: r.4))
        return StoredTemplate(id: r.0, template: FaceTemplate(embedding: e, metadata: meta))
    }

    public func listUsers() async throws -> [UserSummary] {
        let logger = self.logger
        return try await read("list users") { c in
            var out: [UserSummary] = []
            let rows = try await c.query(PostgresQuery(unsafeSQL: Self.summarySQL + " ORDER BY u.name"), logger: logger)
            for try await r in rows.decode(SummaryRow.self) { out.append(Self.summary(r)) }
            return out
        }
    }

    private func fetchUser(byName name: String?, key uid: UUID?) async throws -> UserRecord? {
        let key = self.key, logger = self.logger
        return try await read("read user") { c -> UserRecord? in
            var q = PostgresQuery(unsafeSQL: Self.summarySQL + " WHERE " + (name != nil ? "u.name = $1" : "u.uid = $1"))
            try q.binds.append(name ?? uid!.uuidString, context: .default)
            var found: (Int64, UserSummary)?
            for try await r in try await c.query(q, logger: logger).decode(SummaryRow.self) { found = (r.0, Self.summary(r)) }
            guard let (id, s) = found else { return nil }
            let version = try await Self.keyVersion(c, logger)
            var ts: [StoredTemplate] = []
            let rows = try await c.query("SELECT id, user_id, pose, quality, created, embedding FROM templates WHERE user_id = \(id) ORDER BY id", logger: logger)
            for try await r in rows.decode(TemplateRow.self) { ts.append(try Self.template(r, s, version: version, key: key)) }
            return UserRecord(summary: s, templates: ts)
        }
    }

    public func user(named name: String) async throws -> UserRecord {
        guard let u = try await fetchUser(byName: name, key: nil) else { throw GalleryError.unknownUser(name) }
        return u
    }

    public func user(key: UUID) async throws -> UserRecord? { try await fetchUser(byName: nil, key: key) }

    public func allUsers() async throws -> [UserRecord] {
        let key = self.key, logger = self.logger
        return try await read("read all users") { c in
            var byID: [Int64: (UserSummary, [StoredTemplate])] = [:]
            var order: [Int64] = []
            let version = try await Self.keyVersion(c, logger)
            for try await r in try await c.query(PostgresQuery(unsafeSQL: Self.summarySQL + " ORDER BY u.id"), logger: logger).decode(SummaryRow.self) {
                byID[r.0] = (Self.summary(r), []); order.append(r.0)
            }
            let rows = try await c.query("SELECT id, user_id, pose, quality, created, embedding FROM templates ORDER BY user_id, id", logger: logger)
            for try await r in rows.decode(TemplateRow.self) {
                guard let s = byID[r.1]?.0 else { continue }
                byID[r.1]!.1.append(try Self.template(r, s, version: version, key: key))
            }
            return order.map { UserRecord(summary: byID[$0]!.0, templates: byID[$0]!.1) }
        }
    }

    public func loadIndex(threads: Int) async throws -> LoadedIndex {
        try await loadIndex(threads: threads, batchRows: SealedIndexBuilder.defaultBatchRows)
    }

    /// `loadIndex` with a chosen batch size (tests use small batches to cover batch hand-over on small galleries).
    func loadIndex(threads: Int, batchRows: Int) async throws -> LoadedIndex {
        let key = self.key, logger = self.logger
        return try await read("load the index") { c in
            // One snapshot for counts, users, rows and the change position.
            try await c.query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var seq: Int64 = 0
                for try await v in try await c.query("SELECT COALESCE(MAX(seq), 0) FROM changes", logger: logger).decode(Int64.self) { seq = v }
                var users: [IndexLoadUser] = []
                let userRows = try await c.query(PostgresQuery(unsafeSQL: SQLiteGallery.indexUsersSQL), logger: logger)
                for try await (id, uid, name, threshold, n) in userRows.decode((Int64, String, String, Double?, Int64).self) {
                    users.append(IndexLoadUser(dbID: id, uid: uid, name: name, threshold: threshold, templateCount: Int(n)))
                }
                let builder = try SealedIndexBuilder(users: users, key: key, keyVersion: try await Self.keyVersion(c, logger),
                                                     threads: threads, batchRows: batchRows)
                // Sequential scan, no sort; the bytea arrives as a buffer slice (no Data per row).
                let rows = try await c.query("SELECT id, user_id, embedding FROM templates", logger: logger)
                for try await (rowID, userID, box) in rows.decode((Int64, Int64, ByteBuffer).self) {
                    try box.withUnsafeReadableBytes { try builder.add(userID: userID, row: rowID, box: $0) }
                }
                let loaded = try builder.finish(changeSeq: seq)
                try await c.query("COMMIT", logger: logger)
                return loaded
            } catch {
                _ = try? await c.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func removeUser(named name: String) async throws {
        let logger = self.logger
        _ = try await transaction("remove \(name)") { c in
            guard let (id, uid) = try await Self.userID(c, name: name, logger) else { throw GalleryError.unknownUser(name) }
            try await c.query("DELETE FROM users WHERE id = \(id)", logger: logger)
            try await Self.logChange(c, uid, logger)
            return 0
        }
    }

    public func renameUser(_ old: String, to new: String) async throws {
        try GalleryError.checkName(new)
        let key = self.key, logger = self.logger
        _ = try await transaction("rename \(old)") { c in
            guard let (id, uid) = try await Self.userID(c, name: old, logger) else { throw GalleryError.unknownUser(old) }
            if old == new { return 0 }
            if try await Self.userID(c, name: new, logger) != nil { throw GalleryError.userExists(new) }
            try await Self.requireKey(c, key, logger)
            let version = try await Self.keyVersion(c, logger), u = UUID(uuidString: uid) ?? UUID()
            var t: Double?
            for try await v in try await c.query("SELECT threshold FROM users WHERE id = \(id)", logger: logger).decode(Double?.self) { t = v }
            try await c.query("UPDATE users SET name = \(new) WHERE id = \(id)", logger: logger)
            // The name is part of the templates' associated data (#17): re-seal them under the new name.
            try await Self.resealUser(c, userID: id, name: old, from: TemplateAAD(user: u, name: old, threshold: t, keyVersion: version),
                                      to: TemplateAAD(user: u, name: new, threshold: t, keyVersion: version), oldKey: key, newKey: key, logger)
            try await Self.logChange(c, uid, logger)
            return 0
        }
    }

    public func setThreshold(user name: String, _ threshold: Double?) async throws {
        if let t = threshold, !(t > 0 && t.isFinite) { throw GalleryError.invalidTemplate("threshold must be a positive number, got \(t)") }
        let key = self.key, logger = self.logger
        _ = try await transaction("set threshold of \(name)") { c in
            guard let (id, uid) = try await Self.userID(c, name: name, logger) else { throw GalleryError.unknownUser(name) }
            try await Self.requireKey(c, key, logger)
            let version = try await Self.keyVersion(c, logger), u = UUID(uuidString: uid) ?? UUID()
            var stored: Double?
            for try await v in try await c.query("SELECT threshold FROM users WHERE id = \(id)", logger: logger).decode(Double?.self) { stored = v }
            try await c.query("UPDATE users SET threshold = \(threshold) WHERE id = \(id)", logger: logger)
            // The threshold is part of the templates' associated data (#17): re-seal them under the new one.
            try await Self.resealUser(c, userID: id, name: name, from: TemplateAAD(user: u, name: name, threshold: stored, keyVersion: version),
                                      to: TemplateAAD(user: u, name: name, threshold: threshold, keyVersion: version), oldKey: key, newKey: key, logger)
            try await Self.logChange(c, uid, logger)
            return 0
        }
    }

    public func thumbnail(user name: String) async throws -> Data? {
        let key = self.key, logger = self.logger
        return try await read("read thumbnail of \(name)") { c -> Data? in
            var found: (String, Data?)?
            for try await r in try await c.query("SELECT uid, thumbnail FROM users WHERE name = \(name)", logger: logger).decode((String, Data?).self) { found = r }
            guard let (u, box) = found else { throw GalleryError.unknownUser(name) }
            guard let box else { return nil }
            guard let uid = UUID(uuidString: u), let jpeg = RecordCrypto.open(box, aad: RecordCrypto.thumbnailAAD(uid), key: key) else {
                throw GalleryError.corruptRecord(user: name, detail: "the thumbnail fails authentication")
            }
            return jpeg
        }
    }

    @discardableResult
    public func rotateKey(to newKey: GalleryKey) async throws -> Int {
        let old = self.key, logger = self.logger
        let n = try await transaction("rotate key") { c -> Int in
            // Lock out concurrent writers for the whole rotation (the server's session table too, when it exists).
            var sessions = false
            for try await v in try await c.query("SELECT to_regclass('server_sessions') IS NOT NULL", logger: logger).decode(Bool.self) { sessions = v }
            try await c.query(PostgresQuery(unsafeSQL: "LOCK TABLE users, templates, meta\(sessions ? ", server_sessions" : "") IN EXCLUSIVE MODE"), logger: logger)
            guard let box = try await Self.meta(c, "key_check", logger), RecordCrypto.verifyKeyCheck(box, key: old) else {
                throw GalleryError.wrongKey(expected: "stored", got: old.fingerprint, source: old.source)
            }
            var n = 0
            // The new key gets the next key version (part of each template's associated data, #17).
            let version = try await Self.keyVersion(c, logger)
            var rows: [(Int64, Data, String, String, Double?)] = []
            for try await r in try await c.query("SELECT t.id, t.embedding, u.uid, u.name, u.threshold FROM templates t JOIN users u ON u.id = t.user_id", logger: logger)
                .decode((Int64, Data, String, String, Double?).self) { rows.append(r) }
            for (id, box, u, name, t) in rows {
                guard let uid = UUID(uuidString: u) else { throw GalleryError.corruptRecord(user: name, detail: "the stored user key is not a UUID") }
                let e = try RecordCrypto.openTemplate(box, TemplateAAD(user: uid, name: name, threshold: t, keyVersion: version), row: id, userName: name, key: old)
                let sealed = try RecordCrypto.sealTemplate(e, TemplateAAD(user: uid, name: name, threshold: t, keyVersion: version + 1), row: id, key: newKey)
                try await c.query("UPDATE templates SET embedding = \(sealed) WHERE id = \(id)", logger: logger)
                n += 1
            }
            var thumbs: [(Int64, String, String, Data)] = []
            for try await r in try await c.query("SELECT id, uid, name, thumbnail FROM users WHERE thumbnail IS NOT NULL", logger: logger)
                .decode((Int64, String, String, Data).self) { thumbs.append(r) }
            for (id, u, name, box) in thumbs {
                guard let uid = UUID(uuidString: u), let jpeg = RecordCrypto.open(box, aad: RecordCrypto.thumbnailAAD(uid), key: old) else {
                    throw GalleryError.corruptRecord(user: name, detail: "the thumbnail fails authentication")
                }
                let sealed = try RecordCrypto.seal(jpeg, aad: RecordCrypto.thumbnailAAD(uid), key: newKey)
                try await c.query("UPDATE users SET thumbnail = \(sealed) WHERE id = \(id)", logger: logger)
                n += 1
            }
            // The server's session embeddings (sealed with the gallery key, no associated data): re-sealed so a session
            // result inside its window survives the rotation; one that does not open under the old key is dropped.
            if sessions {
                var blobs: [(String, Data)] = []
                for try await r in try await c.query("SELECT id, embeddings FROM server_sessions WHERE embeddings IS NOT NULL", logger: logger)
                    .decode((String, Data).self) { blobs.append(r) }
                for (id, box) in blobs {
                    let sealed = try RecordCrypto.openUnbound(box, key: old).map { try RecordCrypto.sealUnbound($0, key: newKey) }
                    try await c.query("UPDATE server_sessions SET embeddings = \(sealed) WHERE id = \(id)", logger: logger)
                    if sealed != nil { n += 1 }
                }
            }
            try await Self.writeKeyCheck(c, newKey, logger)
            try await Self.writeTemplateAAD(c, keyVersion: version + 1, logger)
            try await Self.logChange(c, "*", logger)
            return n
        }
        lock.withLock { _previousKey = _key; _key = newKey }
        return n
    }

    public func latestChange() async throws -> Int64 {
        let logger = self.logger
        return try await read("read change log") { c in
            var s: Int64 = 0
            for try await v in try await c.query("SELECT COALESCE(MAX(seq), 0) FROM changes", logger: logger).decode(Int64.self) { s = v }
            return s
        }
    }

    public func changes(after seq: Int64) async throws -> GalleryChanges {
        let logger = self.logger
        return try await read("read change log") { c in
            var minSeq: Int64 = 0
            for try await v in try await c.query("SELECT COALESCE(MIN(seq), 0) FROM changes", logger: logger).decode(Int64.self) { minSeq = v }
            var users = Set<UUID>(), latest = seq, all = minSeq > seq + 1
            for try await (s, u) in try await c.query("SELECT seq, uid FROM changes WHERE seq > \(seq) ORDER BY seq", logger: logger).decode((Int64, String).self) {
                latest = max(latest, s)
                if let id = UUID(uuidString: u) { users.insert(id) } else { all = true }
            }
            return GalleryChanges(latest: latest, users: users, reloadAll: all)
        }
    }

    /// LISTEN on a dedicated pooled connection; reconnects after failures until `close()`.
    public func changeSignals() -> AsyncStream<Void>? {
        let (stream, cont) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let client = self.client, logger = self.logger
        let task = Task {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { conn in
                        try await conn.listen(on: Self.channel) { seq in
                            cont.yield()   // (re)connected: changes may have been missed
                            for try await _ in seq { cont.yield() }
                        }
                    }
                } catch {
                    logger.debug("LISTEN \(Self.channel) failed: \(error)")
                }
                try? await Task.sleep(nanoseconds: UInt64(Self.listenRetrySeconds * 1e9))
            }
            cont.finish()
        }
        lock.withLock { listeners.append(task) }
        cont.onTermination = { _ in task.cancel() }
        return stream
    }

    public func close() async {
        let ls = lock.withLock { let l = listeners; listeners = []; return l }
        for l in ls { l.cancel() }
        runTask.cancel()
    }
}
