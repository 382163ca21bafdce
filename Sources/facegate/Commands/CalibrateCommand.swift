import ArgumentParser
import FaceGate
import FaceGateCore
import Foundation

struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Calibrate the match threshold on labelled pairs: ROC, EER and the threshold for a target FAR.",
        discussion: """
        FILE.tsv has a header with path_a, path_b and same (1/0) columns (image paths relative to the file), or
        distance and same columns. Example: facegate calibrate --pairs ../shared/fixtures/PAIRS.tsv --target-far 0.01
        """)
    @Option(help: "Pairs file (TSV).") var pairs: String
    @Option(help: "Target false accept rate for the suggested threshold.") var targetFar = 0.001
    @Option(help: "Write the full ROC (threshold, FAR, FRR) as TSV to this file.") var roc: String?
    @Option(help: "Write every pair with its distance (path_a, path_b, same, distance) as TSV to this file.") var distances: String?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var modelOptions: ModelOptions

    struct Point: Encodable { var threshold: Double; var far: Double; var frr: Double }
    struct Output: Encodable {
        var pairs: Int; var genuine: Int; var impostor: Int; var skipped: [String]
        var eer: Double; var eer_threshold: Double
        var target_far: Double; var threshold: Double; var far: Double; var frr: Double
        var default_threshold: Double; var default_far: Double; var default_frr: Double
        var roc: [Point]
        var images: [UsedFace]
    }
    struct UsedFace: Encodable { var path: String; var box: [Int]; var faces: Int }

    func run() async throws {
        try await reportingErrors {
            guard targetFar >= 0 && targetFar <= 1 else { throw FaceGateError.badInput("--target-far must be in 0…1") }
            guard FileManager.default.fileExists(atPath: pairs) else { throw FaceGateError.missingFile(pairs) }
            let engine = try modelOptions.engine()
            let (scored, skipped, used, rows) = try PairsFile.scored(pairs, engine: engine)
            if let path = distances {
                let text = "path_a\tpath_b\tsame\tdistance\n" + rows.map { row, d in
                    "\(row.a)\t\(row.b)\t\(row.same ? 1 : 0)\t\(d.map { String(format: "%.6f", $0) } ?? "")"
                }.joined(separator: "\n") + "\n"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            let c = try Calibration(pairs: scored)
            let t = c.threshold(forFAR: targetFar)
            let d = c.rates(at: IdentityThreshold.default)
            if let path = roc {
                let text = "threshold\tfar\tfrr\n" + c.roc.map { String(format: "%.6f\t%.6f\t%.6f", $0.threshold, $0.far, $0.frr) }.joined(separator: "\n") + "\n"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            if json {
                print(jsonLine(Output(pairs: scored.count, genuine: c.genuineCount, impostor: c.impostorCount, skipped: skipped,
                                      eer: r(c.eer, 4), eer_threshold: r(c.eerThreshold, 4), target_far: targetFar,
                                      threshold: r(t.threshold, 4), far: r(t.far, 4), frr: r(t.frr, 4),
                                      default_threshold: IdentityThreshold.default, default_far: r(d.far, 4), default_frr: r(d.frr, 4),
                                      roc: c.roc.map { Point(threshold: r($0.threshold, 4), far: r($0.far, 4), frr: r($0.frr, 4)) },
                                      images: used.map { UsedFace(path: $0.path, box: $0.box.intArray, faces: $0.faces) })))
                return
            }
            print("\(scored.count) pairs (\(c.genuineCount) same, \(c.impostorCount) different)" + (skipped.isEmpty ? "" : ", \(skipped.count) image(s) skipped"))
            for s in skipped { print("  skipped \(s)") }
            let several = used.filter { $0.faces > 1 }
            print("faces used: the subject (largest face) of each of \(used.count) images" + (several.isEmpty ? "" : "; images with several faces:"))
            for u in several { print("  \(u.path): \(IdentityProbe.facesNote(u.faces) ?? ""), box \(u.box.intArray)") }
            print("threshold  FAR      FRR")
            for th in stride(from: 0.30, through: 0.80, by: 0.05) {
                let p = c.rates(at: th)
                print(String(format: "  %.2f     %.4f   %.4f%@", th, p.far, p.frr, abs(th - IdentityThreshold.default) < 1e-9 ? "   ← default" : ""))
            }
            print(String(format: "EER %.4f at threshold %.4f", c.eer, c.eerThreshold))
            print(String(format: "threshold for FAR ≤ %g: %.4f (FAR %.4f, FRR %.4f)", targetFar, t.threshold, t.far, t.frr))
        }
    }
}
