import FaceGateCore
import Foundation
import GRDB
import Testing
@testable import FaceGateStore

@Test func locationParsing() throws {
    #expect(try GalleryLocation(parsing: "/tmp/a.sqlite") == .sqlite(path: "/tmp/a.sqlite"))
    #expect(try GalleryLocation(parsing: "sqlite:/tmp/b.db") == .sqlite(path: "/tmp/b.db"))
    #expect(try GalleryLocation(parsing: "sqlite:///tmp/c.db") == .sqlite(path: "/tmp/c.db"))
    #expect(try GalleryLocation(parsing: "rel/d.db") == .sqlite(path: "rel/d.db"))
    let pg = try GalleryLocation(parsing: "postgres://fg:s%40cret@db.example:6543/faces?sslmode=require")
    #expect(pg == .postgres(PostgresURL(user: "fg", password: "s@cret", host: "db.example", port: 6543, database: "faces", tls: .require)))
    #expect(pg.description == "postgres://fg:***@db.example:6543/faces")
    #expect(try GalleryLocation(parsing: "postgresql://u@localhost/x") == .postgres(PostgresURL(user: "u", password: nil, host: "localhost", database: "x")))
    #expect(throws: GalleryError.self) { try GalleryLocation(parsing: "postgres://u@host") }     // no database
    #expect(throws: GalleryError.self) { try GalleryLocation(parsing: "mysql://u@host/db") }
    #expect(throws: GalleryError.self) { try GalleryLocation(parsing: "sqlite:") }
    #expect(throws: GalleryError.self) { try GalleryLocation(parsing: "postgres://u@h/db?sslmode=bogus") }
}

@Test func defaultLocationsFollowXDGAndEnvironment() throws {
    #expect(try GalleryLocation.resolve(nil, environment: ["XDG_DATA_HOME": "/x/data", "HOME": "/h"]) == .sqlite(path: "/x/data/facegate/facegate.sqlite"))
    #expect(try GalleryLocation.resolve(nil, environment: ["HOME": "/h"]) == .sqlite(path: "/h/.local/share/facegate/facegate.sqlite"))
    #expect(try GalleryLocation.resolve(nil, environment: ["HOME": "/h", "FACEGATE_DB": "sqlite:/e.db"]) == .sqlite(path: "/e.db"))
    #expect(try GalleryLocation.resolve("/flag.db", environment: ["FACEGATE_DB": "/e.db"]) == .sqlite(path: "/flag.db"))
}

@Test func keyResolutionCreatesA0600FileAndRejectsBadMaterial() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-key-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let env = ["XDG_DATA_HOME": dir]
    let k = try GalleryKey.resolve(environment: env)
    let path = dir + "/facegate/facegate.key"
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(try GalleryKey.resolve(environment: env).fingerprint == k.fingerprint)   // reused, not regenerated
    #expect(try GalleryKey.resolve(environment: ["FACEGATE_KEY_FILE": path]).fingerprint == k.fingerprint)
    #expect(try GalleryKey.resolve(environment: ["FACEGATE_KEY": k.base64, "XDG_DATA_HOME": "/nonexistent"]).fingerprint == k.fingerprint)
    #expect(throws: GalleryError.self) { try GalleryKey.resolve(environment: ["FACEGATE_KEY": "c2hvcnQ="]) }
    #expect(throws: GalleryError.self) { try GalleryKey.resolve(environment: ["FACEGATE_KEY_FILE": dir + "/missing"]) }
    #expect(throws: GalleryError.self) { try GalleryKey.create(file: path) }   // never overwrites
}

/// Crash consistency: a copy of the database files taken at every commit point while enrolling (the on-disk state a
/// kill -9 or power loss at that instant would leave) never contains a user without all of their templates.
@Test func sqliteCrashImagesNeverHoldAHalfUser() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-crash-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let key = GalleryKey.generate(source: "crash")
    let path = dir.appendingPathComponent("g.sqlite").path
    let g = try SQLiteGallery(path: path, key: key)
    let observer = CrashImager(source: path, into: dir)
    g.pool.add(transactionObserver: observer, extent: .databaseLifetime)
    var f = Faces(seed: 10)
    for i in 0..<4 { try await g.enroll(Enrollment(name: "u\(i)", templates: f.templates(of: f.person(), count: 1 + i), thumbnailJPEG: Data([UInt8(i)]))) }
    await g.close()
    let images = observer.images
    #expect(images.count >= 4)
    for (n, image) in images.enumerated() {
        let copy = try SQLiteGallery(path: image, key: key)
        let users = try await copy.allUsers()
        // Image n was taken just before commit n: it holds exactly the users committed before it, each complete.
        #expect(users.count == n, "crash image \(n) holds \(users.count) users")
        for u in users { #expect(u.templates.count == Int(u.name.dropFirst())! + 1) }
        await copy.close()
    }
}

