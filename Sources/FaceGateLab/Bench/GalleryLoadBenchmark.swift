import FaceGate
import FaceGateCore
import FaceGateStore
import Foundation

/// `facegate bench-gallery --load-from`: fills a real encrypted gallery with N synthetic templates (seed 7, reused
/// when it already holds exactly that bench gallery) and times loading it into the 1:N index, then checks that the
/// first synthetic template's user is ranked first.
public struct GalleryLoadBenchmark: Sendable {
    /// The synthetic gallery's seed: users bench0, bench1, … with `perUser` random templates each.
    public static let gallerySeed: UInt64 = 7

    public var templates: Int
    public var perUser: Int
    /// Users per write transaction when filling.
    public var batchUsers: Int
    /// Cores used to open and quantise templates while loading.
    public var loadThreads: Int
    /// Only fill (no load).
    public var writeOnly: Bool

    public init(templates: Int, perUser: Int, batchUsers: Int, loadThreads: Int, writeOnly: Bool) {
        self.templates = templates; self.perUser = perUser; self.batchUsers = batchUsers
        self.loadThreads = loadThreads; self.writeOnly = writeOnly
    }

    public struct Result: Encodable, Sendable {
        public var backend: String
        public var templates: Int
        public var users: Int
        /// nil when an existing gallery was reused.
        public var write_seconds: Double?
        public var load_seconds: Double
        public var load_threads: Int
        public var index_mb: Double
        public var rss_growth_mb: Double?
        /// The first synthetic template, probed after the load, ranks its user (bench0) first. Not "identified within
        /// the threshold": a synthetic user's templates are independent random vectors, so under the default
        /// mean-of-best rule the one exact template is averaged with a far one and the score sits above the threshold.
        public var check_identified: Bool

        /// One line for a terminal.
        public func line(writeOnly: Bool) -> String {
            if writeOnly { return String(format: "  wrote %d templates (%d users) to %@ in %.1f s", templates, users, backend, write_seconds ?? 0) }
            var s = String(format: "  gallery load (stream, decrypt, quantise; %d thread%@) from %@: %.2f s for %d templates (%d users)",
                           load_threads, load_threads == 1 ? "" : "s", backend, load_seconds, templates, users)
            s += String(format: "; index %.1f MB", index_mb)
            if let r = rss_growth_mb { s += String(format: " (RSS growth %.1f MB)", r) }
            s += write_seconds.map { String(format: "; writing them took %.1f s", $0) } ?? "; existing gallery reused"
            s += check_identified ? "; check: first template identified" : "; CHECK FAILED: first template not identified"
            return s
        }
    }

    /// Checks the request (N, per-user positive; thread list of positive integers; write/load-only need a gallery);
    /// returns the thread counts to time.
    public static func check(templates: Int, perUser: Int, threads: String, onlyFlags: Bool, loadFrom: String?) throws -> [Int] {
        let ts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        guard !ts.isEmpty else { throw FaceGateError.badInput("--threads must list positive integers, e.g. 1,2") }
        guard templates > 0, perUser > 0 else { throw FaceGateError.badInput("N and --per-user must be positive") }
        if onlyFlags && loadFrom == nil { throw FaceGateError.badInput("--write-only and --load-only need --load-from") }
        return ts
    }

    /// Users per synthetic gallery of `n` templates.
    public var userCount: Int { (templates + perUser - 1) / perUser }

    /// Fills an empty gallery with the synthetic templates, `batchUsers` users per transaction; seconds taken.
    func fill(_ g: any Gallery) async throws -> Double {
        var gen = RandomUnitVectors(seed: Self.gallerySeed)
        let t0 = Date()
        var made = 0, u = 0
        while made < templates {
            var batch: [Enrollment] = []
            while made < templates && batch.count < max(1, batchUsers) {
                let k = min(perUser, templates - made)
                batch.append(Enrollment(name: "bench\(u)", templates: (0..<k).map { _ in FaceTemplate(embedding: gen.embedding()) }))
                made += k; u += 1
            }
            try await g.enroll(batch: batch)
        }
        return Date().timeIntervalSince(t0)
    }

    /// Opens the bench gallery `spec`: "sqlite" (a temporary file, deleted by the returned cleanup), a SQLite path
    /// (key PATH.key unless `keyFile`) or a postgres:// URL (a throwaway key unless `keyFile`; a missing key file is created).
    public static func open(_ spec: String, keyFile: String?) async throws -> (any Gallery, cleanup: @Sendable () -> Void) {
        if spec == "sqlite" {
            let dir = NSTemporaryDirectory() + "facegate-bench-\(UUID().uuidString.prefix(8))"
            let key = try keyFile.map { try GalleryKey.load(file: $0) } ?? .generate(source: "bench")
            let g = try await GalleryFactory.open(.sqlite(path: dir + "/bench.sqlite"), key: key)
            return (g, { try? FileManager.default.removeItem(atPath: dir) })
        }
        let location = try GalleryLocation(parsing: spec)
        var keyPath = keyFile
        if keyPath == nil, case .sqlite(let path) = location { keyPath = path + ".key" }
        let key = try keyPath.map { try FileManager.default.fileExists(atPath: $0) ? GalleryKey.load(file: $0) : GalleryKey.create(file: $0) }
            ?? .generate(source: "bench")
        return (try await GalleryFactory.open(location, key: key), {})
    }

    /// Fills the gallery of `spec` if empty (reuses it if it holds exactly this bench gallery), then times
    /// `IdentityIndexService.load` and probes the first synthetic template. `progress` hears "writing …".
    public func run(_ spec: String, keyFile: String?, progress: ((String) -> Void)? = nil) async throws -> Result {
        let (g, cleanup) = try await Self.open(spec, keyFile: keyFile)
        defer { cleanup() }
        do {
            let existing = try await g.listUsers()
            let stored = existing.reduce(0) { $0 + $1.templateCount }
            var written: Double?
            if existing.isEmpty {
                progress?("writing \(templates) templates to \(g.location) …")
                written = try await fill(g)
            } else if stored != templates || existing.count != userCount {
                throw FaceGateError.badInput("\(g.location) already holds \(existing.count) users / \(stored) templates, not a bench gallery of \(templates): use an empty gallery")
            }
            if writeOnly {
                await g.close()
                return Result(backend: g.location.description, templates: templates, users: userCount, write_seconds: written,
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
            let result = Result(
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
}
