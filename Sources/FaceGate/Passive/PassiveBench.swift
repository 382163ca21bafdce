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
        func allCues() {
            _ = PadNative.moire(frame, face: face.box)
            _ = PadNative.glare(frame, face: face.box)
            _ = PadNative.bezel(frame, face: face.box)
            var flat = FlatnessCue()
            flat.add(ref) { PadNative.planarFit(from: $0, to: $1) }
            flat.add(lm2) { PadNative.planarFit(from: $0, to: $1) }
            var nose = NoseDepthCue()
            nose.add(ref, yawDegrees: face.pose.yaw)
            _ = PadNative.lbpFeatures(frame, landmarks: ref.points)
        }
        var base = LatencySamples(name: "passive cues (no model)")
        allCues()
        for _ in 0..<n { base.time { allCues() } }
        // The same cues one by one (where the time goes).
        var moire = LatencySamples(name: "  moire"), glare = LatencySamples(name: "  glare")
        var bezel = LatencySamples(name: "  bezel"), geometry = LatencySamples(name: "  3-D flatness + nose depth")
        var texture = LatencySamples(name: "  LBP texture (chip + features)")
        for _ in 0..<n {
            moire.time { _ = PadNative.moire(frame, face: face.box) }
            glare.time { _ = PadNative.glare(frame, face: face.box) }
            bezel.time { _ = PadNative.bezel(frame, face: face.box) }
            geometry.time {
                var flat = FlatnessCue()
                flat.add(ref) { PadNative.planarFit(from: $0, to: $1) }
                flat.add(lm2) { PadNative.planarFit(from: $0, to: $1) }
                var nose = NoseDepthCue()
                nose.add(ref, yawDegrees: face.pose.yaw)
            }
            texture.time { _ = PadNative.lbpFeatures(frame, landmarks: ref.points) }
        }
        var out = [base, moire, glare, bezel, geometry, texture]
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
