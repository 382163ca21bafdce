import FaceGateCore
import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing
@testable import FaceGateStore

/// kill -9 during enrollment leaves a consistent database.
///
/// A real `facegate` process enrolls synthetic users through the gallery's enrollment path
/// (`facegate bench-gallery N --load-from DB --write-only`: users bench0, bench1, … with 5 templates each,
/// `batchUsers` users per transaction, embeddings from a fixed seed) and is killed with SIGKILL at a random moment
/// once some enrollments are committed — usually in the middle of a transaction. The gallery is then reopened and
/// must hold exactly the committed transactions: whole batches of whole users, every template decrypting to the
/// embedding that was written, one change-log entry per user, no orphan rows, and it must still accept writes and
/// load into the index.
///
/// `scripts/run-tests.sh` runs this suite in its serial phase: the watcher polls from a task on Swift's cooperative
/// pool, which the parallel phase's long synchronous tests hold for minutes — the writer then finished unobserved.
enum CrashScenarios {
    static let perUser = 5
    static let batchUsers = 3
    /// More than the process can write before the kill (a debug build writes a few hundred users per second).
    static let templatesToWrite = 200_000

    /// The `facegate` executable (`swift build --build-tests` builds it); nil when absent.
    static var cli: String? {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for c in [".build/debug/facegate", ".build/release/facegate"] {
            let p = repo.appendingPathComponent(c).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The `--load-from` argument for a location (PostgreSQL URLs are rebuilt with their password).
    static func spec(_ location: GalleryLocation) -> String {
        switch location {
        case .sqlite(let path): return path
        case .postgres(let u):
            var auth = u.user
            if let p = u.password { auth += ":" + (p.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? p) }
            return "postgres://\(auth)@\(u.host):\(u.port)/\(u.database)?sslmode=disable"
        }
    }

    /// One round: start the writer, wait until `killAfterUsers` users are committed plus a random delay, SIGKILL it,
    /// then check the database.
    static func killDuringEnrollment(_ b: Backend, killAfterUsers: Int, seed: UInt64) async throws {
        guard let cli else {
            try Test.cancel("crash test skipped: .build/debug/facegate is missing — run `swift build --build-tests` first")
        }
        try await withLocation(b) { loc in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-kill-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let keyPath = dir.appendingPathComponent("gallery.key").path
            let key = try GalleryKey.create(file: keyPath)

            let p = Process()
            p.executableURL = URL(fileURLWithPath: cli)
            p.arguments = ["bench-gallery", String(templatesToWrite), "--per-user", String(perUser), "--batch-users", String(batchUsers),
                           "--load-from", spec(loc), "--key-file", keyPath, "--write-only"]
            let err = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            try p.run()

            // Watch the change log (one entry per committed user) through a second connection.
            // Opening the gallery while the writer commits back-to-back transactions must not wait for a write lock
            // (it once did, starved, and saw nothing until the writer had finished).
            var watcher: (any Gallery)?
            var watchError: (any Error)?
            var committed: Int64 = 0
            let deadline = Date().addingTimeInterval(120)
            while committed < killAfterUsers && p.isRunning && Date() < deadline {
                if watcher == nil, b == .postgres || FileManager.default.fileExists(atPath: spec(loc)) {
                    do { watcher = try await GalleryFactory.open(loc, key: key) } catch { watchError = error }
                }
                if let w = watcher {
                    do { committed = try await w.latestChange() } catch { watchError = error }
                }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            await watcher?.close()
            guard p.isRunning else {
                p.waitUntilExit()
                let out = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                Issue.record("the writer ended (status \(p.terminationStatus)) before the kill; \(committed) users seen committed; last watcher error: \(watchError.map { "\($0)" } ?? "none"); writer said: \(out)")
                return
            }
            // A random extra delay so the kill lands at different points of a transaction.
            var rng = RandomUnitVectors(seed: seed)
            try await Task.sleep(nanoseconds: UInt64(abs(rng.vector(dimension: 2)[0]) * 40_000_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)
            #expect(committed >= killAfterUsers, "only \(committed) users were committed before the deadline")

            try await checkConsistent(b, loc, key: key)
        }
    }

    static func checkConsistent(_ b: Backend, _ loc: GalleryLocation, key: GalleryKey) async throws {
        if case .sqlite(let path) = loc {
            // Structural checks on the raw file first (the crashed process left its WAL behind).
            let q = try DatabaseQueue(path: path)
            let (integrity, fkViolations) = try await q.read { db in
                (try String.fetchAll(db, sql: "PRAGMA integrity_check"), try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count)
            }
            #expect(integrity == ["ok"])
            #expect(fkViolations == 0)
            try q.close()
        }
        let g = try await GalleryFactory.open(loc, key: key)
        do {
            let users = try await g.allUsers()   // throws if any template fails to decrypt
            let n = users.count
            #expect(n > 0)
            // Whole transactions only: users arrive in batches, in order, each with all of their templates.
            #expect(n % batchUsers == 0, "\(n) users is not a whole number of \(batchUsers)-user transactions")
            #expect(Set(users.map(\.name)) == Set((0..<n).map { "bench\($0)" }))
            var gen = RandomUnitVectors(seed: 7)   // bench-gallery's synthetic gallery seed
            for u in users.sorted(by: { Int($0.name.dropFirst(5))! < Int($1.name.dropFirst(5))! }) {
                #expect(u.templates.count == perUser, "\(u.name) has \(u.templates.count) templates")
                for t in u.templates { #expect(t.template.embedding.values == gen.vector(), "\(u.name): a template differs from what was written") }
            }
            // What the committed transactions say: each wrote exactly one change-log row per user it stored (the log
            // keeps the newest `changeLogRetention` rows).
            let logged = min(n, Int(changeLogRetention))
            #expect(try await count(g, "SELECT COUNT(*) FROM changes") == logged)
            #expect(try await count(g, "SELECT COUNT(DISTINCT uid) FROM changes") == logged)
            #expect(try await count(g, "SELECT COUNT(*) FROM changes c LEFT JOIN users u ON u.uid = c.uid WHERE u.id IS NULL") == 0)
            #expect(try await count(g, "SELECT COUNT(*) FROM templates t LEFT JOIN users u ON u.id = t.user_id WHERE u.id IS NULL") == 0)
            #expect(try await count(g, "SELECT COUNT(*) FROM templates") == n * perUser)
            // Still usable: loads into the index and accepts a new enrollment.
            let loaded = try await g.loadIndex(threads: 2)
            #expect(loaded.index.templateCount == n * perUser && loaded.index.userCount == n)
            var f = Faces(seed: 99)
            try await g.enroll(Enrollment(name: "after-crash", templates: f.templates(of: f.person())))
            #expect(try await g.user(named: "after-crash").templates.count == 3)
        } catch { await g.close(); throw error }
        await g.close()
    }

    /// A single integer from a query, on either backend.
    static func count(_ gallery: any Gallery, _ sql: String) async throws -> Int {
        if let s = gallery as? SQLiteGallery {
            return try await s.pool.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
        }
        let p = try #require(gallery as? PostgresGallery)
        return try await p.client.withConnection { c in
            var v = -1
            for try await n in try await c.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "t")).decode(Int.self) { v = n }
            return v
        }
    }
}

@Suite(.serialized) struct KillDuringEnrollmentTests {
    /// Three kills at different points (early, after ~40 users, after ~120 users) on fresh galleries.
    @Test(arguments: [(1, 1 as UInt64), (40, 2), (120, 3)])
    func sqlite(killAfterUsers: Int, seed: UInt64) async throws {
        try await CrashScenarios.killDuringEnrollment(.sqlite, killAfterUsers: killAfterUsers, seed: seed)
    }

    @Test(arguments: [(1, 4 as UInt64), (40, 5)])
    func postgres(killAfterUsers: Int, seed: UInt64) async throws {
        try await CrashScenarios.killDuringEnrollment(.postgres, killAfterUsers: killAfterUsers, seed: seed)
    }
}
