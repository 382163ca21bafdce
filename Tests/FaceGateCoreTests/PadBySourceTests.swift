import FaceGateCore
import Testing

@Suite("PAD by source, leave-one-source-out")
struct PadBySourceTests {
    @Test func thresholdKeepsTheTargetShareOfGenuineScoresBelowIt() {
        let scores = (0..<100).map { Double($0) / 100 }
        // 5 % of 100 = the 5 lowest scores rejected: threshold is the 6th lowest.
        #expect(PadBySource.threshold(bonaFide: scores, targetBPCER: 0.05) == 0.05)
        #expect(PadBySource.threshold(bonaFide: scores, targetBPCER: 0) == 0)
        #expect(PadBySource.threshold(bonaFide: [0.7, 0.2, 0.9], targetBPCER: 0.05) == 0.2)
        #expect(PadBySource.threshold(bonaFide: [], targetBPCER: 0.05) == nil)
    }

    @Test func eachSourceIsJudgedAtAThresholdPickedOnTheOthers() {
        // Source A: genuine scores high; source B: genuine scores low (an unseen camera). B's attacks score 0.3.
        var samples: [PadSample] = [], sources: [String] = []
        for i in 0..<20 { samples.append(PadSample(label: PadSample.bonaFide, score: 0.8 + Double(i) / 200, acceptedAsLive: true)); sources.append("A") }
        for i in 0..<20 { samples.append(PadSample(label: PadSample.bonaFide, score: 0.4 + Double(i) / 200, acceptedAsLive: true)); sources.append("B") }
        for _ in 0..<10 { samples.append(PadSample(label: "replay", score: 0.3, acceptedAsLive: false)); sources.append("B") }
        let rows = PadBySource.evaluate(samples, sources: sources, targetBPCER: 0.05)
        #expect(rows.map(\.source) == ["A", "B"])
        let b = rows[1]
        // Threshold from A's genuine scores (0.8…0.895, 1 of 20 may be rejected → 0.805): all of B's genuine fail.
        #expect(b.threshold == 0.805)
        #expect(b.heldOut?.bpcer == 1)
        #expect(b.heldOut?.species.first?.apcer == 0)
        #expect(b.metrics.bpcer == 0 && b.metrics.bonaFide == 20)
        // A judged at B's threshold (0.405): every genuine accepted.
        #expect(rows[0].heldOut?.bpcer == 0)
    }

    /// `facegate evaluate --by-source`: a trained model's P(real) per crop, grouped by source. Generated scores whose
    /// per-source counts follow from how they were made.
    @Test func modelScoresBySourceAtTheModelThresholdAndHeldOut() {
        var scores: [Double] = [], labels: [String] = [], sources: [String] = []
        func add(_ src: String, _ label: String, _ values: [Double]) {
            for v in values { scores.append(v); labels.append(label); sources.append(src) }
        }
        // cam1: 10 genuine at 0.55…0.91 (all ≥ 0.5), 8 prints at 0.05…0.365 (none accepted), 4 replays 0.6 (all accepted).
        add("cam1", "real", (0..<10).map { 0.55 + Double($0) * 0.04 })
        add("cam1", "print", (0..<8).map { 0.05 + Double($0) * 0.045 })
        add("cam1", "replay", [0.6, 0.6, 0.6, 0.6])
        // cam2 (an unseen camera): 10 genuine at 0.30…0.75, 3 of them below 0.5; 5 prints at 0.45 and 0.55.
        add("cam2", "real", (0..<10).map { 0.30 + Double($0) * 0.05 })
        add("cam2", "print", [0.45, 0.45, 0.55, 0.55, 0.55])
        // cam3: genuine only.
        add("cam3", "real", [0.9, 0.92, 0.94, 0.96])
        let rows = PadBySource.evaluate(scores: scores, labels: labels, realLabel: "real", sources: sources, threshold: 0.5, targetBPCER: 0.1)
        #expect(rows.map(\.source) == ["cam1", "cam2", "cam3"])
        let c1 = rows[0], c2 = rows[1], c3 = rows[2]
        #expect(c1.metrics.bonaFide == 10 && c1.metrics.bpcer == 0)
        #expect(c1.metrics.species.map(\.name) == ["print", "replay"])
        #expect(c1.metrics.species.map(\.accepted) == [0, 4] && c1.metrics.apcerMax == 1 && c1.metrics.acer == 0.5)
        #expect(c2.metrics.bonaFideRejected == 4 && abs(c2.metrics.bpcer - 0.4) < 1e-12, "0.30, 0.35, 0.40, 0.45 < 0.5")
        #expect(c2.metrics.species.first?.accepted == 3)
        #expect(c3.metrics.bpcer == 0 && c3.metrics.species.isEmpty)
        // Held out: cam2 is judged at the threshold of cam1 + cam3's 14 genuine scores (10 % of 14 → 1 may be
        // rejected: the 2nd lowest, 0.59); every cam2 genuine below it is rejected, its prints too.
        #expect(abs((c2.threshold ?? 0) - 0.59) < 1e-12)
        #expect(c2.heldOut?.bonaFideRejected == 6 && c2.heldOut?.species.first?.accepted == 0)
        // cam1 is judged at cam2 + cam3's threshold (14 genuine: 2nd lowest = 0.35): its replays stay accepted.
        #expect(abs((c1.threshold ?? 0) - 0.35) < 1e-12 && c1.heldOut?.bpcer == 0)
        #expect(c1.heldOut?.species.map(\.accepted) == [1, 4], "only the print at 0.365 ≥ 0.35")
        // Every presentation counted once.
        #expect(rows.map { $0.metrics.bonaFide + $0.metrics.species.map(\.presentations).reduce(0, +) }.reduce(0, +) == scores.count)
    }

    @Test func sourceOfAPathIsItsRepositoryFolder() {
        #expect(PadBySource.source(ofPath: "liveness/jtboing__liveness-web-demo/dataset/real/0.png") == "jtboing__liveness-web-demo")
        #expect(PadBySource.source(ofPath: "/tmp/sim/replay.mp4") == "sim")
    }
}
