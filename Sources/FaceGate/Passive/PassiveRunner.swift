import FaceGateCore
import FaceGateVision
import Foundation

/// A trained real/fake face classifier (`facegate train`: the LBP colour-texture SVM or LivenessNet). It cuts its
/// own crop from the frame and the face's landmarks, exactly as `facegate gather` did for its training data.
public protocol PadTextureClassifier: AnyObject {
    /// Calibrated probability that the face is real, nil when it cannot classify this face.
    func realProbability(image: Image, landmarks: [Point2]) -> Double?
}

extension LivenessModel: PadTextureClassifier {}

/// Everything the passive analysis can use besides the frames.
public struct PassiveOptions {
    public var mode: PassiveMode = .light
    /// Anti-spoof classifiers, fused by summed softmax.
    public var models: [PadModel] = []
    public var texture: (any PadTextureClassifier)?
    /// Depth frames aligned with the colour frames.
    public var depth: DepthSequence?
    /// Gyroscope trace on the frames' clock.
    public var gyro: GyroTrace?
    /// Frames analysed at most (10 s at 30 fps): the cues saturate well before.
    public var maxFrames = 300
    /// Operating point on the fused score (`facegate calibrate-pad`, config `liveness.pad_threshold`): refused when
    /// the score is below it. Clamped to 0.5…0.95 by `PassiveFusion` (stricter than the cues, never looser).
    public var scoreThreshold = PassiveFusion.defaultScoreThreshold
    public init() {}
}

/// Work schedule: which cue runs on which frame. Costs measured on one core (release build, 640x480).
public enum PassiveSchedule {
    /// Bezel search (Canny + contours over the frame, ≈1.5 ms) runs every 3rd frame: a device does not come and go.
    public static let bezelEvery = 3
    /// Anti-spoof networks (≈3–5 ms each) and texture run every 5th frame of a video; every frame of a still.
    public static let modelEvery = 5
    /// Moiré spectrum (≈0.7 ms) every 2nd frame.
    public static let moireEvery = 2
    /// Working sizes (longer side, px) a still image's bezel search runs at, majority vote (`BezelCue.add(looks:)`):
    /// ±15 % around the cue's 320 px, so one still is judged over several looks as a video is over frames. A still is
    /// analysed once; each look costs ≈ 1–3 ms plus the shrink of the frame.
    public static let stillBezelSides = [272, 296, 320, 344, 368]
}

/// Runs the passive cues over the frames of one presentation, frame by frame, then fuses them.
public final class PassiveAnalyzer {
    public let options: PassiveOptions
    public private(set) var framesSeen = 0
    public private(set) var framesWithFace = 0
    var moire = MoireCue()
    var glare = GlareCue()
    var bezel = BezelCue()
    var flat = FlatnessCue()
    var nose = NoseDepthCue()
    var depth = DepthCue()
    var blink = BlinkCue()
    var banding = BandingCue()
    var texture: TextureCue
    var model: ModelCue
    var imu: ImuConsistencyCue?
    private var previous: (image: Image, t: Double, face: Point2?)?
    private let sharedModelLayout: Bool

    public init(options: PassiveOptions) {
        self.options = options
        texture = TextureCue(configured: options.texture != nil)
        let layouts = Set(options.models.map { "\($0.spec.realClass)" })
        sharedModelLayout = layouts.count <= 1
        model = ModelCue(realClass: sharedModelLayout ? (options.models.first?.spec.realClass ?? 1) : 1)
    }

