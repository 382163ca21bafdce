import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// Dataset scanning, splitting, corrupt folders, early stopping and the model file format (no fixtures needed).
@Suite struct TrainingDatasetTests {
    /// Writes `n` small noisy images of one colour into dir/cls (file names `group__i.png` when a group is given).
    static func writeCrops(_ dir: String, _ cls: String, n: Int, group: String?, color: Color, size: Int = 24, seed: Int = 0) throws {
        try FileManager.default.createDirectory(atPath: dir + "/" + cls, withIntermediateDirectories: true)
        var rng = SplitMix(seed: UInt64(seed + n * 31 + cls.count))
        for i in 0..<n {
            var bytes = [UInt8](repeating: 0, count: size * size * 3)
            for p in 0..<(size * size) {
                let noise = Int(rng.next() % 60) - 30
                bytes[3 * p] = UInt8(clamping: color.b + noise)
                bytes[3 * p + 1] = UInt8(clamping: color.g + noise)
                bytes[3 * p + 2] = UInt8(clamping: color.r + noise)
            }
            let name = (group.map { "\($0)__" } ?? "") + "\(i).png"
            try Image.fromBGR(bytes, width: size, height: size)!.write(dir + "/" + cls + "/" + name)
        }
    }

    struct SplitMix: RandomNumberGenerator {
        var s: UInt64
        init(seed: UInt64) { s = seed }
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func scanError(_ dir: String) -> TrainingError? {
        do { _ = try Dataset.scan(dir); return nil } catch let e as TrainingError { return e } catch { return nil }
    }

    @Test func corruptDatasetFoldersGiveClearErrors() throws {
        // One class only.
        let one = TestPaths.tempDir("ds-one")
        try Self.writeCrops(one, "real", n: 3, group: "a", color: Color(200, 120, 100))
        let e1 = scanError(one)
        #expect(e1 == .oneClassOnly(directory: one, label: "real"))
        #expect(e1?.description.contains("only one class") == true)

        // Empty class folder.
        let empty = TestPaths.tempDir("ds-empty")
        try Self.writeCrops(empty, "real", n: 3, group: "a", color: Color(200, 120, 100))
        try FileManager.default.createDirectory(atPath: empty + "/fake", withIntermediateDirectories: true)
        guard case .emptyClass(let folder, let others)? = scanError(empty) else { Issue.record("expected emptyClass"); return }
        #expect(folder.hasSuffix("/fake") && others.isEmpty)

        // A class holding only non-image files: empty, and the message names the files.
        let junk = TestPaths.tempDir("ds-junk")
        try Self.writeCrops(junk, "real", n: 3, group: "a", color: Color(200, 120, 100))
        try FileManager.default.createDirectory(atPath: junk + "/fake", withIntermediateDirectories: true)
        try "notes".write(toFile: junk + "/fake/readme.txt", atomically: true, encoding: .utf8)
        let e3 = scanError(junk)
        #expect(e3?.description.contains("readme.txt") == true)

        // No folder named real.
        let noReal = TestPaths.tempDir("ds-noreal")
        try Self.writeCrops(noReal, "a", n: 2, group: nil, color: .red)
        try Self.writeCrops(noReal, "b", n: 2, group: nil, color: .blue)
        #expect(scanError(noReal) == .noRealClass(directory: noReal, labels: ["a", "b"]))

        // Not a folder, no class folders.
        #expect(throws: FaceGateError.missingFile(noReal + "/missing")) { try Dataset.scan(noReal + "/missing") }
        let flat = TestPaths.tempDir("ds-flat")
        try "x".write(toFile: flat + "/a.txt", atomically: true, encoding: .utf8)
        #expect(scanError(flat) == .noClassFolders(flat))
        #expect(scanError(flat + "/a.txt") == .notADirectory(flat + "/a.txt"))
    }

    @Test func nonImagesAreSkippedAndBadImagesNamed() throws {
        let dir = TestPaths.tempDir("ds-mixed")
        try Self.writeCrops(dir, "real", n: 6, group: "a", color: Color(200, 120, 100))
        try Self.writeCrops(dir, "fake", n: 6, group: "a", color: Color(90, 90, 200))
        try "x".write(toFile: dir + "/fake/notes.txt", atomically: true, encoding: .utf8)
        let ds = try Dataset.scan(dir)
        #expect(ds.skippedFiles == ["fake/notes.txt"])
        #expect(ds.samples.count == 12 && ds.labels == ["fake", "real"] && ds.realLabel == 1)

        // A file with an image name that is not an image: training names it.
        try "not a png".write(toFile: dir + "/fake/broken.png", atomically: true, encoding: .utf8)
        var o = TrainOptions(); o.epochs = 1; o.inputSize = 16
        do {
            _ = try ModelTrainer.train(dataset: try Dataset.scan(dir), options: o)
            Issue.record("expected an error for broken.png")
        } catch let e as TrainingError {
            guard case .unreadableCrop(let p, _) = e else { Issue.record("wrong error \(e)"); return }
            #expect(p.hasSuffix("broken.png"))
        }
    }

