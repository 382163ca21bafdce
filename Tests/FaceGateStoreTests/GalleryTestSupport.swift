import FaceGateCore
import Foundation
import Logging
import PostgresNIO
import Testing
@testable import FaceGateStore

enum Backend: String, Sendable { case sqlite, postgres }

/// Base URL of the test PostgreSQL server (scripts/with-postgres.sh sets it); nil skips PostgreSQL tests.
func testPostgresURL() -> PostgresURL? {
    guard let s = ProcessInfo.processInfo.environment["FACEGATE_TEST_POSTGRES_URL"], !s.isEmpty else { return nil }
    return try? PostgresURL(parsing: s)
}

/// A fresh, empty location for one test: a SQLite file in a new temp dir, or a new PostgreSQL database.
struct TestLocation: Sendable {
    let location: GalleryLocation
    let cleanup: @Sendable () async -> Void

    static func make(_ backend: Backend) async throws -> TestLocation {
        switch backend {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            return TestLocation(location: .sqlite(path: dir.appendingPathComponent("g.sqlite").path),
                                cleanup: { try? FileManager.default.removeItem(at: dir) })
        case .postgres:
            guard let base = testPostgresURL() else {
                try Test.cancel("PostgreSQL tests skipped: FACEGATE_TEST_POSTGRES_URL is unset — run them with scripts/with-postgres.sh swift test …")
            }
            let name = "facegate_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            try await admin(base) { c, l in try await c.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: l) }
            var url = base; url.database = name
            return TestLocation(location: .postgres(url), cleanup: {
                try? await admin(base) { c, l in try await c.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: l) }
            })
        }
    }

    private static func admin(_ url: PostgresURL, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Void) async throws {
        let logger = Logger(label: "facegate.test.admin")
        let config = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                      database: url.database, tls: .disable)
        let c = try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
        do { try await body(c, logger) } catch { try? await c.close(); throw error }
        try await c.close()
    }
}

/// Runs `body` with a fresh location; cleans up afterwards.
func withLocation(_ backend: Backend, _ body: (GalleryLocation) async throws -> Void) async throws {
    let loc = try await TestLocation.make(backend)
    do { try await body(loc.location) } catch { await loc.cleanup(); throw error }
    await loc.cleanup()
}

/// Runs `body` with a fresh gallery; closes it afterwards.
func withGallery(_ backend: Backend, key: GalleryKey = .generate(source: "test"), _ body: (any Gallery, GalleryLocation) async throws -> Void) async throws {
    try await withLocation(backend) { loc in
        let g = try await GalleryFactory.open(loc, key: key)
        do { try await body(g, loc) } catch { await g.close(); throw error }
        await g.close()
    }
}

/// Executes raw SQL against the gallery's database (to corrupt rows on purpose).
func rawExecute(_ gallery: any Gallery, _ sql: String) async throws {
    if let s = gallery as? SQLiteGallery {
        try await s.pool.write { db in try db.execute(sql: sql) }
    } else if let p = gallery as? PostgresGallery {
        try await p.client.withConnection { c in _ = try await c.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "t")) }
    }
}

/// Deterministic templates near a random base vector.
struct Faces {
    var gen: RandomUnitVectors
    init(seed: UInt64) { gen = RandomUnitVectors(seed: seed) }
    mutating func person() -> [Float] { gen.vector() }
    mutating func sample(of base: [Float], sigma: Float = 0.02) -> Embedding {
        let n = gen.vector()
        var v = zip(base, n).map { $0 + $1 * sigma * Float(128).squareRoot() }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in v.indices { v[i] /= norm }
        return Embedding(v)
    }
    mutating func templates(of base: [Float], count: Int = 3) -> [FaceTemplate] {
        (0..<count).map { i in
            FaceTemplate(embedding: sample(of: base),
                         metadata: TemplateMetadata(pose: PoseBucket.allCases[i % 5], quality: 0.5 + Double(i) / 10,
                                                    created: Date(timeIntervalSince1970: 1_700_000_000 + Double(i))))
        }
    }
}

/// Polls `condition` until true or `seconds` pass; returns the elapsed seconds or nil on timeout.
func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Double? {
    let start = Date()
    while Date().timeIntervalSince(start) < seconds {
        if try await condition() { return Date().timeIntervalSince(start) }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return nil
}
