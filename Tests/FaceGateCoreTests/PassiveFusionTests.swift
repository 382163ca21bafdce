import FaceGateCore
import Foundation
import Testing

@Suite("Passive fusion, cue logic and ISO/IEC 30107-3 metrics")
struct PassiveFusionTests {
    func reading(_ name: PadCue, _ role: PadCueRole, _ state: PadCueState, level: Double?, confidence: Double = 0.9) -> PadCueReading {
        precondition(name.role == role, "\(name) is a \(name.role) cue"); return PadCueReading(cue: name, state: state, level: level, confidence: confidence)
    }

    @Test func denyOverridesConfirmAndNamesTheCue() {
        let v = PassiveFusion.fuse([
            reading(.flat3D, .both, .live, level: 0.1),
            reading(.moire, .deny, .spoof, level: 0.8),
            reading(.glare, .deny, .neutral, level: 0.2),
        ], mode: .strict)
        #expect(!v.live)
        #expect(v.decidedBy.map(\.name) == ["moire"])
        #expect(v.reason == .denied)
        #expect(v.score < 0.5)
    }

    @Test func lightModeIsDenyOnly() {
        let cues = [reading(.moire, .deny, .neutral, level: 0.3), reading(.bezel, .deny, .neutral, level: 0.2),
                    PadCueReading.abstain(.flat3D, "still image")]
        let light = PassiveFusion.fuse(cues, mode: .light)
        #expect(light.live)
        #expect(light.reason == .noDenyCue)
        #expect(Set(light.decidedBy.map(\.name)) == ["moire", "bezel"])
        #expect(light.score >= 0.5)
        let strict = PassiveFusion.fuse(cues, mode: .strict)
        #expect(!strict.live)
        #expect(strict.reason == .unconfirmed)
        #expect(strict.decidedBy.map(\.name) == ["flat-3d"])
    }

    /// A replay of a real head shows real 3-D motion and blinks: in light mode those confirm readings must not change
    /// the decision, the score or the reason — whatever the deny cues say decides.
    @Test func confirmCuesNeverMakeAReplayLookMoreLiveInLightMode() {
        let replayConfirms = [reading(.flat3D, .both, .live, level: 0.1), reading(.noseDepth, .confirm, .live, level: 0.1),
                              reading(.blink, .confirm, .live, level: 0.3)]
        for denyLevel in stride(from: 0.05, through: 0.95, by: 0.1) {
            let deny = [reading(.moire, .deny, denyLevel >= 0.5 ? .spoof : .neutral, level: denyLevel),
                        reading(.model, .deny, .neutral, level: 0.2)]
            let without = PassiveFusion.fuse(deny, mode: .light)
            let with = PassiveFusion.fuse(deny + replayConfirms, mode: .light)
            #expect(with.live == without.live && with.score == without.score && with.reason == without.reason)
            // flat-3d is also a deny cue: it may be listed among the deny cues that looked; the confirm-only cues never.
            #expect(Set(with.decidedBy.map(\.name)).subtracting(["flat-3d"]) == Set(without.decidedBy.map(\.name)))
            #expect(with.reason != .confirmed)
        }
    }

    @Test func strictModeConfirmedByA3DCue() {
        let v = PassiveFusion.fuse([reading(.moire, .deny, .neutral, level: 0.3), reading(.noseDepth, .confirm, .live, level: 0.2)], mode: .strict)
        #expect(v.live)
        #expect(v.decidedBy.map(\.name) == ["nose-depth"])
        #expect(v.reason == .confirmed)
    }

    @Test func lowConfidenceAndAbstainingCuesDoNotVote() {
        let v = PassiveFusion.fuse([reading(.bezel, .deny, .spoof, level: 0.9, confidence: 0.1),
                                    PadCueReading.abstain(.model, "no model")], mode: .light)
        #expect(v.live)
        #expect(v.reason == .allAbstained)
    }

    @Test func scoreOrdersEvidence() {
        let weak = PassiveFusion.fuse([reading(.moire, .deny, .neutral, level: 0.4)], mode: .light)
        let none = PassiveFusion.fuse([reading(.moire, .deny, .neutral, level: 0.1)], mode: .light)
        let spoof = PassiveFusion.fuse([reading(.moire, .deny, .spoof, level: 0.9)], mode: .light)
        #expect(none.score > weak.score)
        #expect(weak.score > spoof.score)
    }