    @Test func tinyCropsAreRefused() throws {
        let dir = TestPaths.tempDir("ds-tiny")
        try Self.writeCrops(dir, "real", n: 6, group: "a", color: Color(200, 120, 100), size: 8)
        try Self.writeCrops(dir, "fake", n: 6, group: "b", color: Color(90, 90, 200), size: 24)
        var o = TrainOptions(); o.epochs = 1; o.inputSize = 16
        do {
            _ = try ModelTrainer.train(dataset: try Dataset.scan(dir), options: o)
            Issue.record("expected tinyCrops")
        } catch let e as TrainingError {
            guard case .tinyCrops(let n, _, let w, _, let minimum) = e else { Issue.record("wrong error \(e)"); return }
            #expect(n == 6 && w == 8 && minimum == Dataset.minimumCropSide)
            #expect(e.description.contains("--size"))
        }
    }

    @Test func groupsComeFromTsvFoldersAndPrefixes() throws {
        let dir = TestPaths.tempDir("ds-groups")
        try Self.writeCrops(dir, "real", n: 2, group: "alice", color: .red)
        try Self.writeCrops(dir + "/fake", "bob", n: 2, group: nil, color: .blue)  // fake/bob/0.png → group bob
        try Self.writeCrops(dir, "fake", n: 1, group: nil, color: .blue)            // fake/0.png → groups.tsv
        try "fake/0.png\tcarol\n".write(toFile: dir + "/groups.tsv", atomically: true, encoding: .utf8)
        let ds = try Dataset.scan(dir)
        let g = Dictionary(uniqueKeysWithValues: ds.samples.map { ($0.relativePath, $0.group ?? "-") })
        #expect(g["real/alice__0.png"] == "alice")
        #expect(g["fake/bob/1.png"] == "bob")
        #expect(g["fake/0.png"] == "carol")

        try "fake/0.png carol-without-tab\n".write(toFile: dir + "/groups.tsv", atomically: true, encoding: .utf8)
        guard case .badGroupsFile(_, let line, _)? = scanError(dir) else { Issue.record("expected badGroupsFile"); return }
        #expect(line == 1)
    }

    @Test func splitKeepsSourcesWholeAndFallsBackToTime() throws {
        let dir = TestPaths.tempDir("ds-split")
        for (k, g) in ["s1", "s2", "s3", "s4"].enumerated() {
            try Self.writeCrops(dir, "real", n: 5 + k, group: g, color: .red)
            try Self.writeCrops(dir, "fake", n: 4 + k, group: g, color: .blue)
        }
        let ds = try Dataset.scan(dir)
        for seed in [1, 2, 3] as [UInt64] {
            let s = DatasetSplit.make(ds, fraction: 0.25, seed: seed)
            #expect(s.kind == .bySource)
            let trainGroups = Set(s.train.map { ds.samples[$0].group! }), valGroups = Set(s.validation.map { ds.samples[$0].group! })
            #expect(trainGroups.isDisjoint(with: valGroups))
            #expect(!valGroups.isEmpty && s.train.count + s.validation.count == ds.samples.count)
            #expect(Set(s.validation.map { ds.samples[$0].label }).count == 2)
        }
        // Two videos, one per class (the "real.mp4 + fake.mp4" case): no by-source split is possible.
        let two = TestPaths.tempDir("ds-two")
        try Self.writeCrops(two, "real", n: 8, group: "real", color: .red)
        try Self.writeCrops(two, "fake", n: 8, group: "fake", color: .blue)
        let s2 = DatasetSplit.make(try Dataset.scan(two), fraction: 0.25, seed: 1)
        #expect(s2.kind == .byTime && s2.warning != nil)
        #expect(s2.validation.count == 4)
        #expect(DatasetSplit.make(try Dataset.scan(two), fraction: 0, seed: 1).kind == DatasetSplit.Kind.none)
    }

    @Test func earlyStoppingKeepsTheBestEpoch() {
        var es = EarlyStopping(patience: 3, minDelta: 0.001)
        let losses = [0.9, 0.7, 0.6, 0.61, 0.6005, 0.65, 0.5]
        var stoppedAt: Int?
        var best: [Int] = []
        for (i, l) in losses.enumerated() {
            let v = es.update(epoch: i + 1, loss: l)
            if v.keepAsBest { best.append(i + 1) }
            if v.stop { stoppedAt = i + 1; break }
        }
        #expect(best == [1, 2, 3])
        #expect(stoppedAt == 6)
        #expect(es.bestEpoch == 3)
    }

