import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import FaceGateVision
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure per-stage latency (median, p90) on one core and peak memory.",
        discussion: "Build with `swift build -c release` first: debug builds of the Swift layers are much slower.")

    @Option(help: "Video to measure on (frames are resized to 640x480). Default: --image repeated.")
    var video: String?
    @Option(help: "Image with a face to measure on (default: the test photo fetched by `make testdata`).")
    var image: String?
    @Option(help: "Frames to time for the tracked-frame stage.") var frames = 300
    @Option(help: "Repetitions for single-image stages.") var repeats = 50
    @Option(help: "Worker threads for native code (1 = one core, as the targets are stated).") var threads = 1
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Instead of the face stages: measure 1:N identify on a synthetic gallery of N random templates (see bench-gallery).")
    var gallery: Int?
    @OptionGroup var modelOptions: ModelOptions

    struct StageJSON: Encodable {
        var stage: String; var median_ms: Double; var p90_ms: Double; var cpu_median_ms: Double; var cpu_p90_ms: Double; var samples: Int
    }
    struct Output: Encodable { var stages: [StageJSON]; var peak_memory_bytes: Int; var threads: Int }

    static let defaultImageCandidates = ["testdata/images/obama.jpg", "testdata/images/biden.jpg"]

    func run() async throws {
        if let n = gallery {
            let sub = try BenchGalleryCommand.parse([String(n)] + (json ? ["--json"] : []))
            try await sub.run()
            return
        }
        try await reportingErrors {
            NativeRuntime.setThreads(threads)
            let engine = try modelOptions.engine()
            var frames640: [Image] = []
            var decode = LatencySamples(name: "decode")
            if let v = video {
                let reader = try VideoReader.open(v)
                while frames640.count < frames {
                    guard let f = try decode.time({ try reader.next() }) else { break }
                    frames640.append(f.image.resized(width: 640, height: 480))
                }
                guard !frames640.isEmpty else { throw FaceGateError.unreadableMedia(path: v, detail: "no frames") }
            } else {
                guard let path = image ?? Self.defaultImageCandidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                    throw FaceGateError.badInput("no input: pass --video F or --image F (or run `make testdata`)")
                }
                let img = try Image.read(path)
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                for _ in 0..<repeats { _ = try decode.time { try Image.decode(data) } }
                frames640 = [Self.letterbox(img, width: 640, height: 480)]
            }

            // Find a frame with a face for the single-face stages.
            guard let (face, faceFrame) = frames640.lazy.compactMap({ f in engine.analyze(f).primary.map { ($0, f) } }).first else {
                throw FaceGateError.noFace(video ?? image ?? "bench input")
            }
            var detect = LatencySamples(name: "detect \(engine.detector.kind.shortName) 320x240")
            let small = faceFrame.resized(width: 320, height: 240)
            for _ in 0..<repeats { _ = detect.time { engine.detector.detect(small) } }
            var landmarks = LatencySamples(name: "landmarks 68")
            for _ in 0..<repeats * 4 { _ = landmarks.time { engine.landmarks.predict(faceFrame, box: face.box) } }
            var pose = LatencySamples(name: "pose solvePnP")
            for _ in 0..<repeats * 4 { _ = pose.time { PoseEstimator.pose(face.landmarks, width: 640, height: 480) } }
            var embed = LatencySamples(name: "align + embed")
            _ = try engine.embedding(faceFrame, face: face)  // load the model outside the timing
            for _ in 0..<max(10, repeats / 2) { _ = try embed.time { try engine.embedding(faceFrame, face: face) } }
            // Parts of "align + embed": the 5-point alignment landmarks and the 150x150 chip (fast sampler vs dlib's).
            var align5 = LatencySamples(name: "  5-point landmarks")
            var chipFast = LatencySamples(name: "  chip 150x150 (fast)")
            var chipDlib = LatencySamples(name: "  chip 150x150 (dlib)")
            let pts5 = try engine.alignmentPoints(faceFrame, face: face)
            for _ in 0..<repeats {
                _ = try align5.time { try engine.alignmentPoints(faceFrame, face: face) }
                _ = chipFast.time { faceChip(faceFrame, points: pts5, size: 150, padding: 0.25, sampler: .fast) }
                _ = chipDlib.time { faceChip(faceFrame, points: pts5, size: 150, padding: 0.25, sampler: .dlibReference) }
            }
            var tracked = LatencySamples(name: "tracked frame 640x480")
            let tracker = FaceTracker(engine: engine)
            for i in 0..<frames {
                let img = frames640[i % frames640.count]
                _ = tracked.time { tracker.process(img, index: i, timestamp: Double(i) / 30) }
            }
            let stages = [decode, detect, landmarks, pose, embed, align5, chipFast, chipDlib, tracked]
                + PassiveBench.stages(frame: faceFrame, face: face, models: modelOptions.directory, repeats: repeats)
                + (try TrainingBench.stages(image: faceFrame, landmarks: face.landmarks, repeats: repeats))
            let peak = NativeRuntime.peakResidentBytes
            if json {
                print(jsonLine(Output(stages: stages.map {
                    StageJSON(stage: $0.name, median_ms: r($0.median), p90_ms: r($0.p90), cpu_median_ms: r($0.cpuMedian),
                              cpu_p90_ms: r($0.cpuP90), samples: $0.millis.count)
                }, peak_memory_bytes: peak, threads: threads)))
            } else {
                Self.printTable(stages)
                print("peak memory: \(formatBytes(peak)); native threads: \(threads)")
            }
        }
    }

    /// Prints stages as a table: wall-clock and thread-CPU median / p90.
    static func printTable(_ stages: [LatencySamples]) {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        print(pad("stage", 28) + "  wall median      p90   cpu median      p90   samples")
        for s in stages {
            print(pad(s.name, 28) + String(format: "  %8.3f ms %8.3f  %8.3f ms %8.3f  %8d", s.median, s.p90, s.cpuMedian, s.cpuP90, s.millis.count))
        }
    }

    /// Fits an image into width x height keeping its aspect ratio (black borders).
    static func letterbox(_ img: Image, width: Int, height: Int) -> Image {
        let s = min(Double(width) / Double(img.width), Double(height) / Double(img.height))
        let w = Int(Double(img.width) * s), h = Int(Double(img.height) * s)
        let scaled = img.resized(width: w, height: h)
        return scaled.cropped(Rect(x: -Double(width - w) / 2, y: -Double(height - h) / 2, width: Double(width), height: Double(height)))
    }
}