    @Test func levelMappingPinsTheThresholdAtHalf() {
        #expect(abs(PadCueReading.level(9, live: 4, threshold: 9, spoof: 20) - 0.5) < 1e-12)
        #expect(PadCueReading.level(4, live: 4, threshold: 9, spoof: 20) == 0.25)
        #expect(PadCueReading.level(20, live: 4, threshold: 9, spoof: 20) == 0.75)
        // Decreasing statistics (low = spoof) map the same way.
        #expect(PadCueReading.level(0.1, live: 0.6, threshold: 0.375, spoof: 0.15) > 0.75)
        #expect(PadCueReading.level(0.6, live: 0.6, threshold: 0.375, spoof: 0.15) == 0.25)
    }

    @Test func screenCuesNeedPersistence() {
        var glare = GlareCue()
        let sheet = GlareMeasurement(largestArea: 0.12, largestSolidity: 0.9, largestTexture: 1.5, totalArea: 0.13, blobs: 2)
        let skin = GlareMeasurement(largestArea: 0.01, largestSolidity: 0.6, largestTexture: 12, totalArea: 0.02, blobs: 5)
        for i in 0..<10 { glare.add(i < 2 ? sheet : skin) }
        #expect(glare.reading.state == .neutral)
        for _ in 0..<10 { glare.add(sheet) }
        #expect(glare.reading.state == .spoof)

        var moire = MoireCue()
        #expect(moire.reading.state == .abstain)
        moire.add(MoireMeasurement(peakRatio: 15, highFrequencyShare: 0.3, peaks: 4, side: 96))
        // One spectrum (a still): advisory, never votes.
        #expect(moire.reading.state == .neutral && moire.reading.confidence < PassiveFusion.minimumConfidence && moire.reading.level == nil)
        for _ in 0..<5 { moire.add(MoireMeasurement(peakRatio: 15, highFrequencyShare: 0.3, peaks: 4, side: 96)) }
        #expect(moire.reading.state == .spoof)

        var bezel = BezelCue()
        for _ in 0..<5 { bezel.add(BezelMeasurement(found: true, areaRatio: 4, aspect: 1.8, edgeSupport: 0.9, rimContrast: 0.3)) }
        #expect(bezel.reading.state == .spoof)
        var door = BezelCue()
        for _ in 0..<5 { door.add(BezelMeasurement(found: true, areaRatio: 60, aspect: 2, edgeSupport: 0.9, rimContrast: 0.3)) }
        #expect(door.reading.state == .neutral)
    }

    @Test func depthCueSeparatesReliefFromPlane() {
        var face = DepthCue(), plane = DepthCue()
        for _ in 0..<5 {
            face.add(DepthMeasurement(coverage: 0.9, medianMM: 500, planeRMSMM: 9, reliefMM: 32, centerProtrusionMM: 18, quadraticRMSMM: 3))
            plane.add(DepthMeasurement(coverage: 0.9, medianMM: 500, planeRMSMM: 1.2, reliefMM: 4, centerProtrusionMM: 0.5, quadraticRMSMM: 1))
        }
        #expect(face.reading.state == .live)
        #expect(plane.reading.state == .spoof)
        var holes = DepthCue()
        holes.add(DepthMeasurement(coverage: 0.1, medianMM: 500, planeRMSMM: 1, reliefMM: 3, centerProtrusionMM: 0, quadraticRMSMM: 1))
        #expect(holes.reading.state == .abstain)
    }

    @Test func gyroIntegrationIsTrapezoidal() {
        let trace = GyroTrace((0...100).map { GyroSample(t: Double($0) * 0.01, gx: 0, gy: 1, gz: 0) })
        let r = trace.rotation(from: 0.2, to: 0.5)
        #expect(abs(r.y - 0.3) < 1e-9)
        #expect(r.x == 0)
    }

