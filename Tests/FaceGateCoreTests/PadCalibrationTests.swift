import FaceGateCore
import Foundation
import Testing

/// `facegate calibrate-pad`'s arithmetic and the calibrated operating point in fusion.
@Suite("Passive PAD calibration (operating point for a target BPCER)")
struct PadCalibrationTests {
    func reading(_ name: PadCue, _ state: PadCueState, level: Double?, confidence: Double = 0.9, role: PadCueRole = .deny) -> PadCueReading {
        precondition(name.role == role, "\(name) is a \(name.role) cue"); return PadCueReading(cue: name, state: state, level: level, confidence: confidence)
    }

    @Test func thresholdKeepsTheExpectedBPCERWithinTheTargetAndKeepsTheSettingRecording() {
        // 20 genuine scores 0.60, 0.61, … 0.79 (shuffled); 5 %: k = ⌊0.05 · 21⌋ = 1 — the lowest (expected BPCER 1/21).
        var scores = (0..<20).map { Double(60 + $0) / 100 }
        scores.shuffle()
        let c = PadCalibration.calibrate(scores: scores, targetBPCER: 0.05)
        #expect(c.reachable && c.resolved && c.picked && c.enoughRecordings == false)   // 2 / 0.05 = 40 recommended
        #expect(c.threshold <= 0.6 && c.threshold > 0.5985, "\(c.threshold)")
        #expect(c.rejected == 0 && c.bpcer == 0 && c.operatingPoint.rank == 1)
        // Target 0 is never resolvable: the built-in operating point stays.
        let z = PadCalibration.calibrate(scores: scores, targetBPCER: 0)
        #expect(!z.resolved && !z.picked && z.threshold == PassiveFusion.defaultScoreThreshold)
        // 10 %: k = ⌊0.1 · 21⌋ = 2 — the 2nd lowest, one recording refused.
        let ten = PadCalibration.calibrate(scores: scores, targetBPCER: 0.1)
        #expect(ten.threshold <= 0.61 && ten.threshold > 0.6085 && ten.rejected == 1)
        // Rounded down to 0.001 so the setting recording stays accepted (3 recordings resolve 25 %: the lowest).
        let r = PadCalibration.calibrate(scores: [0.73456, 0.9, 0.95], targetBPCER: 0.25)
        #expect(abs(r.threshold - 0.734) < 1e-6 && r.rejected == 0 && r.picked)
        // The table has the fixed grid and the chosen threshold, ascending, with counts that agree.
        #expect(c.table.map(\.threshold) == c.table.map(\.threshold).sorted())
        #expect(c.table.contains { abs($0.threshold - c.threshold) < 1e-9 && $0.rejected == 0 })
        #expect(c.table.first { $0.threshold == 0.7 }?.rejected == 10)
    }

    @Test func tooFewRecordingsLeaveTheTargetUnresolvedAndTheDefaultInPlace() {
        // 4 genuine recordings at 5 %: the lowest as threshold would refuse 1/5 of new genuine ones on average.
        let c = PadCalibration.calibrate(scores: [0.62, 0.66, 0.7, 0.75], targetBPCER: 0.05)
        #expect(c.reachable && !c.resolved && !c.picked)
        #expect(c.threshold == PassiveFusion.defaultScoreThreshold && c.rejected == 0)
        // 18 do not resolve 5 % either; 19 do.
        #expect(!PadCalibration.calibrate(scores: (0..<18).map { 0.6 + Double($0) / 100 }, targetBPCER: 0.05).resolved)
        let n19 = PadCalibration.calibrate(scores: (0..<19).map { 0.6 + Double($0) / 100 }, targetBPCER: 0.05)
        #expect(n19.picked && n19.threshold > 0.5985 && n19.threshold <= 0.6)
    }

