import FaceGate
import FaceGateCore
@testable import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import HummingbirdTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

// #17 remainder (session 7): each test runs the attack against a live server on loopback and checks it now fails.

// MARK: deleting a user ends everything keyed to them

@Suite("Server security: deleting a user (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct UserDeletionTests {
    @Test("SQLite: links, unfinished sessions and unused session results die with the user (also when the name is re-created)")
    func sqlite() async throws { try await UserDeletion.run(db: nil) }

    @Test("PostgreSQL: the same", .enabled(if: Postgres.url != nil, "set FACEGATE_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
    func postgres() async throws { try await UserDeletion.run(db: try Postgres.freshDatabase()) }
}

enum UserDeletion {
    static func run(db: GalleryLocation?) async throws {
        let key = GalleryKey.generate()
        let obama = try base64Image(Paths.testImage("obama.jpg"))
        try await Harness.with(Harness.config(db: db), key: key) { server, client in
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "victim", "images": [obama]]).status == 201)
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "later"]).status == 201)   // pending
            // Issued before the deletion: two links, a session not yet streamed, a succeeded session not yet used.
            let link = try #require(try await client.json(.post, "/v1/users/victim/enrollment-links", key: admin).json["token"] as? String)
            let pendingLink = try #require(try await client.json(.post, "/v1/users/later/enrollment-links", key: admin).json["token"] as? String)
            let created = try await client.json(.post, "/v1/sessions", key: verify, body: ["user": "victim"])
            #expect(created.status == 201, "\(created.json)")
            let createdID = try #require(created.json["id"] as? String)
            let ws = try #require(created.json["websocket"] as? String)
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            let succeeded = UUID().uuidString.lowercased(), now = Date()
            let spec = SessionSpec(mode: .liveness, user: "victim", nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: verify),
                                   enrollLink: nil, source: "127.0.0.1", liveness: "active")
            try await server.store.insertSession(SessionRecord(id: succeeded, tokenHash: "x", status: .created, created: now,
                                                               expires: now.addingTimeInterval(120), updated: now, instance: nil, spec: spec,
                                                               outcome: nil, embeddings: nil, consumed: false))
            try await server.store.finishSession(id: succeeded, status: .succeeded, outcome: nil,
                                                 embeddings: try BlobSealer(key: key).seal(try JSONEncoder().encode([probe])), now: now)

            #expect(try await client.json(.delete, "/v1/users/victim", key: admin).status == 204)
            #expect(try await client.json(.delete, "/v1/users/later", key: admin).status == 204)
            // The same name is created again (another person, or the same one re-enrolled by the backend).
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "victim", "images": [obama]]).status == 201)
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "later"]).status == 201)

            // The old links do not open the new accounts.
            for t in [link, pendingLink] {
                #expect(try await client.json(.get, "/v1/enrollments/\(t)").status == 404)
                let start = try await client.json(.post, "/v1/enrollments/\(t)/sessions", body: [:])
                #expect(start.status == 404, "\(start.json)")
            }
            // The session created for the deleted user cannot be streamed; its unused result cannot be used.
            #expect(try await server.store.session(id: createdID)?.status == .expired)
            let path = String(ws.drop(while: { $0 != "/" }).dropFirst(2).drop(while: { $0 != "/" }))
            let upgrade = try await client.execute(uri: path, method: .get)
            #expect(upgrade.status == .gone, "\(upgrade.status)")
            let replay = try await client.json(.post, "/v1/verify", key: verify, body: ["user": "victim", "session": succeeded])
            #expect(replay.status == 409 && errorCode(replay.json) == "already_used", "\(replay.status) \(replay.json)")
            #expect(try await server.store.session(id: succeeded)?.embeddings == nil)
        }
    }
}

// MARK: /v1/verify tells a verify key only the decision

@Suite("Server security: verify answers (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct VerifyAnswerTests {
    @Test("a verify key gets {user, match} from /v1/verify; distance and threshold only go to admin keys")
    func decisionOnly() async throws {
        // Image probes from non-admin keys need the operator's opt-in (#14 item 6, ImageProbePolicyTests).
        try await Harness.with(Harness.config { $0.allowImageProbes = true }) { server, client in
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            let enroll = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
            await server.keys.invalidate()
            let obama = try base64Image(Paths.testImage("obama.jpg"))
            let obama2 = try base64Image(Paths.testImage("obama2.jpg")), biden = try base64Image(Paths.testImage("biden.jpg"))
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [obama]]).status == 201)
            for k in [verify, enroll] {
                for (img, match) in [(obama2, true), (biden, false)] {
                    let r = try await client.json(.post, "/v1/verify", key: k, body: ["user": "obama", "image": img])
                    #expect(r.status == 200 && r.json["match"] as? Bool == match, "\(r.json)")
                    #expect(r.json["distance"] == nil && r.json["threshold"] == nil, "\(r.json)")
                }
            }
            let a = try await client.json(.post, "/v1/verify", key: admin, body: ["user": "obama", "image": obama2])
            #expect(a.json["distance"] as? Double != nil && a.json["threshold"] as? Double != nil, "\(a.json)")
        }
    }
}