    @Test func modelFileRejectsForeignDamagedAndNewerFiles() throws {
        let dir = TestPaths.tempDir("model-file")
        let header = ModelHeader(
            magic: "", formatVersion: 0, facegateVersion: FaceGateVersion.string, created: "2025-01-01T00:00:00Z",
            arch: .livenessnet, inputSize: 32, crop: CropSpec(chipSize: 64, margin: 0.2, aligned: true),
            classes: ["fake", "real"], realClass: "real",
            training: .init(dataset: "d", samples: ["real": 1, "fake": 1], trainSamples: 2, validationSamples: 0, split: "none",
                            validationGroups: [], epochsRun: 1, bestEpoch: 1, seed: 1, parameters: [:]),
            metrics: ["val_accuracy": 0.9], weights: .init(bytes: 0, sha256: ""))
        let weights = Data((0..<1000).map { UInt8($0 % 251) })
        let good = try ModelContainer.encode(header: header, weights: weights)
        let (h, w) = try ModelContainer.decode(good, path: "m")
        #expect(w == weights && h.classes == ["fake", "real"] && h.formatVersion == ModelContainer.formatVersion)
        #expect(String(decoding: good.prefix(15), as: UTF8.self) == ModelContainer.preamble)

        func err(_ d: Data) -> TrainingError? {
            do { _ = try ModelContainer.decode(d, path: "m"); return nil } catch let e as TrainingError { return e } catch { return nil }
        }
        // A JPEG, a text file: not a FaceGate model.
        guard case .notAModel? = err(Data([0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0, count: 100))) else { Issue.record("jpeg"); return }
        guard case .notAModel? = err(Data("hello world, this is text".utf8)) else { Issue.record("text"); return }
        // Truncated and bit-flipped weights.
        guard case .corruptModel? = err(good.prefix(good.count - 10)) else { Issue.record("truncated"); return }
        var flipped = good
        flipped[flipped.count - 5] ^= 0xFF
        guard case .corruptModel(_, let d)? = err(flipped) else { Issue.record("flipped"); return }
        #expect(d.contains("checksum"))
        // A newer format: says which version wrote it.
        let text = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 9")
        guard case .incompatibleModel(_, let v, let by)? = err(Data(text.utf8)) else { Issue.record("newer"); return }
        #expect(v == 9 && by == FaceGateVersion.string)
        // Through LivenessModel: a clear error for a non-model file.
        try "plain text".write(toFile: dir + "/x.fgm", atomically: true, encoding: .utf8)
        #expect(throws: TrainingError.self) { try LivenessModel(path: dir + "/x.fgm") }
    }

    @Test func livenessNetTrainsSavesAndReloads() throws {
        // Two synthetic classes (reddish vs bluish noise), two sources each.
        let dir = TestPaths.tempDir("ds-net")
        for g in ["a", "b"] {
            try Self.writeCrops(dir, "real", n: 12, group: g, color: Color(200, 120, 100))
            try Self.writeCrops(dir, "fake", n: 12, group: g, color: Color(90, 110, 210))
        }
        var o = TrainOptions(); o.epochs = 3; o.batch = 8; o.inputSize = 16; o.validationFraction = 0.5
        var epochs = 0
        let out = try ModelTrainer.train(dataset: try Dataset.scan(dir), options: o) { if case .epoch = $0 { epochs += 1 } }
        #expect(epochs == out.history.count && epochs >= 1 && epochs <= 3)
        #expect(out.split.kind == .bySource)
        #expect(out.weights.count < 2_000_000, "weights must not carry cached activations")
        try ModelContainer.write(header: out.header, weights: out.weights, to: dir + "/m.fgm")
        let m = try LivenessModel(path: dir + "/m.fgm")
        #expect(m.architecture == .livenessnet && m.classes == ["fake", "real"] && m.header.inputSize == 16)
        let crop = try Image.read(dir + "/real/a__0.png")
        let p = try #require(m.realProbability(crop: crop))
        #expect(p >= 0 && p <= 1)
        // Reloading gives the same answer; the batched path agrees with the single one.
        let m2 = try LivenessModel(path: dir + "/m.fgm")
        #expect(abs((m2.realProbability(crop: crop) ?? -1) - p) < 1e-5)
        #expect(abs((m.realProbabilities(crops: [crop]).first.flatMap { $0 } ?? -1) - p) < 1e-5)
        // The CSV has a header and one row per epoch.
        #expect(TrainingHistory.csv(out.history).split(separator: "\n").count == out.history.count + 1)
    }

    @Test func plattScalingIsMonotonicAndCalibrated() throws {
        // 1-D features: positives around +1, negatives around -1, some overlap.
        var rng = SplitMix(seed: 7)
        var x: [[Float]] = [], y: [Bool] = []
        for i in 0..<200 {
            let pos = i % 2 == 0
            let u = Double(rng.next() % 10_000) / 10_000 - 0.5
            x.append([Float((pos ? 1 : -1) + 1.6 * u), Float(u)])
            y.append(pos)
        }
        let svm = try TextureSVM.train(features: Array(x.prefix(120)), positive: Array(y.prefix(120)), parameters: SVMParameters(c: 1))
        let held = Array(x.suffix(80)), heldY = Array(y.suffix(80))
        #expect(svm.calibrate(scores: svm.decisions(held), positive: heldY))
        #expect(svm.platt.a < 0)  // larger decision value → higher P(positive)
        let p = svm.probabilities([[-2, 0], [0, 0], [2, 0]])
        #expect(p[0] < p[1] && p[1] < p[2] && p[0] > 0 && p[2] < 1)
        let restored = try TextureSVM(weights: svm.serialized())
        #expect(zip(restored.probabilities(held), svm.probabilities(held)).allSatisfy { abs($0 - $1) < 1e-6 })
    }
}
