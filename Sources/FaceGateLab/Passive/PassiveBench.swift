import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Benchmark stages of passive liveness (called by `facegate bench`): every cue on every frame (the worst case; the
/// runner's schedule spreads bezel, moiré and models over frames), without and with one MiniFASNet.
public enum PassiveBench {
    public static func stages(frame: Image, face: FaceObservation, models: ModelDirectory, repeats: Int) -> [LatencySamples] {
        let n = max(20, repeats)
        let ref = face.landmarks
        var moved = ref.points
        for i in moved.indices { moved[i] = moved[i] + Point2(Double(i % 3) * 0.7, Double(i % 5) * 0.4) }
        let lm2 = Landmarks68(points: moved)
        // Each cue as the runner computes it (name, work); "all cues" runs them in this order.
        let cues: [(String, () -> Void)] = [
            ("moire", { _ = PadNative.moire(frame, face: face.box) }),
            ("banding (row profile + spectrum)", {
                // One frame pair's work: the row profile of this frame and the spectrum of its change.
                var band = BandingCue()
                if let p = PadNative.rowProfile(frame) { band.add(rowProfile: p); band.add(rowProfile: p.enumerated().map { $0.element * (1 + 0.05 * sin(Double($0.offset) * 0.1)) }) }
            }),
            ("glare", { _ = PadNative.glare(frame, face: face.box) }),
            ("bezel", { _ = PadNative.bezel(frame, face: face.box) }),
            ("3-D flatness + nose depth", {
                var flat = FlatnessCue()
                flat.add(ref) { PadNative.planarFit(from: $0, to: $1) }
                flat.add(lm2) { PadNative.planarFit(from: $0, to: $1) }
                var nose = NoseDepthCue()
                nose.add(ref, yawDegrees: face.pose.yaw)
            }),
            ("LBP texture (chip + features)", { _ = PadNative.lbpFeatures(frame, landmarks: ref.points) }),
        ]
        func allCues() { for (_, work) in cues { work() } }
        var base = LatencySamples(name: "passive cues (no model)")
        allCues()
        for _ in 0..<n { base.time { allCues() } }
        // The same cues one by one (where the time goes).
        var single = cues.map { LatencySamples(name: "  " + $0.0) }
        for _ in 0..<n {
            for i in cues.indices { single[i].time { cues[i].1() } }
        }
        var out = [base] + single
        // One MiniFASNet: the installed one, else the fixture copy beside the repository (for developers).
        let candidates = [(try? models.locate(ModelCatalog.miniFASNetV2.file)) ?? "",
                          "../shared/fixtures/models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models/2.7_80x80_MiniFASNetV2.onnx"]
        if let path = candidates.first(where: { !$0.isEmpty && FileManager.default.fileExists(atPath: $0) }),
           let model = try? PadModel(path: path, spec: ModelCatalog.miniFASNetV2.padSpec) {
            let box = PadModel.faceBox(from: ref)
            _ = try? model.probabilities(frame, box: box)
            var withModel = LatencySamples(name: "passive + MiniFASNetV2")
            for _ in 0..<n { withModel.time { allCues(); _ = try? model.probabilities(frame, box: box) } }
            out.append(withModel)
        }
        return out
    }
}