// MARK: a face is added only to its own identity

@Suite("Server security: whose face is enrolled (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct EnrollmentConflictTests {
    @Test("uploads and {\"session\"} templates: a face enrolled as another user, or not matching the user's templates, is refused 409 unless an admin forces it")
    func uploadsAndSessions() async throws {
        let key = GalleryKey.generate()
        try await Harness.with(Harness.config(), key: key) { server, client in
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            let enroll = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
            await server.keys.invalidate()
            let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
            let biden = try base64Image(Paths.testImage("biden.jpg"))
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [obama]]).status == 201)
            #expect(try await client.json(.post, "/v1/users", key: enroll, body: ["name": "biden", "images": [biden]]).status == 201)

            // A second identity for an enrolled face: refused, by upload and by a live session's frames.
            let alias = try await client.json(.post, "/v1/users", key: enroll, body: ["name": "alias", "images": [obama2]])
            #expect(alias.status == 409 && errorCode(alias.json) == "face_belongs_to_other_user", "\(alias.status) \(alias.json)")
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            func session(owner: String) async throws -> String {
                let id = UUID().uuidString.lowercased(), now = Date()
                let spec = SessionSpec(mode: .liveness, user: nil, nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: owner),
                                       enrollLink: nil, source: "127.0.0.1", liveness: "active")
                try await server.store.insertSession(SessionRecord(id: id, tokenHash: "x", status: .created, created: now, expires: now.addingTimeInterval(120),
                                                                   updated: now, instance: nil, spec: spec, outcome: nil, embeddings: nil, consumed: false))
                try await server.store.finishSession(id: id, status: .succeeded, outcome: nil,
                                                     embeddings: try BlobSealer(key: key).seal(try JSONEncoder().encode([probe])), now: now)
                return id
            }
            #expect(try await client.json(.post, "/v1/users", key: enroll, body: ["name": "pending"]).status == 201)
            let bySession = try await client.json(.post, "/v1/users/pending/templates", key: enroll, body: ["session": try await session(owner: enroll)])
            #expect(bySession.status == 409 && errorCode(bySession.json) == "face_belongs_to_other_user", "\(bySession.status) \(bySession.json)")
            let onBiden = try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [obama2]])
            #expect(onBiden.status == 409, "\(onBiden.json)")

            // Someone adding their face to another enrolled account (their face enrolled nowhere else).
            #expect(try await client.json(.delete, "/v1/users/obama", key: admin).status == 204)
            let intruder = try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["session": try await session(owner: enroll)])
            #expect(intruder.status == 409 && errorCode(intruder.json) == "face_does_not_match_user", "\(intruder.status) \(intruder.json)")
            let byImage = try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [obama2]])
            #expect(byImage.status == 409 && errorCode(byImage.json) == "face_does_not_match_user", "\(byImage.json)")
            // The same person adds templates; an admin may force the rest; an enroll key may not force.
            #expect(try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [biden]]).status == 201)
            #expect(try await client.json(.post, "/v1/users/biden/templates", key: enroll, body: ["images": [obama2], "force": true]).status == 403)
            #expect(try await client.json(.post, "/v1/users/biden/templates", key: admin, body: ["images": [obama2], "force": true]).status == 201)
            let users = try await client.json(.get, "/v1/users", key: admin).json["users"] as? [[String: Any]] ?? []
            #expect(users.first { $0["name"] as? String == "biden" }?["templates"] as? Int == 3, "\(users)")
        }
    }

    @Test("enrollment links: a live person streaming into another enrolled user's link, or into a second identity, is refused")
    func links() async throws {
        guard Paths.hasFixtures else { try Test.cancel("fixtures missing — ../shared/fixtures must sit beside the repo") }
        let c = Harness.config {
            $0.challenges = 1; $0.challengeTypes = [.blink]; $0.livenessMode = .active; $0.useInstalledPadModels = false
        }
        let frames = try videoFrames(Paths.fixture(Paths.blinkVideo), limit: 120, every: 2)
        try await Harness.with(c) { server, client in
            func stream(_ user: String) async throws -> [String: Any] {
                let link = try await client.json(.post, "/v1/users/\(user)/enrollment-links")
                let token = try #require(link.json["token"] as? String, "\(link.json)")
                let s = try await client.json(.post, "/v1/enrollments/\(token)/sessions")
                let ws = try #require(s.json["websocket"] as? String, "\(s.json)")
                let out = try await streamFrames(port: client.port!, websocket: ws, frames: frames)
                return try #require(out.result, "no result; messages: \(out.messages.suffix(3))")
            }
            func templates(_ user: String) async throws -> Int? {
                let users = try await client.json(.get, "/v1/users").json["users"] as? [[String: Any]] ?? []
                return users.first { $0["name"] as? String == user }?["templates"] as? Int
            }
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [try base64Image(Paths.testImage("obama.jpg"))]]).status == 201)
            // The person of the clip on obama's link: live, but not obama.
            let intruder = try await stream("obama")
            #expect(intruder["passed"] as? Bool == false && intruder["reason"] as? String == "enroll_failed", "\(intruder)")
            #expect(try await templates("obama") == 1)
            // The person enrolls as themself, then tries a second identity through another link.
            #expect(try await client.json(.post, "/v1/users", body: ["name": "blinker"]).status == 201)
            #expect(try await stream("blinker")["passed"] as? Bool == true)
            #expect(try await client.json(.post, "/v1/users", body: ["name": "alias"]).status == 201)
            let alias = try await stream("alias")
            #expect(alias["passed"] as? Bool == false && alias["reason"] as? String == "enroll_failed", "\(alias)")
            #expect(try await templates("alias") == 0)
            _ = server
        }
    }
}

