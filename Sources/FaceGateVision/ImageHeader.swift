import CFaceGate
import FaceGateCore
import Foundation

/// Bounds on decoding bytes from an untrusted source (server uploads and streamed frames). Checked on the header
/// before any pixel is decoded (format, size, JPEG scan count), and again while decoding (scans, CPU time).
public struct DecodeLimits: Sendable, Hashable {
    /// Largest width or height.
    public var maxSide: Int
    /// Largest width × height.
    public var maxPixels: Int
    /// Most scans a JPEG may have (baseline: 1 or 3; libjpeg's progressive script: 10 for colour).
    public var maxScans: Int
    /// CPU time one decode may use on its thread (milliseconds).
    public var maxCPUMilliseconds: Int
    /// Largest decoded size (width × height × bytes per pixel from the PNG header's bit depth and colour type): 4
    /// bytes per pixel at `maxPixels` (8-bit RGBA). A PNG's decode work (inflate, unfiltering, conversion) is linear in
    /// its decoded bytes — there is no scan loop to cap as in a progressive JPEG — so this bounds its CPU time and
    /// memory before decoding (#17); a 16-bit RGBA PNG at the pixel limit (8 bytes per pixel) is refused.
    public var maxDecodedBytes: Int { maxPixels * 4 }

    public init(maxSide: Int, maxPixels: Int, maxScans: Int, maxCPUMilliseconds: Int) {
        self.maxSide = maxSide; self.maxPixels = maxPixels; self.maxScans = maxScans; self.maxCPUMilliseconds = maxCPUMilliseconds
    }

    /// Uploaded photos (enrollment, verify, identify): 24 MP covers a 6000×4000 camera photo (72 MB of BGR per decode,
    /// one decode per worker at a time); 8192 px per side; 32 scans is 3× libjpeg's progressive script; 3 s of CPU is
    /// > 10× a 24 MP baseline decode (≈ 150–250 ms measured with `facegate bench` style decodes on this machine).
    public static let upload = DecodeLimits(maxSide: 8192, maxPixels: 24_000_000, maxScans: 32, maxCPUMilliseconds: 3000)
    /// Streamed camera frames: the page sends ≤ 640 px; 2560 px / 4.2 MP admits a 1440p or 1080p native client. Browser
    /// canvases encode baseline JPEG (1 scan); 16 scans admit a progressive encoder. 500 ms CPU is > 20× a 1080p
    /// decode, and a frame that costs more blocks every session pinned to the same worker.
    public static let frame = DecodeLimits(maxSide: 2560, maxPixels: 1920 * 1080 * 2, maxScans: 16, maxCPUMilliseconds: 500)
}

/// Why untrusted image bytes were refused before (or while) decoding.
public enum ImageRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not JPEG or PNG by the leading bytes.
    case unsupportedFormat
    /// The header is cut off or malformed (no size before the image data).
    case malformed(String)
    /// Width/height over the limit.
    case tooLarge(width: Int, height: Int, limits: DecodeLimits)
    /// A JPEG with more scans than allowed (progressive decompression bomb).
    case tooManyScans(Int, limit: Int)
    /// A PNG whose decoded pixels (bit depth × channels) exceed `DecodeLimits.maxDecodedBytes`.
    case tooManyBytes(Int, limit: Int)
    /// The decoder stopped it (scan count or CPU time reached while decoding), or could not decode it.
    case undecodable(String)

    public var description: String {
        switch self {
        case .unsupportedFormat: return "only JPEG and PNG images are accepted"
        case .malformed(let d): return "not a readable JPEG/PNG (\(d))"
        case .tooLarge(let w, let h, let l):
            return "image is \(w)x\(h) — at most \(l.maxSide) px per side and \(l.maxPixels / 1_000_000) MP; send a smaller image"
        case .tooManyScans(let n, let l): return "JPEG has \(n) scans (at most \(l)) — send a baseline JPEG"
        case .tooManyBytes(let n, let l):
            return "PNG decodes to \(n / 1_000_000) MB (at most \(l / 1_000_000) MB) — send an 8-bit PNG or a JPEG, or a smaller image"
        case .undecodable(let d): return "image refused: \(d)"
        }
    }
}

/// Format and size read from the first bytes of a JPEG or PNG, without decoding pixels.
public struct ImageHeader: Sendable, Hashable {
    public enum Format: String, Sendable { case jpeg, png }
    public var format: Format
    public var width: Int
    public var height: Int
    /// JPEG: number of SOS markers (scans) in the file; PNG: 1.
    public var scans: Int
    /// JPEG: a progressive SOF (C2, C6, CA, CE).
    public var progressive: Bool
    /// Decoded bytes per pixel: PNG from IHDR (channels × 2 for 16-bit samples); JPEG 3.
    public var bytesPerPixel: Int = 3

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads the header; throws `ImageRefusal` for anything that is not a well-formed JPEG/PNG header.
    public static func read(_ data: Data) throws -> ImageHeader {
        try data.withUnsafeBytes { raw -> ImageHeader in
            let p = raw.bindMemory(to: UInt8.self)
            guard p.count >= 8 else { throw ImageRefusal.malformed("too short") }
            if p[0] == 0xFF, p[1] == 0xD8 { return try jpeg(p) }
            if Array(p[0..<8]) == pngSignature { return try png(p) }
            throw ImageRefusal.unsupportedFormat
        }
    }

