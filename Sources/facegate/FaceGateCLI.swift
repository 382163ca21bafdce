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

    /// Runs the command, mapping ArgumentParser's usage status (64) to FaceGate's documented 2.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let message = fullMessage(for: error)
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
