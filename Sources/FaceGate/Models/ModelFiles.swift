import Crypto
import FaceGateCore
import Foundation

/// A model file FaceGate knows by name, pinned by SHA-256.
public struct ModelFile: Sendable, Hashable {
    public var name: String
    public var fileName: String
    public var sha256: String
    public var size: Int
    public var role: String
    public var license: String
    /// Where the set-up step gets it.
    public var source: String
    /// Other places the file may already be (e.g. installed by a Debian package).
    public var systemPaths: [String]

    public init(name: String, fileName: String, sha256: String, size: Int, role: String, license: String, source: String, systemPaths: [String] = []) {
        self.name = name; self.fileName = fileName; self.sha256 = sha256; self.size = size
        self.role = role; self.license = license; self.source = source; self.systemPaths = systemPaths
    }
}

/// The dlib models the set-up step provides (`make models`).
public enum BaseModels {
    public static let fetchCommand = "make models"

    public static let landmarks68 = ModelFile(
        name: "dlib-landmarks-68", fileName: "shape_predictor_68_face_landmarks.dat",
        sha256: "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f", size: 99_693_937,
        role: "landmarks", license: "iBUG 300-W: non-commercial research (see Debian libdlib-data copyright)",
        source: "Debian package libdlib-data", systemPaths: ["/usr/share/dlib/shape_predictor_68_face_landmarks.dat"])
    public static let landmarks5 = ModelFile(
        name: "dlib-landmarks-5", fileName: "shape_predictor_5_face_landmarks.dat",
        sha256: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", size: 9_150_489,
        role: "alignment", license: "CC0 (dlib-models)", source: "PyPI face_recognition_models==0.3.0")
    public static let resnet = ModelFile(
        name: "dlib-resnet", fileName: "dlib_face_recognition_resnet_model_v1.dat",
        sha256: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", size: 22_466_066,
        role: "embedding", license: "CC0 (dlib-models)", source: "PyPI face_recognition_models==0.3.0")
    public static let mmod = ModelFile(
        name: "dlib-mmod", fileName: "mmod_human_face_detector.dat",
        sha256: "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6", size: 729_940,
        role: "detector", license: "CC0 (dlib-models)", source: "PyPI face_recognition_models==0.3.0")

    public static let all = [landmarks68, landmarks5, resnet, mmod]
}

/// Streams a file through SHA-256.
public func sha256Hex(ofFile path: String) throws -> String {
    guard let fh = FileHandle(forReadingAtPath: path) else { throw FaceGateError.missingFile(path) }
    defer { try? fh.close() }
    var hasher = SHA256()
    while true {
        let chunk = fh.readData(ofLength: 4 << 20)
        if chunk.isEmpty { break }
        hasher.update(data: chunk)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}

/// The model directory: `--models DIR`, else `FACEGATE_MODELS`, else `$XDG_CACHE_HOME/facegate/models`
/// (default `~/.cache/facegate/models`).
public struct ModelDirectory: Sendable {
    public var path: String

    public init(path: String) { self.path = path }

    public static func resolve(_ explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) -> ModelDirectory {
        if let e = explicit, !e.isEmpty { return ModelDirectory(path: e) }
        if let e = environment["FACEGATE_MODELS"], !e.isEmpty { return ModelDirectory(path: e) }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.cache")
        return ModelDirectory(path: cache + "/facegate/models")
    }

    /// Where a model would be: the model directory first, then known system paths.
    public func candidatePaths(for m: ModelFile) -> [String] { [path + "/" + m.fileName] + m.systemPaths }

    /// Path of a present model whose size matches; verified by SHA-256 once and remembered by size + mtime in a
    /// stamp file, so later loads cost a `stat`, not a hash of 100 MB.
    public func locate(_ m: ModelFile, verify: Bool = true) throws -> String {
        let fm = FileManager.default
        guard let link = candidatePaths(for: m).first(where: { fm.fileExists(atPath: $0) }) else {
            throw FaceGateError.modelMissing(name: m.fileName, path: path + "/" + m.fileName, fix: BaseModels.fetchCommand)
        }
        let found = URL(fileURLWithPath: link).resolvingSymlinksInPath().path
        let attrs = try fm.attributesOfItem(atPath: found)
        let size = (attrs[.size] as? NSNumber)?.intValue ?? -1
        guard size == m.size else {
            throw FaceGateError.modelCorrupt(name: m.fileName, path: found, fix: BaseModels.fetchCommand)
        }
        if verify {
            let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let stampKey = "\(found)|\(size)|\(Int(mtime))|\(m.sha256)"
            if !VerifiedStamps.shared.contains(stampKey, directory: path) {
                guard try sha256Hex(ofFile: found) == m.sha256 else {
                    throw FaceGateError.modelCorrupt(name: m.fileName, path: found, fix: BaseModels.fetchCommand)
                }
                VerifiedStamps.shared.insert(stampKey, directory: path)
            }
        }
        return found
    }
}

/// Remembers which model files were hashed and matched (stamp file `.verified` in the model directory).
final class VerifiedStamps: @unchecked Sendable {
    static let shared = VerifiedStamps()
    private let lock = NSLock()
    private var loaded: [String: Set<String>] = [:]

    private func file(_ dir: String) -> String { dir + "/.verified" }

    func contains(_ key: String, directory: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if loaded[directory] == nil {
            let text = (try? String(contentsOfFile: file(directory), encoding: .utf8)) ?? ""
            loaded[directory] = Set(text.split(separator: "\n").map(String.init))
        }
        return loaded[directory]!.contains(key)
    }

    func insert(_ key: String, directory: String) {
        lock.lock(); defer { lock.unlock() }
        loaded[directory, default: []].insert(key)
        let text = loaded[directory]!.sorted().joined(separator: "\n") + "\n"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tmp = file(directory) + ".tmp\(getpid())"
        if (try? text.write(toFile: tmp, atomically: false, encoding: .utf8)) != nil {
            _ = rename(tmp, file(directory))
        }
    }
}
