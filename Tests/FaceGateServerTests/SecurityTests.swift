import FaceGate
import FaceGateCore
@testable import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue #17: each test reproduces an attack against a live server on loopback and checks that it now fails.
@Suite("Server security (#17)", .serialized, .enabled(if: Paths.hasModels, "face models missing — run `make models`"))
struct SecurityTests {
    // MARK: item 4 — bounded decoding

    @Test("a 32768x32768 PNG (≈ 0.8 MB, 1 GiB of pixels) posted to /v1/identify is refused with 422 in well under a second, without the memory")
    func pngBombRefused() async throws {
        let png = Bombs.png(width: 32768, height: 32768)
        #expect(png.count < 2_000_000)
        try await Harness.with(Harness.config()) { _, client in
            let rssBefore = NativeRuntime.peakResidentBytes
            let start = ContinuousClock.now
            let r = try await client.json(.post, "/v1/identify", body: ["image": png.base64EncodedString()])
            let elapsed = ContinuousClock.now - start
            #expect(r.status == 422, "\(r.json)")
            #expect(errorCode(r.json) == "image_too_large")
            #expect(elapsed < .seconds(2), "took \(elapsed)")
            let grown = NativeRuntime.peakResidentBytes - rssBefore
            #expect(grown < 200 * 1024 * 1024, "peak RSS grew by \(grown / 1_048_576) MB")
            // Other formats are refused by their leading bytes (a BMP header here).
            var bmp = Data("BM".utf8); bmp.append(Data(count: 64))
            let other = try await client.json(.post, "/v1/identify", body: ["image": bmp.base64EncodedString()])
            #expect(other.status == 422)
            #expect(errorCode(other.json) == "unsupported_image")
        }
    }

    @Test("a progressive-JPEG decompression bomb (30k scans, ≈ 370 KB) is refused as an upload (422) and as a frame (close 4413), fast")
    func progressiveJPEGBombRefused() async throws {
        let bomb = Bombs.progressiveJPEG(width: 1920, height: 1080, scans: 30_000)
        #expect(bomb.count < 512 * 1024)
        #expect(try ImageHeader.read(bomb).scans == 30_001)
        try await Harness.with(Harness.config()) { _, client in
            var start = ContinuousClock.now
            let r = try await client.json(.post, "/v1/identify", body: ["image": bomb.base64EncodedString()])
            #expect(r.status == 422, "\(r.json)")
            #expect(errorCode(r.json) == "image_too_large")
            #expect(ContinuousClock.now - start < .seconds(2))

            let created = try await client.json(.post, "/v1/sessions", body: ["plan": ["blink"]])
            let ws = try #require(created.json["websocket"] as? String)
            start = ContinuousClock.now
            let out = try await streamFrames(port: client.port!, websocket: ws, frames: [(0, Array(bomb)), (0.07, Array(bomb))])
            #expect(out.closeCode == 4413, "close \(String(describing: out.closeCode)), \(out.messages)")
            #expect(ContinuousClock.now - start < .seconds(3))
        }
    }

    @Test("uploads are answered 503 with Retry-After while the face workers' queues are full")
    func saturatedWorkersAnswer503() async throws {
        guard Paths.hasTestImages else { try Test.cancel("test images missing — run `make testdata`") }
        let obama = try base64Image(Paths.testImage("obama.jpg"))
        try await Harness.with(Harness.config { $0.maxQueuePerWorker = 0 }) { server, client in
            // Hold the only worker so its queue is non-empty.
            let gate = DispatchSemaphore(value: 0)
            let hold = Task { try await server.pool.run { _ in gate.wait() } }
            while server.pool.queueDepth == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let r = try await client.json(.post, "/v1/identify", body: ["image": obama])
            gate.signal()
            _ = try? await hold.value
            #expect(r.status == 503, "\(r.json)")
            #expect(errorCode(r.json) == "saturated")
            #expect(r.headers[.retryAfter] != nil)
        }
    }
}

// MARK: item 1 — no open doors in key-less mode

