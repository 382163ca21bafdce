import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Print the 128-d face descriptor of the face in an image.")

    @Argument(help: "Image of the person (with several faces the largest one, near the centre, is used).") var image: String
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "Accepted for compatibility: the largest face is always used.") var primary = false
    @Option(help: "Average this many jittered crops (slower, slightly more stable).") var jitter = 0
    @OptionGroup var modelOptions: ModelOptions

    struct Output: Encodable { var box: [Int]; var faces: Int; var embedding: [Float] }

    func run() async throws {
        try await reportingErrors {
            let engine = try modelOptions.engine()
            let s = try IdentityProbe.subject(image: image, engine: engine, jitter: jitter)
            let face = s.face, e = s.embedding
            if json {
                print(jsonLine(Output(box: face.box.intArray, faces: s.faces, embedding: e.values)))
            } else {
                print("face \(face.box.intArray)\(s.note.map { " (\($0))" } ?? "") descriptor (128):")
                print(e.values.map { String(format: "%.4f", $0) }.joined(separator: " "))
            }
        }
    }
}

struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Are two face images the same person? Exit 0 same, 1 different.")

    @Argument(help: "First image.") var a: String
    @Argument(help: "Second image.") var b: String
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "Accepted for compatibility: the largest face is always used.") var primary = false
    @Option(help: "Same-person distance threshold (order: --threshold > FACEGATE_IDENTITY_THRESHOLD > identity.threshold in the config > \(IdentityThreshold.default)).") var threshold: Double?
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions

    struct Output: Encodable { var distance: Double; var same: Bool; var threshold: Double; var faces: [Int] }

    func run() async throws {
        let same: Bool = try await reportingErrors {
            let threshold = IdentityPolicy(settings: try thresholdSettings(flag: self.threshold, configOptions)).threshold(override: nil)
            let engine = try modelOptions.engine()
            let subjects = try [a, b].map { try IdentityProbe.subject(image: $0, engine: engine) }
            let d = subjects[0].embedding.distance(to: subjects[1].embedding)
            let same = d <= threshold
            if json {
                print(jsonLine(Output(distance: r(d, 4), same: same, threshold: threshold, faces: subjects.map(\.faces))))
            } else {
                for (p, s) in zip([a, b], subjects) { if let n = s.note { print("\(p): \(n)") } }
                print(String(format: "distance %.4f (threshold %.2f): %@", d, threshold, same ? "same person" : "different people"))
            }
            return same
        }
        if !same { throw ExitCode(1) }
    }
}
