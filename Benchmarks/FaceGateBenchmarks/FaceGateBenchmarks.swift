import Benchmark
import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

// FaceGate's benchmark suite (ordo-one/benchmark). Run with `make benchmarks`; check the issue targets with
// `make benchmarks-check`. Each benchmark runs in its own process on one native thread, times one call of its stage
// per iteration, and skips itself with a printed reason when a model or input file is missing.
//
// The issue targets are static thresholds in Benchmarks/Thresholds/FaceGateBenchmarks.<name>.p90.json (wallClock in
// ns, cpuThread_us in µs, peakMemoryResident in bytes). The package checks static thresholds at p90 only, while the
// issues state medians: for stages doing the same work on every call (detect, embed, passive cues, LivenessNet) p90 is
// the median plus noise, so "better than threshold" means the target is met with margin and "worse" may still meet it
// at the median. The tracked frame and the liveness step have no time threshold file: about one frame in five runs a
// detection (region check every 8 frames, full scan every 16), so their p90 is a detection frame and could never
// pass a median target. docs/benchmarks.md lists p50 next to every target.

/// Iterations and time per benchmark: 300 calls give a stable median and p90 for stages of 0.5–50 ms; 10 s bounds
/// the slow ones (align + embed ≈ 50 ms on this machine) so the whole suite takes a few minutes on 2 cores.
enum SuiteLimits {
    static let maxIterations = 300
    static let maxDuration: Duration = .seconds(10)
    /// Untimed calls first: model weights and caches paged in, first-call allocations done.
    static let warmupIterations = 3
    /// Random templates in the 1:N gallery (5 per user, as guided enrollment keeps), see BenchGalleryCommand.
    static let galleryTemplates = 100_000
    /// Challenges in the liveness plan (the CLI default) and its fixed seed (a reproducible plan).
    static let livenessChallenges = ChallengePlan.defaultCount
    static let livenessSeed: UInt64 = 7
}

/// Tolerance for the static p90 thresholds: none, so each checked metric is reported as better or worse than its
/// issue target (the `thresholds check` tool compares a run's p90 with the file's value).
var targetTolerance: BenchmarkThresholds { BenchmarkThresholds(relative: [:], absolute: [.p90: 0]) }