// MARK: slow headers and deep PNGs

@Suite("Server security: slow headers, PNG decode bound (#17)", .serialized, .enabled(if: Paths.hasModels, "face models missing — run `make models`"))
struct SlowHeaderAndPNGTests {
    /// A loopback TCP connection driven byte by byte.
    final class Conn {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        }
        deinit { close(fd) }
        /// False once the peer closed (or reset) the connection.
        @discardableResult func send(_ s: String) -> Bool {
            let b = Array(s.utf8)
            return b.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == b.count
        }
        /// Waits up to `seconds` for data or EOF: the bytes read, nil on EOF/reset, "" on timeout.
        func read(within seconds: Double) -> String? {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return "" }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = buf.withUnsafeMutableBufferPointer { recv(fd, $0.baseAddress, $0.count, 0) }
            return n <= 0 ? nil : String(decoding: buf[0..<n], as: UTF8.self)
        }
    }

    @Test("a connection trickling its first request head (or sending nothing) is closed at the header deadline; complete requests and kept-alive connections are not")
    func slowHeadersClosed() async throws {
        try await Harness.with(Harness.config { $0.headerTimeout = 1 }) { _, client in
            let port = try #require(client.port)
            let start = ContinuousClock.now
            let slow = try Conn(port: port), silent = try Conn(port: port)
            #expect(slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
            var closedAfter: Duration?
            for i in 0..<20 {   // one header line every 250 ms, up to 5 s
                if slow.read(within: 0.25) == nil { closedAfter = ContinuousClock.now - start; break }
                slow.send("X-Slow-\(i): a\r\n")
            }
            let closed = try #require(closedAfter, "the trickling connection stayed open for 5 s")
            #expect(closed < .seconds(3), "closed after \(closed)")
            #expect(silent.read(within: 1) == nil, "the silent connection is closed too")
            // A whole request is answered, and the same connection may wait past the deadline before its next one.
            let ok = try Conn(port: port)
            ok.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(ok.read(within: 3)?.hasPrefix("HTTP/1.1 200") == true)
            try await Task.sleep(for: .milliseconds(1500))
            ok.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(ok.read(within: 3)?.hasPrefix("HTTP/1.1 200") == true, "a kept-alive connection is not cut by the first-head deadline")
        }
    }

    @Test("a 16-bit RGBA PNG at the pixel limit (4896x4896, 192 MB decoded, ≈ 1.2 MB compressed) is refused from its header, fast and without the memory")
    func deepPNGRefused() async throws {
        let png = DeepPNG.make(width: 4896, height: 4896, depth: 16, colorType: 6)
        #expect(png.count < 3_000_000)
        #expect(throws: ImageRefusal.self) { try ImageHeader.check(png, .upload) }
        // An 8-bit greyscale PNG of the same size (24 MB decoded) passes the header check.
        #expect(try ImageHeader.check(DeepPNG.make(width: 4896, height: 4896, depth: 8, colorType: 0), .upload).bytesPerPixel == 1)
        try await Harness.with(Harness.config()) { _, client in
            let rssBefore = NativeRuntime.peakResidentBytes
            let start = ContinuousClock.now
            let r = try await client.json(.post, "/v1/identify", body: ["image": png.base64EncodedString()])
            let elapsed = ContinuousClock.now - start
            #expect(r.status == 422 && errorCode(r.json) == "image_too_large", "\(r.status) \(r.json)")
            #expect(elapsed < .seconds(2), "took \(elapsed)")
            let grown = NativeRuntime.peakResidentBytes - rssBefore
            #expect(grown < 150 * 1024 * 1024, "peak RSS grew by \(grown / 1_048_576) MB")
        }
    }
}