    /// Analyses one frame. `isStill`: a single photo (every cue runs, no temporal cues).
    public func add(_ image: Image, analysis: FrameAnalysis, isStill: Bool = false) throws {
        framesSeen += 1
        let i = framesSeen - 1
        let face = analysis.primary
        // Refresh banding looks at the whole frame, face or not (a replay's bands cover the scene).
        if isStill { banding.addStill() } else if let p = PadNative.rowProfile(image) { banding.add(rowProfile: p, timestamp: analysis.timestamp) }
        if let face {
            framesWithFace += 1
            // The pixel cues measure in a landmark square, not the detector's box: the same part of the face at
            // every resolution (`PadFaceRegion`; HOG's box varies ±15 % with the image size).
            let box = PadFaceRegion.box(landmarks: face.landmarks.points, fallback: face.box)
            if isStill || i % PassiveSchedule.moireEvery == 0 { moire.add(PadNative.moire(image, face: box)) }
            glare.add(PadNative.glare(image, face: box))
            if isStill {
                bezel.add(looks: PassiveSchedule.stillBezelSides.map { PadNative.bezel(image, face: box, workingSide: $0) })
            } else if i % PassiveSchedule.bezelEvery == 0 {
                bezel.add(PadNative.bezel(image, face: box))
            }
            flat.add(face.landmarks) { PadNative.planarFit(from: $0, to: $1) }
            nose.add(face.landmarks, yawDegrees: face.pose.yaw)
            blink.add(face, stamp: FrameStamp(index: analysis.index, timestamp: analysis.timestamp))
            if isStill || i % PassiveSchedule.modelEvery == 0 {
                if !options.models.isEmpty {
                    let mbox = PadModel.faceBox(from: face.landmarks)
                    var frameProbs: [(voter: PadModelVoter, probs: [Double])] = []
                    for m in options.models {
                        var p: [Double]
                        if m.usesAlignedChip {  // a `facegate export` model: its own aligned chip
                            guard let q = try m.probabilities(image, landmarks: face.landmarks.points) else { continue }
                            p = q
                        } else {
                            p = try m.probabilities(image, box: mbox)
                        }
                        if !sharedModelLayout {
                            let real = m.spec.realClass < p.count ? p[m.spec.realClass] : 0
                            p = [1 - real, real]
                        }
                        frameProbs.append((m.voter, p))
                    }
                    model.add(frame: frameProbs, noiseSigma: Self.faceNoise(image, box: box))
                }
                if let t = options.texture {
                    texture.add(realProbability: t.realProbability(image: image, landmarks: face.landmarks.points))
                }
            }
            if let d = options.depth, let frame = try d.frame(at: i) {
                depth.add(frame.measure(in: box))
            }
        }
        if let gyro = options.gyro {
            if imu == nil { imu = ImuConsistencyCue(focalPixels: Double(image.width)) }
            let centre = face.map { Point2.mean($0.landmarks.points) }
            if let prev = previous, prev.image.width == image.width, prev.image.height == image.height {
                let rot = gyro.rotation(from: prev.t, to: analysis.timestamp)
                let scene = PadNative.motion(from: prev.image, to: image, face: face?.box, region: .background)
                let shift: Point2? = (centre != nil && prev.face != nil) ? centre! - prev.face! : nil
                imu?.add(rotation: rot, scene: scene, faceShift: shift)
            }
            previous = (image, analysis.timestamp, centre)
        }
    }

    /// Sensor noise σ of the face's landmark square (`SensorNoise`), clipped to the image: what the anti-spoof models
    /// see besides the face (`ModelCue.noisyFaceSigma`).
    public static func faceNoise(_ image: Image, box: Rect) -> Double? {
        let x0 = max(0, box.x.rounded()), y0 = max(0, box.y.rounded())
        let x1 = min(Double(image.width), (box.x + box.width).rounded()), y1 = min(Double(image.height), (box.y + box.height).rounded())
        guard x1 - x0 >= ModelCue.minimumNoiseSide, y1 - y0 >= ModelCue.minimumNoiseSide else { return nil }
        let crop = image.cropped(Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0))
        return SensorNoise.sigma(gray: crop.grayBytes, width: crop.width, height: crop.height)
    }

    /// Every cue's evaluator, in the order of `PadCue.analyzed` (one per cue; a cue without its input abstains).
    public var evaluators: [any PassiveCueEvaluator] {
        // The bezel sees the model's reading: a deny resting on its sides rule alone yields when the measured
        // catalogue models alone voted live (`BezelCue.yieldsTo`; the reading carries who voted).
        [texture, moire, banding, glare, bezel.deferring(to: model.reading), flat, nose, blink, depth,
         imu.map { $0 as any PassiveCueEvaluator } ?? AbsentCue(cue: .imu, note: "no gyroscope trace (--imu FILE.csv)"),
         model]
    }

    /// Every cue's current reading (in the fixed order of `PadCue.analyzed`).
    public var readings: [PadCueReading] { evaluators.map(\.reading) }

    public func verdict() -> PassiveVerdict { PassiveFusion.fuse(readings, mode: options.mode, scoreThreshold: options.scoreThreshold) }
}

