import FaceGateCore
import Foundation
import GRDB

/// Gallery in a SQLite file (GRDB): WAL journal (concurrent readers with one writer), foreign keys, one
/// transaction per mutation, so a crash mid-enrollment leaves no half user.
public final class SQLiteGallery: Gallery, @unchecked Sendable {
    public let location: GalleryLocation
    let pool: DatabasePool
    private let lock = NSLock()
    private var _key: GalleryKey
    var key: GalleryKey { lock.withLock { _key } }
    public var keyFingerprint: String { key.fingerprint }

    /// Seconds a writer waits for another process's write transaction before failing.
    static let busyTimeout: TimeInterval = 10

    public init(path: String, key: GalleryKey) throws {
        location = .sqlite(path: path)
        _key = key
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch { throw GalleryError.database("cannot create directory \(dir): \(error.localizedDescription)") }
        }
        let isNew = !FileManager.default.fileExists(atPath: path)
        if isNew {
            // Create the file 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database file's
            // mode when it creates them, so they are private too (a chmod afterwards left them 0644).
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            if fd >= 0 { fchmod(fd, 0o600); _ = Glibc.close(fd) }
        }
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(Self.busyTimeout)
        config.label = "facegate"
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // Opening an initialised gallery takes no write lock: another process may be writing back-to-back
            // transactions (a bulk enrollment), and SQLite's busy handler would starve a waiting writer.
            let migrator = Self.migrator
            if try !pool.read({ try migrator.hasCompletedMigrations($0) }) { try migrator.migrate(pool) }
        } catch { throw GalleryError.database("cannot open SQLite gallery \(path): \(error)") }
        // Only the owner may read names and (encrypted) templates; SQLite gives -wal/-shm the same mode.
        if isNew { chmod(path, 0o600) }
        try checkKey()
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
                CREATE TABLE users (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    uid TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL UNIQUE,
                    threshold REAL,
                    created REAL NOT NULL,
                    thumbnail BLOB);
                CREATE TABLE templates (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    pose TEXT NOT NULL,
                    quality REAL NOT NULL,
                    created REAL NOT NULL,
                    embedding BLOB NOT NULL);
                CREATE INDEX templates_user ON templates(user_id);
                CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL, at REAL NOT NULL);
                """)
        }
        return m
    }

    /// Maps database failures to `GalleryError.database`, keeping typed errors.
    private func run<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() }
        catch GalleryError.corruptRecord(let u, let d) {
            // A record that fails authentication because the gallery was re-keyed meanwhile is a wrong key, not corruption.
            if let mismatch = await keyMismatch() { throw mismatch }
            throw GalleryError.corruptRecord(user: u, detail: d)
        }
        catch let e as GalleryError { throw e }
        catch let e as IdentityError { throw e }
        catch { throw GalleryError.database("\(what): \(error)") }
    }

    private func checkKey() throws {
        let key = self.key
        do {
            // The usual case reads only (no write lock, see init); only the first open writes the check value.
            if try pool.read({ db in try Self.verifyStoredKeyCheck(db, key) }) { return }
            try pool.write { db in
                if try Self.verifyStoredKeyCheck(db, key) { return }   // another process wrote it meanwhile
                let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates") ?? 0
                guard n == 0 else {
                    throw GalleryError.corruptRecord(user: "*", detail: "the key check value is missing although templates are stored")
                }
                try Self.writeKeyCheck(db, key)
            }
        } catch let e as GalleryError { throw e }
        catch { throw GalleryError.database("cannot check the gallery key: \(error)") }
    }

    /// `wrongKey` when the stored key check no longer opens under this instance's key (`facegate keys rotate` ran in
    /// another process); nil otherwise.
    private func keyMismatch() async -> GalleryError? {
        let key = self.key
        do { _ = try await pool.read { db in try Self.verifyStoredKeyCheck(db, key) }; return nil }
        catch let e as GalleryError { if case .wrongKey = e { return e }; return nil }
        catch { return nil }
    }

    /// True when the gallery holds a key check value that `key` opens; false when it holds none yet.
    private static func verifyStoredKeyCheck(_ db: Database, _ key: GalleryKey) throws -> Bool {
        guard let box = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'key_check'") else { return false }
        guard RecordCrypto.verifyKeyCheck(box, key: key) else {
            let expected = try String.fetchOne(db, sql: "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'key_id'") ?? "unknown"
            throw GalleryError.wrongKey(expected: expected, got: key.fingerprint, source: key.source)
        }
        return true
    }

    private static func writeKeyCheck(_ db: Database, _ key: GalleryKey) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('key_check', ?), ('key_id', ?)",
                       arguments: [try RecordCrypto.keyCheck(key), Data(key.fingerprint.utf8)])
    }

    private static func logChange(_ db: Database, _ uid: UUID) throws {
        try db.execute(sql: "INSERT INTO changes(uid, at) VALUES (?, ?)", arguments: [uid.uuidString, Date().timeIntervalSince1970])
        try db.execute(sql: "DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - ?", arguments: [changeLogRetention])
    }

    // MARK: Gallery

    @discardableResult
    public func enroll(_ e: Enrollment) async throws -> UserSummary {
        try await enroll(batch: [e])
        return try await user(named: e.name).summary
    }

    public func enroll(batch: [Enrollment]) async throws {
        for e in batch { try validate(e) }
        let key = self.key
        try await run("enroll \(batch.count == 1 ? batch[0].name : "\(batch.count) users")") {
            try await pool.write { db in
                // Sealed only under the gallery's current key (#17): after `facegate keys rotate` by another process, a
                // writer still holding the old key is refused (wrongKey) instead of storing rows no key opens.
                _ = try Self.verifyStoredKeyCheck(db, key)
                for e in batch { try Self.insert(db, e, key) }
            }
        }
    }

    private static func insert(_ db: Database, _ e: Enrollment, _ key: GalleryKey) throws {
        let existing = try Row.fetchOne(db, sql: "SELECT id, uid FROM users WHERE name = ?", arguments: [e.name])
        var userID: Int64
        var uid: UUID
        if let row = existing {
            guard e.mode != .create else { throw GalleryError.userExists(e.name) }
            userID = row["id"]; uid = UUID(uuidString: row["uid"]) ?? UUID()
            if e.mode == .replace { try db.execute(sql: "DELETE FROM templates WHERE user_id = ?", arguments: [userID]) }
            if let t = e.threshold { try db.execute(sql: "UPDATE users SET threshold = ? WHERE id = ?", arguments: [t, userID]) }
        } else {
            uid = e.key ?? UUID()
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE uid = ?", arguments: [uid.uuidString]) ?? 0 > 0 {
                throw GalleryError.userExists("\(e.name) (same key \(uid.uuidString) as another user)")
            }
            try db.execute(sql: "INSERT INTO users(uid, name, threshold, created) VALUES (?, ?, ?, ?)",
                           arguments: [uid.uuidString, e.name, e.threshold, e.created.timeIntervalSince1970])
            userID = db.lastInsertedRowID
        }
        if let jpeg = e.thumbnailJPEG {
            try db.execute(sql: "UPDATE users SET thumbnail = ? WHERE id = ?",
                           arguments: [try RecordCrypto.seal(jpeg, aad: RecordCrypto.thumbnailAAD(uid), key: key), userID])
        }
        // Each template is validated and sealed inside the transaction: an invalid one rolls back all.
        // A cached (prepared once per connection) statement: parsing it per row cost more than sealing the row.
        let insertTemplate = try db.cachedStatement(sql: "INSERT INTO templates(user_id, pose, quality, created, embedding) VALUES (?, ?, ?, ?, ?)")
        for t in e.templates {
            let box = try RecordCrypto.sealTemplate(t.embedding, user: uid, key: key)
            try insertTemplate.execute(arguments: [userID, t.metadata.pose.rawValue, t.metadata.quality,
                                                   t.metadata.created.timeIntervalSince1970, box])
        }
        try logChange(db, uid)
    }

    private static let summarySQL = """
        SELECT u.id, u.uid, u.name, u.threshold, u.created, u.thumbnail IS NOT NULL AS has_thumb,
               (SELECT COUNT(*) FROM templates t WHERE t.user_id = u.id) AS n
        FROM users u
        """

    private static func summary(_ r: Row) -> UserSummary {
        UserSummary(key: UUID(uuidString: r["uid"]) ?? UUID(), name: r["name"], threshold: r["threshold"],
                    created: Date(timeIntervalSince1970: r["created"]), templateCount: r["n"], hasThumbnail: r["has_thumb"])
    }

    private static func template(_ r: Row, uid: UUID, name: String, key: GalleryKey) throws -> StoredTemplate {
        let box: Data = r["embedding"]
        let e = try RecordCrypto.openTemplate(box, user: uid, userName: name, key: key)
        let meta = TemplateMetadata(pose: PoseBucket(rawValue: r["pose"]) ?? .unknown, quality: r["quality"],
                                    created: Date(timeIntervalSince1970: r["created"]))
        return StoredTemplate(id: r["id"], template: FaceTemplate(embedding: e, metadata: meta))
    }

    public func listUsers() async throws -> [UserSummary] {
        try await run("list users") {
            try await pool.read { db in try Row.fetchAll(db, sql: Self.summarySQL + " ORDER BY u.name").map(Self.summary) }
        }
    }

    private func fetchUser(_ whereSQL: String, _ arg: String) async throws -> UserRecord? {
        let key = self.key
        return try await run("read user") {
            try await pool.read { db -> UserRecord? in
                guard let r = try Row.fetchOne(db, sql: Self.summarySQL + " WHERE \(whereSQL)", arguments: [arg]) else { return nil }
                let s = Self.summary(r)
                let id: Int64 = r["id"]
                let ts = try Row.fetchAll(db, sql: "SELECT id, pose, quality, created, embedding FROM templates WHERE user_id = ? ORDER BY id",
                                          arguments: [id]).map { try Self.template($0, uid: s.key, name: s.name, key: key) }
                return UserRecord(summary: s, templates: ts)
            }
        }
    }

    public func user(named name: String) async throws -> UserRecord {
        guard let u = try await fetchUser("u.name = ?", name) else { throw GalleryError.unknownUser(name) }
        return u
    }

    public func user(key: UUID) async throws -> UserRecord? { try await fetchUser("u.uid = ?", key.uuidString) }

    public func allUsers() async throws -> [UserRecord] {
        let key = self.key
        return try await run("read all users") {
            try await pool.read { db -> [UserRecord] in
                let users = try Row.fetchAll(db, sql: Self.summarySQL + " ORDER BY u.id")
                var byID: [Int64: (UserSummary, [StoredTemplate])] = [:]
                var order: [Int64] = []
                for r in users { let id: Int64 = r["id"]; byID[id] = (Self.summary(r), []); order.append(id) }
                let cursor = try Row.fetchCursor(db, sql: "SELECT id, user_id, pose, quality, created, embedding FROM templates ORDER BY user_id, id")
                while let r = try cursor.next() {
                    let uid: Int64 = r["user_id"]
                    guard let s = byID[uid]?.0 else { continue }
                    byID[uid]!.1.append(try Self.template(r, uid: s.key, name: s.name, key: key))
                }
                return order.map { UserRecord(summary: byID[$0]!.0, templates: byID[$0]!.1) }
            }
        }
    }

    public func loadIndex(threads: Int) async throws -> LoadedIndex {
        try await loadIndex(threads: threads, batchRows: SealedIndexBuilder.defaultBatchRows)
    }

    /// `loadIndex` with a chosen batch size (tests use small batches to cover batch hand-over on small galleries).
    func loadIndex(threads: Int, batchRows: Int) async throws -> LoadedIndex {
        let key = self.key
        return try await run("load the index") {
            // One read transaction: counts, users, rows and the change position come from the same snapshot.
            try await pool.read { db -> LoadedIndex in
                let seq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM changes") ?? 0
                var users: [IndexLoadUser] = []
                let userRows = try Row.fetchCursor(db, sql: Self.indexUsersSQL)
                while let r = try userRows.next() {
                    users.append(IndexLoadUser(dbID: r[0], uid: r[1], name: r[2], threshold: r[3], templateCount: r[4]))
                }
                let builder = try SealedIndexBuilder(users: users, key: key, threads: threads, batchRows: batchRows)
                // Table order (rowid), no sort: the builder places each row in its user's range.
                let rows = try Row.fetchCursor(db, sql: "SELECT user_id, embedding FROM templates")
                while let r = try rows.next() {
                    let userID: Int64 = r[0]
                    try r.withUnsafeData(atIndex: 1) { data in
                        guard let data else { throw GalleryError.database("a template row of user id \(userID) has no embedding") }
                        try data.withUnsafeBytes { try builder.add(userID: userID, box: $0) }
                    }
                }
                return try builder.finish(changeSeq: seq)
            }
        }
    }

    /// Users that have templates, with their counts (SQLite and PostgreSQL spell this the same).
    static let indexUsersSQL = """
        SELECT u.id, u.uid, u.name, u.threshold, c.n
        FROM users u JOIN (SELECT user_id, COUNT(*) AS n FROM templates GROUP BY user_id) c ON c.user_id = u.id
        ORDER BY u.id
        """

    public func removeUser(named name: String) async throws {
        try await run("remove \(name)") {
            try await pool.write { db in
                guard let uid = try String.fetchOne(db, sql: "SELECT uid FROM users WHERE name = ?", arguments: [name]) else {
                    throw GalleryError.unknownUser(name)
                }
                try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [name])
                try Self.logChange(db, UUID(uuidString: uid) ?? UUID())
            }
        }
    }

    public func renameUser(_ old: String, to new: String) async throws {
        try GalleryError.checkName(new)
        try await run("rename \(old)") {
            try await pool.write { db in
                guard let uid = try String.fetchOne(db, sql: "SELECT uid FROM users WHERE name = ?", arguments: [old]) else {
                    throw GalleryError.unknownUser(old)
                }
                if old == new { return }
                if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE name = ?", arguments: [new]) ?? 0 > 0 {
                    throw GalleryError.userExists(new)
                }
                try db.execute(sql: "UPDATE users SET name = ? WHERE name = ?", arguments: [new, old])
                try Self.logChange(db, UUID(uuidString: uid) ?? UUID())
            }
        }
    }

    public func setThreshold(user name: String, _ threshold: Double?) async throws {
        if let t = threshold, !(t > 0 && t.isFinite) { throw GalleryError.invalidTemplate("threshold must be a positive number, got \(t)") }
        try await run("set threshold of \(name)") {
            try await pool.write { db in
                guard let uid = try String.fetchOne(db, sql: "SELECT uid FROM users WHERE name = ?", arguments: [name]) else {
                    throw GalleryError.unknownUser(name)
                }
                try db.execute(sql: "UPDATE users SET threshold = ? WHERE name = ?", arguments: [threshold, name])
                try Self.logChange(db, UUID(uuidString: uid) ?? UUID())
            }
        }
    }

    public func thumbnail(user name: String) async throws -> Data? {
        let key = self.key
        return try await run("read thumbnail of \(name)") {
            try await pool.read { db -> Data? in
                guard let r = try Row.fetchOne(db, sql: "SELECT uid, thumbnail FROM users WHERE name = ?", arguments: [name]) else {
                    throw GalleryError.unknownUser(name)
                }
                guard let box: Data = r["thumbnail"] else { return nil }
                guard let uid = UUID(uuidString: r["uid"]),
                      let jpeg = RecordCrypto.open(box, aad: RecordCrypto.thumbnailAAD(uid), key: key) else {
                    throw GalleryError.corruptRecord(user: name, detail: "the thumbnail fails authentication")
                }
                return jpeg
            }
        }
    }

    @discardableResult
    public func rotateKey(to newKey: GalleryKey) async throws -> Int {
        let old = self.key
        let n = try await run("rotate key") {
            try await pool.write { db -> Int in
                guard let box = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'key_check'"),
                      RecordCrypto.verifyKeyCheck(box, key: old) else {
                    throw GalleryError.wrongKey(expected: "stored", got: old.fingerprint, source: old.source)
                }
                var n = 0
                let rows = try Row.fetchAll(db, sql: "SELECT t.id, t.embedding, u.uid, u.name FROM templates t JOIN users u ON u.id = t.user_id")
                for r in rows {
                    guard let uid = UUID(uuidString: r["uid"]) else { continue }
                    let e = try RecordCrypto.openTemplate(r["embedding"], user: uid, userName: r["name"], key: old)
                    try db.execute(sql: "UPDATE templates SET embedding = ? WHERE id = ?",
                                   arguments: [try RecordCrypto.sealTemplate(e, user: uid, key: newKey), r["id"] as Int64])
                    n += 1
                }
                for r in try Row.fetchAll(db, sql: "SELECT id, uid, name, thumbnail FROM users WHERE thumbnail IS NOT NULL") {
                    guard let uid = UUID(uuidString: r["uid"]),
                          let jpeg = RecordCrypto.open(r["thumbnail"], aad: RecordCrypto.thumbnailAAD(uid), key: old) else {
                        throw GalleryError.corruptRecord(user: r["name"], detail: "the thumbnail fails authentication")
                    }
                    try db.execute(sql: "UPDATE users SET thumbnail = ? WHERE id = ?",
                                   arguments: [try RecordCrypto.seal(jpeg, aad: RecordCrypto.thumbnailAAD(uid), key: newKey), r["id"] as Int64])
                    n += 1
                }
                try Self.writeKeyCheck(db, newKey)
                // A rotation invalidates every reader's key: log a marker so followers reload (and fail clearly).
                try db.execute(sql: "INSERT INTO changes(uid, at) VALUES ('*', ?)", arguments: [Date().timeIntervalSince1970])
                return n
            }
        }
        lock.withLock { _key = newKey }
        return n
    }

    public func latestChange() async throws -> Int64 {
        try await run("read change log") {
            try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM changes") ?? 0 }
        }
    }

    public func changes(after seq: Int64) async throws -> GalleryChanges {
        try await run("read change log") {
            try await pool.read { db -> GalleryChanges in
                let minSeq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MIN(seq), 0) FROM changes") ?? 0
                let rows = try Row.fetchAll(db, sql: "SELECT seq, uid FROM changes WHERE seq > ? ORDER BY seq", arguments: [seq])
                var users = Set<UUID>(), latest = seq, all = minSeq > seq + 1
                for r in rows {
                    latest = max(latest, r["seq"])
                    let s: String = r["uid"]
                    if let u = UUID(uuidString: s) { users.insert(u) } else { all = true }
                }
                return GalleryChanges(latest: latest, users: users, reloadAll: all)
            }
        }
    }

    public func changeSignals() -> AsyncStream<Void>? { nil }

    public func close() async {
        try? pool.close()
    }
}
