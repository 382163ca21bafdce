import FaceGate
import FaceGateCore
import FaceGateServer
import FaceGateStore
import FaceGateVision
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import NIOCore
import NIOWebSocket
import Testing

enum Paths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    static var hasFixtures: Bool { FileManager.default.fileExists(atPath: fixtures.path + "/MANIFEST.tsv") }
    static func fixture(_ r: String) -> String { fixtures.appendingPathComponent(r).path }
    static func testImage(_ n: String) -> String { repo.appendingPathComponent("testdata/images/\(n)").path }
    static var hasTestImages: Bool { FileManager.default.fileExists(atPath: testImage("obama.jpg")) }
    static var hasModels: Bool { (try? ModelDirectory.resolve().locate(BaseModels.landmarks68, verify: false)) != nil }
    static let blinkVideo = "motion/repeating__Blink-Detector/video.mp4"
    static func tempDir(_ tag: String) -> String {
        let p = NSTemporaryDirectory() + "\(tag)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
    static let artifacts = repo.appendingPathComponent("test-artifacts/server")
}

/// Starts real servers (real engines, a real database) on 127.0.0.1 with a free port.
enum Harness {
    static func config(db: GalleryLocation? = nil, _ tweak: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
        var c = ServerConfiguration(database: db ?? .sqlite(path: Paths.tempDir("fgserver") + "/db.sqlite"))
        c.port = 0
        c.workers = 1
        tweak(&c)
        return c
    }

    static func server(_ c: ServerConfiguration, key: GalleryKey = GalleryKey.generate()) async throws -> FaceGateServer {
        try await FaceGateServer(config: c, galleryKey: key)
    }

    /// Runs `body` against a live server.
    static func with<T: Sendable>(_ c: ServerConfiguration, key: GalleryKey = GalleryKey.generate(),
                                  _ body: @Sendable (FaceGateServer, any TestClientProtocol) async throws -> T) async throws -> T {
        let s = try await server(c, key: key)
        defer { Task { await s.shutdown() } }
        return try await s.application().test(.live) { client in try await body(s, client) }
    }
}

extension TestClientProtocol {
    /// JSON request with an optional API key.
    func json(_ method: HTTPRequest.Method, _ uri: String, key: String? = nil, body: [String: Any]? = nil,
              headers extra: HTTPFields = [:]) async throws -> (status: Int, json: [String: Any], headers: HTTPFields) {
        var h: HTTPFields = [.contentType: "application/json"]
        for f in extra { h.append(f) }
        if let key { h[.authorization] = "Bearer \(key)" }
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let r = try await execute(uri: uri, method: method, headers: h, body: data.map { ByteBuffer(bytes: $0) })
        let obj = (try? JSONSerialization.jsonObject(with: Data(r.body.readableBytesView))) as? [String: Any] ?? [:]
        return (Int(r.status.code), obj, r.headers)
    }
}

func errorCode(_ j: [String: Any]) -> String? { (j["error"] as? [String: Any])?["code"] as? String }

/// A frame message: 8-byte big-endian float64 capture ms + payload.
func frameMessage(ms: Double, _ payload: [UInt8]) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeInteger(ms.bitPattern, endianness: .big)
    b.writeBytes(payload)
    return b
}

/// JPEG frames of a video (resized so the longer side is ≤ 640), with their timestamps in seconds.
func videoFrames(_ path: String, limit: Int = 400, every: Int = 1) throws -> [(Double, [UInt8])] {
    let r = try VideoReader.open(path)
    var out: [(Double, [UInt8])] = []
    var i = 0
    while out.count < limit, let f = try r.next() {
        defer { i += 1 }
        if i % every != 0 { continue }
        let img = f.image.limited(maxSide: 640)
        out.append((f.timestamp, Array(img.jpeg(quality: 80)!)))
    }
    return out
}

/// What a stream ended with.
struct StreamOutcome {
    var messages: [[String: Any]]
    var closeCode: UInt16?
    var result: [String: Any]? { messages.last { $0["type"] as? String == "result" } }
    init(messages: [[String: Any]], closeCode: UInt16?) { self.messages = messages; self.closeCode = closeCode }
}
extension StreamOutcome: @unchecked Sendable {}

/// Connects to a session's stream, sends `frames` paced in real time (capture ms = `t` × 1000 + offset) and
/// collects every answer until the server closes.
func streamFrames(port: Int, websocket: String, frames: [(Double, [UInt8])], paced: Bool = true,
                  custom: (@Sendable (WebSocketOutboundWriter) async throws -> Void)? = nil) async throws -> StreamOutcome {
    let path = String(websocket.drop(while: { $0 != "/" }).dropFirst(2).drop(while: { $0 != "/" }))
    let box = MessageBox()
    let close = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", configuration: .init(maxFrameSize: 1 << 22),
                                                  logger: .init(label: "test")) { inbound, outbound, _ in
        let reader = Task {
            for try await m in inbound.messages(maxSize: 1 << 20) {
                if case .text(let s) = m, let o = try? JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any] { box.add(o) }
            }
        }
        if let custom { try? await custom(outbound) } else {  // the server may close first: later writes fail
            let start = ContinuousClock.now
            let base = 1000.0
            for (t, jpeg) in frames {
                if paced {
                    let due = start + .milliseconds(Int(t * 1000))
                    if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                }
                if box.finished { break }
                do { try await outbound.write(.binary(frameMessage(ms: base + t * 1000, jpeg))) } catch { break }
            }
        }
        _ = try? await reader.value
    }
    var code: UInt16?
    if let c = close?.closeCode {
        switch c {
        case .normalClosure: code = 1000
        case .goingAway: code = 1001
        case .unknown(let v): code = v
        default: code = 0
        }
    }
    return StreamOutcome(messages: box.all, closeCode: code)
}

final class MessageBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[String: Any]] = []
    func add(_ o: [String: Any]) { lock.withLock { items.append(o) } }
    var all: [[String: Any]] { lock.withLock { items } }
    var finished: Bool { lock.withLock { items.contains { ($0["type"] as? String) == "result" || ($0["type"] as? String) == "error" } } }
}

func base64Image(_ path: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString() }
