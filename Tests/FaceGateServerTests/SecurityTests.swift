import FaceGate
import FaceGateCore
import FaceGateServer
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
