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

    @Test func sourceOfAPathIsItsRepositoryFolder() {
        #expect(PadBySource.source(ofPath: "liveness/jtboing__liveness-web-demo/dataset/real/0.png") == "jtboing__liveness-web-demo")
        #expect(PadBySource.source(ofPath: "/tmp/sim/replay.mp4") == "sim")
    }
}
