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
    private var _previousKey: GalleryKey?
    private var _loader: (@Sendable () throws -> GalleryKey)?
    var key: GalleryKey { lock.withLock { _key } }
    public var keys: [GalleryKey] { lock.withLock { [_key] + (_previousKey.map { [$0] } ?? []) } }
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

    /// Maps database failures to `GalleryError.database`, keeping typed errors. On `wrongKey` (another process rotated
    /// the key) the instance reloads its key (`reloadKey`) for the next call.
    private func run<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() }
        catch GalleryError.corruptRecord(let u, let d) {
            // A record that fails authentication because the gallery was re-keyed meanwhile is a wrong key, not corruption.
            if let mismatch = await keyMismatch() { _ = await reloadKey(); throw mismatch }
            throw GalleryError.corruptRecord(user: u, detail: d)
        }
        catch GalleryError.wrongKey(let e, let g, let s) {
            _ = await reloadKey()
            throw GalleryError.wrongKey(expected: e, got: g, source: s)
        }
        catch let e as GalleryError { throw e }
        catch let e as IdentityError { throw e }
        catch { throw GalleryError.database("\(what): \(error)") }
    }

    public func setKeyLoader(_ loader: @escaping @Sendable () throws -> GalleryKey) { lock.withLock { _loader = loader } }

    public func reloadKey() async -> Bool {
        guard let loader = lock.withLock({ _loader }), let fresh = try? loader() else { return false }
        let current = key
        guard fresh.fingerprint != current.fingerprint,
              (try? await pool.read({ db in try Self.verifyStoredKeyCheck(db, fresh) })) == true else { return false }
        return lock.withLock {
            guard _key.fingerprint == current.fingerprint else { return false }   // another call adopted it first
            _previousKey = _key; _key = fresh
            return true
        }
    }

    private func checkKey() throws {
        let key = self.key
        do {
            // The usual case reads only (no write lock, see init); only the first open writes the check value, and
            // the first open of a v1 gallery re-seals its templates under v2 associated data (#17).
            if try pool.read({ db in try Self.verifyStoredKeyCheck(db, key) && Self.templateAADVersion(db) == 2 }) { return }
            try pool.write { db in
                if try Self.verifyStoredKeyCheck(db, key) {   // v1 gallery (or another process initialised it meanwhile)
                    if try Self.templateAADVersion(db) != 2 { try Self.migrateTemplatesToV2(db, key) }
                    return
                }
                let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates") ?? 0
                guard n == 0 else {
                    throw GalleryError.corruptRecord(user: "*", detail: "the key check value is missing although templates are stored")
                }
                try Self.writeKeyCheck(db, key)
                try Self.writeTemplateAAD(db, keyVersion: 1)
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

    /// Version of the stored templates' associated data: 2 once `meta.template_aad` says so, else 1 (#17).
    static func templateAADVersion(_ db: Database) throws -> Int {
        try String.fetchOne(db, sql: "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'template_aad'").flatMap { Int($0) } ?? 1
    }

    /// The gallery's key version (`meta.key_version`): 1 at creation, raised by every `rotateKey`; part of each
    /// template's associated data (`TemplateAAD`).
    static func keyVersion(_ db: Database) throws -> Int64 {
        try String.fetchOne(db, sql: "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'key_version'").flatMap { Int64($0) } ?? 1
    }

    private static func writeTemplateAAD(_ db: Database, keyVersion: Int64) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('template_aad', ?), ('key_version', ?)",
                       arguments: [Data("2".utf8), Data(String(keyVersion).utf8)])
    }

    /// Re-seals every v1 template (associated data: the user only) under v2 associated data (user, name, threshold,
    /// key version, row) and sets the marker, in the caller's write transaction: all or nothing.
    static func migrateTemplatesToV2(_ db: Database, _ key: GalleryKey) throws {
        let version = try keyVersion(db)
        let rows = try Row.fetchAll(db, sql: "SELECT t.id, t.embedding, u.uid, u.name, u.threshold FROM templates t JOIN users u ON u.id = t.user_id")
        let update = try db.cachedStatement(sql: "UPDATE templates SET embedding = ? WHERE id = ?")
        for r in rows {
            let name: String = r["name"], id: Int64 = r["id"]
            guard let uid = UUID(uuidString: r["uid"]) else {
                throw GalleryError.corruptRecord(user: name, detail: "the stored user key is not a UUID")
            }
            let e = try RecordCrypto.openTemplate(r["embedding"], user: uid, userName: name, key: key)
            let aad = TemplateAAD(user: uid, name: name, threshold: r["threshold"], keyVersion: version)
            try update.execute(arguments: [try RecordCrypto.sealTemplate(e, aad, row: id, key: key), id])
        }
        try writeTemplateAAD(db, keyVersion: version)
    }

    /// First free template row id, in a write transaction (rows are inserted with explicit ids so each is sealed
    /// with its own id in one statement; AUTOINCREMENT's sequence follows explicit ids, so ids are never reused).
    private static func nextTemplateID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: """
            SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'templates'), 0),
                       COALESCE((SELECT MAX(id) FROM templates), 0)) + 1
            """) ?? 1
    }

    /// Re-seals one user's templates from `old` to `new` associated data (and key) in the caller's transaction:
    /// after a rename or a threshold change, which are part of the associated data.
    private static func resealUser(_ db: Database, userID: Int64, name: String, from old: TemplateAAD, to new: TemplateAAD,
                                   oldKey: GalleryKey, newKey: GalleryKey) throws {
        for r in try Row.fetchAll(db, sql: "SELECT id, embedding FROM templates WHERE user_id = ?", arguments: [userID]) {
            let id: Int64 = r["id"]
            let e = try RecordCrypto.openTemplate(r["embedding"], old, row: id, userName: name, key: oldKey)
            try db.execute(sql: "UPDATE templates SET embedding = ? WHERE id = ?",
                           arguments: [try RecordCrypto.sealTemplate(e, new, row: id, key: newKey), id])
        }
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
                let version = try Self.keyVersion(db)
                var nextID = try Self.nextTemplateID(db)
                for e in batch { try Self.insert(db, e, key, version, &nextID) }
            }
        }
    }

    private static func insert(_ db: Database, _ e: Enrollment, _ key: GalleryKey, _ version: Int64, _ nextID: inout Int64) throws {
        let existing = try Row.fetchOne(db, sql: "SELECT id, uid, threshold FROM users WHERE name = ?", arguments: [e.name])
        var userID: Int64
        var uid: UUID
        var threshold = e.threshold
        if let row = existing {
            guard e.mode != .create else { throw GalleryError.userExists(e.name) }
            userID = row["id"]; uid = UUID(uuidString: row["uid"]) ?? UUID()
            let stored: Double? = row["threshold"]
            if e.mode == .replace { try db.execute(sql: "DELETE FROM templates WHERE user_id = ?", arguments: [userID]) }
            if let t = e.threshold, t != stored {
                try db.execute(sql: "UPDATE users SET threshold = ? WHERE id = ?", arguments: [t, userID])
                // The threshold is part of the templates' associated data: the kept ones are re-sealed.
                try resealUser(db, userID: userID, name: e.name,
                               from: TemplateAAD(user: uid, name: e.name, threshold: stored, keyVersion: version),
                               to: TemplateAAD(user: uid, name: e.name, threshold: t, keyVersion: version), oldKey: key, newKey: key)
            }
            threshold = e.threshold ?? stored
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
        // Explicit row ids: each template is sealed with its own row id (v2 associated data) in one INSERT.
        let insertTemplate = try db.cachedStatement(sql: "INSERT INTO templates(id, user_id, pose, quality, created, embedding) VALUES (?, ?, ?, ?, ?, ?)")
        let aad = TemplateAAD(user: uid, name: e.name, threshold: threshold, keyVersion: version)
        for t in e.templates {
            let id = nextID
            nextID += 1
            let box = try RecordCrypto.sealTemplate(t.embedding, aad, row: id, key: key)
            try insertTemplate.execute(arguments: [id, userID, t.metadata.pose.rawValue, t.metadata.quality,
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

    private static func template(_ r: Row, _ s: UserSummary, version: Int64, key: GalleryKey) throws -> StoredTemplate {
        let box: Data = r["embedding"]
        let aad = TemplateAAD(user: s.key, name: s.name, threshold: s.threshold, keyVersion: version)
        let e = try RecordCrypto.openTemplate(box, aad, row: r["id"], userName: s.name, key: key)
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
                let version = try Self.keyVersion(db)
                let ts = try Row.fetchAll(db, sql: "SELECT id, pose, quality, created, embedding FROM templates WHERE user_id = ? ORDER BY id",
                                          arguments: [id]).map { try Self.template($0, s, version: version, key: key) }
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
                let version = try Self.keyVersion(db)
                var byID: [Int64: (UserSummary, [StoredTemplate])] = [:]
                var order: [Int64] = []
                for r in users { let id: Int64 = r["id"]; byID[id] = (Self.summary(r), []); order.append(id) }
                let cursor = try Row.fetchCursor(db, sql: "SELECT id, user_id, pose, quality, created, embedding FROM templates ORDER BY user_id, id")
                while let r = try cursor.next() {
                    let uid: Int64 = r["user_id"]
                    guard let s = byID[uid]?.0 else { continue }
                    byID[uid]!.1.append(try Self.template(r, s, version: version, key: key))
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
                let builder = try SealedIndexBuilder(users: users, key: key, keyVersion: try Self.keyVersion(db),
                                                     threads: threads, batchRows: batchRows)
                // Table order (rowid), no sort: the builder places each row in its user's range.
                let rows = try Row.fetchCursor(db, sql: "SELECT id, user_id, embedding FROM templates")
                while let r = try rows.next() {
                    let rowID: Int64 = r[0], userID: Int64 = r[1]
                    try r.withUnsafeData(atIndex: 2) { data in
                        guard let data else { throw GalleryError.database("a template row of user id \(userID) has no embedding") }
                        try data.withUnsafeBytes { try builder.add(userID: userID, row: rowID, box: $0) }
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
        let key = self.key
        try await run("rename \(old)") {
            try await pool.write { db in
                guard let r = try Row.fetchOne(db, sql: "SELECT id, uid, threshold FROM users WHERE name = ?", arguments: [old]) else {
                    throw GalleryError.unknownUser(old)
                }
                if old == new { return }
                if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE name = ?", arguments: [new]) ?? 0 > 0 {
                    throw GalleryError.userExists(new)
                }
                _ = try Self.verifyStoredKeyCheck(db, key)
                let uid = UUID(uuidString: r["uid"]) ?? UUID(), version = try Self.keyVersion(db), t: Double? = r["threshold"]
                try db.execute(sql: "UPDATE users SET name = ? WHERE name = ?", arguments: [new, old])
                // The name is part of the templates' associated data (#17): re-seal them under the new name.
                try Self.resealUser(db, userID: r["id"], name: old, from: TemplateAAD(user: uid, name: old, threshold: t, keyVersion: version),
                                    to: TemplateAAD(user: uid, name: new, threshold: t, keyVersion: version), oldKey: key, newKey: key)
                try Self.logChange(db, uid)
            }
        }
    }

    public func setThreshold(user name: String, _ threshold: Double?) async throws {
        if let t = threshold, !(t > 0 && t.isFinite) { throw GalleryError.invalidTemplate("threshold must be a positive number, got \(t)") }
        let key = self.key
        try await run("set threshold of \(name)") {
            try await pool.write { db in
                guard let r = try Row.fetchOne(db, sql: "SELECT id, uid, threshold FROM users WHERE name = ?", arguments: [name]) else {
                    throw GalleryError.unknownUser(name)
                }
                _ = try Self.verifyStoredKeyCheck(db, key)
                let uid = UUID(uuidString: r["uid"]) ?? UUID(), version = try Self.keyVersion(db), stored: Double? = r["threshold"]
                try db.execute(sql: "UPDATE users SET threshold = ? WHERE name = ?", arguments: [threshold, name])
                // The threshold is part of the templates' associated data (#17): re-seal them under the new one.
                try Self.resealUser(db, userID: r["id"], name: name,
                                    from: TemplateAAD(user: uid, name: name, threshold: stored, keyVersion: version),
                                    to: TemplateAAD(user: uid, name: name, threshold: threshold, keyVersion: version), oldKey: key, newKey: key)
                try Self.logChange(db, uid)
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
                // The new key gets the next key version (part of each template's associated data, #17).
                let version = try Self.keyVersion(db)
                let rows = try Row.fetchAll(db, sql: "SELECT t.id, t.embedding, u.uid, u.name, u.threshold FROM templates t JOIN users u ON u.id = t.user_id")
                for r in rows {
                    let name: String = r["name"], id: Int64 = r["id"], t: Double? = r["threshold"]
                    guard let uid = UUID(uuidString: r["uid"]) else {
                        throw GalleryError.corruptRecord(user: name, detail: "the stored user key is not a UUID")
                    }
                    let e = try RecordCrypto.openTemplate(r["embedding"], TemplateAAD(user: uid, name: name, threshold: t, keyVersion: version),
                                                          row: id, userName: name, key: old)
                    try db.execute(sql: "UPDATE templates SET embedding = ? WHERE id = ?",
                                   arguments: [try RecordCrypto.sealTemplate(e, TemplateAAD(user: uid, name: name, threshold: t, keyVersion: version + 1),
                                                                             row: id, key: newKey), id])
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
                // The server's session embeddings in the same database (`server_sessions`, sealed with the gallery key
                // without associated data): re-sealed too, so a session result inside its window survives the rotation.
                // One that does not open under the old key is dropped (it could not be used either).
                if try db.tableExists("server_sessions") {
                    for r in try Row.fetchAll(db, sql: "SELECT id, embeddings FROM server_sessions WHERE embeddings IS NOT NULL") {
                        let id: String = r["id"]
                        let sealed = try RecordCrypto.openUnbound(r["embeddings"], key: old).map { try RecordCrypto.sealUnbound($0, key: newKey) }
                        try db.execute(sql: "UPDATE server_sessions SET embeddings = ? WHERE id = ?", arguments: [sealed, id])
                        if sealed != nil { n += 1 }
                    }
                }
                try Self.writeKeyCheck(db, newKey)
                try Self.writeTemplateAAD(db, keyVersion: version + 1)
                // A rotation invalidates every reader's key: log a marker so followers reload (and fail clearly).
                try db.execute(sql: "INSERT INTO changes(uid, at) VALUES ('*', ?)", arguments: [Date().timeIntervalSince1970])
                return n
            }
        }
        lock.withLock { _previousKey = _key; _key = newKey }
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
