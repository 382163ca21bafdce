import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Detect faces, 68 landmarks, head pose, eye and mouth aspect ratios in an image, a directory of images or a video.")

    @Argument(help: "Image file, directory of images, or video file.")
    var input: String

    @Flag(help: "One JSON object per frame per line.")
    var json = false

    @Option(help: "Write an annotated copy: OUT.png/jpg for images (a directory for a directory input), OUT.mp4 for videos.")
    var annotate: String?

    @OptionGroup var modelOptions: ModelOptions

    struct FaceJSON: Encodable {
        var box: [Int]
        var score: Double
        var pose: [String: Double]
        var ear: [String: Double]
        var mar: Double
        var landmarks: [[Double]]
        var tracked: Bool
    }
    struct FrameJSON: Encodable {
        var frame: Int
        var t: Double
        var faces: [FaceJSON]
    }

    func run() async throws {
        try await reportingErrors {
            let source = try openSource(input)
            let engine = try modelOptions.engine()
            let isVideo = source is VideoSource
            let tracker = isVideo ? FaceTracker(engine: engine) : nil
            var writer: VideoWriter?
            if let out = annotate, !isVideo, source is ImageFilesSource, (source as! ImageFilesSource).paths.count > 1 {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            }
            var frames = 0, withFace = 0
            while let frame = try source.next() {
                let analysis = tracker?.process(frame) ?? engine.analyze(frame.image, index: frame.index, timestamp: frame.timestamp)
                frames += 1
                if !analysis.faces.isEmpty { withFace += 1 }
                if json {
                    print(jsonLine(Self.frameJSON(analysis)))
                } else {
                    Self.printHuman(analysis, name: isVideo ? nil : (source as? ImageFilesSource)?.paths[frame.index])
                }
                if let out = annotate {
                    let canvas = frame.image.clone()
                    Annotator.drawAnalysis(analysis, on: canvas)
                    if isVideo {
                        if writer == nil {
                            writer = try VideoWriter(path: out, fps: source.fps, width: canvas.width, height: canvas.height)
                        }
                        writer?.write(canvas)
                    } else if let files = source as? ImageFilesSource, files.paths.count > 1 {
                        let base = ((files.paths[frame.index] as NSString).lastPathComponent as NSString).deletingPathExtension
                        try canvas.write(out + "/" + base + ".png")
                    } else {
                        try canvas.write(out)
                    }
                }
            }
            if let files = source as? ImageFilesSource {
                for (p, e) in files.skipped { printError("facegate: skipped \(p): \(e.description)") }
            }
            if frames == 0 { throw FaceGateError.unreadableMedia(path: input, detail: "no frame could be decoded") }
            if withFace == 0 { printError("facegate: no face found in \(input)") }
        }
    }

    static func frameJSON(_ a: FrameAnalysis) -> FrameJSON {
        FrameJSON(frame: a.index, t: r(a.timestamp, 4), faces: a.faces.map { f in
            FaceJSON(box: f.box.intArray, score: r(f.score),
                     pose: ["yaw": r(f.pose.yaw, 2), "pitch": r(f.pose.pitch, 2), "roll": r(f.pose.roll, 2)],
                     ear: ["left": r(f.ear.left), "right": r(f.ear.right)], mar: r(f.mar),
                     landmarks: f.landmarks.points.map { [r($0.x, 1), r($0.y, 1)] }, tracked: f.tracked)
        })
    }

    static func printHuman(_ a: FrameAnalysis, name: String?) {
        let head = name.map { "\($0)" } ?? String(format: "frame %d t=%.3fs", a.index, a.timestamp)
        if a.faces.isEmpty { print("\(head): no face"); return }
        print("\(head): \(a.faces.count) face\(a.faces.count == 1 ? "" : "s")")
        for (i, f) in a.faces.enumerated() {
            print(String(format: "  %@ box [%d %d %d %d] score %.2f  yaw %+.1f° pitch %+.1f° roll %+.1f°  EAR L %.2f R %.2f  MAR %.2f",
                         i == 0 ? "primary" : "face \(i + 1)", f.box.intArray[0], f.box.intArray[1], f.box.intArray[2], f.box.intArray[3],
                         f.score, f.pose.yaw, f.pose.pitch, f.pose.roll, f.ear.left, f.ear.right, f.mar))
        }
    }
}