/// Copies the database, WAL and shared-memory files just before each commit.
final class CrashImager: TransactionObserver, @unchecked Sendable {
    let source: String, dir: URL
    private let lock = NSLock()
    private var _images: [String] = []
    var images: [String] { lock.withLock { _images } }
    init(source: String, into dir: URL) { self.source = source; self.dir = dir }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .insert(let table) = eventKind { return table == "users" || table == "templates" }
        return false
    }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseWillCommit() throws {
        let n = lock.withLock { _images.count }
        let target = dir.appendingPathComponent("image\(n).sqlite").path
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: source + suffix) {
            try FileManager.default.copyItem(atPath: source + suffix, toPath: target + suffix)
        }
        lock.withLock { _images.append(target) }
    }
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}
}

/// Opening an initialised gallery needs no write lock: while another connection holds a write transaction (a bulk
/// enrollment in another process commits back-to-back), `facegate verify` must still open it and read. Opening once
/// took a write lock for the key check and failed with "database is locked" after the busy timeout.
@Test func openingAGalleryWhileAnotherProcessWritesTakesNoWriteLock() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-lock-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let key = GalleryKey.generate(source: "lock")
    let path = dir.appendingPathComponent("g.sqlite").path
    var f = Faces(seed: 12)
    let first = try SQLiteGallery(path: path, key: key)
    try await first.enroll(Enrollment(name: "ann", templates: f.templates(of: f.person())))
    await first.close()

    // Another connection (on its own thread) takes the write lock and keeps it while the gallery is opened.
    var config = Configuration()
    config.busyMode = .immediateError
    let holder = try DatabaseQueue(path: path, configuration: config)
    let locked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
    let lockError = LockBox()
    Thread {
        do {
            try holder.inDatabase { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('lock-test', x'00')")
                locked.signal()
                release.wait()
                try db.execute(sql: "ROLLBACK")
            }
        } catch { lockError.set(error); locked.signal() }
        done.signal()
    }.start()
    locked.wait()
    defer { release.signal(); done.wait(); try? holder.close() }
    #expect(lockError.get() == nil)
    let second = try SQLiteGallery(path: path, key: key)   // threw "database is locked" when it needed the lock
    #expect(try await second.allUsers().map(\.name) == ["ann"])
    // A wrong key is still refused without the lock.
    #expect(throws: GalleryError.self) { _ = try SQLiteGallery(path: path, key: GalleryKey.generate(source: "other")) }
    await second.close()
}

private final class LockBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) { lock.withLock { error = e } }
    func get() -> String? { lock.withLock { error.map { "\($0)" } } }
}

/// `keys rotate`'s file swap (#17): the old key ends in KEYFILE.old, the new one in KEYFILE, the temporary name is
/// gone (each rename is followed by an fsync of the directory); a failing swap says where the new key is.
@Test func rotatedKeyFileIsInstalledOverTheCurrentOne() throws {
    let dir = NSTemporaryDirectory() + "fg-keyswap-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let current = dir + "/facegate.key"
    let old = GalleryKey.generate(), new = GalleryKey.generate()
    try old.write(to: current, exclusive: true)
    try GalleryKey.generate().write(to: current + ".old", exclusive: true)   // a previous rotation's leftover
    try new.write(to: current + ".new", exclusive: true)
    try GalleryKey.install(current + ".new", over: current)
    func content(_ p: String) throws -> String { try String(contentsOfFile: p, encoding: .utf8) }
    #expect(try content(current) == new.base64 + "\n")
    #expect(try content(current + ".old") == old.base64 + "\n")
    #expect(!FileManager.default.fileExists(atPath: current + ".new"))
    // Nothing to install: refused with the path of the new key in the message, the current file untouched.
    #expect(throws: GalleryError.self) { try GalleryKey.install(dir + "/missing.new", over: dir + "/absent.key") }
    #expect(try content(current) == new.base64 + "\n")
}
