import AsyncHTTPClient
import FaceGate
import FaceGateCore
import Foundation
import NIOCore
import NIOHTTP1

/// Errors of model installation. Each says what happened and what to do next.
public enum CatalogError: Error, Sendable, CustomStringConvertible, Equatable {
    case unknownModel(String, available: [String])
    case baseModel(String)
    case downloadFailed(file: String, url: String, detail: String)
    case checksumMismatch(file: String, expected: String, actual: String, source: String)
    case sizeMismatch(file: String, expected: Int, actual: Int, source: String)
    case notInSource(file: String, source: String)

    public var description: String {
        switch self {
        case .unknownModel(let n, let a):
            return "unknown model '\(n)' — available: \(a.joined(separator: ", ")) (facegate models list)"
        case .baseModel(let n):
            return "\(n) is a base model provided by the set-up step — run `\(BaseModels.fetchCommand)`"
        case .downloadFailed(let f, let u, let d):
            return "cannot download \(f) from \(u): \(d) — check the network, or install from a mirror or folder with --from URL|DIR; nothing was installed"
        case .checksumMismatch(let f, let e, let a, let s):
            return "checksum mismatch for \(f) from \(s): expected SHA-256 \(e), got \(a) — the file is altered or a different version; nothing was installed"
        case .sizeMismatch(let f, let e, let a, let s):
            return "size mismatch for \(f) from \(s): expected \(e) bytes, got \(a) — nothing was installed"
        case .notInSource(let f, let s):
            return "\(f) is not in \(s) — put the file there or pass another --from folder"
        }
    }
}

/// Progress of one file: bytes so far, total bytes, whether the transfer resumed a partial download.
public struct InstallProgress: Sendable {
    public var model: String
    public var file: String
    public var bytes: Int
    public var total: Int
    public var resumed: Bool
}

/// Installs, verifies and removes catalog models. Downloads go to a partial-download folder beside the model
/// directory (`<models>.partial/`) and are moved into the model directory only after their size and SHA-256 match the
/// pins — the model directory never holds a half-written or unverified file. An interrupted download is resumed with
/// an HTTP Range request on the next run.
public struct CatalogInstaller: Sendable {
    public var directory: ModelDirectory
    /// Overrides where files come from: an http(s) base URL (file = base/fileName) or a local folder (searched by
    /// file name, recursively). Default: `FACEGATE_MODEL_MIRROR` if set, else each file's catalog URLs.
    public var source: String?
    /// Per-request timeout.
    public var timeout: TimeAmount = .seconds(120)

