import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Picks the one face a command should work on, or explains why it cannot.
func singleFace(_ a: FrameAnalysis, source: String, allowSeveral: Bool) throws -> FaceObservation {
    guard let p = a.primary else { throw FaceGateError.noFace(source) }
    if a.faces.count > 1 && !allowSeveral {
        throw FaceGateError.badInput("\(a.faces.count) faces found in \(source) — exactly one person must be in view (or pass --primary to use the main face)")
    }
    if Int(p.box.width) < PipelineConstants.minEmbeddingFace {
        throw FaceGateError.faceTooSmall(pixels: Int(p.box.width), minimum: PipelineConstants.minEmbeddingFace, source: source)
    }
    return p
}

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Print the 128-d face descriptor of the face in an image.")

    @Argument(help: "Image with one face.") var image: String
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "With several faces, use the primary one instead of failing.") var primary = false
    @Option(help: "Average this many jittered crops (slower, slightly more stable).") var jitter = 0
    @OptionGroup var modelOptions: ModelOptions

    struct Output: Encodable { var box: [Int]; var embedding: [Float] }

    func run() async throws {
        try await reportingErrors {
            let engine = try modelOptions.engine()
            let img = try Image.read(image)
            let face = try singleFace(engine.analyze(img), source: image, allowSeveral: primary)
            let e = try engine.embedding(img, face: face, jitter: jitter)
            if json {
                print(jsonLine(Output(box: face.box.intArray, embedding: e.values)))
            } else {
                print("face \(face.box.intArray) descriptor (128):")
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
    @Flag(help: "With several faces in an image, use the primary one instead of failing.") var primary = false
    @Option(help: "Same-person distance threshold.") var threshold = IdentityThreshold.default
    @OptionGroup var modelOptions: ModelOptions

    struct Output: Encodable { var distance: Double; var same: Bool; var threshold: Double }

    func run() async throws {
        let same: Bool = try await reportingErrors {
            guard threshold > 0 && threshold < 2 else { throw FaceGateError.badInput("--threshold must be between 0 and 2") }
            let engine = try modelOptions.engine()
            var embeddings: [Embedding] = []
            for path in [a, b] {
                let img = try Image.read(path)
                let face = try singleFace(engine.analyze(img), source: path, allowSeveral: primary)
                embeddings.append(try engine.embedding(img, face: face))
            }
            let d = embeddings[0].distance(to: embeddings[1])
            let same = d <= threshold
            if json {
                print(jsonLine(Output(distance: r(d, 4), same: same, threshold: threshold)))
            } else {
                print(String(format: "distance %.4f (threshold %.2f): %@", d, threshold, same ? "same person" : "different people"))
            }
            return same
        }
        if !same { throw ExitCode(1) }
    }
}