/// PNGs of any bit depth and colour type whose pixels are all zero: a fixed-Huffman deflate stream of 258-byte runs
/// (13 bits per run), so 192 MB of pixels take ≈ 1.2 MB.
enum DeepPNG {
    static func make(width: Int, height: Int, depth: UInt8, colorType: UInt8) -> Data {
        let channels: Int = [0: 1, 2: 3, 4: 2, 6: 4][Int(colorType)] ?? 1
        let rowBytes = (width * channels * Int(depth) + 7) / 8 + 1
        let total = rowBytes * height
        var bits = Bombs.BitWriter()
        bits.write(1, count: 1); bits.write(1, count: 2)       // BFINAL, fixed Huffman
        bits.huffman(0b0011_0000, length: 8)                   // literal 0
        var left = total - 1
        while left >= 258 {
            bits.huffman(0b1100_0101, length: 8)               // length 258
            bits.huffman(0, length: 5)                         // distance 1
            left -= 258
        }
        for _ in 0..<left { bits.huffman(0b0011_0000, length: 8) }
        bits.huffman(0, length: 7)                             // end of block
        var z = Data([0x78, 0x01])
        z.append(bits.data)
        z.append(Bombs.be32(UInt32(total % 65521) << 16 | 1))  // Adler-32 of zeros: a = 1, b = n mod 65521
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = Bombs.be32(UInt32(width)); ihdr.append(Bombs.be32(UInt32(height))); ihdr.append(contentsOf: [depth, colorType, 0, 0, 0])
        out.append(Bombs.chunk("IHDR", ihdr)); out.append(Bombs.chunk("IDAT", z)); out.append(Bombs.chunk("IEND", Data()))
        return out
    }
}

// MARK: the gallery key rotated while the server runs