    /// A sinusoidal device rotation; the image shifts by focal × angle (consistent) or not at all / at random (injected).
    @Test func imuCueSeparatesConsistentFromInjected() {
        let focal = 640.0, fps = 30.0
        let trace = GyroTrace((0...400).map { i in let t = Double(i) / 200; return GyroSample(t: t, gx: 0.05 * sin(3 * t), gy: 0.6 * sin(2 * .pi * 0.8 * t), gz: 0) })
        var consistent = ImuConsistencyCue(focalPixels: focal)
        var frozen = ImuConsistencyCue(focalPixels: focal)
        var unrelated = ImuConsistencyCue(focalPixels: focal)
        var lcg: UInt64 = 7
        func noise() -> Double { lcg = lcg &* 6364136223846793005 &+ 1442695040888963407; return Double(lcg >> 11) / Double(1 << 53) - 0.5 }
        for k in 0..<59 {
            let t0 = Double(k) / fps, t1 = Double(k + 1) / fps
            let rot = trace.rotation(from: t0, to: t1)
            let seen = ImageMotion(dx: -rot.y * focal + 0.3 * noise(), dy: rot.x * focal + 0.3 * noise(), angle: 0, tracked: 80, inliers: 70)
            consistent.add(rotation: rot, scene: seen, faceShift: Point2(seen.dx, seen.dy))
            frozen.add(rotation: rot, scene: ImageMotion(dx: 0.2 * noise(), dy: 0.2 * noise(), angle: 0, tracked: 80, inliers: 70), faceShift: nil)
            unrelated.add(rotation: rot, scene: ImageMotion(dx: 8 * noise(), dy: 8 * noise(), angle: 0, tracked: 80, inliers: 70), faceShift: nil)
        }
        #expect(consistent.reading.state == .neutral)
        #expect(consistent.reading.level! < 0.5)
        #expect(frozen.reading.state == .spoof)
        #expect(unrelated.reading.state == .spoof)
        var still = ImuConsistencyCue(focalPixels: focal)
        for _ in 0..<20 { still.add(rotation: (0, 0.0001, 0), scene: ImageMotion(dx: 0, dy: 0, angle: 0, tracked: 80, inliers: 70), faceShift: nil) }
        #expect(still.reading.state == .abstain)
    }

    /// Nose-depth regression on projected synthetic heads: a nose 0.5 inter-ocular in front of the eyes vs a flat face.
    @Test func noseDepthGatesOnSlopeMagnitude() {
        func face(yaw: Double, noseDepth: Double) -> Landmarks68 {
            var pts = [Point2](repeating: Point2(0, 0), count: 68)
            let iod = 60.0, c = cos(yaw * .pi / 180), s = sin(yaw * .pi / 180)
            func put(_ i: Int, _ x: Double, _ y: Double, _ z: Double) { pts[i] = Point2(320 + (x * c - z * s) * iod, 240 + y * iod) }
            for i in 0..<68 { put(i, Double(i % 9) * 0.1 - 0.4, Double(i / 9) * 0.1, 0) }
            for i in 36...41 { put(i, -0.5 + 0.05 * Double(i - 36), -0.3, 0) }
            for i in 42...47 { put(i, 0.5 - 0.05 * Double(i - 42), -0.3, 0) }
            put(30, 0, 0.2, -noseDepth)
            return Landmarks68(points: pts)
        }
        var solid = NoseDepthCue(), flat = NoseDepthCue(), still = NoseDepthCue()
        for k in 0..<20 {
            let yaw = -20 + 2 * Double(k)
            solid.add(face(yaw: yaw, noseDepth: 0.5), yawDegrees: yaw)
            flat.add(face(yaw: 0, noseDepth: 0.5), yawDegrees: yaw)  // the photo does not turn; the pose estimate wobbles
            still.add(face(yaw: 3, noseDepth: 0.5), yawDegrees: 3)
        }
        #expect(solid.reading.state == .live)
        #expect(flat.reading.state == .neutral)
        #expect(still.reading.state == .abstain)
    }

    @Test func modelCueSumsSoftmaxLikeTheReference() {
        var cue = ModelCue(realClass: 1)
        // Reference arithmetic (Silent-Face test.py): prediction += softmax per model, label = argmax.
        cue.add(frame: [("v2", [0.0837, 0.00133, 0.91496]), ("v1se", [0.30837, 0.14333, 0.5483])])
        #expect(cue.reading.state == .spoof)
        var real = ModelCue(realClass: 1)
        real.add(frame: [("v2", [0.09683, 0.64791, 0.25526]), ("v1se", [0.00861, 0.93713, 0.05426])])
        #expect(real.reading.state == .neutral)
        #expect(real.reading.level! < 0.5)
        let p = ModelCue.softmax([1, 2, 3])
        #expect(abs(p.reduce(0, +) - 1) < 1e-12)
        #expect(p[2] > p[1] && p[1] > p[0])
    }

