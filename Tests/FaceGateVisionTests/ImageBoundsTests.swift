import FaceGateVision
import Foundation
import Testing

/// Bounded decoding of untrusted bytes (#17 item 4): header checks and the decoder's own scan/CPU bounds.
@Suite("Image decode bounds")
struct ImageBoundsTests {
    @Test("the header reader agrees with the decoder on real JPEG and PNG files, and counts JPEG scans")
    func headerMatchesDecoder() throws {
        let img = Image(width: 321, height: 123, color: Color(200, 90, 40))
        for (ext, format) in [(".jpg", ImageHeader.Format.jpeg), (".png", .png)] {
            let data = try #require(img.encoded(ext))
            let h = try ImageHeader.read(data)
            #expect(h.format == format && h.width == 321 && h.height == 123)
            let decoded = try Image.decode(data, limits: .upload)
            #expect(decoded.width == 321 && decoded.height == 123)
        }
        #expect(try ImageHeader.read(img.jpeg()!).scans == 1)
        #expect(throws: ImageRefusal.unsupportedFormat) { try ImageHeader.read(Data("GIF89a\0\0\0\0".utf8)) }
        #expect(throws: ImageRefusal.self) { try ImageHeader.read(Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46])) }
        let small = DecodeLimits(maxSide: 100, maxPixels: 10_000, maxScans: 1, maxCPUMilliseconds: 100)
        #expect(throws: ImageRefusal.self) { try Image.decode(img.jpeg()!, limits: small) }
    }

    @Test("the decoder stops a progressive bomb at its CPU bound even when the scan bound would admit it")
    func decoderCPUBound() throws {
        let bomb = VisionBombs.progressiveJPEG(scans: 20_000)
        let lax = DecodeLimits(maxSide: 4096, maxPixels: 10_000_000, maxScans: 1_000_000, maxCPUMilliseconds: 100)
        let start = ContinuousClock.now
        #expect(throws: ImageRefusal.self) { try Image.decode(bomb, limits: lax) }
        #expect(ContinuousClock.now - start < .seconds(2), "took \(ContinuousClock.now - start)")
        // A few scans of the same file decode (the bomb is a valid JPEG).
        let few = VisionBombs.progressiveJPEG(scans: 3)
        let ok = try Image.decode(few, limits: .upload)
        #expect(ok.width == 1920 && ok.height == 1080)
    }
}

/// A 1920x1080 grey progressive JPEG: one DC scan, then `scans` AC scans of one end-of-band run each (12 bytes).
enum VisionBombs {
    static func progressiveJPEG(scans: Int) -> Data {
        var d = Data([0xFF, 0xD8, 0xFF, 0xDB, 0x00, 67, 0x00]); d.append(Data(repeating: 1, count: 64))
        d.append(contentsOf: [0xFF, 0xC2, 0x00, 11, 8, 0x04, 0x38, 0x07, 0x80, 1, 1, 0x11, 0])
        let z = [UInt8](repeating: 0, count: 15)
        d.append(contentsOf: [0xFF, 0xC4, 0x00, 20, 0x00, 1] + z + [0x00])
        d.append(contentsOf: [0xFF, 0xC4, 0x00, 20, 0x10, 1] + z + [0xE0])
        d.append(contentsOf: [0xFF, 0xDA, 0x00, 8, 1, 1, 0x00, 0, 0, 0x00])
        d.append(Data(repeating: 0, count: 32400 / 8))
        // "0" (EOB14) + 14 bits of 32400 - 16384 = 16016 + one pad bit: 0111 1101 0010 0001.
        let scan = Data([0xFF, 0xDA, 0x00, 8, 1, 1, 0x00, 1, 63, 0x00, 0x7D, 0x21])
        for _ in 0..<scans { d.append(scan) }
        d.append(contentsOf: [0xFF, 0xD9])
        return d
    }
}
