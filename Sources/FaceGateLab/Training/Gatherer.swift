import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Settings of `facegate gather`.
public struct GatherOptions: Sendable {
    /// Use every Nth frame of a video (1 = every frame).
    public var skip = 5
    /// Lowest detection score kept (detector units: HOG/MMOD SVM margin, confidence 0…1 for YuNet/SSD).
    public var confidence = GatherOptions.defaultConfidence
    /// Side of the written crops.
    public var size = 64
    /// dlib face-chip padding around the landmarks (0.2 = 20 % of the face size on each side).
    public var margin = 0.2
    /// Class folder the crops go to (`real`, `fake`, `print`, …).
    public var label: String
    /// Source group written into file names (`group__…`); default: the video's file name.
    public var group: String?
    /// Skip a crop whose 16x16 grey thumbnail differs from the last written one of the same source by less than this
    /// mean absolute difference (grey levels).
    public var duplicateThreshold = GatherOptions.defaultDuplicateThreshold
    /// The input images are face crops already (another tool's dataset): when no face is detected, the whole image
    /// is taken as the face box for the landmarks.
    public var inputsAreCrops = false

    /// HOG scores of clear frontal webcam faces are 0.5–2.5; below 0.2 most hits were side views or partial faces
    /// in the fixture clips.
    public static let defaultConfidence = 0.2
    /// Consecutive frames of the nearly still fixture clip (lestari15 real, 30 fps webcam) differ by a median 1.2 and
    /// a 10th percentile 0.55 grey levels on 16x16 thumbnails of the chip: below 1.0 a crop only repeats sensor noise.
    public static let defaultDuplicateThreshold = 1.0
    /// Longer side for detection in video frames: faces in liveness recordings fill a good part of the frame, and
    /// HOG at 800 px finds faces ≥ ~100 px in 1080p frames in ≈30 ms.
    public static let detectSide = 800

    /// Longer side of a padded face crop for detection: the face then spans ~60 % of 400 px, well above HOG's 80 px.
    public static let paddedDetectSide = 400

    public init(label: String) { self.label = label }
}

/// What a gather run did.
public struct GatherStats: Sendable, Codable {
    public var inputs = 0
    public var framesRead = 0
    public var framesUsed = 0
    public var written = 0
    public var noFace = 0
    public var lowConfidence = 0
    public var duplicates = 0
    public var unreadable: [String] = []
    public var outputDirectory = ""
    public init() {}

    enum CodingKeys: String, CodingKey {
        case inputs, written, duplicates, unreadable
        case framesRead = "frames_read", framesUsed = "frames_used", noFace = "no_face", lowConfidence = "low_confidence"
        case outputDirectory = "output_directory"
    }
}

/// Crop settings of a gathered dataset, stored as `gather.json` in the dataset folder so training can record how to
/// cut crops at run time.
public struct GatherManifest: Codable, Sendable, Equatable {
    public var chipSize: Int
    public var margin: Double
    public var detector: String
    public static let fileName = "gather.json"
    enum CodingKeys: String, CodingKey { case chipSize = "chip_size", margin, detector }

    public static func read(_ dir: String) -> GatherManifest? {
        guard let d = try? Data(contentsOf: URL(fileURLWithPath: dir + "/" + fileName)) else { return nil }
        return try? JSONDecoder().decode(GatherManifest.self, from: d)
    }
    public func write(_ dir: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(self).write(to: URL(fileURLWithPath: dir + "/" + Self.fileName))
    }
}

/// Progress of a gather run.
public struct GatherProgress: Sendable {
    public var input: String
    public var inputIndex: Int
    public var inputs: Int
    public var frame: Int
    /// Frame count of the current video (nil when unknown, e.g. image folders or some WebM files).
    public var frames: Int?
    public var stats: GatherStats
}

/// Cuts aligned face crops out of videos and images into a dataset folder (`OUTPUT/<label>/<group>__….png`).
public final class Gatherer {
    public let engine: FaceEngine
    public let options: GatherOptions
    private var lastThumb: [String: [UInt8]] = [:]

