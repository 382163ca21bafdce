import ArgumentParser
import FaceGateCore
import FaceGateLab
import FaceGateStore
import Foundation

/// `facegate bench-gallery N`: the 1:N index benchmark (random unit vectors). `facegate bench --gallery N` calls the
/// same `IndexBenchmark.run`. With `--load-from`, also fills a real encrypted gallery with N synthetic templates and
/// times loading it into the index (the gallery can be kept and reused, or only filled with `--write-only`).
struct BenchGalleryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-gallery",
        abstract: "Measure 1:N identify latency, recall, memory and load time on N random templates.",
        discussion: """
            Build with `swift build -c release` first. Examples:
              facegate bench-gallery 1000000
              facegate bench-gallery 1000000 --load-from sqlite                 # + load from a temporary SQLite gallery
              facegate bench-gallery 1000000 --load-from /tmp/g1m.sqlite --load-only   # keep the gallery (key in /tmp/g1m.sqlite.key), reuse it next time
              facegate bench-gallery 1000000 --load-from postgres://u@127.0.0.1/db --key-file /tmp/pg.key --load-only
            Synthetic users are named bench0, bench1, … with --per-user templates each (seed 7); a gallery that already
            holds exactly N templates is reused, an empty one is filled, anything else is refused.
            """)
    @Argument(help: "Templates in the synthetic gallery.") var templates: Int = 1_000_000
    @Option(help: "Templates per synthetic user.") var perUser = IndexBenchmark.defaultTemplatesPerUser
    @Option(help: "Timed queries per thread count.") var queries = 300
    @Option(help: "Queries checked against exact float32 search (costs N×128 flops each).") var recallQueries = 300
    @Option(help: "Comma-separated thread counts to time.") var threads = "1,2"
    @Option(help: "Also measure loading the index from a real encrypted gallery: 'sqlite' (a temporary file, deleted afterwards), a SQLite path (kept) or a postgres:// URL.")
    var loadFrom: String?
    @Option(help: "Key of the --load-from gallery (created 0600 if missing). Default: PATH.key for a SQLite path, a throwaway key otherwise.")
    var keyFile: String?
    @Option(help: "Users per write transaction when filling the gallery.") var batchUsers = 2000
    @Option(help: "Cores used to open and quantise templates while loading (default: all).")
    var loadThreads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Only fill the --load-from gallery (no index benchmark, no load).") var writeOnly = false
    @Flag(help: "Skip the synthetic index benchmark; only fill (if empty) and load the --load-from gallery.") var loadOnly = false
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        try await reportingErrors {
            let ts = try GalleryLoadBenchmark.check(templates: templates, perUser: perUser, threads: threads,
                                                    onlyFlags: writeOnly || loadOnly, loadFrom: loadFrom)
            if !writeOnly && !loadOnly {
                let result = try IndexBenchmark.run(templates: templates, templatesPerUser: perUser, queries: queries,
                                                    recallQueries: recallQueries, threads: ts,
                                                    progress: json ? nil : { printError($0) })
                print(json ? jsonLine(result) : result.description)
            }
            if let spec = loadFrom {
                let bench = GalleryLoadBenchmark(templates: templates, perUser: perUser, batchUsers: batchUsers,
                                                 loadThreads: loadThreads, writeOnly: writeOnly)
                let l = try await withGalleryErrors { try await bench.run(spec, keyFile: keyFile, progress: json ? nil : { printError($0) }) }
                print(json ? jsonLine(l) : l.line(writeOnly: writeOnly))
                if !writeOnly && !l.check_identified {
                    throw FaceGateError.runtime("the loaded index did not rank the first synthetic template's user first")
                }
            }
        }
    }
}