@Suite("Server security: key-less mode (#17 item 1)", .serialized, .enabled(if: Paths.hasModels, "face models missing — run `make models`"))
struct KeylessModeTests {
    @Test("DNS rebinding (foreign Host), cross-site text/plain and foreign-Origin posts are refused; revoking the last key never re-opens the server")
    func keyless() async throws {
        try await Harness.with(Harness.config()) { server, client in
            let port = try #require(client.port)
            let body = #"{"name":"mallory"}"#
            // Before the fix each of these created a user (201).
            let rebinding = try RawHTTP.send(port: port, "POST /v1/users HTTP/1.1\r\nHost: attacker.example:\(port)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            #expect(rebinding.status == 403, "\(rebinding.text)")
            #expect(rebinding.text.contains("host_not_allowed"))
            let form = try await client.execute(uri: "/v1/users", method: .post, headers: [.contentType: "text/plain"],
                                                body: ByteBuffer(string: body))
            #expect(form.status == .unsupportedMediaType)
            let noType = try await client.execute(uri: "/v1/users", method: .post, headers: [:], body: ByteBuffer(string: body))
            #expect(noType.status == .unsupportedMediaType)
            let foreign = try await client.json(.post, "/v1/users", body: ["name": "mallory"], headers: [.origin: "https://attacker.example"])
            #expect(foreign.status == 403)
            #expect(errorCode(foreign.json) == "foreign_origin")
            #expect(try await client.json(.post, "/v1/sessions", body: [:], headers: [.origin: "null"]).status == 403)
            // The local demo still works: same-origin page calls and loopback Host names.
            // (the test client sends `Host: localhost` without the port; a browser sends both with it, as below)
            #expect(try await client.json(.post, "/v1/sessions", body: [:], headers: [.origin: "http://localhost"]).status == 201)
            let ok = try RawHTTP.send(port: port, "POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nOrigin: http://127.0.0.1:\(port)\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            #expect(ok.status == 201, "\(ok.text)")
            #expect(try await client.json(.get, "/v1/users").json["users"] as? [Any] != nil)
            #expect(try await client.json(.get, "/v1/users").json["users"].map { ($0 as? [Any])?.isEmpty } == true, "no user was created")

            // A key is created, then revoked: the server stays closed to key-less requests.
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin)
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/sessions", body: [:]).status == 401)
            #expect(try await server.store.revokeKey(id: admin.record.id, at: Date()))
            await server.keys.invalidate()
            let after = try await client.json(.post, "/v1/users", body: ["name": "mallory"])
            #expect(after.status == 401, "\(after.json)")
        }
        // `--insecure-local` re-allows key-less loopback use while no key is active (explicit opt-in).
        try await Harness.with(Harness.config { $0.insecureLocal = true }) { server, client in
            let k = try await APIKeys.create(in: server.store, name: "a", scope: .admin)
            _ = try await server.store.revokeKey(id: k.record.id, at: Date())
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/sessions", body: [:]).status == 201)
        }
    }
}

// MARK: also fix — policy floor, identify answers, stream caps, clock drift, readyz, FFmpeg protocols

@Suite("Server security: also-fix list (#17)", .serialized, .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct AlsoFixTests {
    @Test("a verify key may ask for more challenges or 'both', never fewer or another mode; /v1/identify tells it only the decision; /readyz hides the user count without a key")
    func policyIdentifyReadyz() async throws {
        // Image probes from the verify key below: the operator's opt-in (#14 item 6, ImageProbePolicyTests).
        let c = Harness.config { $0.challenges = 3; $0.livenessMode = .active; $0.useInstalledPadModels = false; $0.allowImageProbes = true }
        try await Harness.with(c) { server, client in
            let verify = try await APIKeys.create(in: server.store, name: "v", scope: .verify).key
            let admin = try await APIKeys.create(in: server.store, name: "a", scope: .admin).key
            await server.keys.invalidate()
            let fewer = try await client.json(.post, "/v1/sessions", key: verify, body: ["challenges": 1])
            #expect(fewer.status == 422 && errorCode(fewer.json) == "below_policy", "\(fewer.json)")
            let passive = try await client.json(.post, "/v1/sessions", key: verify, body: ["mode": "passive"])
            #expect(passive.status == 422 && errorCode(passive.json) == "below_policy", "\(passive.json)")
            #expect(try await client.json(.post, "/v1/sessions", key: verify, body: ["challenges": 4]).status == 201)
            #expect(try await client.json(.post, "/v1/sessions", key: verify, body: [:]).status == 201)
            #expect(try await client.json(.post, "/v1/sessions", key: admin, body: ["challenges": 1]).status == 201)

            let obama = try base64Image(Paths.testImage("obama.jpg")), biden = try base64Image(Paths.testImage("biden.jpg"))
            #expect(try await client.json(.post, "/v1/users", key: admin, body: ["name": "obama", "images": [obama]]).status == 201)
            let unknown = try await client.json(.post, "/v1/identify", key: verify, body: ["image": biden])
            #expect(unknown.status == 200)
            #expect(unknown.json["candidates"] == nil && unknown.json["distance"] == nil, "\(unknown.json)")
            let known = try await client.json(.post, "/v1/identify", key: verify, body: ["image": try base64Image(Paths.testImage("obama2.jpg"))])
            #expect(known.json["user"] as? String == "obama")
            #expect(known.json["candidates"] == nil && known.json["distance"] == nil)
            let asAdmin = try await client.json(.post, "/v1/identify", key: admin, body: ["image": biden])
            #expect((asAdmin.json["candidates"] as? [Any])?.isEmpty == false)

            let anon = try await client.json(.get, "/readyz")
            #expect(anon.status == 200 && anon.json["users"] == nil, "\(anon.json)")
            #expect(try await client.json(.get, "/readyz", key: verify).json["users"] as? Int == 1)
        }
    }

    @Test("the WebSocket upgrade applies the session cap (503), and a stream whose capture clock runs slower than real time is closed 4422")
    func streamCapAndClockLag() async throws {
        let img = try Image.read(Paths.testImage("obama.jpg")).limited(maxSide: 480)
        let jpeg = Array(try #require(img.jpeg(quality: 80)))
        try await Harness.with(Harness.config { $0.sessionsPerWorker = 1; $0.maxClockLag = 1 }) { _, client in
            let port = try #require(client.port)
            let a = try await client.json(.post, "/v1/sessions", body: ["plan": ["blink"]])
            let b = try await client.json(.post, "/v1/sessions", body: ["plan": ["blink"]])
            let wsA = try #require(a.json["websocket"] as? String), wsB = try #require(b.json["websocket"] as? String)
            // A streams a renderer's frames: stamped 10 ms apart, sent 100 ms apart.
            let streamA = Task {
                try await streamFrames(port: port, websocket: wsA, frames: []) { out in
                    for i in 0..<60 {
                        try await out.write(.binary(frameMessage(ms: 1000 + Double(i) * 10, jpeg)))
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(700))
            // While A streams, B cannot start (the cap is 1 stream per worker here).
            let pathB = String(wsB.drop(while: { $0 != "/" }).dropFirst(2).drop(while: { $0 != "/" }))
            let refused = try await client.execute(uri: pathB, method: .get)
            #expect(refused.status == .serviceUnavailable, "\(String(buffer: refused.body))")
            #expect(refused.headers[.retryAfter] != nil)
            let outA = try await streamA.value
            #expect(outA.closeCode == 4422, "close \(String(describing: outA.closeCode)), \(outA.messages.suffix(2))")
        }
    }

    @Test("--video inputs are read through FFmpeg's file protocol only: a playlist pointing at http:// makes no request")
    func videoFileProtocolOnly() throws {
        let listener = try LocalListener()
        let dir = Paths.tempDir("fg-m3u8")
        let list = dir + "/clip.m3u8"
        try "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nhttp://127.0.0.1:\(listener.port)/seg0.ts\n#EXT-X-ENDLIST\n".write(toFile: list, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try VideoReader.open(list) }
        #expect(!listener.sawConnection(within: 0.5), "FFmpeg fetched an http:// segment")
    }
}

/// A loopback TCP listener that only records whether anyone connected.
final class LocalListener {
    let fd: Int32
    let port: Int
    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }
    deinit { close(fd) }
    func sawConnection(within seconds: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, Int32(seconds * 1000)) > 0
    }
}

/// One raw HTTP/1.1 exchange over a TCP socket (for headers the test client fixes, such as Host).
enum RawHTTP {
    struct Reply { var status: Int; var text: String }
    static func send(port: Int, _ request: String, readTimeout: Int = 10) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var tv = timeval(tv_sec: readTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBufferPointer { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        let text = String(decoding: out, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        return Reply(status: status, text: text)
    }
}

// MARK: item 2 — a liveness session proves one presence, once

@Suite("Server security: session replay (#17 item 2)", .serialized,
       .enabled(if: Paths.hasModels && Paths.hasTestImages, "face models and testdata needed"))
struct SessionReplayTests {
    @Test("SQLite: a succeeded session is usable once, by its key, for its user, within the window; rows are purged")
    func sqlite() async throws { try await SessionReplay.run(db: nil) }

    @Test("PostgreSQL: the same", .enabled(if: Postgres.url != nil, "set FACEGATE_TEST_POSTGRES_URL (scripts/with-postgres.sh)"))
    func postgres() async throws { try await SessionReplay.run(db: try Postgres.freshDatabase()) }
}

enum SessionReplay {
    static func run(db: GalleryLocation?) async throws {
        let key = GalleryKey.generate()
        let c = Harness.config(db: db)
        let obama = try base64Image(Paths.testImage("obama.jpg"))
        let name = "replay-\(UUID().uuidString.prefix(6).lowercased())"
        let keys: (a: String, b: String, e: String) = try await Harness.with(c, key: key) { server, client in
            let a = try await APIKeys.create(in: server.store, name: "a", scope: .verify).key
            let b = try await APIKeys.create(in: server.store, name: "b", scope: .verify).key
            let e = try await APIKeys.create(in: server.store, name: "e", scope: .enroll).key
            await server.keys.invalidate()
            #expect(try await client.json(.post, "/v1/users", key: e, body: ["name": name, "images": [obama]]).status == 201)
            let probe = try await server.pool.run { engine -> Embedding in
                let img = try Image.read(Paths.testImage("obama2.jpg"))
                return try engine.embedding(img, face: engine.analyze(img).primary!)
            }
            let sealed = try BlobSealer(key: key).seal(try JSONEncoder().encode([probe]))
            /// A session of `owner` that succeeded `ago` seconds ago (what a streamed live session leaves behind).
            func succeeded(owner: String, user: String?, ago: TimeInterval = 0) async throws -> String {
                let id = UUID().uuidString.lowercased(), now = Date()
                let spec = SessionSpec(mode: .liveness, user: user, nonce: nil, challenges: ["blink"], allowed: [], keyID: APIKeys.id(of: owner),
                                       enrollLink: nil, source: "127.0.0.1", liveness: "active")
                try await server.store.insertSession(SessionRecord(id: id, tokenHash: "x", status: .created, created: now, expires: now.addingTimeInterval(120),
                                                                   updated: now, instance: nil, spec: spec, outcome: nil, embeddings: nil, consumed: false))
                try await server.store.finishSession(id: id, status: .succeeded, outcome: nil, embeddings: sealed, now: now.addingTimeInterval(-ago))
                return id
            }
            // Another key cannot use it; its own key can, once.
            let s1 = try await succeeded(owner: a, user: name)
            let other = try await client.json(.post, "/v1/verify", key: b, body: ["user": name, "session": s1])
            #expect(other.status == 404, "\(other.json)")
            let first = try await client.json(.post, "/v1/verify", key: a, body: ["user": name, "session": s1])
            #expect(first.status == 200, "\(first.json)")
            #expect(first.json["match"] as? Bool == true)
            let again = try await client.json(.post, "/v1/verify", key: a, body: ["user": name, "session": s1])
            #expect(again.status == 409)
            #expect(errorCode(again.json) == "already_used")
            #expect(try await server.store.session(id: s1)?.embeddings == nil, "sealed embeddings are dropped once used")
            // Only for the user it was created for (verify as someone else, or identify, is refused).
            let s2 = try await succeeded(owner: a, user: name)
            #expect(errorCode(try await client.json(.post, "/v1/verify", key: a, body: ["user": "someone-else", "session": s2]).json) == "session_user_mismatch")
            #expect(errorCode(try await client.json(.post, "/v1/identify", key: a, body: ["session": s2]).json) == "session_user_mismatch")
            // Only within the window after it succeeded.
            let s3 = try await succeeded(owner: a, user: nil, ago: c.sessionProofWindow + 5)
            let late = try await client.json(.post, "/v1/identify", key: a, body: ["session": s3])
            #expect(late.status == 410)
            #expect(errorCode(late.json) == "session_result_expired")
            // One decision of any kind: identify, then verify or enrollment with the same session fail.
            let s4 = try await succeeded(owner: a, user: nil)
            #expect(try await client.json(.post, "/v1/identify", key: a, body: ["session": s4]).status == 200)
            #expect(try await client.json(.post, "/v1/verify", key: a, body: ["user": name, "session": s4]).status == 409)
            let s5 = try await succeeded(owner: e, user: name)
            #expect(try await client.json(.post, "/v1/users/\(name)/templates", key: e, body: ["session": s5]).status == 201)
            #expect(try await client.json(.post, "/v1/verify", key: e, body: ["user": name, "session": s5]).status == 409)
            // Session rows are purged after they expire (+ retention).
            let old = try await succeeded(owner: a, user: nil)
            #expect(try await server.store.purgeSessions(expiredBefore: Date().addingTimeInterval(121)) >= 1)
            #expect(try await server.store.session(id: old) == nil)
            let s6 = try await succeeded(owner: a, user: name)
            #expect(try await client.json(.post, "/v1/verify", key: a, body: ["user": name, "session": s6]).status == 200)
            return (a, s6, e)
        }
        // After a restart (same database), the used session is still used.
        try await Harness.with(c, key: key) { _, client in
            let replay = try await client.json(.post, "/v1/verify", key: keys.a, body: ["user": name, "session": keys.b])
            #expect(replay.status == 409, "\(replay.json)")
        }
    }
}

/// Hand-built hostile images (no external tools).
enum Bombs {
    /// A grey 1-bit PNG of `width`×`height` whose zlib stream (fixed-Huffman deflate of runs of zeros) is < 1 MB.
    static func png(width: Int, height: Int) -> Data {
        let rowBytes = (width + 7) / 8 + 1                    // filter byte + 1-bit pixels
        let total = rowBytes * height
        var bits = BitWriter()
        bits.write(1, count: 1); bits.write(1, count: 2)       // BFINAL, BTYPE = fixed Huffman
        bits.huffman(0b0011_0000, length: 8)                   // literal 0
        var left = total - 1
        while left >= 258 {
            bits.huffman(0b1100_0101, length: 8)               // length 258 (code 285)
            bits.huffman(0, length: 5)                         // distance 1
            left -= 258
        }
        for _ in 0..<left { bits.huffman(0b0011_0000, length: 8) }
        bits.huffman(0, length: 7)                             // end of block
        var z = Data([0x78, 0x01])
        z.append(bits.data)
        let adlerB = UInt32(total % 65521)
        z.append(be32((adlerB << 16) | 1))
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = be32(UInt32(width)); ihdr.append(be32(UInt32(height))); ihdr.append(contentsOf: [1, 0, 0, 0, 0])
        out.append(chunk("IHDR", ihdr)); out.append(chunk("IDAT", z)); out.append(chunk("IEND", Data()))
        return out
    }

    /// A grey progressive JPEG: one DC scan, then `scans` identical AC scans, each a single end-of-band run over every
    /// block (12 bytes per scan; the decoder walks all blocks on every scan).
    static func progressiveJPEG(width: Int, height: Int, scans: Int) -> Data {
        let blocks = ((width + 7) / 8) * ((height + 7) / 8)
        precondition(blocks >= 16384 && blocks <= 32767, "EOB14 run covers 16384…32767 blocks")
        var d = Data([0xFF, 0xD8])
        d.append(contentsOf: [0xFF, 0xDB, 0x00, 67, 0x00]); d.append(Data(repeating: 1, count: 64))
        d.append(contentsOf: [0xFF, 0xC2, 0x00, 11, 8, UInt8(height >> 8), UInt8(height & 255), UInt8(width >> 8), UInt8(width & 255), 1, 1, 0x11, 0])
        let oneCode = [UInt8](repeating: 0, count: 15)
        d.append(contentsOf: [0xFF, 0xC4, 0x00, 20, 0x00, 1] + oneCode + [0x00])   // DC: category 0, code "0"
        d.append(contentsOf: [0xFF, 0xC4, 0x00, 20, 0x10, 1] + oneCode + [0xE0])   // AC: EOB14, code "0"
        d.append(contentsOf: [0xFF, 0xDA, 0x00, 8, 1, 1, 0x00, 0, 0, 0x00])
        d.append(Data(repeating: 0, count: (blocks + 7) / 8))                       // one "0" bit per block
        var eob = BitWriter()
        eob.huffman(0, length: 1); eob.huffman(UInt32(blocks - 16384), length: 14)
        let data = eob.paddedWithOnes
        let scan = Data([0xFF, 0xDA, 0x00, 8, 1, 1, 0x00, 1, 63, 0x00]) + data
        for _ in 0..<scans { d.append(scan) }
        d.append(contentsOf: [0xFF, 0xD9])
        return d
    }

    static func be32(_ v: UInt32) -> Data { Data([UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)]) }

    static func chunk(_ type: String, _ body: Data) -> Data {
        var typed = Data(type.utf8); typed.append(body)
        var out = be32(UInt32(body.count)); out.append(typed); out.append(be32(crc32(typed)))
        return out
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    static func crc32(_ d: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        d.withUnsafeBytes { for b in $0 { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) } }
        return c ^ 0xFFFF_FFFF
    }

    /// Deflate's bit order: values LSB first; `huffman` writes a code MSB first.
    struct BitWriter {
        var bytes: [UInt8] = []
        var acc: UInt32 = 0
        var n = 0
        mutating func write(_ v: UInt32, count: Int) {
            for i in 0..<count { push((v >> UInt32(i)) & 1) }
        }
        mutating func huffman(_ code: UInt32, length: Int) {
            for i in stride(from: length - 1, through: 0, by: -1) { push((code >> UInt32(i)) & 1) }
        }
        /// Deflate packs from the least significant bit of each byte.
        mutating func push(_ bit: UInt32) {
            acc |= bit << UInt32(n); n += 1
            if n == 8 { bytes.append(UInt8(acc)); acc = 0; n = 0 }
        }
        var data: Data { n == 0 ? Data(bytes) : Data(bytes + [UInt8(acc)]) }
        /// JPEG packs from the most significant bit: re-packs the pushed bits MSB first, padded with 1s.
        var paddedWithOnes: Data {
            var all: [UInt32] = []
            for b in bytes { for i in 0..<8 { all.append((UInt32(b) >> UInt32(i)) & 1) } }
            for i in 0..<n { all.append((acc >> UInt32(i)) & 1) }
            while all.count % 8 != 0 { all.append(1) }
            var out: [UInt8] = []
            for k in stride(from: 0, to: all.count, by: 8) {
                var v: UInt8 = 0
                for j in 0..<8 { v = v << 1 | UInt8(all[k + j]) }
                out.append(v)
            }
            return Data(out)
        }
    }
}