    /// Reads the header and checks it against `limits`.
    public static func check(_ data: Data, _ limits: DecodeLimits) throws -> ImageHeader {
        let h = try read(data)
        if h.width > limits.maxSide || h.height > limits.maxSide || h.width * h.height > limits.maxPixels {
            throw ImageRefusal.tooLarge(width: h.width, height: h.height, limits: limits)
        }
        if h.width * h.height * h.bytesPerPixel > limits.maxDecodedBytes {
            throw ImageRefusal.tooManyBytes(h.width * h.height * h.bytesPerPixel, limit: limits.maxDecodedBytes)
        }
        if h.scans > limits.maxScans { throw ImageRefusal.tooManyScans(h.scans, limit: limits.maxScans) }
        return h
    }

    static func png(_ p: UnsafeBufferPointer<UInt8>) throws -> ImageHeader {
        // Signature, then the IHDR chunk: length (13), "IHDR", width, height (big-endian).
        guard p.count >= 26, p[12] == 0x49, p[13] == 0x48, p[14] == 0x44, p[15] == 0x52 else {
            throw ImageRefusal.malformed("PNG without IHDR")
        }
        let w = be32(p, 16), h = be32(p, 20)
        guard w > 0, h > 0 else { throw ImageRefusal.malformed("PNG of size 0") }
        // IHDR bit depth (1, 2, 4, 8, 16) and colour type: grey 1, RGB 3, palette 3 (expanded), grey+alpha 2, RGBA 4.
        let depth = Int(p[24]), channels: Int
        switch p[25] {
        case 0: channels = 1
        case 2, 3: channels = 3
        case 4: channels = 2
        case 6: channels = 4
        default: throw ImageRefusal.malformed("PNG colour type \(p[25])")
        }
        return ImageHeader(format: .png, width: w, height: h, scans: 1, progressive: false,
                           bytesPerPixel: channels * (depth == 16 ? 2 : 1))
    }

    static func be16(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int { Int(p[i]) << 8 | Int(p[i + 1]) }
    static func be32(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int { be16(p, i) << 16 | be16(p, i + 2) }

    /// Walks the JPEG marker segments: size from the first SOF, one scan per SOS; entropy-coded data is skipped with
    /// memchr (stuffed 0xFF00 and restart markers are data).
    static func jpeg(_ p: UnsafeBufferPointer<UInt8>) throws -> ImageHeader {
        let n = p.count
        var i = 2
        var width = 0, height = 0, scans = 0, progressive = false, haveFrame = false
        while i + 1 < n {
            guard p[i] == 0xFF else { throw ImageRefusal.malformed("JPEG marker expected at byte \(i)") }
            var m = p[i + 1]
            i += 2
            while m == 0xFF, i < n { m = p[i]; i += 1 }   // fill bytes
            if m == 0xD9 { break }                           // EOI
            if m == 0x01 || (0xD0...0xD7).contains(m) { continue }
            guard i + 1 < n else { break }
            let len = be16(p, i)
            guard len >= 2, i + len <= n else { throw ImageRefusal.malformed("JPEG segment runs past the end") }
            switch m {
            case 0xC0...0xCF where m != 0xC4 && m != 0xC8 && m != 0xCC:
                guard len >= 7 else { throw ImageRefusal.malformed("short JPEG frame header") }
                if !haveFrame {
                    height = be16(p, i + 3); width = be16(p, i + 5)
                    progressive = [0xC2, 0xC6, 0xCA, 0xCE].contains(m)
                    haveFrame = true
                }
            case 0xDA:
                guard haveFrame else { throw ImageRefusal.malformed("JPEG scan before the frame header") }
                scans += 1
                i += len
                // Entropy-coded data up to the next marker that is not a stuffed byte or a restart marker.
                while i < n {
                    guard let base = p.baseAddress, let hit = memchr(base + i, 0xFF, n - i) else { i = n; break }
                    let j = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if j + 1 >= n { i = n; break }
                    let next = p[j + 1]
                    if next == 0x00 || (0xD0...0xD7).contains(next) { i = j + 2; continue }
                    if next == 0xFF { i = j + 1; continue }   // fill byte before a marker
                    i = j
                    break
                }
                continue
            default: break
            }
            i += len
        }
        guard haveFrame else { throw ImageRefusal.malformed("JPEG without a frame header") }
        guard width > 0, height > 0 else { throw ImageRefusal.malformed("JPEG of size 0 (or size given after the data)") }
        return ImageHeader(format: .jpeg, width: width, height: height, scans: scans, progressive: progressive)
    }
}

extension Image {
    /// Decodes untrusted bytes with `limits`: only JPEG and PNG; the header's size and scan count are checked before
    /// any pixel is decoded, and the decoder stops a JPEG that reaches the scan or CPU-time bound while decoding.
    public static func decode(_ data: Data, limits: DecodeLimits, name: String = "image data") throws -> Image {
        _ = try ImageHeader.check(data, limits)
        let (h, msg) = data.withUnsafeBytes { raw in
            withErrorBuffer {
                fg_image_decode_bounded(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, Double(limits.maxPixels),
                                        Int32(limits.maxScans), Int32(limits.maxCPUMilliseconds), $0, $1)
            }
        }
        guard let h else { throw ImageRefusal.undecodable("\(name): \(msg)") }
        return Image(handle: h)
    }
}
