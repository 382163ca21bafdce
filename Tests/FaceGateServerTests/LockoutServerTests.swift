import FaceGate
import FaceGateCore
import FaceGateServer
import FaceGateStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// #17 item 3 "Lockout is a weapon", against a live server on loopback: cancelled sessions do not lock, failures
/// count against the claimed user and the end client the backend names (never the backend's address), a parallel
/// burst of wrong verifications gets at most the allowed tries, `/v1/identify` counts, and the shared lockout table
/// (what `facegate audit unlock` clears) lifts a server lock.
@Suite("Server lockout", .serialized, .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models or test images missing — run `make models testdata`"))
struct LockoutServerTests {
    static let policy = LockoutPolicy(maxFailures: 3, window: 120, duration: 600)

    @Test("5 cancelled or stalled sessions do not lock the user, the client or the backend")
    func cancelledSessionsDoNotLock() async throws {
        let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
        try await Harness.with(Harness.config { $0.lockout = Self.policy; $0.frameTimeout = 1 }) { _, client in
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [obama]]).status == 201)
            for i in 0..<5 {
                let created = try await client.json(.post, "/v1/sessions", body: ["user": "obama", "client": "phone-1"])
                #expect(created.status == 201, "session \(i): \(created.json)")
                let ws = try #require(created.json["websocket"] as? String)
                // Cancel (the person closed the dialog) or stall (the tab went to the background: no frame, too_slow).
                _ = try await streamFrames(port: client.port!, websocket: ws, frames: []) { out in
                    if i % 2 == 0 { try await out.write(.text("{\"type\":\"cancel\"}")) }
                }
                let st = try await client.json(.get, "/v1/sessions/\(created.json["id"] as! String)")
                #expect(st.json["status"] as? String == "failed")
            }
            // Sessions created and never opened hold nothing either.
            for _ in 0..<5 {
                #expect(try await client.json(.post, "/v1/sessions", body: ["user": "obama", "client": "phone-1"]).status == 201)
            }
            let v = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": obama2, "client": "phone-1"])
            #expect(v.status == 200 && v.json["match"] as? Bool == true, "\(v.status) \(v.json)")
        }
    }

    @Test("failures against user A lock A and the client that sent them, not user B, other clients or the backend")
    func failuresAgainstOneUserDoNotLockAnother() async throws {
        let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
        let biden = try base64Image(Paths.testImage("biden.jpg"))
        let db = GalleryLocation.sqlite(path: Paths.tempDir("fglockout") + "/db.sqlite")
        try await Harness.with(Harness.config(db: db) { $0.lockout = Self.policy }) { _, client in
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [obama]]).status == 201)
            #expect(try await client.json(.post, "/v1/users", body: ["name": "biden", "images": [biden]]).status == 201)
            // Without a client hint: 3 failures lock obama only — the backend's own address is never a subject.
            for _ in 0..<3 {
                let r = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": biden])
                #expect(r.status == 200 && r.json["match"] as? Bool == false)
            }
            let locked = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": obama2])
            #expect(locked.status == 423 && errorCode(locked.json) == "locked_out" && locked.headers[.retryAfter] != nil)
            #expect((locked.json["error"] as? [String: Any])?["message"] as? String
                    == "user obama is locked out after too many failed attempts: try again in 10 min, "
                    + "or an administrator can lift it with `facegate audit unlock --user obama`")
            let b = try await client.json(.post, "/v1/verify", body: ["user": "biden", "image": biden])
            #expect(b.status == 200 && b.json["match"] as? Bool == true, "user B is not locked: \(b.json)")
            #expect(try await client.json(.post, "/v1/sessions", body: ["user": "biden"]).status == 201)
            #expect(try await client.json(.post, "/v1/sessions", body: ["user": "obama"]).status == 423)

            // What `facegate audit unlock --user obama` does: clear the subject in the shared table.
            let store = try await LockoutStores.open(db)
            #expect(try await store.activeLocks(now: Date()).map(\.subject) == [.user("obama")])
            #expect(try await store.clear(.user("obama")))
            await store.close()
            #expect(try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": obama2]).status == 200)

            // /v1/identify counts against the end client: 3 unknown faces from one client lock that client only.
            #expect(try await client.json(.delete, "/v1/users/biden").status == 204)
            for _ in 0..<3 {
                #expect(try await client.json(.post, "/v1/identify", body: ["image": biden, "client": "kiosk-7"]).status == 200)
            }
            let kiosk = try await client.json(.post, "/v1/identify", body: ["image": obama2, "client": "kiosk-7"])
            #expect(kiosk.status == 423 && (kiosk.json["error"] as? [String: Any])?["message"] as? String != nil)
            #expect(((kiosk.json["error"] as? [String: Any])?["message"] as? String)?.contains("unlock --source client:kiosk-7") == true)
            #expect(try await client.json(.post, "/v1/identify", body: ["image": obama2, "client": "kiosk-8"]).status == 200)
            #expect(try await client.json(.post, "/v1/identify", body: ["image": obama2, "client": String(repeating: "x", count: 200)]).status == 400)
        }
    }

    @Test("a parallel burst of 12 wrong verifications gets at most the 3 allowed tries, then the user is locked")
    func parallelBurstIsBounded() async throws {
        let obama = try base64Image(Paths.testImage("obama.jpg")), biden = try base64Image(Paths.testImage("biden.jpg"))
        try await Harness.with(Harness.config { $0.lockout = Self.policy; $0.workers = 2 }) { _, client in
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [obama]]).status == 201)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": biden, "client": "c\(i)"]).status
                    }
                }
                var out: [Int] = []
                for try await s in group { out.append(s) }
                return out
            }
            let answered = statuses.filter { $0 == 200 }.count
            #expect(answered >= 1 && answered <= Self.policy.maxFailures, "statuses \(statuses.sorted())")
            #expect(statuses.allSatisfy { [200, 423, 429].contains($0) }, "\(statuses.sorted())")
            if answered == Self.policy.maxFailures {
                #expect(try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": obama]).status == 423)
            }
        }
    }
}

