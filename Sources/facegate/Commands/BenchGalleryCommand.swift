import ArgumentParser
import FaceGateCore
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

    struct LoadResult: Encodable {
        var backend: String
        var templates: Int
        var users: Int
        /// nil when an existing gallery was reused.
        var write_seconds: Double?
        var load_seconds: Double
        var load_threads: Int
        var index_mb: Double
        var rss_growth_mb: Double?
        /// The first synthetic template, probed after the load, ranks its user (bench0) first. Not "identified within
        /// the threshold": a synthetic user's templates are independent random vectors, so under the default
        /// mean-of-best rule the one exact template is averaged with a far one and the score sits above the threshold.
        var check_identified: Bool
    }

    /// Users per synthetic gallery of `n` templates.
    func userCount(_ n: Int) -> Int { (n + perUser - 1) / perUser }

    /// Fills an empty gallery with `n` synthetic templates (seed 7), `batchUsers` users per transaction.
    func fill(_ g: any Gallery, n: Int) async throws -> Double {
        var gen = RandomUnitVectors(seed: Self.gallerySeed)
        let t0 = Date()
        var made = 0, u = 0
        while made < n {
            var batch: [Enrollment] = []
            while made < n && batch.count < max(1, batchUsers) {
                let k = min(perUser, n - made)
                batch.append(Enrollment(name: "bench\(u)", templates: (0..<k).map { _ in FaceTemplate(embedding: gen.embedding()) }))
                made += k; u += 1
            }
            try await g.enroll(batch: batch)
        }
        return Date().timeIntervalSince(t0)
    }

    static let gallerySeed: UInt64 = 7

    func openBenchGallery(_ spec: String) async throws -> (any Gallery, cleanup: () -> Void) {
        if spec == "sqlite" {
            let dir = NSTemporaryDirectory() + "facegate-bench-\(UUID().uuidString.prefix(8))"
            let key = try keyFile.map { try GalleryKey.load(file: $0) } ?? .generate(source: "bench")
            let g = try await GalleryFactory.open(.sqlite(path: dir + "/bench.sqlite"), key: key)
            return (g, { try? FileManager.default.removeItem(atPath: dir) })
        }
        let location = try GalleryLocation(parsing: spec)
        let key: GalleryKey
        var keyPath = keyFile
        if keyPath == nil, case .sqlite(let path) = location { keyPath = path + ".key" }
        if let p = keyPath {
            key = FileManager.default.fileExists(atPath: p) ? try GalleryKey.load(file: p) : try GalleryKey.create(file: p)
        } else {
            key = .generate(source: "bench")
        }
        return (try await GalleryFactory.open(location, key: key), {})
    }

    /// Fills the gallery if empty (reuses it if it holds exactly `n` templates), then times `IdentityIndexService.load`.
    func measureLoad(_ spec: String, n: Int) async throws -> LoadResult {
        let (g, cleanup) = try await openBenchGallery(spec)
        defer { cleanup() }
        do {
            let existing = try await g.listUsers()
            let stored = existing.reduce(0) { $0 + $1.templateCount }
            var written: Double?
            if existing.isEmpty {
                if !json { printError("writing \(n) templates to \(g.location) …") }
                written = try await fill(g, n: n)
            } else if stored != n || existing.count != userCount(n) {
                throw FaceGateError.badInput("\(g.location) already holds \(existing.count) users / \(stored) templates, not a bench gallery of \(n): use an empty gallery")
            }
            if writeOnly {
                await g.close()
                return LoadResult(backend: g.location.description, templates: n, users: userCount(n), write_seconds: written,
                                  load_seconds: 0, load_threads: 0, index_mb: 0, rss_growth_mb: nil, check_identified: false)
            }
            let svc = IdentityIndexService(gallery: g, threads: max(1, loadThreads))
            let rss0 = IndexBenchmark.residentBytes()
            let t1 = Date()
            try await svc.load()
            let loaded = Date().timeIntervalSince(t1)
            let rss1 = IndexBenchmark.residentBytes()
            var gen = RandomUnitVectors(seed: Self.gallerySeed)
            let first = try await svc.identify(gen.embedding())
            let result = LoadResult(
                backend: g.location.description, templates: await svc.templateCount, users: await svc.userCount,
                write_seconds: written, load_seconds: loaded, load_threads: max(1, loadThreads),
                index_mb: Double(await svc.memoryBytes) / 1e6,
                rss_growth_mb: (rss0 != nil && rss1 != nil) ? Double(rss1! - rss0!) / 1e6 : nil,
                check_identified: first.candidates.first?.user == "bench0")
            await g.close()
            return result
        } catch {
            await g.close()
            throw error
        }
    }

    func run() async throws {
        try await reportingErrors {
            let ts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
            guard !ts.isEmpty else { throw FaceGateError.badInput("--threads must list positive integers, e.g. 1,2") }
            guard templates > 0, perUser > 0 else { throw FaceGateError.badInput("N and --per-user must be positive") }
            if (writeOnly || loadOnly) && loadFrom == nil {
                throw FaceGateError.badInput("--write-only and --load-only need --load-from")
            }
            if !writeOnly && !loadOnly {
                let result = try IndexBenchmark.run(templates: templates, templatesPerUser: perUser, queries: queries,
                                                    recallQueries: recallQueries, threads: ts,
                                                    progress: json ? nil : { printError($0) })
                print(json ? jsonLine(result) : result.description)
            }
            if let spec = loadFrom {
                let l = try await withGalleryErrors { try await measureLoad(spec, n: templates) }
                if json {
                    print(jsonLine(l))
                } else if writeOnly {
                    print(String(format: "  wrote %d templates (%d users) to %@ in %.1f s", l.templates, l.users, l.backend, l.write_seconds ?? 0))
                } else {
                    var s = String(format: "  gallery load (stream, decrypt, quantise; %d thread%@) from %@: %.2f s for %d templates (%d users)",
                                   l.load_threads, l.load_threads == 1 ? "" : "s", l.backend, l.load_seconds, l.templates, l.users)
                    s += String(format: "; index %.1f MB", l.index_mb)
                    if let r = l.rss_growth_mb { s += String(format: " (RSS growth %.1f MB)", r) }
                    s += l.write_seconds.map { String(format: "; writing them took %.1f s", $0) } ?? "; existing gallery reused"
                    s += l.check_identified ? "; check: first template identified" : "; CHECK FAILED: first template not identified"
                    print(s)
                }
                if !writeOnly && !l.check_identified {
                    throw FaceGateError.runtime("the loaded index did not rank the first synthetic template's user first")
                }
            }
        }
    }
}
