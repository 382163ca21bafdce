import CFaceGate
import FaceGateCore
import Foundation

/// One decoded frame with its timestamp (seconds from the start of the source).
public struct Frame: @unchecked Sendable {
    public let image: Image
    public let index: Int
    public let timestamp: Double
    public init(image: Image, index: Int, timestamp: Double) {
        self.image = image; self.index = index; self.timestamp = timestamp
    }
}

/// Reads frames from a video file or a V4L2 camera. Not thread-safe; use from one task.
public final class VideoReader {
    let handle: OpaquePointer
    public let name: String
    public let isCamera: Bool
    private var nextIndex = 0
    private var lastTimestamp = -Double.infinity

    private init(handle: OpaquePointer, name: String, isCamera: Bool) {
        self.handle = handle; self.name = name; self.isCamera = isCamera
    }
    deinit { fg_video_free(handle) }

    /// Opens a video file (mp4, mov, webm, avi, mkv... through OpenCV's FFmpeg backend).
    public static func open(_ path: String) throws -> VideoReader {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw FaceGateError.missingFile(path) }
        if isDir.boolValue { throw FaceGateError.badInput("\(path) is a directory, not a video file") }
        let (h, msg) = withErrorBuffer { fg_video_open(path, $0, $1) }
        guard let h else { throw FaceGateError.unreadableMedia(path: path, detail: msg) }
        let reader = VideoReader(handle: h, name: path, isCamera: false)
        // A file that opens but yields no frame (truncated, or not a video at all) is unreadable: decode the
        // first frame now and hand it out on the first `next()`.
        guard let first = try? reader.readFrame() else {
            throw FaceGateError.unreadableMedia(path: path, detail: "no decodable video frame")
        }
        reader.pending = first
        return reader
    }

    /// Opens a camera: "0", "1", ... (index) or a device path such as "/dev/video2".
    public static func camera(_ spec: String, width: Int = 640, height: Int = 480) throws -> VideoReader {
        let index = Int(spec) ?? -1
        if index < 0 && !FileManager.default.fileExists(atPath: spec) {
            throw FaceGateError.cameraUnavailable("\(spec) (no such device)")
        }
        let (h, msg) = withErrorBuffer { fg_camera_open(Int32(index), spec, Int32(width), Int32(height), $0, $1) }
        guard let h else { throw FaceGateError.cameraUnavailable("\(spec): \(msg)") }
        return VideoReader(handle: h, name: "camera \(spec)", isCamera: true)
    }

    public var fps: Double { fg_video_fps(handle) }
    /// Cameras: the driver's V4L2 buffer timestamp of the last frame read (seconds, CLOCK_MONOTONIC, µs resolution),
    /// nil for files or when the driver gave none. `Frame.timestamp` of a camera is the read time instead.
    public var sensorTimestamp: Double? {
        let ms = fg_video_sensor_ms(handle)
        return ms > 0 ? ms / 1000 : nil
    }
    /// Frame count reported by the container (may be 0 or approximate).
    public var frameCount: Int { Int(fg_video_frame_count(handle)) }
    public var width: Int { Int(fg_video_width(handle)) }
    public var height: Int { Int(fg_video_height(handle)) }

    private var pending: Frame?

    /// The next frame, or nil at the end. Timestamps are strictly increasing.
    public func next() throws -> Frame? {
        if let p = pending { pending = nil; return p }
        return try readFrame()
    }

    private func readFrame() throws -> Frame? {
        var img: OpaquePointer? = nil
        var t = 0.0
        let rc = fg_video_read(handle, &img, &t)
        if rc == 0 { return nil }
        guard rc > 0, let img else { throw FaceGateError.unreadableMedia(path: name, detail: "decode error at frame \(nextIndex)") }
        if t <= lastTimestamp { t = lastTimestamp + 1 / max(fps, 1) }
        lastTimestamp = t
        defer { nextIndex += 1 }
        return Frame(image: Image(handle: img), index: nextIndex, timestamp: t)
    }
}

/// Writes an annotated video (mp4 / avi / mkv).
public final class VideoWriter {
    let handle: OpaquePointer
    public let path: String
    public init(path: String, fps: Double, width: Int, height: Int) throws {
        let (h, msg) = withErrorBuffer { fg_writer_open(path, fps, Int32(width), Int32(height), $0, $1) }
        guard let h else { throw FaceGateError.badInput("cannot write video \(path): \(msg)") }
        self.handle = h
        self.path = path
    }
    deinit { fg_writer_free(handle) }
    public func write(_ image: Image) { _ = fg_writer_write(handle, image.handle) }
}
