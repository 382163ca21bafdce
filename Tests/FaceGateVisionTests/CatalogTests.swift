import FaceGate
import FaceGateCore
import FaceGateLab
import Foundation
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 file server on 127.0.0.1 (one thread, one request per connection) serving a folder by file
/// name, with `Range: bytes=N-` support. `truncateFirst`: the first full download of each file is cut after that many
/// bytes (connection closed) to test resume; `corrupt`: bodies have one byte flipped.
final class TestFileServer: @unchecked Sendable {
    let root: String
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var cut: Set<String> = []
    var truncateFirst: Int?
    var corrupt = false
    private(set) var rangeRequests = 0

    init(root: String) throws {
        self.root = root
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        guard ok == 0, listen(s, 8) == 0 else { close(s); throw FaceGateError.runtime("test server cannot listen") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = UInt16(bigEndian: addr.sin_port)
        Thread.detachNewThread { [self] in serve() }
    }

    var base: String { "http://127.0.0.1:\(port)" }
    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            handle(c)
            close(c)
        }
    }

    private func handle(_ c: Int32) {
        var buf = [UInt8](repeating: 0, count: 8192)
        var req = ""
        while !req.contains("\r\n\r\n") {
            let n = read(c, &buf, buf.count)
            if n <= 0 { return }
            req += String(decoding: buf[0..<n], as: UTF8.self)
        }
        let lines = req.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        let name = String(parts[1].dropFirst())
        var start = 0
        if let r = lines.first(where: { $0.lowercased().hasPrefix("range:") }),
           let v = r.split(separator: "=").last?.split(separator: "-").first, let s = Int(v) {
            start = s
            lock.lock(); rangeRequests += 1; lock.unlock()
        }
        guard !name.contains("/"), var data = FileManager.default.contents(atPath: root + "/" + name) else {
            send(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", body: Data())
            return
        }
        if corrupt { data[data.count / 2] ^= 0xFF }
        let body = data.subdata(in: min(start, data.count)..<data.count)
        let head = start > 0
            ? "HTTP/1.1 206 Partial Content\r\nContent-Length: \(body.count)\r\nContent-Range: bytes \(start)-\(data.count - 1)/\(data.count)\r\nConnection: close\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        lock.lock()
        let shouldCut = start == 0 && truncateFirst != nil && !cut.contains(name)
        if shouldCut { cut.insert(name) }
        lock.unlock()
        send(c, head, body: shouldCut ? body.prefix(truncateFirst!) : body)
    }

    private func send(_ c: Int32, _ head: String, body: Data) {
        let all = Data(head.utf8) + body
        all.withUnsafeBytes { p in
            var off = 0
            while off < all.count {
                let n = write(c, p.baseAddress! + off, all.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [InstallProgress] = []
    func add(_ p: InstallProgress) { lock.lock(); items.append(p); lock.unlock() }
    var all: [InstallProgress] { lock.lock(); defer { lock.unlock() }; return items }
}

@Suite("Model catalog: install, verify, remove", .serialized)
struct CatalogTests {
    static let onnxDir = "models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models"

    /// A fresh model directory and a server over the fixture ONNX files.
    static func setUp() throws -> (dir: ModelDirectory, server: TestFileServer) {
        let dir = ModelDirectory(path: TestPaths.tempDir("catalog") + "/models")
        return (dir, try TestFileServer(root: TestPaths.fixture(onnxDir)))
    }

    static func files(_ dir: ModelDirectory) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] }

    @Test func catalogPinsAndURLs() {
        let v2 = ModelCatalog.miniFASNetV2
        #expect(v2.role == .antiSpoof && v2.padSpec?.cropScale == 2.7)
        #expect(v2.files[0].urls[0] == "https://raw.githubusercontent.com/marcos4758/Silent-Face-Anti-Spoofing-Tests/HEAD/resources/anti_spoof_models/2.7_80x80_MiniFASNetV2.onnx")
        #expect(ModelCatalog.entries.filter(\.isBase).count == BaseModels.all.count)
        #expect(Set(ModelCatalog.entries.map(\.name)).count == ModelCatalog.entries.count)
        for e in ModelCatalog.entries { for f in e.files { #expect(f.file.sha256.count == 64 && f.file.size > 0) } }
    }

    @Test(.enabled(if: TestPaths.hasFixtures)) func pinsMatchTheFixtureFiles() throws {
        for (e, rel) in [(ModelCatalog.miniFASNetV2, Self.onnxDir + "/2.7_80x80_MiniFASNetV2.onnx"), (ModelCatalog.miniFASNetV1SE, Self.onnxDir + "/4_0_0_80x80_MiniFASNetV1SE.onnx")] {
            #expect(try sha256Hex(ofFile: TestPaths.fixture(rel)) == e.file.sha256)
        }
    }

    @Test(.enabled(if: TestPaths.hasFixtures)) func installFromLocalServerWithProgressThenVerifyAndRemove() async throws {
        let (dir, server) = try Self.setUp()
        defer { server.stop() }
        let log = ProgressLog()
        let inst = CatalogInstaller(directory: dir, source: server.base, environment: [:])
        try await inst.install(ModelCatalog.miniFASNetV2) { log.add($0) }
        #expect(inst.isInstalled(ModelCatalog.miniFASNetV2, rehash: true))
        #expect(log.all.count >= 3)
        #expect(log.all.last?.bytes == ModelCatalog.miniFASNetV2.file.size)
        #expect(Self.files(dir) == ["2.7_80x80_MiniFASNetV2.onnx"])
        let states = inst.verifyAll().filter { $0.entry.name == "minifasnet-v2" }
        #expect(states.map(\.state) == [.installed])
        // An altered file is reported.
        let path = dir.path + "/2.7_80x80_MiniFASNetV2.onnx"
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try h.seek(toOffset: 1000); h.write(Data([0x42])); try h.close()
        #expect(inst.verifyAll().first { $0.entry.name == "minifasnet-v2" }?.state == .altered)
        try inst.remove(ModelCatalog.miniFASNetV2)
        #expect(Self.files(dir).isEmpty)
    }

    @Test(.enabled(if: TestPaths.hasFixtures)) func checksumMismatchIsRefusedAndNothingIsWritten() async throws {
        let (dir, server) = try Self.setUp()
        defer { server.stop() }
        server.corrupt = true
        let inst = CatalogInstaller(directory: dir, source: server.base, environment: [:])
        await #expect(throws: CatalogError.self) { try await inst.install(ModelCatalog.miniFASNetV1SE) }
        do { try await inst.install(ModelCatalog.miniFASNetV1SE) } catch let e as CatalogError {
            #expect(e.description.contains("checksum mismatch"))
        }
        #expect(Self.files(dir).isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: inst.partialDirectory)) ?? []).isEmpty)
    }

    @Test(.enabled(if: TestPaths.hasFixtures)) func interruptedDownloadResumesWithRange() async throws {
        let (dir, server) = try Self.setUp()
        defer { server.stop() }
        server.truncateFirst = 600_000
        let inst = CatalogInstaller(directory: dir, source: server.base, environment: [:])
        do {
            try await inst.install(ModelCatalog.miniFASNetV2)
            Issue.record("a cut connection must fail the first attempt")
        } catch let e as CatalogError {
            #expect(e.description.contains("resume"))
        }
        #expect(Self.files(dir).isEmpty, "nothing half-written in the model directory")
        let part = inst.partialDirectory + "/2.7_80x80_MiniFASNetV2.onnx.part"
        let partial = (try FileManager.default.attributesOfItem(atPath: part)[.size] as? NSNumber)?.intValue ?? 0
        #expect(partial > 0 && partial < ModelCatalog.miniFASNetV2.file.size)
        let log = ProgressLog()
        try await inst.install(ModelCatalog.miniFASNetV2) { log.add($0) }
        #expect(server.rangeRequests == 1)
        #expect(log.all.first?.resumed == true)
        #expect(inst.isInstalled(ModelCatalog.miniFASNetV2, rehash: true))
    }

    @Test func serverDownGivesAClearErrorAndWritesNothing() async throws {
        let dir = ModelDirectory(path: TestPaths.tempDir("catalog") + "/models")
        var inst = CatalogInstaller(directory: dir, source: "http://127.0.0.1:9", environment: [:])
        inst.timeout = .seconds(3)  // AsyncHTTPClient retries refused connections until the deadline
        do {
            try await inst.install(ModelCatalog.miniFASNetV2)
            Issue.record("install must fail with the server down")
        } catch let e as CatalogError {
            #expect(e.description.contains("cannot download 2.7_80x80_MiniFASNetV2.onnx from http://127.0.0.1:9"))
            #expect(e.description.contains("nothing was installed"))
        }
        #expect(Self.files(dir).isEmpty)
    }

    /// With both MiniFASNets installed, `facegate liveness --passive` uses them automatically and decides exactly as
    /// with explicit paths.
    @Test(.enabled(if: TestPaths.hasFixtures && TestPaths.hasModels)) func installedModelsGiveTheSameDecisionsAsExplicitPaths() async throws {
        let (dir, server) = try Self.setUp()
        defer { server.stop() }
        // The base dlib models are linked in so the engine loads.
        for m in BaseModels.all {
            if let p = try? ModelDirectory.resolve().locate(m, verify: false) {
                try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(atPath: dir.path + "/" + m.fileName, withDestinationPath: p)
            }
        }
        let r = try runCLI(["models", "install", "minifasnet-v2", "minifasnet-v1se", "--from", server.base, "--models", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("100%"))
        let list = try runCLI(["models", "list", "--json", "--models", dir.path])
        #expect(list.stdout.contains("\"name\":\"minifasnet-v2\"") && list.status == 0)
        for crop in ["liveness/alexcamargoweb__liveness-detection/dataset/real/0.png", "liveness/alexcamargoweb__liveness-detection/dataset/fake/0.png",
                     "liveness/lestari15__CNN-face-detection/dataset/real/0.png", "liveness/minivision-ai__Silent-Face-Anti-Spoofing/images/sample/image_T1.jpg"] {
            let img = TestPaths.fixture(crop)
            let auto = try runCLI(["liveness", "--passive", "--image", img, "--json", "--models", dir.path])
            let explicit = try runCLI(["liveness", "--passive", "--image", img, "--json", "--models", dir.path, "--no-installed-models",
                                       "--pad-model", TestPaths.fixture(Self.onnxDir + "/2.7_80x80_MiniFASNetV2.onnx"),
                                       "--pad-model", TestPaths.fixture(Self.onnxDir + "/4_0_0_80x80_MiniFASNetV1SE.onnx")])
            #expect(auto.status == explicit.status, "\(crop): \(auto.stderr) \(explicit.stderr)")
            guard auto.status <= 1 else { continue }  // no face in this crop: both refused alike
            let a = try #require(try JSONSerialization.jsonObject(with: Data(auto.stdout.utf8)) as? [String: Any])
            let b = try #require(try JSONSerialization.jsonObject(with: Data(explicit.stdout.utf8)) as? [String: Any])
            #expect(a["live"] as? Bool == b["live"] as? Bool)
            #expect(a["score"] as? Double == b["score"] as? Double)
            let cue = (a["cues"] as? [String: Any])?["model"] as? [String: Any]
            #expect(cue?["state"] as? String != "abstain", "installed models must be used automatically")
        }
    }
}
