import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// Reference parity of the MiniFASNet runner: with the reference implementation's face box, FaceGate's probabilities
/// match Silent-Face-Anti-Spoofing's pipeline on every fixture image. The expected values are a recorded reference
/// (Tests/Reference/minifasnet_reference.tsv, produced by scripts/pad_reference.py — onnxruntime on the same ONNX files,
/// the reference's own crop recipe); nothing here is computed by FaceGate's code.
@Suite("MiniFASNet reference parity", .serialized)
struct MiniFASNetParityTests {
    static let modelDir = "models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models/"
    static var ready: Bool { TestPaths.hasFixtures && TestPaths.hasModels }
    /// The issue's parity bound on every class probability.
    static let tolerance = 0.01

    struct Row { var path: String; var box: Rect; var v2: [Double]; var v1se: [Double]; var label: Int }

    static func rows() throws -> [Row] {
        let text = try String(contentsOfFile: TestPaths.repo.appendingPathComponent("Tests/Reference/minifasnet_reference.tsv").path, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: "\t").map(String.init)
            let b = f[1].split(separator: ",").compactMap { Double($0) }
            return Row(path: f[0], box: Rect(x: b[0], y: b[1], width: b[2], height: b[3]),
                       v2: f[2].split(separator: ",").compactMap { Double($0) }, v1se: f[3].split(separator: ",").compactMap { Double($0) },
                       label: Int(f[4]) ?? -1)
        }
    }

    @Test(.enabled(if: ready)) func probabilitiesMatchTheReferenceOnEveryFixtureImage() throws {
        let v2 = try PadModel(path: TestPaths.fixture(Self.modelDir + "2.7_80x80_MiniFASNetV2.onnx"))
        let v1 = try PadModel(path: TestPaths.fixture(Self.modelDir + "4_0_0_80x80_MiniFASNetV1SE.onnx"))
        let rows = try Self.rows()
        #expect(rows.count >= 500)
        var worst2 = 0.0, worst1 = 0.0, labels = 0
        for ref in rows {
            let img = try Image.read(TestPaths.fixture(ref.path), orientation: .exif)
            let p2 = try v2.probabilities(img, box: ref.box), p1 = try v1.probabilities(img, box: ref.box)
            let d2 = (0..<3).map { abs(p2[$0] - ref.v2[$0]) }.max()!, d1 = (0..<3).map { abs(p1[$0] - ref.v1se[$0]) }.max()!
            worst2 = max(worst2, d2); worst1 = max(worst1, d1)
            #expect(d2 < Self.tolerance, "\(ref.path) V2 \(p2) vs reference \(ref.v2)")
            #expect(d1 < Self.tolerance, "\(ref.path) V1SE \(p1) vs reference \(ref.v1se)")
            let sum = (0..<3).map { p2[$0] + p1[$0] }
            if sum.indices.max(by: { sum[$0] < sum[$1] }) == ref.label { labels += 1 }
        }
        #expect(labels == rows.count)
        print("MiniFASNet parity on \(rows.count) fixture images: max |Δp| V2 \(worst2), V1SE \(worst1)")
    }
}