    public init(engine: FaceEngine, options: GatherOptions) throws {
        guard options.skip >= 1 else { throw FaceGateError.badInput("--skip must be ≥ 1 (1 = every frame)") }
        guard (16...512).contains(options.size) else { throw FaceGateError.badInput("--size must be between 16 and 512 pixels") }
        guard (0...1).contains(options.margin) else { throw FaceGateError.badInput("--margin must be between 0 and 1") }
        guard Self.isSafeName(options.label) else {
            throw FaceGateError.badInput("--label '\(options.label)' must be a plain folder name (letters, digits, - and _), e.g. real or fake")
        }
        self.engine = engine
        self.options = options
    }

    static func isSafeName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } && !s.hasPrefix("-")
    }

    /// A group name safe inside `group__` file names.
    static func sanitizeGroup(_ s: String) -> String {
        var out = String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        while out.contains("__") { out = out.replacingOccurrences(of: "__", with: "_") }
        out = out.trimmingCharacters(in: CharacterSet(charactersIn: "_"))
        return out.isEmpty ? "source" : out
    }

    /// The media a path stands for: a video, an image, or a directory of them (one level).
    public static func inputs(_ path: String) throws -> (videos: [String], imageDirs: [String: [String]]) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw FaceGateError.missingFile(path) }
        if !isDir.boolValue {
            if MediaKind.isImage(path) { return ([], [(path as NSString).deletingLastPathComponent: [path]]) }
            return ([path], [:])
        }
        let names = try fm.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix(".") }.sorted()
        let videos = names.filter(MediaKind.isVideo).map { path + "/" + $0 }
        let images = names.filter(MediaKind.isImage).map { path + "/" + $0 }
        guard !videos.isEmpty || !images.isEmpty else {
            throw FaceGateError.badInput("no videos (mp4, mov, webm, avi, mkv) or images (jpg, png) in \(path)")
        }
        return (videos, images.isEmpty ? [:] : [path: images])
    }

    /// Gathers crops from `input` (video, image or directory) into `output`.
    public func run(input: String, output: String, progress: (GatherProgress) -> Void = { _ in }) throws -> GatherStats {
        let (videos, imageDirs) = try Self.inputs(input)
        let classDir = output + "/" + options.label
        try FileManager.default.createDirectory(atPath: classDir, withIntermediateDirectories: true)
        let manifest = GatherManifest(chipSize: options.size, margin: options.margin, detector: engine.detectorChoice.name)
        if let existing = GatherManifest.read(output) {
            if existing.chipSize != manifest.chipSize || abs(existing.margin - manifest.margin) > 1e-9 {
                throw FaceGateError.badInput("\(output) was gathered with --size \(existing.chipSize) --margin \(existing.margin); mixing crop settings in one dataset would mislead training — use the same settings or another --output folder")
            }
        } else {
            try manifest.write(output)
        }
        var stats = GatherStats()
        stats.outputDirectory = classDir
        let total = videos.count + imageDirs.count
        var k = 0
        for v in videos {
            k += 1
            let stem = ((v as NSString).lastPathComponent as NSString).deletingPathExtension
            let group = Self.sanitizeGroup(options.group ?? stem)
            let reader: VideoReader
            do { reader = try VideoReader.open(v) } catch let e as FaceGateError {
                stats.unreadable.append("\(v): \(e.description)")
                continue
            }
            stats.inputs += 1
            let count = reader.frameCount > 0 ? reader.frameCount : nil
            while let frame = try reader.next() {
                stats.framesRead += 1
                if frame.index % options.skip == 0 {
                    stats.framesUsed += 1
                    let name = group == Self.sanitizeGroup(stem) ? "\(group)__f\(String(format: "%06d", frame.index))"
                        : "\(group)__\(Self.sanitizeGroup(stem))_f\(String(format: "%06d", frame.index))"
                    process(frame.image, isVideo: true, group: group, fileName: name, classDir: classDir, stats: &stats)
                }
                progress(GatherProgress(input: v, inputIndex: k, inputs: total, frame: frame.index + 1, frames: count, stats: stats))
            }
        }
        for (dir, files) in imageDirs.sorted(by: { $0.key < $1.key }) {
            k += 1
            let group = Self.sanitizeGroup(options.group ?? (dir as NSString).lastPathComponent)
            stats.inputs += 1
            for (i, f) in files.enumerated() {
                stats.framesRead += 1
                if i % options.skip == 0 {
                    stats.framesUsed += 1
                    do {
                        let img = try Image.read(f)
                        let stem = Self.sanitizeGroup(((f as NSString).lastPathComponent as NSString).deletingPathExtension)
                        process(img, isVideo: false, group: group, fileName: "\(group)__\(stem)", classDir: classDir, stats: &stats)
                    } catch let e as FaceGateError {
                        stats.unreadable.append("\(f): \(e.description)")
                    }
                }
                progress(GatherProgress(input: dir, inputIndex: k, inputs: total, frame: i + 1, frames: files.count, stats: stats))
            }
        }
        if stats.inputs == 0 {
            throw FaceGateError.unreadableMedia(path: input, detail: stats.unreadable.first ?? "nothing could be decoded")
        }
        return stats
    }

    /// Detects the primary face, checks confidence and duplication, writes the aligned chip.
    private func process(_ image: Image, isVideo: Bool, group: String, fileName: String, classDir: String, stats: inout GatherStats) {
        var dets = engine.detector.detect(image, maxSide: GatherOptions.detectSide)
        if dets.isEmpty && options.inputsAreCrops && !isVideo {
            dets = detectInPadded(image)
            if dets.isEmpty {
                // A face crop whose face the detector misses (blur, replay colour shift): the whole picture is the box.
                dets = [Detection(box: Rect(x: 0, y: 0, width: Double(image.width), height: Double(image.height)),
                                  score: max(options.confidence, 0))]
            }
        } else if dets.isEmpty {
            // Small faces or tight crops: the still-image path (larger size, up-sampling, and a border so a face that
            // fills the whole picture still fits HOG's window).
            dets = detectLoosely(image)
        }
        guard !dets.isEmpty else { stats.noFace += 1; return }
        let ordered = FaceEngine.orderPrimaryFirst(dets.enumerated().map { i, d in
            FaceObservation(box: d.box, score: d.score, landmarks: Landmarks68(points: Array(repeating: d.box.center, count: 68)),
                            pose: HeadPose(yaw: 0, pitch: 0, roll: 0), tracked: false, trackID: i + 1)
        })
        guard let best = ordered.first else { stats.noFace += 1; return }
        if best.score < options.confidence { stats.lowConfidence += 1; return }
        let obs = engine.observe(image, box: best.box, score: best.score)
        guard let chip = faceChip(image, points: obs.landmarks.points, size: options.size, padding: options.margin) else {
            stats.noFace += 1; return
        }
        let thumb = chip.resized(width: 16, height: 16).grayBytes
        if let last = lastThumb[group], Self.meanAbsoluteDifference(last, thumb) < options.duplicateThreshold {
            stats.duplicates += 1
            return
        }
        lastThumb[group] = thumb
        // Never overwrite an earlier crop (two inputs with the same group and frame numbers).
        var path = classDir + "/" + fileName + ".png"
        var k = 2
        while FileManager.default.fileExists(atPath: path) {
            path = classDir + "/" + fileName + "_\(k).png"; k += 1
        }
        do {
            try chip.write(path)
            stats.written += 1
        } catch {
            stats.unreadable.append("\(fileName): \(error)")
        }
    }

    private func detectLoosely(_ image: Image) -> [Detection] {
        let dets = engine.analyze(image).faces.map { Detection(box: $0.box, score: $0.score) }
        if !dets.isEmpty { return dets }
        return detectInPadded(image)
    }

    /// A tight face crop: pad by 30 % on each side so the face fits the detector window; boxes come back in the
    /// original image's coordinates.
    private func detectInPadded(_ image: Image) -> [Detection] {
        let padX = Double(image.width) * 0.3, padY = Double(image.height) * 0.3
        let padded = image.cropped(Rect(x: -padX, y: -padY, width: Double(image.width) + 2 * padX, height: Double(image.height) + 2 * padY))
        return engine.detector.detect(padded, maxSide: GatherOptions.paddedDetectSide).map {
            Detection(box: Rect(x: $0.box.x - padX, y: $0.box.y - padY, width: $0.box.width, height: $0.box.height), score: $0.score)
        }
    }

    static func meanAbsoluteDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return .infinity }
        var s = 0
        for i in 0..<a.count { s += abs(Int(a[i]) - Int(b[i])) }
        return Double(s) / Double(a.count)
    }
}

extension DetectorChoice {
    /// The name as given on the command line.
    var name: String {
        switch self {
        case .hog: return "hog"
        case .mmod: return "mmod"
        case .haar: return "haar"
        case .catalog(let n): return n
        case .path(let p): return p
        }
    }
}
