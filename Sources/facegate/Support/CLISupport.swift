import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateVision
import Foundation

/// Options every command that loads face models takes.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (default: $FACEGATE_MODELS or ~/.cache/facegate/models).")
    var models: String?

    @Option(name: .long, help: ArgumentHelp(
        "Face detector: hog (default), mmod, haar, an installed catalog detector by name, or a model path.",
        discussion: "Catalog detectors: \(ModelCatalog.detectors.map(\.name).joined(separator: ", ")) (install with `facegate models install NAME`). Paths: YuNet .onnx, Haar .xml, 'deploy.prototxt|weights.caffemodel'.",
        valueName: "name|path"))
    var detector: String = "hog"

    var directory: ModelDirectory { ModelDirectory.resolve(models) }

    func engine() throws -> FaceEngine {
        try FaceEngine(models: directory, detector: DetectorChoice(detector))
    }
}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
}

/// Runs a command body, turning typed errors into a one-line message and the documented exit status.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as FaceGateError {
        printError("facegate: error: \(e.description)")
        throw ExitCode(e.exitCode)
    } catch let e as FaceGateConfigError {
        printError("facegate: error: \(e.description)")
        throw ExitCode(e.exitCode)
    } catch let e as LivenessInputError {
        printError("facegate: error: \(e.description)")   // bad input, as FaceGateError.badInput
        throw ExitCode(2)
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as any LocalizedError where e.errorDescription != nil {
        printError("facegate: error: \(e.errorDescription!)")
        throw ExitCode(3)
    } catch {
        printError("facegate: error: \(error)")
        throw ExitCode(3)
    }
}

/// Rounds for compact JSON.
func r(_ x: Double, _ places: Int = 3) -> Double {
    guard x.isFinite else { return 0 }
    let p = pow(10.0, Double(places))
    return (x * p).rounded() / p
}

/// One JSON value per line.
func jsonLine<T: Encodable>(_ value: T) -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.withoutEscapingSlashes]
    guard let data = try? enc.encode(value), let s = String(data: data, encoding: .utf8) else { return "{}" }
    return s
}

/// Human-readable number of bytes.
func formatBytes(_ b: Int) -> String {
    let mb = Double(b) / 1_048_576
    return mb >= 1 ? String(format: "%.1f MB", mb) : String(format: "%.1f KB", Double(b) / 1024)
}
