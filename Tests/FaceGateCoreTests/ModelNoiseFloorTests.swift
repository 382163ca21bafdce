import FaceGateCore
import Foundation
import Testing

/// The anti-spoof models cannot see a noisy face (a dark room's webcam with its gain up): such frames are left out of
/// the model cue's session, and a session of only such frames abstains (`ModelCue.noisyFaceSigma`,
/// docs/passive-liveness.md "Lighting and cameras on video"). The noise comes from `SensorNoise`.
@Suite("Model cue noise floor and the sensor-noise estimator")
struct ModelNoiseFloorTests {
    /// Deterministic Gaussian noise (Box–Muller on a xorshift generator).
    struct Rng {
        var s: UInt64
        mutating func uniform() -> Double {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return (Double(s >> 11) + 0.5) / Double(1 << 53)
        }
        mutating func gauss() -> Double { sqrt(-2 * log(uniform())) * cos(2 * .pi * uniform()) }
    }

    /// A 160 × 160 face-like patch: smooth shading, a strong vertical edge and a textured band, plus noise of `sigma`.
    func patch(sigma: Double, seed: UInt64 = 7) -> [UInt8] {
        var rng = Rng(s: seed)
        var g = [UInt8](repeating: 0, count: 160 * 160)
        for y in 0..<160 {
            for x in 0..<160 {
                var v = 90 + 0.3 * Double(x) + 0.2 * Double(y)          // shading (cancelled by the operator)
                if x >= 100 { v += 50 }                                  // an edge (a minority of pixels)
                if y >= 20 && y < 30 { v += Double((x * 7) % 11) }      // a little texture
                v += sigma * rng.gauss()
                g[y * 160 + x] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return g
    }

    @Test func theEstimatorMeasuresNoiseNotShadingOrEdges() throws {
        let clean = try #require(SensorNoise.sigma(gray: patch(sigma: 0), width: 160, height: 160))
        #expect(clean < 0.5)
        for sigma in [2.0, 4.0, 8.0] {
            let est = try #require(SensorNoise.sigma(gray: patch(sigma: sigma), width: 160, height: 160))
            #expect(abs(est - sigma) / sigma < 0.2, "σ \(sigma) estimated \(est)")
        }
        #expect(SensorNoise.sigma(gray: [1, 2, 3, 4], width: 2, height: 2) == nil)
    }

    /// One frame of two models whose P(real) is `real` (three classes: print, real, replay).
    func frame(_ real: Double) -> [(model: String, probs: [Double])] {
        let other = (1 - real) / 2
        return [("v2", [other, real, other]), ("v1se", [other, real, other])]
    }

    @Test func aSessionOfNoisyFacesAbstainsInsteadOfDenying() {
        var cue = ModelCue(realClass: 1)
        for _ in 0..<6 { cue.add(frame: frame(0.2), noiseSigma: ModelCue.noisyFaceSigma + 2) }
        #expect(cue.reading.state == .abstain)
        #expect(cue.reading.level == nil)
        #expect(cue.noisyFrames == 6)
        // The same frames with a clean face deny (the rule without noise is unchanged).
        var clean = ModelCue(realClass: 1)
        for _ in 0..<6 { clean.add(frame: frame(0.2), noiseSigma: 0.5) }
        #expect(clean.reading.state == .spoof)
        // Without a noise measurement (stills from tests, callers that do not measure) nothing changes either.
        var unmeasured = ModelCue(realClass: 1)
        for _ in 0..<6 { unmeasured.add(frame: frame(0.2)) }
        #expect(unmeasured.reading.state == .spoof)
    }

    @Test func cleanFramesStillDecideWhenSomeAreNoisy() {
        // Clean frames of an attack, noisy frames that look live: the clean frames decide (spoof).
        var cue = ModelCue(realClass: 1)
        for _ in 0..<4 { cue.add(frame: frame(0.05), noiseSigma: 1.0) }
        for _ in 0..<8 { cue.add(frame: frame(0.95), noiseSigma: ModelCue.noisyFaceSigma * 2) }
        #expect(cue.reading.state == .spoof)
        #expect(cue.frames == 4 && cue.noisyFrames == 8)
        // Just below the floor a frame counts; at the floor it does not.
        var edge = ModelCue(realClass: 1)
        edge.add(frame: frame(0.2), noiseSigma: ModelCue.noisyFaceSigma - 0.01)
        edge.add(frame: frame(0.99), noiseSigma: ModelCue.noisyFaceSigma)
        #expect(edge.frames == 1)
        #expect(edge.reading.state == .spoof)
    }

    @Test func anAbstainingModelDoesNotVoteInFusion() {
        var cue = ModelCue(realClass: 1)
        for _ in 0..<6 { cue.add(frame: frame(0.01), noiseSigma: 9) }
        let v = PassiveFusion.fuse([cue.reading, PadCueReading(cue: .moire, state: .neutral, level: 0.3, confidence: 0.9)], mode: .light)
        #expect(v.live)
        #expect(!v.decidedBy.contains(.model))
    }
}
