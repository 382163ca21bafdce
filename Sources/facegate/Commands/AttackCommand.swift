import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import FaceGateVision
import Foundation

struct AttackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Simulate a presentation attack from bona-fide media (print, moving print, screen, replay) into a video.",
        discussion: """
        Examples:
          facegate attack --input me.jpg --kind print --output print.mp4
          facegate attack --input me.mp4 --kind replay --output replay.mp4 --seed 7
        """)

    @Option(help: "Bona-fide photo or video.") var input: String
    @Option(help: "print | print-moving | screen | replay") var kind: String
    @Option(help: "Output video (mp4, avi, mkv).") var output: String
    @Option(help: "Seed for the attack's appearance and motion.") var seed: UInt64 = 1
    @Option(help: "Length in seconds.") var duration = 3.0
    @Option(help: "Frames per second.") var fps = 25.0
    @Option(help: "Optional background image for print and screen attacks (default: a plain wall).") var background: String?
    @Flag(help: "JSON summary.") var json = false

    struct Output: Encodable { var output: String; var kind: String; var species: String; var frames: Int }

    func run() async throws {
        try await reportingErrors {
            guard let k = AttackKind(rawValue: kind.lowercased()) else {
                throw FaceGateError.badInput("--kind must be one of \(AttackKind.allCases.map(\.rawValue).joined(separator: ", ")), not '\(kind)'")
            }
            guard FileManager.default.fileExists(atPath: input) else { throw FaceGateError.missingFile(input) }
            guard duration > 0 && duration <= 60, fps > 0 && fps <= 60 else {
                throw FaceGateError.badInput("--duration must be in (0, 60] s and --fps in (0, 60]")
            }
            let ext = (output as NSString).pathExtension.lowercased()
            guard ["mp4", "avi", "mkv"].contains(ext) else { throw FaceGateError.badInput("--output must end in .mp4, .avi or .mkv") }
            var sim = AttackSimulator(kind: k, seed: seed)
            sim.duration = duration
            sim.fps = fps
            if let b = background { sim.background = try Image.read(b) }
            let n = try sim.render(input: input, output: output)
            if json {
                print(jsonLine(Output(output: output, kind: k.rawValue, species: k.species, frames: n)))
            } else {
                print("wrote \(output): \(n) frames, \(k.rawValue) attack (species \(k.species))")
            }
        }
    }
}
