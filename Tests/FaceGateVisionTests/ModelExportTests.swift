import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// The protobuf encoder behind `facegate export`, against the protocol-buffers documentation's own examples.
@Suite struct OnnxProtobufTests {
    @Test func encodesTheDocumentedWireExamples() throws {
        // developers.google.com/protocol-buffers/docs/encoding: field 1 = 150 → 08 96 01; field 2 = "testing".
        var w = ProtoWriter()
        w.int(1, 150)
        #expect([UInt8](w.data) == [0x08, 0x96, 0x01])
        var s = ProtoWriter()
        s.string(2, "testing")
        #expect([UInt8](s.data) == [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6E, 0x67])
        // Negative ints take ten bytes (two's complement, as int64).
        var n = ProtoWriter()
        n.int(3, -1)
        #expect([UInt8](n.data) == [0x18] + Array(repeating: 0xFF, count: 9) + [0x01])
        // A float is fixed32 little-endian.
        var f = ProtoWriter()
        f.float(2, 1.0)
        #expect([UInt8](f.data) == [0x15, 0x00, 0x00, 0x80, 0x3F])
    }

    @Test func nestedMessagesRoundTripThroughTheReader() throws {
        var w = ProtoWriter()
        w.int(1, 300)
        w.message(7) { m in m.string(1, "inner"); m.int(2, 1 << 40); m.float(3, -2.5) }
        w.bytes(9, Data([0, 1, 2, 255]))
        let top = try ProtoReader.fields(w.data)
        #expect(top.map(\.number) == [1, 7, 9])
        #expect(top[0].int == 300 && top[2].bytes == Data([0, 1, 2, 255]))
        let inner = try ProtoReader.fields(top[1].bytes)
        #expect(inner.count == 3 && inner[0].string == "inner" && inner[1].int == 1 << 40 && inner[2].float == -2.5)
        // Truncation is reported, not read past.
        #expect(throws: ProtoReader.Malformed.self) { try ProtoReader.fields(w.data.dropLast(2)) }
    }

    @Test func tensorsStoreLittleEndianFloatsAndInt8() throws {
        var w = ProtoWriter()
        Onnx.Tensor(name: "t", dims: [2], floats: [1, -0.5]).encode(&w)
        let f = try ProtoReader.fields(w.data)
        #expect(f.filter { $0.number == 1 }.map(\.int) == [2])                      // dims
        #expect(f.first { $0.number == 2 }?.int == Onnx.DataType.float.rawValue)     // data_type
        #expect(f.first { $0.number == 9 }?.bytes == Data([0, 0, 0x80, 0x3F, 0, 0, 0, 0xBF]))
        var q = ProtoWriter()
        Onnx.Tensor(name: "q", dims: [1, 3], dataType: .int8, raw: Data([0x7F, 0x81, 0x00])).encode(&q)
        let g = try ProtoReader.fields(q.data)
        #expect(g.filter { $0.number == 1 }.map(\.int) == [1, 3])
        #expect(g.first { $0.number == 2 }?.int == Onnx.DataType.int8.rawValue)
        #expect(g.first { $0.number == 8 }?.string == "q")
    }
}

/// Train → export → run elsewhere. A small LivenessNet is trained on three fixture sources in the test (seconds);
/// the equivalence checks run over every crop of all five sources.
@Suite(.serialized) struct ModelExportTests {
    static let sources = ["Krzysiek354__Python_Face_Detection", "jtboing__liveness-web-demo", "lestari15__CNN-face-detection",
                          "Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV", "alexcamargoweb__liveness-detection"]
    /// The issue's bound on |P_exported − P_native| for the float32 file (both runtimes).
    static let float32Tolerance = 1e-4
    /// Accuracy the int8 variant may lose on any source (issue 20: ≤ 1 point).
    static let int8AccuracyLoss = 0.01
    /// Largest |ΔP(real)| accepted for the int8 variant: measured 0.021 (OpenCV DNN) and 0.013 (ONNX Runtime) on
    /// the 4-epoch test model over the 541 fixture crops; a wrong scale or channel order moves them by far more.
    static let int8Tolerance = 0.05

    struct Trained {
        let dir: String
        let fgm: String
        let onnx32: String
        let onnx8: String
        let crops: [(source: String, real: Bool, image: Image)]
    }