@Suite("Server lockout on PostgreSQL", .serialized,
       .enabled(if: Postgres.url != nil && Paths.hasModels && Paths.hasTestImages,
                "set FACEGATE_TEST_POSTGRES_URL (scripts/with-postgres.sh), models and testdata"))
struct LockoutPostgresTests {
    @Test("two instances: a burst split across both gets at most the allowed tries; the lock holds on both")
    func burstAcrossInstances() async throws {
        let db = try Postgres.freshDatabase()
        let key = GalleryKey.generate()
        let policy = LockoutServerTests.policy
        let a = Harness.config(db: db) { $0.instance = "A"; $0.lockout = policy }
        let b = Harness.config(db: db) { $0.instance = "B"; $0.lockout = policy }
        let admin: String = try await {
            let s = try await ServerStoreFactory.open(db)
            defer { Task { await s.close() } }
            return try await APIKeys.create(in: s, name: "lockout-burst", scope: .admin).key
        }()
        let name = "lk-\(UUID().uuidString.prefix(6).lowercased())"
        let obama = try base64Image(Paths.testImage("obama.jpg")), biden = try base64Image(Paths.testImage("biden.jpg"))
        try await Harness.with(a, key: key) { _, ca in
            try await Harness.with(b, key: key) { _, cb in
                #expect(try await ca.json(.post, "/v1/users", key: admin, body: ["name": name, "images": [obama]]).status == 201)
                // B's index follows the gallery within a second or two.
                for _ in 0..<20 {
                    if try await cb.json(.post, "/v1/verify", key: admin, body: ["user": name, "image": obama, "client": "warmup"]).status == 200 { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<12 {
                        let c = i % 2 == 0 ? ca : cb
                        group.addTask {
                            try await c.json(.post, "/v1/verify", key: admin, body: ["user": name, "image": biden, "client": "\(name)-c\(i)"]).status
                        }
                    }
                    var out: [Int] = []
                    for try await s in group { out.append(s) }
                    return out
                }
                let answered = statuses.filter { $0 == 200 }.count
                // Session 6 saw 4 answers with a limit of 3 here once: attempts settled out of clock order dropped
                // failures stamped after their own `now` (fixed in Lockout.recordFailure, pinned by
                // LockoutAdmissionTests.failuresSettledOutOfClockOrderAllCount).
                #expect(answered >= 1 && answered <= policy.maxFailures, "statuses \(statuses.sorted())")
                #expect(statuses.allSatisfy { [200, 423, 429].contains($0) }, "\(statuses.sorted())")
                if answered == policy.maxFailures {
                    #expect(try await ca.json(.post, "/v1/verify", key: admin, body: ["user": name, "image": obama]).status == 423)
                    #expect(try await cb.json(.post, "/v1/verify", key: admin, body: ["user": name, "image": obama]).status == 423)
                }
                let store = try await LockoutStores.open(db)
                _ = try await store.clear(.user(name))
                await store.close()
                #expect(try await cb.json(.post, "/v1/verify", key: admin, body: ["user": name, "image": obama]).status == 200)
                #expect(try await ca.json(.delete, "/v1/users/\(name)", key: admin).status == 204)
            }
        }
    }
}
