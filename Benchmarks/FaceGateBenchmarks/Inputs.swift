import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Where the benchmark inputs are: models through `ModelDirectory.resolve()` (`FACEGATE_MODELS`, else the per-user
/// cache), media relative to the repository root found from this file's path.
enum Inputs {
    /// The repository root: Benchmarks/FaceGateBenchmarks/Inputs.swift → three levels up.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let models = ModelDirectory.resolve()

    /// The test photo `facegate bench` uses by default (fetched by `make testdata`).
    static let testPhoto = repoRoot.appendingPathComponent("testdata/images/obama.jpg").path

    /// A real moving-face clip from the shared fixtures (head turns ±20°, blinks; 512x512, 30 fps): the clip
    /// docs/benchmarks.md measures `facegate bench --video` on, so the two tools see the same frames.
    static let motionClip = repoRoot.appendingPathComponent(
        "../shared/fixtures/motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4").standardizedFileURL.path

    /// The fixture copy of MiniFASNetV2, used when none is installed (as `PassiveBench` does).
    static let fixtureMiniFASNet = repoRoot.appendingPathComponent(
        "../shared/fixtures/models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models/2.7_80x80_MiniFASNetV2.onnx")
        .standardizedFileURL.path

    /// The installed MiniFASNetV2, else the fixture copy, else nil.
    static var miniFASNetPath: String? {
        if let p = try? models.locate(ModelCatalog.miniFASNetV2.file, verify: false) { return p }
        return FileManager.default.fileExists(atPath: fixtureMiniFASNet) ? fixtureMiniFASNet : nil
    }

    // MARK: - Requirements (checked when benchmarks are registered: cheap, no model is loaded)

    /// Nil when the model file is present, else why the benchmark is skipped.
    static func missing(_ m: ModelFile) -> String? {
        let fm = FileManager.default
        if m.fileName.isEmpty || models.candidatePaths(for: m).contains(where: { fm.fileExists(atPath: $0) }) { return nil }
        return "model \(m.fileName) not found in \(models.path) (run `\(BaseModels.fetchCommand)` or set FACEGATE_MODELS)"
    }

    static var missingTestPhoto: String? {
        FileManager.default.fileExists(atPath: testPhoto) ? nil : "test photo \(testPhoto) not found (run `make testdata`)"
    }

    // MARK: - Prepared inputs (built in the benchmark's own process, before its timed iterations)

    /// A face on one 640x480 frame: the test photo letterboxed as `facegate bench` does.
    struct FaceScene {
        let engine: FaceEngine
        let frame: Image
        let face: FaceObservation
    }

    static func faceScene() throws -> FaceScene {
        let engine = try FaceEngine(models: models)
        let frame = letterbox(try Image.read(testPhoto), width: 640, height: 480)
        guard let face = engine.analyze(frame).primary else { throw FaceGateError.noFace(testPhoto) }
        return FaceScene(engine: engine, frame: frame, face: face)
    }

    /// Frames of the moving sequence the tracker benchmarks cycle through.
    static let sequenceLength = 60  // 2 s at 30 fps: ~55 MB of decoded 640x480 frames held in memory

    /// A short moving 640x480 sequence, decoded before timing: the fixture clip if present (resized to 640x480 as
    /// `facegate bench --video` does), else the test photo shifted and zoomed frame by frame. Played forward then
    /// backward, so cycling through it never jumps.
    static func motionSequence() throws -> (frames: [Image], source: String) {
        var frames: [Image] = []
        var source: String
        if FileManager.default.fileExists(atPath: motionClip) {
            let reader = try VideoReader.open(motionClip)
            while frames.count < sequenceLength, let f = try reader.next() {
                frames.append(f.image.resized(width: 640, height: 480))
            }
            source = "fixture clip \(URL(fileURLWithPath: motionClip).lastPathComponent) (\(frames.count) frames)"
        } else {
            guard missingTestPhoto == nil else {
                throw FaceGateError.badInput("no moving sequence: neither \(motionClip) nor \(testPhoto) exists (run `make testdata`)")
            }
            let base = letterbox(try Image.read(testPhoto), width: 640, height: 480)
            for i in 0..<sequenceLength {
                // Zoom 0.9–1.1x and drift ±30/±12 px: the face keeps moving like a hand-held selfie.
                let t = Double(i) / Double(sequenceLength) * 2 * Double.pi
                let zoom = 1 + 0.1 * sin(t)
                let w = 640 / zoom, h = 480 / zoom
                let cx = 320 + 30 * sin(1.5 * t), cy = 240 + 12 * cos(t)
                frames.append(base.cropped(Rect(x: cx - w / 2, y: cy - h / 2, width: w, height: h)).resized(width: 640, height: 480))
            }
            source = "test photo shifted/zoomed (\(frames.count) frames)"
        }
        guard frames.count >= 2 else { throw FaceGateError.unreadableMedia(path: motionClip, detail: "fewer than 2 frames") }
        return (frames + frames.dropFirst().dropLast().reversed(), source)
    }

    /// Fits an image into width x height keeping its aspect ratio (black borders), as `facegate bench` does.
    static func letterbox(_ img: Image, width: Int, height: Int) -> Image {
        let s = min(Double(width) / Double(img.width), Double(height) / Double(img.height))
        let w = Int(Double(img.width) * s), h = Int(Double(img.height) * s)
        let scaled = img.resized(width: w, height: h)
        return scaled.cropped(Rect(x: -Double(width - w) / 2, y: -Double(height - h) / 2, width: Double(width), height: Double(height)))
    }
}