@Suite("Server security: gallery key rotated while serving (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct KeyRotationTests {
    @Test("SQLite: after `keys rotate` by another process the server refuses writes and reads cleanly (503), stores nothing under the old key, and serves again once restarted with the new key")
    func sqlite() async throws { try await KeyRotation.run(db: nil) }

    @Test("PostgreSQL: the same", .enabled(if: Postgres.url != nil, "set FACEGATE_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
    func postgres() async throws { try await KeyRotation.run(db: try Postgres.freshDatabase()) }
}

enum KeyRotation {
    static func run(db: GalleryLocation?) async throws {
        let old = GalleryKey.generate(), new = GalleryKey.generate()
        let c = Harness.config(db: db)
        let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
        let biden = try base64Image(Paths.testImage("biden.jpg"))
        try await Harness.with(c, key: old) { _, client in
            #expect(try await client.json(.post, "/v1/users", body: ["name": "obama", "images": [obama]]).status == 201)
            // `facegate keys rotate` in another process: the same library call on its own connection.
            let rotator = try await GalleryFactory.open(c.database, key: old)
            #expect(try await rotator.rotateKey(to: new) >= 1)
            for (route, body) in [("/v1/users", ["name": "biden", "images": [biden]] as [String: Any]),
                                  ("/v1/users/obama/templates", ["images": [obama2]]),
                                  ("/v1/verify", ["user": "obama", "image": obama2])] {
                let r = try await client.json(.post, route, body: body)
                #expect(r.status == 503 && errorCode(r.json) == "gallery_key_changed", "\(route): \(r.status) \(r.json)")
            }
            #expect(try await client.json(.get, "/healthz").status == 200)
        }
        // Nothing was sealed under the old key: every record opens under the new one, the refused enrollments left nothing.
        let g = try await GalleryFactory.open(c.database, key: new)
        let users = try await g.listUsers()
        #expect(users.map(\.name) == ["obama"] && users.first?.templateCount == 1, "\(users)")
        #expect(try await g.user(named: "obama").templates.count == 1)
        try await Harness.with(c, key: new) { _, client in
            let v = try await client.json(.post, "/v1/verify", body: ["user": "obama", "image": obama2])
            #expect(v.status == 200 && v.json["match"] as? Bool == true, "\(v.json)")
        }
    }
}

// MARK: a running server reloads a rotated key; session results survive the rotation

@Suite("Server security: a running server follows `keys rotate` (#17)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct KeyReloadTests {
    @Test("SQLite: with its key file rotated the server answers at most one 503 and then serves under the new key; a session result from before the rotation is still usable")
    func sqlite() async throws { try await KeyReload.run(db: nil) }

    @Test("PostgreSQL: the same", .enabled(if: Postgres.url != nil, "set FACEGATE_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
    func postgres() async throws { try await KeyReload.run(db: try Postgres.freshDatabase()) }
}

enum KeyReload {
    static func run(db: GalleryLocation?) async throws {
        let old = GalleryKey.generate(), new = GalleryKey.generate()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-keyreload-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keyFile = dir + "/facegate.key"
        try old.write(to: keyFile, exclusive: true)
        let c = Harness.config(db: db) { $0.allowImageProbes = true }   // a verify key's image probe below (opt-in, #14 item 6)
        let obama = try base64Image(Paths.testImage("obama.jpg")), obama2 = try base64Image(Paths.testImage("obama2.jpg"))
        let biden = try base64Image(Paths.testImage("biden.jpg"))
        try await Harness.with(c, key: old) { server, client in
            // What `facegate serve` passes as keyLoader: the key file, read again.
            server.gallery.setKeyLoader { try GalleryKey.load(file: keyFile) }
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [obama]]).status == 201)
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            func succeededSession(sealedWith key: GalleryKey) async throws -> String {
                let id = UUID().uuidString.lowercased(), now = Date()
                let spec = SessionSpec(mode: .liveness, user: "obama", nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: verify),
                                       enrollLink: nil, source: "127.0.0.1", liveness: "active")
                try await server.store.insertSession(SessionRecord(id: id, tokenHash: "x", status: .created, created: now, expires: now.addingTimeInterval(120),
                                                                   updated: now, instance: nil, spec: spec, outcome: nil, embeddings: nil, consumed: false))
                try await server.store.finishSession(id: id, status: .succeeded, outcome: nil,
                                                     embeddings: try BlobSealer(key: key).seal(try JSONEncoder().encode([probe])), now: now)
                return id
            }
            let before = try await succeededSession(sealedWith: old)

            // `facegate keys rotate` in another process: new key beside the file, re-key the gallery, install the file.
            let rotator = try await GalleryFactory.open(c.database, key: old)
            try new.write(to: keyFile + ".new", exclusive: true)
            #expect(try await rotator.rotateKey(to: new) >= 2)   // obama's template + the session blob
            await rotator.close()
            try GalleryKey.install(keyFile + ".new", over: keyFile)

            var refusals = 0, status = 0, body = ""
            for _ in 0..<3 {
                let r = try await client.json(.post, "/v1/users", key: admin, body: ["name": "biden", "images": [biden]])
                status = r.status; body = "\(r.json)"
                if r.status == 503 {
                    #expect(errorCode(r.json) == "gallery_key_changed", "\(r.json)")
                    refusals += 1
                    continue
                }
                break
            }
            #expect(status == 201, "\(body)")
            #expect(refusals <= 1)
            #expect(server.gallery.keyFingerprint == new.fingerprint)
            let v = try await client.json(.post, "/v1/verify", key: verify, body: ["user": "obama", "image": obama2])
            #expect(v.status == 200 && v.json["match"] as? Bool == true, "\(v.json)")
            // The session sealed before the rotation was re-sealed by it; one sealed by a request that raced the
            // rotation (old key, after the re-seal) opens under the key the server replaced.
            let r1 = try await client.json(.post, "/v1/verify", key: verify, body: ["user": "obama", "session": before])
            #expect(r1.status == 200 && r1.json["match"] as? Bool == true, "\(r1.status) \(r1.json)")
            let raced = try await succeededSession(sealedWith: old)
            let r2 = try await client.json(.post, "/v1/verify", key: verify, body: ["user": "obama", "session": raced])
            #expect(r2.status == 200 && r2.json["match"] as? Bool == true, "\(r2.status) \(r2.json)")
        }
        // Everything is under the new key.
        let g = try await GalleryFactory.open(c.database, key: new)
        #expect(try await g.allUsers().map(\.templates.count).sorted() == [1, 1])
        await g.close()
    }
}
