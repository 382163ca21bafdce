import FaceGateCore
import FaceGateVision
import Foundation

/// Anything that yields timestamped frames: image files, a directory, a video file, a camera, a socket.
public protocol FrameSource: AnyObject {
    var name: String { get }
    /// Nominal frame rate (frames per second), for writers and pacing.
    var fps: Double { get }
    /// The next frame, nil at the end.
    func next() throws -> Frame?
}

public enum MediaKind {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff", "pgm", "ppm"]
    public static let videoExtensions: Set<String> = ["mp4", "mov", "webm", "avi", "mkv", "m4v", "y4m", "mpg", "mpeg"]
    public static func isImage(_ path: String) -> Bool { imageExtensions.contains((path as NSString).pathExtension.lowercased()) }
    public static func isVideo(_ path: String) -> Bool { videoExtensions.contains((path as NSString).pathExtension.lowercased()) }
}

/// A list of image files, one frame each; timestamps are the frame index (seconds).
public final class ImageFilesSource: FrameSource {
    public let name: String
    public let paths: [String]
    public let fps = 1.0
    private var i = 0
    /// Files that could not be read, with the reason (the source skips them).
    public private(set) var skipped: [(path: String, error: FaceGateError)] = []
    private let skipUnreadable: Bool
    /// EXIF orientation: `.stored` (default) reads the pixels as stored; `.exif` rotates as `cv2.imread` does (the
    /// passive cues use it: Silent-Face's models were run on upright photos).
    public var orientation: ImageOrientation = .stored

    public init(paths: [String], name: String? = nil, skipUnreadable: Bool = false) {
        self.paths = paths
        self.name = name ?? (paths.count == 1 ? paths[0] : "\(paths.count) images")
        self.skipUnreadable = skipUnreadable
    }

    /// All images in a directory, sorted by name (non-image files are ignored).
    public convenience init(directory: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw FaceGateError.missingFile(directory)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        let files = names.filter { MediaKind.isImage($0) }.map { directory + "/" + $0 }
        guard !files.isEmpty else { throw FaceGateError.badInput("no images (jpg, png, bmp, webp) in \(directory)") }
        self.init(paths: files, name: directory, skipUnreadable: true)
    }

    public func next() throws -> Frame? {
        while i < paths.count {
            let p = paths[i]
            let index = i
            i += 1
            do {
                return Frame(image: try Image.read(p, orientation: orientation), index: index, timestamp: Double(index))
            } catch let e as FaceGateError where skipUnreadable {
                skipped.append((p, e))
            }
        }
        return nil
    }
}

/// A video file or camera.
public final class VideoSource: FrameSource {
    public let reader: VideoReader
    public var name: String { reader.name }
    public var fps: Double { reader.fps }
    public init(reader: VideoReader) { self.reader = reader }
    public static func file(_ path: String) throws -> VideoSource { VideoSource(reader: try VideoReader.open(path)) }
    public static func camera(_ spec: String) throws -> VideoSource { VideoSource(reader: try VideoReader.camera(spec)) }
    public func next() throws -> Frame? { try reader.next() }
}

/// Frames handed over by someone else (e.g. a WebSocket): push decoded frames, the pipeline pulls them.
public final class PushedFramesSource: FrameSource {
    public let name: String
    public let fps: Double
    private var queue: [Frame] = []
    public init(name: String, fps: Double = 15) { self.name = name; self.fps = fps }
    public func push(_ f: Frame) { queue.append(f) }
    public func next() throws -> Frame? { queue.isEmpty ? nil : queue.removeFirst() }
}

/// Opens what a user pointed at: a directory of images, an image file, or a video file.
public func openSource(_ path: String) throws -> FrameSource {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw FaceGateError.missingFile(path) }
    if isDir.boolValue { return try ImageFilesSource(directory: path) }
    if MediaKind.isImage(path) { return ImageFilesSource(paths: [path]) }
    return try VideoSource.file(path)
}
