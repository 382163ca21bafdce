import FaceGate
import FaceGateServer
import FaceGateStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

enum Postgres {
    /// Exported by scripts/with-postgres.sh (a throw-away PostgreSQL 15).
    static var url: String? { ProcessInfo.processInfo.environment["FACEGATE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// A new, empty database on the test server for one test: the server suites run in parallel, and each test
    /// generates its own gallery key, so two tests sharing one database refuse each other's key.
    static func freshDatabase() throws -> GalleryLocation {
        guard let base = url, var c = URLComponents(string: base) else { throw PostgresTestError("FACEGATE_TEST_POSTGRES_URL is unset") }
        let name = "facegate_s_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        p.arguments = [base, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw PostgresTestError("psql could not create database \(name)") }
        c.path = "/" + name
        return try GalleryLocation(parsing: c.string!)
    }
}

struct PostgresTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

@Suite("Two instances on one PostgreSQL", .serialized,
       .enabled(if: Postgres.url != nil && Paths.hasModels && Paths.hasTestImages,
                "set FACEGATE_TEST_POSTGRES_URL (scripts/with-postgres.sh), models and testdata"))
struct TwoInstanceTests {
    @Test("a session created on one instance is seen by the other; a user enrolled on one is identified by the other")
    func shared() async throws {
        let db = try Postgres.freshDatabase()
        let key = GalleryKey.generate()
        let a = Harness.config(db: db) { $0.instance = "A" }
        let b = Harness.config(db: db) { $0.instance = "B" }
        let admin: String = try await {
            let s = try await ServerStoreFactory.open(db)
            defer { Task { await s.close() } }
            return try await APIKeys.create(in: s, name: "two-instances", scope: .admin).key
        }()
        let name = "pg-\(UUID().uuidString.prefix(6))"
        let obama = try base64Image(Paths.testImage("obama.jpg"))
        let obama2 = try base64Image(Paths.testImage("obama2.jpg"))
        try await Harness.with(a, key: key) { _, ca in
            try await Harness.with(b, key: key) { _, cb in
                let created = try await ca.json(.post, "/v1/sessions", key: admin, body: ["challenges": 2])
                #expect(created.status == 201)
                let id = try #require(created.json["id"] as? String)
                let seen = try await cb.json(.get, "/v1/sessions/\(id)", key: admin)
                #expect(seen.status == 200)
                #expect(seen.json["status"] as? String == "created")

                #expect(try await ca.json(.post, "/v1/users", key: admin, body: ["name": name, "images": [obama]]).status == 201)
                // B's in-memory index follows the gallery (LISTEN/NOTIFY + polling): within a second or two.
                var who: String?
                for _ in 0..<20 {
                    who = try await cb.json(.post, "/v1/identify", key: admin, body: ["image": obama2]).json["user"] as? String
                    if who == name { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(who == name)
                #expect(try await cb.json(.delete, "/v1/users/\(name)", key: admin).status == 204)
            }
        }
    }
}
