import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Benchmark stages of passive liveness (called by `facegate bench`): every cue on every frame (the worst case; the
/// runner's schedule spreads bezel, moiré and models over frames), without a model, with MiniFASNetV2, with both MiniFASNets.
public enum PassiveBench {
    public static func stages(frame: Image, face: FaceObservation, models: ModelDirectory, repeats: Int) -> [LatencySamples] {
        let n = max(20, repeats)
        let ref = face.landmarks
        var moved = ref.points
        for i in moved.indices { moved[i] = moved[i] + Point2(Double(i % 3) * 0.7, Double(i % 5) * 0.4) }
        let lm2 = Landmarks68(points: moved)
        // The banding cue's inputs: this frame's row profile and a changed copy (so a spectrum is computed).
        let profile = PadNative.rowProfile(frame) ?? []
        let changed = profile.enumerated().map { $0.element * (1 + 0.05 * sin(Double($0.offset) * 0.1)) }
        // Each cue as the runner computes it (name, work); "all cues" runs them in this order. Native = the C++ shim
        // (always optimised); Swift = FaceGateCore (unoptimised in a debug build).
        let cues: [(String, () -> Void)] = [
            ("moire", { _ = PadNative.moire(frame, face: face.box) }),
            ("banding row profile (native)", { _ = PadNative.rowProfile(frame) }),
            ("banding spectrum (Swift)", {
                // One frame pair's Swift work: log ratio, detrend and the 38-frequency spectrum of this frame's change.
                var band = BandingCue()
                band.add(rowProfile: profile); band.add(rowProfile: changed)
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
        // The model cue's face noise (`ModelCue.noisyFaceSigma`), measured on every model frame on the runner's face
        // box: its own stage, and part of the two model stages below (not of the cues without a model).
        let noiseBox = PadFaceRegion.box(landmarks: ref.points, fallback: face.box)
        func faceNoise() { _ = PassiveAnalyzer.faceNoise(frame, box: noiseBox) }
        var noise = LatencySamples(name: "  face noise (model frames)")
        for _ in 0..<n { noise.time { faceNoise() } }
        out.append(noise)
        // Both MiniFASNets (the default installed pair): the installed files, else the fixture copies beside the
        // repository (for developers). One stage with V2 only, one with both.
        let fixtures = "../shared/fixtures/models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models/"
        func load(_ entry: CatalogEntry, _ fixture: String) -> PadModel? {
            let candidates = [(try? models.locate(entry.file)) ?? "", fixtures + fixture]
            guard let path = candidates.first(where: { !$0.isEmpty && FileManager.default.fileExists(atPath: $0) }) else { return nil }
            return try? PadModel(path: path, spec: entry.padSpec)
        }
        let box = PadModel.faceBox(from: ref)
        if let v2 = load(ModelCatalog.miniFASNetV2, "2.7_80x80_MiniFASNetV2.onnx") {
            _ = try? v2.probabilities(frame, box: box)
            var withModel = LatencySamples(name: "passive + MiniFASNetV2")
            for _ in 0..<n { withModel.time { allCues(); faceNoise(); _ = try? v2.probabilities(frame, box: box) } }
            out.append(withModel)
            if let v1 = load(ModelCatalog.miniFASNetV1SE, "4_0_0_80x80_MiniFASNetV1SE.onnx") {
                _ = try? v1.probabilities(frame, box: box)
                var both = LatencySamples(name: "passive + MiniFASNetV2 + V1SE")
                for _ in 0..<n { both.time { allCues(); faceNoise(); _ = try? v2.probabilities(frame, box: box); _ = try? v1.probabilities(frame, box: box) } }
                out.append(both)
            }
        }
        return out
    }
}
