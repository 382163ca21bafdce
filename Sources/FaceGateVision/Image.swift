import CFaceGate
import FaceGateCore
import Foundation

/// An 8-bit BGR image owned by native code. Freed on deinit.
///
/// Not thread-safe for concurrent mutation (drawing); safe to share read-only between threads.
public final class Image: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }
    deinit { fg_image_free(handle) }

    /// Reads an image file (jpg, png, bmp, webp, ...). Throws a typed error for missing or undecodable files.
    public static func read(_ path: String) throws -> Image {
        try readFile(path) { fg_image_read(path, $0, $1) }
    }

    /// The checks every still-image read shares (missing file, a directory, undecodable bytes), around a native reader.
    static func readFile(_ path: String, _ native: (UnsafeMutablePointer<CChar>, Int32) -> OpaquePointer?) throws -> Image {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw FaceGateError.missingFile(path) }
        if isDir.boolValue { throw FaceGateError.badInput("\(path) is a directory, not an image file") }
        let (h, msg) = withErrorBuffer(native)
        guard let h else { throw FaceGateError.unreadableMedia(path: path, detail: msg) }
        return Image(handle: h)
    }

    /// Decodes encoded bytes (JPEG, PNG, ...).
    public static func decode(_ data: Data, name: String = "image data") throws -> Image {
        let (h, msg) = data.withUnsafeBytes { raw in
            withErrorBuffer { fg_image_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, $0, $1) }
        }
        guard let h else { throw FaceGateError.unreadableMedia(path: name, detail: msg) }
        return Image(handle: h)
    }

    /// A solid image.
    public convenience init(width: Int, height: Int, color: Color = .black) {
        guard let h = fg_image_new(Int32(width), Int32(height), UInt8(color.b), UInt8(color.g), UInt8(color.r)) else {
            fatalError("cannot allocate \(width)x\(height) image")
        }
        self.init(handle: h)
    }

    /// From tightly packed BGR bytes.
    public static func fromBGR(_ bytes: [UInt8], width: Int, height: Int) -> Image? {
        guard bytes.count >= width * height * 3 else { return nil }
        return bytes.withUnsafeBufferPointer { p in
            fg_image_from_bgr(p.baseAddress, Int32(width), Int32(height), Int32(width * 3)).map(Image.init(handle:))
        }
    }
    /// From 8-bit grey bytes.
    public static func fromGray(_ bytes: [UInt8], width: Int, height: Int) -> Image? {
        guard bytes.count >= width * height else { return nil }
        return bytes.withUnsafeBufferPointer { p in
            fg_image_from_gray(p.baseAddress, Int32(width), Int32(height), Int32(width)).map(Image.init(handle:))
        }
    }

    public var width: Int { Int(fg_image_width(handle)) }
    public var height: Int { Int(fg_image_height(handle)) }

    /// Copy of the BGR bytes (row-major, stride = width * 3).
    public var bgrBytes: [UInt8] {
        let n = width * height * 3
        guard let p = fg_image_data(handle) else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }
    /// Direct access to the BGR bytes.
    public func withBGRBytes<T>(_ body: (UnsafeMutableBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let n = width * height * 3
        return try body(UnsafeMutableBufferPointer(start: fg_image_data(handle), count: n))
    }
    /// Greyscale bytes (width * height).
    public var grayBytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height)
        out.withUnsafeMutableBufferPointer { fg_image_gray(handle, $0.baseAddress) }
        return out
    }

    public func clone() -> Image { Image(handle: fg_image_clone(handle)!) }

    public func write(_ path: String) throws {
        let (rc, msg) = withErrorBuffer { fg_image_write(handle, path, $0, $1) }
        if rc != 0 { throw FaceGateError.badInput("cannot write \(path): \(msg)") }
    }

    /// Encoded bytes; `ext` like ".jpg" or ".png".
    public func encoded(_ ext: String = ".jpg", quality: Int = 90) -> Data? {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = fg_image_encode(handle, ext, Int32(quality), &out)
        guard n > 0, let out else { return nil }
        defer { fg_buffer_free(out) }
        return Data(bytes: out, count: n)
    }
    public func jpeg(quality: Int = 90) -> Data? { encoded(".jpg", quality: quality) }

    public func resized(width: Int, height: Int) -> Image {
        Image(handle: fg_image_resize(handle, Int32(max(1, width)), Int32(max(1, height)))!)
    }
    /// Resized so the longer side is at most `maxSide` (returns self when already small enough).
    public func limited(maxSide: Int) -> Image {
        let longer = max(width, height)
        guard longer > maxSide else { return self }
        let s = Double(maxSide) / Double(longer)
        return resized(width: Int((Double(width) * s).rounded()), height: Int((Double(height) * s).rounded()))
    }
    /// A cut-out; parts outside the image are black.
    public func cropped(_ r: Rect) -> Image {
        let w = max(1, Int(r.width.rounded())), h = max(1, Int(r.height.rounded()))
        return Image(handle: fg_image_crop(handle, Int32(r.x.rounded()), Int32(r.y.rounded()), Int32(w), Int32(h))!)
    }
    public func flippedHorizontally() -> Image { Image(handle: fg_image_flip(handle, 1)!) }
    public func flippedVertically() -> Image { Image(handle: fg_image_flip(handle, 0)!) }
    /// Rotated counter-clockwise by `degrees` about `center` (default: image centre), same size.
    public func rotated(degrees: Double, center: Point2? = nil) -> Image {
        let c = center ?? Point2(Double(width) / 2, Double(height) / 2)
        return Image(handle: fg_image_rotate(handle, degrees, c.x, c.y)!)
    }
    /// Warped by a row-major 3x3 homography into a `width` x `height` output.
    public func warped(homography h: [Double], width: Int, height: Int, replicateBorder: Bool = false) -> Image {
        precondition(h.count == 9)
        return h.withUnsafeBufferPointer {
            Image(handle: fg_image_warp_perspective(handle, $0.baseAddress, Int32(width), Int32(height), replicateBorder ? 1 : 0)!)
        }
    }

    /// Variance of the Laplacian in a region (focus measure).
    public func sharpness(in r: Rect) -> Double {
        fg_sharpness(handle, Int32(r.x), Int32(r.y), Int32(r.width), Int32(r.height))
    }
    /// Mean grey level 0…255 in a region.
    public func brightness(in r: Rect) -> Double {
        fg_brightness(handle, Int32(r.x), Int32(r.y), Int32(r.width), Int32(r.height))
    }

    // MARK: drawing (in place)
    public func drawRect(_ r: Rect, color: Color, thickness: Int = 2) {
        fg_draw_rect(handle, Int32(r.x), Int32(r.y), Int32(r.width), Int32(r.height), Int32(color.r), Int32(color.g), Int32(color.b), Int32(thickness))
    }
    public func fillRect(_ r: Rect, color: Color, alpha: Double = 1) {
        fg_draw_filled_rect(handle, Int32(r.x), Int32(r.y), Int32(r.width), Int32(r.height), Int32(color.r), Int32(color.g), Int32(color.b), alpha)
    }
    public func drawLine(_ a: Point2, _ b: Point2, color: Color, thickness: Int = 2) {
        fg_draw_line(handle, Int32(a.x), Int32(a.y), Int32(b.x), Int32(b.y), Int32(color.r), Int32(color.g), Int32(color.b), Int32(thickness))
    }
    public func drawCircle(_ c: Point2, radius: Int, color: Color, thickness: Int = 1) {
        fg_draw_circle(handle, Int32(c.x), Int32(c.y), Int32(radius), Int32(color.r), Int32(color.g), Int32(color.b), Int32(thickness))
    }
    public func drawEllipse(center c: Point2, axes: (Int, Int), color: Color, thickness: Int = 2) {
        fg_draw_ellipse(handle, Int32(c.x), Int32(c.y), Int32(axes.0), Int32(axes.1), Int32(color.r), Int32(color.g), Int32(color.b), Int32(thickness))
    }
    /// Draws text with its baseline at `origin`; returns the width in pixels. ASCII only (Hershey font).
    @discardableResult
    public func drawText(_ text: String, at origin: Point2, scale: Double = 0.6, color: Color = .white, thickness: Int = 1) -> Int {
        Int(fg_draw_text(handle, text, Int32(origin.x), Int32(origin.y), scale, Int32(color.r), Int32(color.g), Int32(color.b), Int32(thickness)))
    }
    public static func textWidth(_ text: String, scale: Double = 0.6, thickness: Int = 1) -> Int {
        Int(fg_text_width(text, scale, Int32(thickness)))
    }
}
