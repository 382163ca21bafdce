import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// `facegate evaluate --by-source` (issue 15 item 6): a trained model's metrics per source (person/camera kept whole)
/// and each source judged at the threshold picked on the other sources, on the fixture crops. The expected numbers
/// are recomputed here from the model's own P(real) per crop, independently of `PadBySource`.
@Suite("evaluate --by-source (own models, per source, leave-one-source-out)")
struct EvaluateBySourceTests {
    struct Species: Decodable { var species: String; var presentations: Int; var accepted: Int; var apcer: Double }
    struct Source: Decodable {
        var source: String; var crops: Int; var bona_fide: Int; var bpcer: Double; var species: [Species]
        var threshold: Double?; var held_out_bpcer: Double?; var held_out_apcer: [Species]?
    }
    struct Output: Decodable { var crops: Int; var bpcer: Double; var by_source: [Source]? }

    static let target = 0.1

    @Test(.enabled(if: ModelExportTests.ready && FileManager.default.fileExists(atPath: TestPaths.cli), "needs fixtures and the built CLI"),
          arguments: ["train", "heldout"])
    func perSourceMetricsMatchTheCropsOfEachSource(split: String) throws {
        let t = try ModelExportTests.trained.get()
        let dataset = t.dir + "/dataset/" + split
        let res = try runCLI(["evaluate", "--model", t.fgm, "--dataset", dataset, "--by-source", "--target-bpcer", "\(Self.target)", "--json"])
        #expect(res.status == 0, "\(res.stderr)")
        let out = try JSONDecoder().decode(Output.self, from: Data(res.stdout.utf8))
        let rows = try #require(out.by_source)

        let s = try ModelEvaluator.evaluate(model: try LivenessModel(path: t.fgm), dataset: try Dataset.scan(dataset)).scores
        let groups = Array(Set(s.groups)).sorted()
        #expect(rows.map(\.source) == groups)
        #expect(groups.count == (split == "train" ? 3 : 2))
        #expect(rows.map(\.crops).reduce(0, +) == out.crops)
        for row in rows {
            let mine = s.pReal.indices.filter { s.groups[$0] == row.source }
            let real = mine.filter { s.labels[$0] == s.realLabel }
            let attacks = mine.filter { s.labels[$0] != s.realLabel }
            #expect(row.crops == mine.count && row.bona_fide == real.count, "\(row.source)")
            let rejected = real.filter { s.pReal[$0] < s.threshold }.count
            #expect(abs(row.bpcer - Double(rejected) / Double(max(1, real.count))) < 1e-4, "\(row.source)")
            #expect(row.species.map(\.presentations).reduce(0, +) == attacks.count)
            #expect(row.species.map(\.accepted).reduce(0, +) == attacks.filter { s.pReal[$0] >= s.threshold }.count, "\(row.source)")
            // Held out: the k-th lowest of the OTHER sources' genuine crops, k = ⌊target · (n + 1)⌋ (expected BPCER ≤
            // target); k = 0 (too few to resolve the target): no threshold, judged at the model's own.
            let others = s.pReal.indices.filter { s.groups[$0] != row.source && s.labels[$0] == s.realLabel }.map { s.pReal[$0] }.sorted()
            let k = Int(Self.target * Double(others.count + 1) + 1e-9)
            let expected: Double? = k >= 1 ? others[k - 1] : nil
            if let e = expected { #expect(row.threshold.map { abs($0 - e) < 1e-4 } == true, "\(row.source)") } else { #expect(row.threshold == nil, "\(row.source)") }
            let t = expected ?? s.threshold
            let heldRejected = real.filter { s.pReal[$0] < t }.count
            #expect(abs((row.held_out_bpcer ?? -1) - Double(heldRejected) / Double(max(1, real.count))) < 1e-4, "\(row.source)")
            let heldAccepted = attacks.filter { s.pReal[$0] >= t }.count
            #expect(row.held_out_apcer?.map(\.accepted).reduce(0, +) == heldAccepted, "\(row.source)")
        }
        // Without --by-source the output has no per-source rows; the text form prints the table.
        let plain = try runCLI(["evaluate", "--model", t.fgm, "--dataset", dataset, "--json"])
        #expect(try JSONDecoder().decode(Output.self, from: Data(plain.stdout.utf8)).by_source == nil)
        let text = try runCLI(["evaluate", "--model", t.fgm, "--dataset", dataset, "--by-source", "--quiet"])
        #expect(text.status == 0 && text.stdout.contains("held-out BPCER"))
        for g in groups { #expect(text.stdout.contains(g)) }
        let bad = try runCLI(["evaluate", "--model", t.fgm, "--dataset", dataset, "--by-source", "--target-bpcer", "1.5"])
        #expect(bad.status == 2 && bad.stderr.contains("--target-bpcer"))
    }
}