/// A cue whose input was not given (no gyroscope trace): it abstains, saying what it needs.
struct AbsentCue: PassiveCueEvaluator {
    let cue: PadCue
    let note: String
    var reading: PadCueReading { .abstain(cue, note) }
}

/// The result of a passive run over a source.
public struct PassiveReport: Sendable {
    public var verdict: PassiveVerdict
    public var frames: Int
    public var framesWithFace: Int
    public var source: String
}

public enum PassiveRunner {
    /// Runs the passive cues over a source: a single image is analysed as a still (thorough detection), anything
    /// else is tracked frame by frame. Throws `noFace` when no frame had a face.
    public static func run(_ source: FrameSource, engine: FaceEngine, options: PassiveOptions,
                           onFrame: ((FrameAnalysis) -> Void)? = nil) throws -> PassiveReport {
        let analyzer = PassiveAnalyzer(options: options)
        let still = (source as? ImageFilesSource)?.paths.count == 1
        let tracker = still ? nil : FaceTracker(engine: engine)
        while analyzer.framesSeen < options.maxFrames, let frame = try source.next() {
            let a = tracker?.process(frame) ?? engine.analyze(frame.image, index: frame.index, timestamp: frame.timestamp)
            try analyzer.add(frame.image, analysis: a, isStill: still)
            onFrame?(a)
        }
        guard analyzer.framesSeen > 0 else { throw FaceGateError.unreadableMedia(path: source.name, detail: "no frame could be decoded") }
        guard analyzer.framesWithFace > 0 else { throw FaceGateError.noFace(source.name) }
        return PassiveReport(verdict: analyzer.verdict(), frames: analyzer.framesSeen, framesWithFace: analyzer.framesWithFace, source: source.name)
    }
}

/// A directory of 16-bit PNG depth frames (millimetres), one per colour frame in name order.
public final class DepthSequence {
    public let directory: String
    public let files: [String]
    public init(directory: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw FaceGateError.missingFile(directory)
        }
        files = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.lowercased().hasSuffix(".png") }.sorted().map { directory + "/" + $0 }
        guard !files.isEmpty else { throw FaceGateError.badInput("no 16-bit PNG depth frames in \(directory)") }
        self.directory = directory
    }
    /// The depth frame aligned with colour frame `index` (nil past the end).
    public func frame(at index: Int) throws -> DepthFrame? {
        guard index < files.count else { return nil }
        return try DepthFrame.read(files[index])
    }
}

/// Reads a gyroscope CSV: `t,gx,gy,gz` (seconds on the frames' clock, rad/s), optional header line.
public enum GyroCSV {
    public static func read(_ path: String) throws -> GyroTrace {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var samples: [GyroSample] = []
        for (n, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let f = line.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            if f.count >= 4, let t = f[0], let x = f[1], let y = f[2], let z = f[3] {
                samples.append(GyroSample(t: t, gx: x, gy: y, gz: z))
            } else if n == 0 {
                continue  // header
            } else {
                throw FaceGateError.badInput("\(path) line \(n + 1): expected t,gx,gy,gz (seconds, rad/s), got '\(line)'")
            }
        }
        guard samples.count >= 2 else { throw FaceGateError.badInput("\(path): need at least two gyroscope samples (t,gx,gy,gz)") }
        return GyroTrace(samples)
    }

    public static func write(_ trace: GyroTrace, to path: String) throws {
        var s = "t,gx,gy,gz\n"
        for g in trace.samples { s += String(format: "%.5f,%.6f,%.6f,%.6f\n", g.t, g.gx, g.gy, g.gz) }
        try s.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