    /// Fixture crops as a dataset (one sub-folder per source), a LivenessNet trained for 4 epochs on the first three
    /// sources, exported in both precisions. Built once for the suite.
    static let trained: Result<Trained, Error> = Result {
        let dir = TestPaths.tempDir("export")
        let ds = dir + "/dataset"
        var crops: [(String, Bool, Image)] = []
        for (i, src) in sources.enumerated() {
            for cls in ["real", "fake"] {
                let from = TestPaths.fixture("liveness/\(src)/dataset/\(cls)")
                let group = String(src.split(separator: "_").first!)
                let to = ds + (i < 3 ? "/train/" : "/heldout/") + "\(cls)/\(group)"
                try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
                for f in try FileManager.default.contentsOfDirectory(atPath: from).sorted() where f.hasSuffix(".png") || f.hasSuffix(".jpg") {
                    try FileManager.default.copyItem(atPath: from + "/" + f, toPath: to + "/" + f)
                    crops.append((group, cls == "real", try Image.read(from + "/" + f)))
                }
            }
        }
        var o = TrainOptions()
        o.epochs = 4; o.batch = 16; o.inputSize = 32; o.seed = 7
        let net = try ModelTrainer.train(dataset: try Dataset.scan(ds + "/train"), options: o)
        let fgm = dir + "/net.fgm"
        try ModelContainer.write(header: net.header, weights: net.weights, to: fgm)
        let r32 = try ModelExporter.export(model: fgm, to: dir + "/net.onnx", precision: .float32)
        let r8 = try ModelExporter.export(model: fgm, to: dir + "/net-int8.onnx", precision: .int8)
        return Trained(dir: dir, fgm: fgm, onnx32: r32.onnxPath, onnx8: r8.onnxPath, crops: crops)
    }

    static var ready: Bool { TestPaths.hasFixtures }

