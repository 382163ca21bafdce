import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// The shim's own ResNet forward pass (embed_fast.cpp, the default) must give dlib's embeddings: same weights and
/// layers, only float rounding differs (affine layers folded into the convolutions, sums in another order). Checked on
/// every labelled fixture face, with and without jitter, and on the PAIRS.tsv verification decisions.
@Suite struct EmbedderEquivalenceTests {
    /// Largest allowed |fast - dlib| per component. Measured worst on the 30 LABELS.tsv faces: 3.6e-7 (embedding
    /// norms ~1.5); 1e-5 leaves 30x headroom for rounding and still fails on any real layer mistake (those give > 1e-2).
    static let maxComponentDifference: Float = 1e-5
    /// Largest allowed Euclidean distance between the two embeddings of one face. Measured worst: 9.4e-7; 1e-4 is
    /// 6000x below the 0.6 same-person threshold.
    static let maxDistance = 1e-4

    struct Pair { var fast: Embedding; var reference: Embedding }

    /// Both embeddings of the primary face of each image (relative fixture paths), one embedder per evaluator.
    static func embeddings(_ paths: [String], jitter: Int = 0) throws -> [String: Pair] {
        let models = ModelDirectory.resolve()
        let model = try models.locate(BaseModels.resnet, verify: false)
        let fast = try FaceEmbedder(path: model)
        let reference = try FaceEmbedder(path: model, evaluator: .dlibReference)
        var out: [String: Pair] = [:]
        try EnginePool.shared.with { engine in
            for rel in paths where out[rel] == nil {
                let img = try Image.read(TestPaths.fixture(rel))
                let face = try #require(engine.analyze(img).primary, "no face in \(rel)")
                let pts = try engine.alignmentPoints(img, face: face)
                let f = try #require(fast.embed(img, points: pts, jitter: jitter), "fast embed failed: \(rel)")
                let r = try #require(reference.embed(img, points: pts, jitter: jitter), "dlib embed failed: \(rel)")
                out[rel] = Pair(fast: f, reference: r)
            }
        }
        return out
    }

    static func check(_ all: [String: Pair], _ label: String) {
        var worstComponent: Float = 0, worstDistance = 0.0
        for (rel, p) in all {
            #expect(p.fast.values.count == Embedding.dimension)
            let component = zip(p.fast.values, p.reference.values).map { abs($0 - $1) }.max() ?? .infinity
            let distance = p.fast.distance(to: p.reference)
            #expect(component <= maxComponentDifference, "\(label) \(rel): max |diff| \(component)")
            #expect(distance <= maxDistance, "\(label) \(rel): distance \(distance)")
            worstComponent = max(worstComponent, component)
            worstDistance = max(worstDistance, distance)
        }
        print("EmbedderEquivalence \(label): \(all.count) faces, worst max|diff| \(worstComponent), worst distance \(worstDistance)")
    }

    static func labelledFaces() throws -> [String] {
        let text = try String(contentsOfFile: TestPaths.fixture("LABELS.tsv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { $0.split(separator: "\t").first.map(String.init) }
    }

    @Test func fastPathMatchesDlibOnFixtureFaces() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let faces = try Self.labelledFaces()
        try #require(faces.count >= 20)
        let all = try Self.embeddings(faces)
        #expect(all.count == faces.count)
        Self.check(all, "plain")
    }

    /// Jitter: both embedders start from the same random state, so they average the same jittered chips.
    @Test func fastPathMatchesDlibWithJitter() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let faces = Array(try Self.labelledFaces().prefix(4))
        let all = try Self.embeddings(faces, jitter: 3)
        #expect(all.count == faces.count)
        Self.check(all, "jitter 3")
        let plain = try Self.embeddings(faces)
        for rel in faces {
            // Jitter must really change the chip (otherwise this test checks nothing beyond the plain one).
            #expect(all[rel]!.fast.distance(to: plain[rel]!.fast) > 1e-3, "\(rel): jitter had no effect")
        }
    }

    @Test func pairsVerificationUnchanged() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let text = try String(contentsOfFile: TestPaths.fixture("PAIRS.tsv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }.filter { $0.count >= 5 }
        try #require(rows.count >= 50)
        let all = try Self.embeddings(rows.flatMap { [$0[0], $0[1]] })
        Self.check(all, "pairs")
        var correctFast = 0, correctReference = 0
        for row in rows {
            let a = all[row[0]]!, b = all[row[1]]!
            let same = row[4] == "1"
            let dFast = a.fast.distance(to: b.fast), dReference = a.reference.distance(to: b.reference)
            #expect(abs(dFast - dReference) <= 2 * Self.maxDistance, "\(row[2])/\(row[3]): \(dFast) vs \(dReference)")
            #expect((dFast <= IdentityThreshold.default) == (dReference <= IdentityThreshold.default),
                    "\(row[2])/\(row[3]): decision differs (\(dFast) vs \(dReference))")
            if (dFast <= IdentityThreshold.default) == same { correctFast += 1 }
            if (dReference <= IdentityThreshold.default) == same { correctReference += 1 }
        }
        #expect(correctFast == correctReference)
        #expect(Double(correctFast) / Double(rows.count) >= 0.97, "fast-path accuracy \(correctFast)/\(rows.count)")
    }
}
