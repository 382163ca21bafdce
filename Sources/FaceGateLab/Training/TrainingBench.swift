import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Benchmark stages of the trained-model runtime, for `facegate bench`.
public enum TrainingBench {
    /// LivenessNet input sides measured (the default 32 and the gather crop size 64).
    public static let inputSizes = [32, 64]

    /// Per-crop inference of LivenessNet (aligned chip → resize → forward → softmax) at each input size, and the
    /// aligned-chip cut itself. Inference cost does not depend on the weights, so the nets are trained for one epoch
    /// on jittered copies of the face (a second each) instead of needing a model file.
    public static func stages(image: Image, landmarks: Landmarks68, repeats: Int) throws -> [LatencySamples] {
        var chipStage = LatencySamples(name: "liveness crop (chip 64)")
        var chip: Image?
        for _ in 0..<repeats { chip = chipStage.time { faceChip(image, points: landmarks.points, size: 64, padding: 0.2) } }
        guard let crop = chip else { throw FaceGateError.runtime("bench: no aligned chip for the face") }
        var out = [chipStage]
        for side in inputSizes {
            let set = try CropSet(size: side)
            for i in 0..<16 { set.add(i % 2 == 0 ? crop : crop.flippedHorizontally(), label: i % 2) }
            var p = LivenessNetParameters()
            p.inputSize = side; p.epochs = 1; p.batch = 8
            let net = try LivenessNet.train(train: set, validation: nil, parameters: p, onEpoch: { _ in EpochVerdict(stop: true, keepAsBest: true) })
            _ = net.probabilities(crop)  // first call allocates
            var s = LatencySamples(name: "livenessnet \(side)x\(side)")
            for _ in 0..<repeats * 2 { _ = s.time { net.probabilities(crop) } }
            out.append(s)
            if side == 32 { out += try exportedStages(net: net, crop: crop, repeats: repeats) }
        }
        return out
    }

    /// The same 32x32 net exported to ONNX (float32 and int8 weights) and run through OpenCV DNN as
    /// `--pad-model` / `evaluate --model OUT.onnx` run it (resize → normalise → forward, softmax in the graph).
    static func exportedStages(net: LivenessNet, crop: Image, repeats: Int) throws -> [LatencySamples] {
        let dir = NSTemporaryDirectory() + "facegate-bench-export-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fgm = dir + "/net.fgm"
        let header = ModelHeader(magic: ModelContainer.magic, formatVersion: ModelContainer.formatVersion,
                                 facegateVersion: FaceGateVersion.string, created: ModelContainer.now(), arch: .livenessnet,
                                 inputSize: net.inputSize, crop: CropSpec(chipSize: 64, margin: 0.2, aligned: true),
                                 classes: ["fake", "real"], realClass: "real",
                                 training: .init(dataset: "bench", samples: [:], trainSamples: 16, validationSamples: 0, split: "none",
                                                 validationGroups: [], epochsRun: 1, bestEpoch: 1, seed: 0, parameters: [:]),
                                 metrics: [:], weights: .init(bytes: 0, sha256: ""))
        try ModelContainer.write(header: header, weights: net.serialized(), to: fgm)
        var out: [LatencySamples] = []
        for precision in ExportPrecision.allCases {
            let onnx = dir + "/net-\(precision.rawValue).onnx"
            _ = try ModelExporter.export(model: fgm, to: onnx, precision: precision)
            let m = try LivenessModel(path: onnx)
            _ = m.probabilities(crop: crop)  // first call allocates
            var s = LatencySamples(name: "livenessnet 32x32 onnx \(precision.rawValue) (opencv dnn)")
            for _ in 0..<repeats * 2 { _ = s.time { m.probabilities(crop: crop) } }
            out.append(s)
        }
        return out
    }
}
