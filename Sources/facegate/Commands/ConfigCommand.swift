import ArgumentParser
import FaceGate
import FaceGateConfig
import Foundation

/// `facegate config check|show`: loads the configuration, prints `ConfigReport`'s lines.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check or show the configuration file (facegate.toml).",
        discussion: "Reference with every key, default and meaning: docs/facegate.example.toml.",
        subcommands: [Check.self, Show.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file: unknown keys, wrong types and bad values, with line numbers.",
            discussion: "Exit status: 0 valid (warnings allowed), 2 invalid. Environment overrides (FACEGATE_<SECTION>_<KEY>) are checked too.")

        @Argument(help: "File to check (default: the one FaceGate would use).")
        var file: String?

        @Flag(name: .long, help: "Print issues as JSON lines.")
        var json = false

        func run() async throws {
            let report: ConfigReport
            do { report = ConfigReport(try ConfigLoader.load(explicit: file, environment: ProcessInfo.processInfo.environment)) }
            catch let e as FaceGateConfigError { printError("facegate: error: \(e.description)"); throw ExitCode(e.exitCode) }
            if json {
                for l in report.jsonLines { print(l) }
            } else {
                for i in report.issues { print(i.description) }
                print(report.verdict)
            }
            if !report.loaded.isValid { throw ExitCode(2) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration (defaults < file < environment < flags); secrets are hidden.")

        @OptionGroup var options: ConfigOptions

        @Flag(name: .long, help: "Annotate each key with where its value came from.")
        var origin = false

        @Flag(name: .long, help: "Print as one JSON object.")
        var json = false

        func run() async throws {
            let report: ConfigReport
            do { report = ConfigReport(try ConfigLoader.load(explicit: options.config, overrides: try options.overrides())) }
            catch let e as FaceGateConfigError { printError("facegate: error: \(e.description)"); throw ExitCode(e.exitCode) }
            for i in report.loaded.issues { printError(i.description) }
            if json { print(try report.effectiveJSON()) } else { for l in report.effectiveTOML(origins: origin) { print(l) } }
            if !report.loaded.isValid { throw ExitCode(2) }
        }
    }
}
