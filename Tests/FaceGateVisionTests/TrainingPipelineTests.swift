import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// Gather → train → evaluate on the fixture liveness sources, split by source: three sources train, two others
/// (never seen, different people and attack devices) are evaluated.
@Suite(.serialized) struct TrainingPipelineTests {
    static let root = "liveness"
    static let trainSources = ["Krzysiek354__Python_Face_Detection", "jtboing__liveness-web-demo", "lestari15__CNN-face-detection"]
    static let heldOutSources = ["Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV", "alexcamargoweb__liveness-detection"]
    /// Every 3rd crop of the fixture folders keeps the test around a minute in a debug build.
    static let skip = 3

    /// Held-out accuracy each model must reach (documented in docs/training.md). Measured with these settings on the
    /// two held-out sources (51 crops): LivenessNet 0.94 (AUC 0.99); texture 0.63 (AUC 0.73) — the texture SVM
    /// learns from only two sources once one is held out for validation and Platt scaling. The bounds leave room for
    /// BLAS-thread nondeterminism yet fail a model that learnt nothing (0.5 accuracy, 0.5 AUC) or the wrong sign.
    static let minimumHeldOutAccuracy: [ModelArchitecture: Double] = [.livenessnet: 0.80, .texture: 0.55]
    static let minimumHeldOutAUC: [ModelArchitecture: Double] = [.livenessnet: 0.85, .texture: 0.65]

    static func gather(_ sources: [String], into out: String, engine: FaceEngine) throws -> Int {
        var written = 0
        for src in sources {
            for cls in ["real", "fake"] {
                var o = GatherOptions(label: cls)
                o.skip = skip
                o.size = 64
                o.group = String(src.split(separator: "_").first!)
                o.inputsAreCrops = true
                let g = try Gatherer(engine: engine, options: o)
                written += try g.run(input: TestPaths.fixture("\(root)/\(src)/dataset/\(cls)"), output: out).written
            }
        }
        return written
    }

    @Test func gatherTrainEvaluateBySource() throws {
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        try #require(TestPaths.hasModels, "needs `make models`")
        let dir = TestPaths.tempDir("train-e2e")
        let trainDir = dir + "/train", heldDir = dir + "/heldout"
        try EnginePool.shared.with { engine in
            let a = try Self.gather(Self.trainSources, into: trainDir, engine: engine)
            let b = try Self.gather(Self.heldOutSources, into: heldDir, engine: engine)
            #expect(a >= 80 && b >= 40, "gathered \(a) training and \(b) held-out crops")
        }
        let ds = try Dataset.scan(trainDir)
        #expect(ds.groups == ["Krzysiek354", "jtboing", "lestari15"])
        #expect(GatherManifest.read(trainDir)?.chipSize == 64)

        // LivenessNet, small and short.
        var o = TrainOptions()
        o.epochs = 12; o.batch = 16; o.inputSize = 32; o.seed = 7
        var batches = 0
        let net = try ModelTrainer.train(dataset: ds, options: o) { if case .batch = $0 { batches += 1 } }
        #expect(net.split.kind == .bySource && net.split.validationGroups.count == 1)
        #expect(batches > 0 && !net.history.isEmpty)
        let netPath = dir + "/net.fgm"
        try ModelContainer.write(header: net.header, weights: net.weights, to: netPath)

        // The plot: a valid PNG of the documented size.
        let plotPath = dir + "/plot.png"
        try TrainingPlots.history(net.history, arch: .livenessnet, title: "test").write(plotPath)
        let png = try Data(contentsOf: URL(fileURLWithPath: plotPath))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        let plot = try Image.read(plotPath)
        #expect(plot.width == TrainingPlots.historyPanel.width && plot.height == 2 * TrainingPlots.historyPanel.height)
        try TrainingHistory.write(net.history, to: dir + "/history.csv")
        #expect(try String(contentsOfFile: dir + "/history.csv", encoding: .utf8).hasPrefix(TrainingHistory.header))

        // Texture model on the same crops.
        var t = TrainOptions()
        t.arch = .texture; t.inputSize = ModelTrainer.textureInputSize; t.seed = 7
        let tex = try ModelTrainer.train(dataset: ds, options: t)
        let texPath = dir + "/tex.fgm"
        try ModelContainer.write(header: tex.header, weights: tex.weights, to: texPath)

        // Held-out sources.
        let held = try Dataset.scan(heldDir)
        for path in [netPath, texPath] {
            let model = try LivenessModel(path: path)
            let r = try ModelEvaluator.evaluate(model: model, dataset: held)
            let s = r.scores
            #expect(s.count == held.samples.count && r.skipped.isEmpty)
            print("held-out \(model.architecture.rawValue): accuracy \(s.accuracy) APCER \(s.apcer) BPCER \(s.bpcer) AUC \(s.auc ?? -1) val \(model.header.metrics)")
            #expect(s.accuracy >= Self.minimumHeldOutAccuracy[model.architecture]!, "\(model.architecture): held-out accuracy \(s.accuracy), ACER \(s.acer)")
            #expect((s.auc ?? 0) >= Self.minimumHeldOutAUC[model.architecture]!, "\(model.architecture): held-out AUC \(s.auc ?? -1)")
            #expect(s.acer.isFinite && s.acer < 0.5)
            let cm = s.confusion(columns: model.classes)
            #expect(cm.counts.flatMap { $0 }.reduce(0, +) == s.count)
            // ROC/DET figure and HTML report.
            let report = dir + "/report-\(model.architecture.rawValue)"
            try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
            try TrainingPlots.roc(s, title: "test").write(report + "/roc.png")
            let roc = try Image.read(report + "/roc.png")
            #expect(roc.width == 2 * TrainingPlots.curvePanel.width && roc.height == TrainingPlots.curvePanel.height)
            let html = try EvaluationReport.write(r, to: report, images: [("roc.png", "ROC")], worst: 5)
            let text = try String(contentsOfFile: html, encoding: .utf8)
            #expect(text.contains("APCER") && text.contains("roc.png"))
        }
    }

    @Test func gatherFromVideoWritesAlignedCropsWithProgress() throws {
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        try #require(TestPaths.hasModels, "needs `make models`")
        let out = TestPaths.tempDir("gather-video")
        var o = GatherOptions(label: "real")
        o.skip = 10
        o.size = 48
        var updates = 0
        let stats = try EnginePool.shared.with { engine in
            try Gatherer(engine: engine, options: o).run(input: TestPaths.fixture("\(Self.root)/lestari15__CNN-face-detection/videos/real.mp4"), output: out) { _ in updates += 1 }
        }
        #expect(stats.framesRead >= 100 && stats.framesUsed == (stats.framesRead + 9) / 10)
        #expect(stats.written >= 3 && stats.written + stats.duplicates + stats.noFace + stats.lowConfidence == stats.framesUsed)
        #expect(updates == stats.framesRead)
        let files = try FileManager.default.contentsOfDirectory(atPath: out + "/real").sorted()
        #expect(files.count == stats.written && files.allSatisfy { $0.hasPrefix("real__f") })
        let crop = try Image.read(out + "/real/" + files[0])
        #expect(crop.width == 48 && crop.height == 48)
        // Re-gathering with other crop settings into the same folder is refused.
        o.size = 64
        #expect(throws: FaceGateError.self) {
            try EnginePool.shared.with { engine in
                _ = try Gatherer(engine: engine, options: o).run(input: TestPaths.fixture("\(Self.root)/lestari15__CNN-face-detection/videos/real.mp4"), output: out)
            }
        }
    }
}
