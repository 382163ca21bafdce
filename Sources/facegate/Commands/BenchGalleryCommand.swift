import ArgumentParser
import FaceGateCore
import FaceGateStore
import Foundation

/// `facegate bench-gallery N`: the 1:N index benchmark (random unit vectors). `facegate bench --gallery N` calls the
/// same `IndexBenchmark.run`.
struct BenchGalleryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-gallery",
        abstract: "Measure 1:N identify latency, recall, memory and load time on N random templates.",
        discussion: "Build with `swift build -c release` first. Example: facegate bench-gallery 1000000")
    @Argument(help: "Templates in the synthetic gallery.") var templates: Int = 1_000_000
    @Option(help: "Templates per synthetic user.") var perUser = IndexBenchmark.defaultTemplatesPerUser
    @Option(help: "Timed queries per thread count.") var queries = 300
    @Option(help: "Queries checked against exact float32 search (costs N×128 flops each).") var recallQueries = 300
    @Option(help: "Comma-separated thread counts to time.") var threads = "1,2"
    @Option(help: "Also measure loading the index from a real encrypted gallery: 'sqlite' (a temp file) or a postgres:// URL of an EMPTY database (its tables are filled).")
    var loadFrom: String?
    @Flag(help: "JSON output.") var json = false

    struct LoadResult: Encodable { var backend: String; var templates: Int; var write_seconds: Double; var load_seconds: Double }

    /// Writes `n` random templates (5 per user, 2,000 users per transaction) and times `IdentityIndexService.load`.
    func measureLoad(_ spec: String, n: Int) async throws -> LoadResult {
        let dir = NSTemporaryDirectory() + "facegate-bench-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let location: GalleryLocation = spec == "sqlite" ? .sqlite(path: dir + "/bench.sqlite") : try GalleryLocation(parsing: spec)
        let g = try await GalleryFactory.open(location, key: .generate(source: "bench"))
        guard try await g.listUsers().isEmpty else { throw FaceGateError.badInput("--load-from needs an empty gallery") }
        var gen = RandomUnitVectors(seed: 7)
        let t0 = Date()
        var made = 0, u = 0
        while made < n {
            var batch: [Enrollment] = []
            while made < n && batch.count < 2000 {
                let k = min(perUser, n - made)
                batch.append(Enrollment(name: "bench\(u)", templates: (0..<k).map { _ in FaceTemplate(embedding: gen.embedding()) }))
                made += k; u += 1
            }
            try await g.enroll(batch: batch)
        }
        let written = Date().timeIntervalSince(t0)
        let svc = IdentityIndexService(gallery: g)
        let t1 = Date()
        try await svc.load()
        let loaded = Date().timeIntervalSince(t1)
        await g.close()
        return LoadResult(backend: location.description, templates: await svc.templateCount, write_seconds: written, load_seconds: loaded)
    }

    func run() async throws {
        try await reportingErrors {
            let ts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
            guard !ts.isEmpty else { throw FaceGateError.badInput("--threads must list positive integers, e.g. 1,2") }
            let result = try IndexBenchmark.run(templates: templates, templatesPerUser: perUser, queries: queries,
                                                recallQueries: recallQueries, threads: ts,
                                                progress: json ? nil : { printError($0) })
            print(json ? jsonLine(result) : result.description)
            if let spec = loadFrom {
                let l = try await withGalleryErrors { try await measureLoad(spec, n: templates) }
                print(json ? jsonLine(l) : String(format: "  gallery load (decrypt + index) from %@: %.2f s for %d templates (writing them took %.1f s)",
                                                  l.backend, l.load_seconds, l.templates, l.write_seconds))
            }
        }
    }
}