    public init(directory: ModelDirectory, source: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.directory = directory
        self.source = source ?? environment["FACEGATE_MODEL_MIRROR"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public var partialDirectory: String { directory.path + ".partial" }

    /// Status of an entry's files in the model directory.
    public enum FileState: String, Sendable { case installed, missing, altered }

    public func state(of f: ModelFile, rehash: Bool) -> FileState {
        let fm = FileManager.default
        guard let p = directory.candidatePaths(for: f).first(where: { fm.fileExists(atPath: $0) }) else { return .missing }
        if rehash {
            return (try? sha256Hex(ofFile: p)) == f.sha256 ? .installed : .altered
        }
        let real = URL(fileURLWithPath: p).resolvingSymlinksInPath().path
        let size = (try? fm.attributesOfItem(atPath: real)[.size] as? NSNumber)?.intValue ?? -1
        return size == f.size ? .installed : .altered
    }

    public func isInstalled(_ e: CatalogEntry, rehash: Bool = false) -> Bool {
        e.files.allSatisfy { state(of: $0.file, rehash: rehash) == .installed }
    }

    /// Installs an entry (all its files). Already-installed, verified files are kept.
    public func install(_ e: CatalogEntry, progress: (@Sendable (InstallProgress) -> Void)? = nil) async throws {
        if e.isBase { throw CatalogError.baseModel(e.name) }
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: partialDirectory, withIntermediateDirectories: true)
        for cf in e.files {
            let dest = directory.path + "/" + cf.file.fileName
            if FileManager.default.fileExists(atPath: dest), (try? sha256Hex(ofFile: dest)) == cf.file.sha256 { continue }
            let part = partialDirectory + "/" + cf.file.fileName + ".part"
            let origin = try await fetch(cf, into: part, model: e.name, progress: progress)
            try verify(part, against: cf.file, source: origin)
            // Verified: move into place atomically (same file system), replacing an altered copy if any.
            _ = try? FileManager.default.removeItem(atPath: dest)
            if rename(part, dest) != 0 {
                try FileManager.default.copyItem(atPath: part, toPath: dest)
                try? FileManager.default.removeItem(atPath: part)
            }
        }
    }

    /// Checks size then SHA-256 of a downloaded file; deletes it on mismatch.
    func verify(_ path: String, against f: ModelFile, source: String) throws {
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
        guard size == f.size else {
            try? FileManager.default.removeItem(atPath: path)
            throw CatalogError.sizeMismatch(file: f.fileName, expected: f.size, actual: size, source: source)
        }
        let h = try sha256Hex(ofFile: path)
        guard h == f.sha256 else {
            try? FileManager.default.removeItem(atPath: path)
            throw CatalogError.checksumMismatch(file: f.fileName, expected: f.sha256, actual: h, source: source)
        }
    }

    /// URLs (or a local file) to get a file from, in order.
    func origins(for cf: CatalogFile) -> [String] {
        guard let s = source else { return cf.urls }
        if s.hasPrefix("http://") || s.hasPrefix("https://") {
            return [(s.hasSuffix("/") ? String(s.dropLast()) : s) + "/" + cf.file.fileName]
        }
        return [s]
    }

    /// Gets the file into `part` (resuming when possible). Returns where it came from.
    func fetch(_ cf: CatalogFile, into part: String, model: String, progress: (@Sendable (InstallProgress) -> Void)?) async throws -> String {
        let list = origins(for: cf)
        guard !list.isEmpty else { throw CatalogError.downloadFailed(file: cf.file.fileName, url: "(no URL)", detail: "no download source") }
        var lastError: Error?
        for origin in list {
            do {
                if origin.hasPrefix("http://") || origin.hasPrefix("https://") {
                    try await download(origin, to: part, expected: cf.file.size, model: model, file: cf.file.fileName, progress: progress)
                } else {
                    try copyLocal(folder: origin, file: cf.file, to: part, model: model, progress: progress)
                }
                return origin
            } catch let e as CatalogError {
                lastError = e
                if case .notInSource = e, list.count == 1 { throw e }
            }
        }
        throw lastError ?? CatalogError.downloadFailed(file: cf.file.fileName, url: list[0], detail: "unknown error")
    }

    func copyLocal(folder: String, file: ModelFile, to part: String, model: String, progress: (@Sendable (InstallProgress) -> Void)?) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDir) else { throw CatalogError.notInSource(file: file.fileName, source: folder) }
        var found: String?
        if !isDir.boolValue {
            found = (folder as NSString).lastPathComponent == file.fileName ? folder : nil
        } else if fm.fileExists(atPath: folder + "/" + file.fileName) {
            found = folder + "/" + file.fileName
        } else if let walker = fm.enumerator(atPath: folder) {
            while let rel = walker.nextObject() as? String {
                if (rel as NSString).lastPathComponent == file.fileName { found = folder + "/" + rel; break }
            }
        }
        guard let src = found else { throw CatalogError.notInSource(file: file.fileName, source: folder) }
        try? fm.removeItem(atPath: part)
        try fm.copyItem(atPath: src, toPath: part)
        progress?(InstallProgress(model: model, file: file.fileName, bytes: file.size, total: file.size, resumed: false))
    }

    /// HTTP(S) download with resume: an existing partial file is continued with `Range: bytes=N-`.
    func download(_ url: String, to part: String, expected: Int, model: String, file: String,
                  progress: (@Sendable (InstallProgress) -> Void)?) async throws {
        let fm = FileManager.default
        var have = (try? fm.attributesOfItem(atPath: part)[.size] as? NSNumber)?.intValue ?? 0
        if have > expected { try? fm.removeItem(atPath: part); have = 0 }
        if have == expected { return }  // complete from an earlier run; verified next
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "facegate-models")
        if have > 0 { request.headers.add(name: "Range", value: "bytes=\(have)-") }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw CatalogError.downloadFailed(file: file, url: url, detail: Self.describe(error))
        }
        let resumed: Bool
        switch response.status.code {
        case 206 where have > 0: resumed = true
        case 200:
            resumed = false
            have = 0
        case 416 where have > 0:
            // Range not satisfiable: start over.
            try? fm.removeItem(atPath: part)
            throw CatalogError.downloadFailed(file: file, url: url, detail: "server refused to resume; run the command again to start over")
        default:
            throw CatalogError.downloadFailed(file: file, url: url, detail: "HTTP \(response.status.code) \(response.status.reasonPhrase)")
        }
        if !resumed || !fm.fileExists(atPath: part) { fm.createFile(atPath: part, contents: nil) }
        guard let out = FileHandle(forWritingAtPath: part) else {
            throw CatalogError.downloadFailed(file: file, url: url, detail: "cannot write \(part)")
        }
        defer { try? out.close() }
        if resumed { out.seekToEndOfFile() } else { out.truncateFile(atOffset: 0) }
        var bytes = have
        var lastReport = -1
        progress?(InstallProgress(model: model, file: file, bytes: bytes, total: expected, resumed: resumed))
        do {
            for try await var chunk in response.body {
                if let d = chunk.readBytes(length: chunk.readableBytes) {
                    out.write(Data(d))
                    bytes += d.count
                }
                let pct = expected > 0 ? bytes * 100 / expected : 0
                if pct / 5 != lastReport / 5 {
                    lastReport = pct
                    progress?(InstallProgress(model: model, file: file, bytes: bytes, total: expected, resumed: resumed))
                }
                if bytes > expected { break }
            }
        } catch {
            throw CatalogError.downloadFailed(file: file, url: url, detail: "interrupted after \(bytes) of \(expected) bytes (\(Self.describe(error))); run the command again to resume")
        }
        if bytes < expected {
            throw CatalogError.downloadFailed(file: file, url: url, detail: "interrupted after \(bytes) of \(expected) bytes; run the command again to resume")
        }
    }

    static func describe(_ error: Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("ECONNREFUSED") { return "connection refused (server down?)" }
        if text.contains("connectTimeout") || text.contains("deadlineExceeded") { return "timed out" }
        return text
    }

    /// Removes an entry's files from the model directory (and any partial downloads).
    @discardableResult
    public func remove(_ e: CatalogEntry) throws -> [String] {
        if e.isBase { throw CatalogError.baseModel(e.name) }
        var removed: [String] = []
        for cf in e.files {
            let p = directory.path + "/" + cf.file.fileName
            if FileManager.default.fileExists(atPath: p) { try FileManager.default.removeItem(atPath: p); removed.append(p) }
            try? FileManager.default.removeItem(atPath: partialDirectory + "/" + cf.file.fileName + ".part")
        }
        return removed
    }

    /// Re-hashes every catalog file present (base and optional). Missing optional models are reported as missing.
    public func verifyAll() -> [(entry: CatalogEntry, file: ModelFile, state: FileState)] {
        ModelCatalog.entries.flatMap { e in e.files.map { (e, $0.file, state(of: $0.file, rehash: true)) } }
    }
}
