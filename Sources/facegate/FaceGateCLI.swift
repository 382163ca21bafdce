import ArgumentParser
import FaceGate
import Foundation

@main
struct FaceGateCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facegate",
        abstract: "Face liveness detection and face authentication.",
        discussion: """
        Exit status: 0 ok / positive decision, 1 negative decision, 2 usage or bad input, 3 runtime failure.
        Models: --models DIR, or FACEGATE_MODELS, or ~/.cache/facegate/models (fetched by `make models`).
        """,
        version: FaceGateVersion.string,
        // Each command lives in its own file under Commands/; register it here (one line each).
        subcommands: CommandRegistry.all
    )
}