    /// The model cue's session rule (docs/passive-liveness.md, "Session rule"): mean of the per-frame probabilities over
    /// the session, arg-max; occasional bad frames do not deny a live face, consistently-off frames do, and a session
    /// that swings around the boundary is judged by its mean, not by its worst quarter.
    @Test func modelCueSessionRuleIsTheMeanOverFrames() {
        // Two models, three classes (print, real, replay); per frame P(real) = r, the rest split evenly.
        func session(_ reals: [Double]) -> ModelCue {
            var c = ModelCue(realClass: 1)
            for r in reals {
                let p = [(1 - r) * 0.5, r, (1 - r) * 0.5]
                c.add(frame: [("v2", p), ("v1se", p)])
            }
            return c
        }
        // Live: 9 clear frames, 3 bad ones (blur, turned head) → live.
        let live = session([0.97, 0.95, 0.1, 0.96, 0.98, 0.2, 0.97, 0.95, 0.96, 0.15, 0.97, 0.98])
        #expect(live.reading.state == .neutral)
        #expect(live.frameMargins.count == 12)
        #expect(live.frameMargins.filter { $0 < 0 }.count == 3)
        // Consistently off: every frame just below the arg-max boundary (P(real) 0.3 < 0.35 each other class) → spoof.
        let off = session(Array(repeating: 0.3, count: 12))
        #expect(off.reading.state == .spoof)
        #expect(off.reading.level! > 0.5)
        // Swinging around the boundary like the genuine KwaiVGI d18 clip: mean P(real) above the boundary → live,
        // although its 0.25-quantile margin is negative (the rejected quantile rule would deny it).
        let swing = [0.32, 0.29, 0.36, 0.75, 0.25, 0.28, 0.34, 0.26, 0.62, 0.52, 0.46, 0.31]
        let s = session(swing)
        #expect(ModelCue.quantile(s.frameMargins, ModelCue.reportedQuantile) < 0)
        #expect(s.realProbability! > (1 - s.realProbability!) / 2)
        #expect(s.reading.state == .neutral)
        // Order does not matter: a session rule, not a last-frame rule.
        let r = session(swing.reversed())
        #expect(r.reading.state == s.reading.state)
        #expect(abs(r.reading.level! - s.reading.level!) < 1e-12)
        // Quantile helper: linear between order statistics.
        #expect(ModelCue.quantile([4, 1, 3, 2, 5], 0.25) == 2)
        #expect(abs(ModelCue.quantile([0, 1], 0.25) - 0.25) < 1e-12)
        #expect(ModelCue.quantile([7], 0.25) == 7)
    }

    @Test func metricsFollowTheStandard() {
        var s: [PadSample] = []
        // 10 bona fide: 1 rejected. Print: 10, 2 accepted. Screen: 4, 0 accepted.
        for i in 0..<10 { s.append(PadSample(label: "bona-fide", score: 0.6 + Double(i) * 0.03, acceptedAsLive: i != 0)) }
        for i in 0..<10 { s.append(PadSample(label: "print", score: 0.1 + Double(i) * 0.05, acceptedAsLive: i >= 8)) }
        for i in 0..<4 { s.append(PadSample(label: "screen", score: 0.05 * Double(i), acceptedAsLive: false)) }
        let m = PadMetrics(s)
        #expect(m.species.map(\.name) == ["print", "screen"])
        #expect(abs(m.species[0].apcer - 0.2) < 1e-12)
        #expect(m.species[1].apcer == 0)
        #expect(abs(m.bpcer - 0.1) < 1e-12)
        #expect(abs(m.acer - 0.15) < 1e-12)
        // Scores separate perfectly (max attack 0.55 < min bona fide 0.6): BPCER at APCER 1 % and 5 % is 0.
        #expect(m.bpcerAtApcer1 == 0)
        #expect(m.bpcerAtApcer5 == 0)
        #expect(m.eer == 0)
        // DET: APCER falls and BPCER rises as the threshold increases.
        for (a, b) in zip(m.det, m.det.dropFirst()) {
            #expect(b.apcer <= a.apcer)
            #expect(b.bpcer >= a.bpcer)
        }
    }
}
