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
        }
        return out
    }
}