let benchmarks: @Sendable () -> Void = {
    NativeRuntime.setThreads(1)
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident, .mallocCountTotal, cpuThreadMetric],
        warmupIterations: SuiteLimits.warmupIterations,
        scalingFactor: .one,
        maxDuration: SuiteLimits.maxDuration,
        maxIterations: SuiteLimits.maxIterations,
        thresholds: [.wallClock: targetTolerance, cpuThreadMetric: targetTolerance, .peakMemoryResident: targetTolerance]
    )

    let faceInputs = [Inputs.missing(BaseModels.landmarks68), Inputs.missingTestPhoto]

    // Issue 2: full detection at 320x240 ≤ 6 ms.
    stage("Detect-HOG-320x240", requirements: faceInputs,
          prepare: { () throws -> (FaceDetector, Image) in
              let scene = try Inputs.faceScene()
              return (scene.engine.detector, scene.frame.resized(width: 320, height: 240))
          },
          step: { s in Benchmark.blackHole(s.0.detect(s.1)) })

    stage("Landmarks68-fast", requirements: faceInputs,
          prepare: { try Inputs.faceScene() },
          step: { s in Benchmark.blackHole(s.engine.landmarks.predict(s.frame, box: s.face.box)) })

    // dlib's own tree-evaluation loop (the same landmarks, bit for bit), for comparison with the fast evaluator.
    stage("Landmarks68-dlibReference", requirements: faceInputs,
          prepare: { () throws -> (LandmarkModel, Inputs.FaceScene) in
              let path = try Inputs.models.locate(BaseModels.landmarks68)
              return (try LandmarkModel(path: path, evaluator: .dlibReference), try Inputs.faceScene())
          },
          step: { s in Benchmark.blackHole(s.0.predict(s.1.frame, box: s.1.face.box)) })

    stage("HeadPose-solvePnP", requirements: faceInputs,
          prepare: { try Inputs.faceScene() },
          step: { s in Benchmark.blackHole(PoseEstimator.pose(s.face.landmarks, width: 640, height: 480)) })

    // Issue 2: embedding ≤ 12 ms per face (5-point alignment + 150x150 chip + ResNet).
    stage("AlignEmbed-ResNet", requirements: faceInputs + [Inputs.missing(BaseModels.landmarks5), Inputs.missing(BaseModels.resnet)],
          prepare: { () throws -> Inputs.FaceScene in
              let scene = try Inputs.faceScene()
              _ = try scene.engine.embedding(scene.frame, face: scene.face)  // loads the 5-point and ResNet models
              return scene
          },
          step: { s in Benchmark.blackHole(try s.engine.embedding(s.frame, face: s.face)) })

    // Issue 2: tracked frame (landmarks + pose + EAR, detection amortised) at 640x480, median ≤ 3 ms; the same run's
    // peak RSS stands in for `facegate analyze` on a 640x480 video (≤ 400 MB; includes the ~55 MB of decoded frames).
    let motionInputs = [Inputs.missing(BaseModels.landmarks68),
                        FileManager.default.fileExists(atPath: Inputs.motionClip) ? nil : Inputs.missingTestPhoto]
    final class TrackedSequence {
        let tracker: FaceTracker
        let frames: [Image]
        var index = 0
        init(tracker: FaceTracker, frames: [Image]) { self.tracker = tracker; self.frames = frames }
    }
    stage("TrackedFrame-640x480", requirements: motionInputs,
          prepare: { () throws -> TrackedSequence in
              let (frames, source) = try Inputs.motionSequence()
              print("TrackedFrame-640x480: \(source)")
              return TrackedSequence(tracker: FaceTracker(engine: try FaceEngine(models: Inputs.models)), frames: frames)
          },
          step: { s in
              let i = s.index
              s.index += 1
              Benchmark.blackHole(s.tracker.process(s.frames[i % s.frames.count], index: i, timestamp: Double(i) / 30))
          })

    // Issue 3: the whole per-frame liveness step (tracker + all challenge detectors of the session engine), median
    // ≤ 4 ms. As ActiveRunner.process(frame), without the identity embeddings of the anchor frames (a few per session;
    // timed by AlignEmbed-ResNet). A decided session is replaced by a new one between two timed frames.
    final class LivenessSequence {
        let engine: FaceEngine
        let frames: [Image]
        var runner: ActiveRunner
        var index = 0
        init(engine: FaceEngine, frames: [Image]) throws {
            self.engine = engine; self.frames = frames
            self.runner = try Self.newRunner(engine)
        }
        static func newRunner(_ engine: FaceEngine) throws -> ActiveRunner {
            let plan = try ChallengePlan(seed: SuiteLimits.livenessSeed, count: SuiteLimits.livenessChallenges)
            return ActiveRunner(engine: engine, plan: plan, checkIdentity: false)
        }
    }
    stage("LivenessStep-640x480", requirements: motionInputs,
          prepare: { () throws -> LivenessSequence in
              let (frames, source) = try Inputs.motionSequence()
              print("LivenessStep-640x480: \(source)")
              return try LivenessSequence(engine: try FaceEngine(models: Inputs.models), frames: frames)
          },
          before: { s in
              if s.runner.result != nil, let r = try? LivenessSequence.newRunner(s.engine) { s.runner = r }
          },
          step: { s in
              let i = s.index
              s.index += 1
              let frame = Frame(image: s.frames[i % s.frames.count], index: i, timestamp: Double(i) / 30)
              Benchmark.blackHole(s.runner.process(frame))
          })

    // Issue 4: all passive cues on a 640x480 frame, median ≤ 5 ms without a model, ≤ 15 ms with one MiniFASNet.
    stage("PassiveCues-noModel", requirements: faceInputs,
          prepare: { try PassiveScene(Inputs.faceScene()) },
          step: { s in s.allCues() })
    let miniFASNet = Inputs.miniFASNetPath
    stage("PassiveCues-MiniFASNetV2",
          requirements: faceInputs + [miniFASNet == nil
              ? "MiniFASNetV2 neither installed (`facegate models install \(ModelCatalog.miniFASNetV2.name)`) nor at \(Inputs.fixtureMiniFASNet)"
              : nil],
          prepare: { () throws -> (PassiveScene, PadModel, Rect) in
              let scene = try PassiveScene(Inputs.faceScene())
              let model = try PadModel(path: miniFASNet!, spec: ModelCatalog.miniFASNetV2.padSpec)
              let box = PadModel.faceBox(from: scene.face.landmarks)
              _ = try model.probabilities(scene.frame, box: box)  // first inference allocates the network's buffers
              print("PassiveCues-MiniFASNetV2: \(miniFASNet!)")
              return (scene, model, box)
          },
          step: { s in
              s.0.allCues()
              Benchmark.blackHole(try s.1.probabilities(s.0.frame, box: s.2))
          })

    // Issue 6: LivenessNet inference ≤ 2 ms per crop (aligned chip → 32x32 → forward → softmax), as TrainingBench:
    // inference cost does not depend on the weights, so a net trained for one epoch on the face's chip serves.
    stage("LivenessNet-32x32", requirements: faceInputs,
          prepare: { () throws -> (LivenessNet, Image) in
              let scene = try Inputs.faceScene()
              guard let chip = faceChip(scene.frame, points: scene.face.landmarks.points, size: 64, padding: 0.2) else {
                  throw FaceGateError.runtime("no aligned chip for the test photo's face")
              }
              let set = try CropSet(size: 32)
              for i in 0..<16 { set.add(i % 2 == 0 ? chip : chip.flippedHorizontally(), label: i % 2) }
              var p = LivenessNetParameters()
              p.inputSize = 32; p.epochs = 1; p.batch = 8
              let net = try LivenessNet.train(train: set, validation: nil, parameters: p,
                                              onEpoch: { _ in EpochVerdict(stop: true, keepAsBest: true) })
              _ = net.probabilities(chip)
              return (net, chip)
          },
          step: { s in Benchmark.blackHole(s.0.probabilities(s.1)) })

    // Issue 5: 1:N identify on random unit vectors (the target is stated at 1M: p50 ≤ 20 ms on one core; no
    // target at 100k, see docs/benchmarks.md). Pure Swift, no model needed.
    final class GalleryProbe {
        let index: GalleryIndex
        let probes: [Embedding]
        var next = 0
        init(index: GalleryIndex, probes: [Embedding]) { self.index = index; self.probes = probes }
    }
    stage("Identify-1toN-100k", requirements: [],
          prepare: { () throws -> GalleryProbe in
              let n = SuiteLimits.galleryTemplates, perUser = IndexBenchmark.defaultTemplatesPerUser
              let index = GalleryIndex(reserve: n)
              var gen = RandomUnitVectors(seed: 42)
              var made = 0, users = 0
              while made < n {
                  let k = min(perUser, n - made)
                  try index.upsert(GalleryIndex.User(key: UUID(), name: "user\(users)"), templates: (0..<k).map { _ in gen.embedding() })
                  made += k; users += 1
              }
              var q = RandomUnitVectors(seed: 43)
              return GalleryProbe(index: index, probes: (0..<SuiteLimits.maxIterations).map { _ in q.embedding() })
          },
          step: { s in
              let p = s.probes[s.next % s.probes.count]
              s.next += 1
              Benchmark.blackHole(try s.index.identify(p, threads: 1))
          })
}

