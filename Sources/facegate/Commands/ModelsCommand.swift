import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import Foundation

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, install, verify and remove models by name (pinned by SHA-256).",
        subcommands: [List.self, Install.self, Verify.self, Remove.self])

    struct Location: ParsableArguments {
        @Option(name: .long, help: "Model directory (default: $FACEGATE_MODELS or ~/.cache/facegate/models).")
        var models: String?
        var directory: ModelDirectory { ModelDirectory.resolve(models) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Installed and available models with role, size and licence.")
        @OptionGroup var location: Location
        @Flag(help: "JSON output.") var json = false
        struct Row: Encodable { var name: String; var role: String; var installed: Bool; var size: Int; var license: String; var base: Bool; var files: [String]; var urls: [String] }
        func run() async throws {
            try await reportingErrors {
                let inst = CatalogInstaller(directory: location.directory)
                let rows = ModelCatalog.entries.map { e in
                    Row(name: e.name, role: e.role.rawValue, installed: inst.isInstalled(e), size: e.totalSize, license: e.license,
                        base: e.isBase, files: e.files.map(\.file.fileName), urls: e.files.flatMap(\.urls))
                }
                if json { print(jsonLine(rows)); return }
                print("model directory: \(location.directory.path)")
                print("name                    role        status      size       licence")
                for r in rows {
                    print(String(format: "%-23@ %-11@ %-11@ %-10@ %@", r.name as NSString, r.role as NSString,
                                 (r.installed ? "installed" : (r.base ? "missing" : "available")) as NSString,
                                 formatBytes(r.size) as NSString, r.license as NSString))
                }
                print("install: facegate models install NAME…   (base models: \(BaseModels.fetchCommand))")
                print("use: anti-spoof models run in `facegate liveness --passive`; detectors with --detector NAME")
            }
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download and install models; each file is verified (SHA-256) before it enters the model directory.",
            discussion: """
            Examples:
              facegate models install minifasnet-v2 minifasnet-v1se
              facegate models install minifasnet-v2 --from https://mirror.example/models
              facegate models install minifasnet-v2 --from /media/usb/models      (air-gapped)
            An interrupted download resumes (HTTP Range) when the command is run again.
            """)
        @Argument(help: "Catalog names (facegate models list).") var names: [String]
        @Option(help: ArgumentHelp("Get files from a folder or a base URL instead of the catalog URLs (also: FACEGATE_MODEL_MIRROR).", valueName: "DIR|URL"))
        var from: String?
        @OptionGroup var location: Location
        @Flag(help: "No progress lines.") var quiet = false

        func run() async throws {
            try await reportingErrors {
                guard !names.isEmpty else { throw FaceGateError.badInput("name at least one model (facegate models list)") }
                let entries = try names.map { n -> CatalogEntry in
                    guard let e = ModelCatalog.entry(named: n) else {
                        throw FaceGateError.badInput(CatalogError.unknownModel(n, available: ModelCatalog.optional.map(\.name)).description)
                    }
                    if e.isBase { throw FaceGateError.badInput(CatalogError.baseModel(n).description) }
                    return e
                }
                let inst = CatalogInstaller(directory: location.directory, source: from)
                let quiet = self.quiet
                for e in entries {
                    if inst.isInstalled(e, rehash: true) { print("\(e.name): already installed"); continue }
                    do {
                        try await inst.install(e) { p in
                            guard !quiet else { return }
                            let pct = p.total > 0 ? p.bytes * 100 / p.total : 0
                            printError("\(p.model): \(p.file) \(pct)% (\(formatBytes(p.bytes)) / \(formatBytes(p.total)))\(p.resumed ? " resumed" : "")")
                        }
                    } catch let c as CatalogError {
                        throw FaceGateError.runtime(c.description)
                    }
                    print("\(e.name): installed (\(e.license)) in \(location.directory.path)"
                          + (e.detectorSpec != nil ? " — use it with --detector \(e.name)" : ""))
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-hash every model file; report missing or altered ones. Exit 1 if any is altered or a base model is missing.")
        @OptionGroup var location: Location
        @Flag(help: "JSON output.") var json = false
        struct Row: Encodable { var name: String; var file: String; var state: String }
        func run() async throws {
            let ok: Bool = try await reportingErrors {
                let results = CatalogInstaller(directory: location.directory).verifyAll()
                let rows = results.map { Row(name: $0.entry.name, file: $0.file.fileName, state: $0.state.rawValue) }
                if json { print(jsonLine(rows)) } else {
                    for r in rows { print(String(format: "%-23@ %-40@ %@", r.name as NSString, r.file as NSString, r.state as NSString)) }
                }
                return !results.contains { $0.state == .altered || ($0.state == .missing && $0.entry.isBase) }
            }
            if !ok { throw ExitCode(1) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove installed optional models.")
        @Argument(help: "Catalog names.") var names: [String]
        @OptionGroup var location: Location
        func run() async throws {
            try await reportingErrors {
                let inst = CatalogInstaller(directory: location.directory)
                for n in names {
                    guard let e = ModelCatalog.entry(named: n) else {
                        throw FaceGateError.badInput(CatalogError.unknownModel(n, available: ModelCatalog.optional.map(\.name)).description)
                    }
                    do {
                        let removed = try inst.remove(e)
                        print(removed.isEmpty ? "\(n): not installed" : "\(n): removed")
                    } catch let c as CatalogError { throw FaceGateError.badInput(c.description) }
                }
            }
        }
    }
}
