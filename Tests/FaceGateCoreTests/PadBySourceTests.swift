import FaceGateCore
import Testing

@Suite("PAD by source, leave-one-source-out")
struct PadBySourceTests {
    /// The rank rule in one table: n genuine scores 0.01, 0.02, … n/100; the threshold is the k-th lowest with
    /// k = ⌊target · (n + 1)⌋, unresolved (nil) when k = 0.
    @Test(arguments: [
        // n, target, k (0: unresolved)
        (4, 0.05, 0), (18, 0.05, 0), (19, 0.05, 1), (20, 0.05, 1), (39, 0.05, 2), (40, 0.05, 2), (100, 0.05, 5),
        (8, 0.10, 0), (9, 0.10, 1), (10, 0.10, 1), (19, 0.10, 2), (2, 0.25, 0), (3, 0.25, 1), (1, 0.5, 1), (5, 0.5, 3),
        (10, 0.0, 0), (0, 0.05, 0),
    ])
    func rankRuleTable(n: Int, target: Double, k: Int) {
        let scores = (1...max(1, n)).prefix(n).map { Double($0) / 100 }.shuffled()
        let p = PadOperatingPoint.pick(bonaFide: scores, targetBPCER: target)
        #expect(p.rank == k && p.samples == n)
        #expect(p.resolved == (k > 0))
        #expect(p.threshold == (k > 0 ? Double(k) / 100 : nil))
        #expect(PadBySource.threshold(bonaFide: scores, targetBPCER: target) == p.threshold)
        if k > 0 {
            // Within the target on average (k/(n+1) ≤ target), and the strictest such (k+1 would exceed it).
            #expect(p.expectedBPCER! <= target + 1e-12 && Double(k + 1) / Double(n + 1) > target)
            #expect(p.refusedInSample == k - 1)
        }
        // Resolvable exactly from the minimum sample size on.
        if let m = PadOperatingPoint.minimumSamples(targetBPCER: target) { #expect((n >= m) == (k > 0)) } else { #expect(k == 0) }
    }

    @Test func minimumSamplesTiesAndNonFiniteScores() {
        #expect(PadOperatingPoint.minimumSamples(targetBPCER: 0.05) == 19)
        #expect(PadOperatingPoint.minimumSamples(targetBPCER: 0.1) == 9)
        #expect(PadOperatingPoint.minimumSamples(targetBPCER: 0.01) == 99)
        #expect(PadOperatingPoint.minimumSamples(targetBPCER: 0) == nil)
        // Non-finite scores are not samples; ties keep the tied score accepted.
        let p = PadOperatingPoint.pick(bonaFide: [.nan, 0.7, 0.7, 0.7] + Array(repeating: 0.9, count: 16), targetBPCER: 0.05)
        #expect(p.samples == 19 && p.threshold == 0.7 && p.refusedInSample == 0)
        // 40 scores at 5 %: the 2nd lowest (expected BPCER 2/41), not the old quantile's 3rd (3/41 = 7.3 % > 5 %).
        let forty = PadOperatingPoint.pick(bonaFide: (1...40).map { Double($0) }, targetBPCER: 0.05)
        #expect(forty.threshold == 2 && forty.expectedBPCER == 2.0 / 41)
    }

    @Test func aFoldTooSmallToResolveTheTargetKeepsTheDefaultOperatingPoint() {
        // The fixtures' situation: one source's genuine clip scores under every other source's (0.533 vs 0.62–0.75),
        // and the others have 4 genuine presentations: at 5 % no threshold can be picked (n < 19).
        var samples: [PadSample] = [], sources: [String] = []
        func add(_ src: String, _ label: String, _ score: Double, live: Bool) {
            samples.append(PadSample(label: label, score: score, acceptedAsLive: live)); sources.append(src)
        }
        add("K", PadSample.bonaFide, 0.533, live: true); add("K", PadSample.bonaFide, 0.72, live: true)
        for (i, s) in [0.624, 0.655, 0.72, 0.75].enumerated() { add("O\(i)", PadSample.bonaFide, s, live: true) }
        add("sim", "replay", 0.59, live: true)      // an attack the system accepted: an unresolved fold does not hide it
        add("sim", "print", 0.2, live: false)
        let rows = PadBySource.evaluate(samples, sources: sources, targetBPCER: 0.05, onlyStricter: true)
        let k = rows.first { $0.source == "K" }!
        #expect(!k.resolved && k.threshold == nil && k.operatingPoint?.samples == 4)
        #expect(k.heldOut?.bpcer == 0, "judged at the system's decision")
        let sim = rows.first { $0.source == "sim" }!
        #expect(!sim.resolved && sim.heldOut?.species.map(\.accepted) == [0, 1])
        // At 25 % the same fold resolves: the lowest of the others' 4 (0.624) — and K's 0.533 is refused.
        let r25 = PadBySource.evaluate(samples, sources: sources, targetBPCER: 0.25, onlyStricter: true).first { $0.source == "K" }!
        #expect(r25.resolved && r25.threshold == 0.624 && r25.heldOut?.bonaFideRejected == 1)
        // Only stricter: a presentation the system refused stays refused at a lower picked threshold.
        var low = samples; low[low.count - 1] = PadSample(label: "print", score: 0.7, acceptedAsLive: false)
        let strict = PadBySource.evaluate(low, sources: sources, targetBPCER: 0.25, onlyStricter: true).first { $0.source == "sim" }!
        let loose = PadBySource.evaluate(low, sources: sources, targetBPCER: 0.25).first { $0.source == "sim" }!
        #expect(strict.threshold == 0.533 && strict.heldOut?.species.first { $0.name == "print" }?.accepted == 0)
        #expect(loose.heldOut?.species.first { $0.name == "print" }?.accepted == 1)
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
        // Threshold from A's 20 genuine scores (0.8…0.895): k = ⌊0.05 · 21⌋ = 1, the lowest, 0.8: all of B's genuine fail.
        #expect(b.threshold == 0.8 && b.resolved)
        #expect(b.heldOut?.bpcer == 1)
        #expect(b.heldOut?.species.first?.apcer == 0)
        #expect(b.metrics.bpcer == 0 && b.metrics.bonaFide == 20)
        // A judged at B's threshold (0.4): every genuine accepted.
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
        // Held out: cam2 is judged at the threshold of cam1 + cam3's 14 genuine scores (k = ⌊0.1 · 15⌋ = 1: the lowest,
        // 0.55); cam2's genuine 0.30 … 0.50 are rejected, its prints at 0.55 accepted.
        #expect(abs((c2.threshold ?? 0) - 0.55) < 1e-12)
        #expect(c2.heldOut?.bonaFideRejected == 5 && c2.heldOut?.species.first?.accepted == 3)
        // cam1 is judged at cam2 + cam3's threshold (14 genuine: the lowest, 0.30): its replays stay accepted, and
        // (not only-stricter: a model's own threshold) two prints the model refused at 0.5 too.
        #expect(abs((c1.threshold ?? 0) - 0.30) < 1e-12 && c1.heldOut?.bpcer == 0)
        #expect(c1.heldOut?.species.map(\.accepted) == [2, 4], "the prints at 0.32 and 0.365 ≥ 0.30")
        // Every presentation counted once.
        #expect(rows.map { $0.metrics.bonaFide + $0.metrics.species.map(\.presentations).reduce(0, +) }.reduce(0, +) == scores.count)
    }

    @Test func sourceOfAPathIsItsRepositoryFolder() {
        #expect(PadBySource.source(ofPath: "liveness/jtboing__liveness-web-demo/dataset/real/0.png") == "jtboing__liveness-web-demo")
        #expect(PadBySource.source(ofPath: "/tmp/sim/replay.mp4") == "sim")
    }
}