    static var hasOnnxRuntime: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import numpy, onnxruntime"]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    @Test(.enabled(if: ready, "needs ../shared/fixtures")) func graphIsTheDocumentedOnnx() throws {
        let t = try Self.trained.get()
        let data = try Data(contentsOf: URL(fileURLWithPath: t.onnx32))
        #expect(data.count < 1_000_000, "float32 file \(data.count) bytes")
        let top = try ProtoReader.fields(data)
        #expect(top.first { $0.number == 1 }?.int == 6)                                  // ir_version
        let opset = try ProtoReader.fields(try #require(top.first { $0.number == 8 }).bytes)
        #expect(opset.first { $0.number == 2 }?.int == ModelExporter.opset)
        let graph = try ProtoReader.fields(try #require(top.first { $0.number == 7 }).bytes)
        let ops = try graph.filter { $0.number == 1 }.map { try ProtoReader.fields($0.bytes).first { $0.number == 4 }!.string }
        let block = ["Conv", "Relu", "Mul", "Add", "Conv", "Relu", "Mul", "Add", "MaxPool"]
        #expect(ops == block + block + ["Flatten", "Gemm", "Relu", "Gemm", "Softmax"])
        #expect(graph.filter { $0.number == 5 }.count == 4 * 4 + 4)                      // initializers
        // The int8 file: about a quarter of the bytes, one Cast per quantised weight tensor (4 conv + fc1).
        let small = try Data(contentsOf: URL(fileURLWithPath: t.onnx8))
        #expect(Double(small.count) < 0.3 * Double(data.count), "int8 \(small.count) vs float32 \(data.count) bytes")
        let g8 = try ProtoReader.fields(try #require(try ProtoReader.fields(small).first { $0.number == 7 }).bytes)
        let ops8 = try g8.filter { $0.number == 1 }.map { try ProtoReader.fields($0.bytes).first { $0.number == 4 }!.string }
        #expect(ops8.filter { $0 == "Cast" }.count == 5 && ops8.filter { $0 != "Cast" } == ops)
        // The sidecar reads as a catalog sidecar.
        let spec = try PadModelSpec.resolve(for: t.onnx32)
        #expect(spec.inputSize == [32, 32] && spec.cropScale == nil && spec.colorOrder == "RGB" && spec.output == "probabilities")
        let native = try ModelContainer.read(t.fgm).header
        #expect(spec.crop?.recipe == ExportCropRecipe.alignedChip && spec.crop?.chipSize == native.crop.chipSize)
        #expect(spec.crop?.margin == native.crop.margin && spec.crop?.trainedOnAlignedChips == native.crop.aligned)
        let side = try ExportSidecar.read(ExportSidecar.path(for: t.onnx32))
        #expect(side.classes == ["fake", "real"] && side.realClass == 1 && side.training.trainSamples > 0)
        #expect(side.mean.count == 3 && side.std == [256, 256, 256])
    }

    @Test(.enabled(if: ready, "needs ../shared/fixtures")) func float32MatchesNativeThroughOpenCV() throws {
        let t = try Self.trained.get()
        let native = try LivenessModel(path: t.fgm), exported = try LivenessModel(path: t.onnx32)
        #expect(exported.classes == native.classes && exported.crop == native.crop)
        var worst = 0.0, decisionsDiffer = 0
        for c in t.crops {
            let a = try #require(native.probabilities(crop: c.image)), b = try #require(exported.probabilities(crop: c.image))
            worst = max(worst, zip(a, b).map { abs($0 - $1) }.max()!)
            if native.predictedClass(a) != exported.predictedClass(b) { decisionsDiffer += 1 }
        }
        print("export: float32 through OpenCV DNN, \(t.crops.count) crops, max |Δp| \(worst)")
        #expect(t.crops.count > 400)
        #expect(worst <= Self.float32Tolerance, "max |Δp| \(worst)")
        #expect(decisionsDiffer == 0)
    }

    @Test(.enabled(if: ready, "needs ../shared/fixtures")) func int8KeepsAccuracyPerSource() throws {
        let t = try Self.trained.get()
        let native = try LivenessModel(path: t.fgm), half = try LivenessModel(path: t.onnx8)
        var worst = 0.0
        var correct: [String: (native: Int, half: Int, n: Int)] = [:]
        for c in t.crops {
            let a = try #require(native.realProbability(crop: c.image)), b = try #require(half.realProbability(crop: c.image))
            worst = max(worst, abs(a - b))
            var e = correct[c.source] ?? (0, 0, 0)
            e.n += 1
            if (a >= native.threshold) == c.real { e.native += 1 }
            if (b >= half.threshold) == c.real { e.half += 1 }
            correct[c.source] = e
        }
        for (s, e) in correct.sorted(by: { $0.key < $1.key }) {
            // ≤ 1 point, or one crop where a source has fewer than 100 (Manikantha-M: 61 crops, one crop = 1.6 points).
            let loss = Double(e.native - e.half) / Double(e.n), allowed = max(Self.int8AccuracyLoss, 1 / Double(e.n))
            print(String(format: "export: int8 %@: accuracy native %.4f, int8 %.4f (%d crops)", s, Double(e.native) / Double(e.n), Double(e.half) / Double(e.n), e.n))
            #expect(loss <= allowed + 1e-12, "\(s): int8 loses \(loss)")
        }
        print("export: int8 max |ΔP(real)| \(worst)")
        #expect(correct.count == 5)
        #expect(worst <= Self.int8Tolerance, "int8 max |ΔP(real)| \(worst)")
    }

    /// The "Deploying your model" Python example of docs/training.md, run as written on 32x32 crops (PPM files).
    @Test(.enabled(if: ready, "needs ../shared/fixtures"), .enabled(if: hasOnnxRuntime, "needs python3 with numpy + onnxruntime (pip install onnxruntime)"))
    func docsExampleMatchesNativeThroughOnnxRuntime() throws {
        let t = try Self.trained.get()
        let doc = try String(contentsOfFile: TestPaths.repo.appendingPathComponent("docs/training.md").path, encoding: .utf8)
        let blocks = doc.components(separatedBy: "```python\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        let example = try #require(blocks.first { $0.contains("onnxruntime") && $0.contains("__main__") }, "no Python onnxruntime example in docs/training.md")
        let script = t.dir + "/example.py"
        try example.write(toFile: script, atomically: true, encoding: .utf8)
        let native = try LivenessModel(path: t.fgm)
        var paths: [String] = [], expected: [Double] = []
        for (i, c) in t.crops.enumerated() where i % 3 == 0 {
            let small = c.image.resized(width: 32, height: 32)
            let p = t.dir + "/crop\(i).ppm"
            try small.write(p)
            paths.append(p)
            expected.append(try #require(native.realProbability(crop: small)))
        }
        for onnx in [t.onnx32, t.onnx8] {
            let proc = Process()
            proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            proc.arguments = ["python3", script, onnx] + paths
            let out = Pipe(), err = Pipe()
            proc.standardOutput = out; proc.standardError = err
            try proc.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            proc.waitUntilExit()
            #expect(proc.terminationStatus == 0, "\(String(decoding: e, as: UTF8.self))")
            let lines = String(decoding: o, as: UTF8.self).split(separator: "\n")
            #expect(lines.count == paths.count)
            let got = lines.compactMap { Double($0.split(separator: " ")[0]) }
            let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 1
            print("export: \(onnx == t.onnx8 ? "int8" : "float32") through onnxruntime (docs example), \(got.count) crops, max |ΔP(real)| \(worst)")
            #expect(got.count == expected.count)
            #expect(worst <= (onnx == t.onnx32 ? Self.float32Tolerance : Self.int8Tolerance), "max |ΔP(real)| \(worst)")
        }
    }

    /// `--pad-model OUT.onnx`: the exported file cuts its aligned chip from the frame like the native model, and the
    /// passive analysis decides as with the native model.
    @Test(.enabled(if: ready && TestPaths.hasModels && TestPaths.hasTestImages, "needs fixtures, `make models` and testdata"))
    func padModelDecidesLikeTheNativeModel() throws {
        let t = try Self.trained.get()
        let models = try PadModelResolver.resolve([t.onnx32], directory: try ModelDirectory.resolve(), includeInstalled: false)
        let pad = try #require(models.first)
        #expect(models.count == 1 && pad.usesAlignedChip)
        let native = try LivenessModel(path: t.fgm)
        var checked = 0
        for name in ["obama.jpg", "biden.jpg", "obama2.jpg"] where FileManager.default.fileExists(atPath: TestPaths.testImage(name)) {
            let image = try Image.read(TestPaths.testImage(name))
            let analysis = try EnginePool.shared.with { $0.analyze(image, index: 0, timestamp: 0) }
            guard let face = analysis.primary else { continue }
            let a = try #require(native.realProbability(image: image, landmarks: face.landmarks))
            let b = try #require(try pad.probabilities(image, landmarks: face.landmarks.points))
            #expect(abs(a - b[pad.spec.realClass]) <= Self.float32Tolerance, "\(name): native \(a), exported \(b)")
            // The passive analysis: the exported model as a pad model vs the native model as the texture classifier.
            var withPad = PassiveOptions(); withPad.models = models
            var withNative = PassiveOptions(); withNative.texture = native
            let x = PassiveAnalyzer(options: withPad), y = PassiveAnalyzer(options: withNative)
            try x.add(image, analysis: analysis, isStill: true)
            try y.add(image, analysis: analysis, isStill: true)
            let m = try #require(x.readings.first { $0.name == PadCue.model.name })
            let tx = try #require(y.readings.first { $0.name == PadCue.texture.name })
            #expect((m.state == .spoof) == (tx.state == .spoof), "\(name): pad-model \(m.note) vs native \(tx.note)")
            checked += 1
        }
        #expect(checked >= 1)
    }

    @Test(.enabled(if: ready && FileManager.default.fileExists(atPath: TestPaths.cli), "needs fixtures and the built CLI"))
    func cliExportsAndRefusesBadInputWithExitTwo() throws {
        let t = try Self.trained.get()
        let out = t.dir + "/cli/m.onnx"
        let ok = try runCLI(["export", "--model", t.fgm, "--onnx", out, "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(FileManager.default.fileExists(atPath: out) && FileManager.default.fileExists(atPath: t.dir + "/cli/m.json"))
        #expect(ok.stdout.contains("\"bytes\""))
        // --dataset: per-source accuracy of the exported file in the sidecar, as evaluate computes it.
        let withMetrics = try runCLI(["export", "--model", t.fgm, "--onnx", t.dir + "/cli/held.onnx", "--dataset", t.dir + "/dataset/heldout"])
        #expect(withMetrics.status == 0, "\(withMetrics.stderr)")
        let bySource = try ExportSidecar.read(t.dir + "/cli/held.json").metricsBySource ?? [:]
        #expect(Set(bySource.keys) == ["Manikantha-M", "alexcamargoweb"], "\(bySource)")
        let heldModel = try LivenessModel(path: t.dir + "/cli/held.onnx")
        let held = try ModelEvaluator.evaluate(model: heldModel, dataset: try Dataset.scan(t.dir + "/dataset/heldout")).scores
        for g in held.perGroup { #expect(abs((bySource[g.group]?.accuracy ?? -1) - g.accuracy) < 1e-9, "\(g.group)") }
        // evaluate reads the exported file like a model file.
        let ev = try runCLI(["evaluate", "--model", out, "--dataset", t.dir + "/dataset/heldout", "--json"])
        #expect(ev.status == 0, "\(ev.stderr)")
        #expect(ev.stdout.contains("\"accuracy\""))

        // The CLI loop: `liveness --passive --pad-model OUT.onnx` decides as `--model M.fgm` (same P(real), verdict, score).
        if TestPaths.hasModels && TestPaths.hasTestImages {
            struct Verdict: Decodable { var live: Bool; var score: Double }
            let image = TestPaths.testImage("obama.jpg")
            let a = try runCLI(["liveness", "--passive", "--pad-model", out, "--image", image, "--json"])
            let b = try runCLI(["liveness", "--passive", "--model", t.fgm, "--no-installed-models", "--image", image, "--json"])
            #expect(a.status == b.status, "\(a.stderr) \(b.stderr)")
            let va = try JSONDecoder().decode(Verdict.self, from: Data(a.stdout.utf8))
            let vb = try JSONDecoder().decode(Verdict.self, from: Data(b.stdout.utf8))
            #expect(va.live == vb.live && abs(va.score - vb.score) <= 1e-3, "pad-model \(va), native \(vb)")
            // An own model is of unmeasured provenance: the bezel's sides do not yield to its vote, so obama.jpg is
            // refused by the sides as with the native model (session 14: the yield made it live, score 0.55; aedaaba).
            struct Cues: Decodable { struct Cue: Decodable { var state: String; var note: String? }; var cues: [String: Cue] }
            let ba = try JSONDecoder().decode(Cues.self, from: Data(a.stdout.utf8)).cues["bezel"]
            let bb = try JSONDecoder().decode(Cues.self, from: Data(b.stdout.utf8)).cues["bezel"]
            #expect(!va.live && ba?.state == "spoof" && ba?.state == bb?.state, "pad-model bezel \(String(describing: ba)), native \(String(describing: bb))")
        }

        let garbage = t.dir + "/garbage.fgm"
        try Data("not a model at all".utf8).write(to: URL(fileURLWithPath: garbage))
        let truncated = t.dir + "/truncated.fgm"
        let whole = try Data(contentsOf: URL(fileURLWithPath: t.fgm))
        try whole.prefix(whole.count - 100).write(to: URL(fileURLWithPath: truncated))
        // A texture model: header says texture (the exporter refuses before reading its weights).
        var h = try ModelContainer.read(t.fgm).header
        h.arch = .texture
        let tex = t.dir + "/texture.fgm"
        try ModelContainer.write(header: h, weights: Data("svm".utf8), to: tex)
        // A truncated ONNX file (sidecar intact) through both doors: evaluate --model and liveness --pad-model.
        let cut = t.dir + "/cut.onnx"
        try Data(contentsOf: URL(fileURLWithPath: t.onnx32)).prefix(1000).write(to: URL(fileURLWithPath: cut))
        try FileManager.default.copyItem(atPath: ExportSidecar.path(for: t.onnx32), toPath: ExportSidecar.path(for: cut))
        var cases: [([String], String)] = [
            (["evaluate", "--model", cut, "--dataset", t.dir + "/dataset/heldout"], "not a loadable ONNX model"),
            (["export", "--model", t.dir + "/missing.fgm", "--onnx", t.dir + "/x.onnx"], "no such file"),
            (["export", "--model", garbage, "--onnx", t.dir + "/x.onnx"], "not a FaceGate model"),
            (["export", "--model", truncated, "--onnx", t.dir + "/x.onnx"], "truncated"),
            (["export", "--model", tex, "--onnx", t.dir + "/x.onnx"], "texture"),
            (["export", "--model", t.fgm, "--onnx", t.dir + "/x.txt"], ".onnx"),
            (["export", "--model", t.fgm, "--onnx", t.dir + "/x.onnx", "--precision", "int4"], "precision"),
            (["evaluate", "--model", garbage + ".onnx", "--dataset", t.dir + "/dataset/heldout"], "no such file"),
        ]
        if TestPaths.hasTestImages {
            cases.append((["liveness", "--passive", "--pad-model", cut, "--image", TestPaths.testImage("obama.jpg")], "not a loadable ONNX model"))
        }
        for (args, needle) in cases {
            let r = try runCLI(args)
            let lines = r.stderr.split(separator: "\n")
            #expect(r.status == 2, "\(args): status \(r.status), \(r.stderr)")
            #expect(lines.count == 1 && r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: t.dir + "/x.onnx"))
    }
}