/// Every passive cue on every frame, the worst case (the runner spreads bezel, moiré and the models over frames).
/// Keep in step with `PassiveBench.stages` (what `facegate bench` times).
struct PassiveScene {
    let frame: Image
    let face: FaceObservation
    let moved: Landmarks68

    init(_ scene: Inputs.FaceScene) {
        frame = scene.frame
        face = scene.face
        var pts = scene.face.landmarks.points
        for i in pts.indices { pts[i] = pts[i] + Point2(Double(i % 3) * 0.7, Double(i % 5) * 0.4) }
        moved = Landmarks68(points: pts)
    }

    func allCues() {
        let ref = face.landmarks
        Benchmark.blackHole(PadNative.moire(frame, face: face.box))
        Benchmark.blackHole(PadNative.glare(frame, face: face.box))
        Benchmark.blackHole(PadNative.bezel(frame, face: face.box))
        var flat = FlatnessCue()
        flat.add(ref) { PadNative.planarFit(from: $0, to: $1) }
        flat.add(moved) { PadNative.planarFit(from: $0, to: $1) }
        var nose = NoseDepthCue()
        nose.add(ref, yawDegrees: face.pose.yaw)
        Benchmark.blackHole(PadNative.lbpFeatures(frame, landmarks: ref.points))
        Benchmark.blackHole((flat, nose))
    }
}