    @Test func calibrationOnlyTightensAndSaysWhenTheTargetCannotBeMet() {
        // Two of ten genuine recordings already refused by a cue (score < 0.5): 10 % (k = 1) refuses none → not reachable.
        let scores = [0.2, 0.45] + (0..<8).map { Double(70 + 2 * $0) / 100 }
        let c = PadCalibration.calibrate(scores: scores, targetBPCER: 0.1)
        #expect(!c.reachable && c.resolved && !c.picked && c.rejectedAtDefault == 2)
        #expect(c.threshold == PassiveFusion.defaultScoreThreshold)
        // 20 %: k = ⌊0.2 · 11⌋ = 2 refuses one — still fewer than the cues' two.
        #expect(!PadCalibration.calibrate(scores: scores, targetBPCER: 0.2).reachable)
        // 30 %: k = 3 refuses two: the threshold may then rise to the 3rd lowest.
        let d = PadCalibration.calibrate(scores: scores, targetBPCER: 0.3)
        #expect(d.reachable && d.threshold <= 0.7 && d.threshold > 0.6985 && d.rejected == 2)
        // Very high genuine scores are capped at the maximum.
        #expect(PadCalibration.calibrate(scores: [0.99, 0.995], targetBPCER: 0.5).threshold == PassiveFusion.maximumScoreThreshold)
        #expect(PassiveFusion.clampThreshold(0.2) == 0.5 && PassiveFusion.clampThreshold(.nan) == 0.5)
        #expect(!PadCalibration.calibrate(scores: [], targetBPCER: 0.05).reachable)
    }

    @Test func aCalibratedThresholdRefusesBelowItAndNamesTheCue() {
        // A replay-like session: no cue fired, the highest deny level 0.41 (score 0.59).
        let cues = [reading(.model, .neutral, level: 0.41), reading(.moire, .neutral, level: 0.3),
                    reading(.banding, .abstain, level: nil, confidence: 0), reading(.blink, .live, level: 0.2, role: .confirm)]
        let atDefault = PassiveFusion.fuse(cues, mode: .light)
        #expect(atDefault.live && abs(atDefault.score - 0.59) < 1e-9)
        let calibrated = PassiveFusion.fuse(cues, mode: .light, scoreThreshold: 0.7)
        #expect(!calibrated.live && calibrated.reason == .denied)
        #expect(calibrated.decidedBy.map(\.name) == ["model"])
        #expect(abs(calibrated.score - 0.59) < 1e-9, "a threshold refusal keeps the score")
        // A genuine-like session above the threshold stays live; the same threshold never loosens a fired cue.
        #expect(PassiveFusion.fuse([reading(.model, .neutral, level: 0.25)], mode: .light, scoreThreshold: 0.7).live)
        let fired = [reading(.moire, .spoof, level: 0.55)]
        #expect(!PassiveFusion.fuse(fired, mode: .light, scoreThreshold: 0.3).live)
        // Readings that do not vote (low confidence) are not refused by the threshold either.
        #expect(PassiveFusion.fuse([reading(.model, .neutral, level: 0.45, confidence: 0.1)], mode: .light, scoreThreshold: 0.7).live)
        // Through the combined decision (challenges + passive), as sessions use it.
        let combined = CombinedFusion.decide(mode: .passive, session: nil, passive: cues, passiveMode: .light, scoreThreshold: 0.7)
        #expect(!combined.live && combined.decidedBy.map(\.name).contains("model"))
    }
}

/// DET per attack species (evaluate-pad --plot / det_by_species).
@Suite("Passive PAD metrics per attack species")
struct PadSpeciesDETTests {
    @Test func eachSpeciesCurveUsesOnlyItsOwnAttacks() {
        // Genuine 0.6…0.9; prints are easy (0.1), replays overlap the genuine range (0.55…0.75).
        let bona = (0..<10).map { PadSample(label: PadSample.bonaFide, score: 0.6 + Double($0) * 0.03, acceptedAsLive: true) }
        let prints = (0..<5).map { PadSample(label: "print", score: 0.1 + Double($0) * 0.01, acceptedAsLive: false) }
        let replays = (0..<5).map { PadSample(label: "replay", score: 0.55 + Double($0) * 0.05, acceptedAsLive: $0 > 0) }
        let all = bona + prints + replays
        let per = PadMetrics.bySpecies(all)
        #expect(per.map(\.species) == ["print", "replay"])
        let p = per[0].metrics, r = per[1].metrics
        #expect(p.species.map(\.name) == ["print"] && p.bonaFide == 10)
        #expect(r.species.map(\.name) == ["replay"] && r.bonaFide == 10)
        // Prints separate completely (EER 0); replays do not; the worst-species curve is the replay curve's.
        #expect((p.eer ?? 1) == 0)
        #expect((r.eer ?? 0) > 0)
        #expect(PadMetrics(all).eer == r.eer)
        #expect(PadMetrics.bySpecies(bona).isEmpty)
    }
}
