import FaceGateCore
import FaceGateVision
import Foundation

/// Turns `--pad-model` values (catalog names or ONNX paths) into loaded models.
public enum PadModelResolver {
    /// `specs`: names or paths, in order. `includeInstalled`: add every installed anti-spoof model of the catalog
    /// (used when no `--pad-model` was given).
    public static func resolve(_ specs: [String], directory: ModelDirectory, includeInstalled: Bool) throws -> [PadModel] {
        var out: [PadModel] = []
        var seen = Set<String>()
        func add(_ path: String, name: String?, spec: PadModelSpec?) throws {
            let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            guard !seen.contains(key) else { return }
            seen.insert(key)
            out.append(try PadModel(path: path, name: name, spec: spec))
        }
        for s in specs {
            if let entry = ModelCatalog.entry(named: s) {
                guard entry.role == .antiSpoof, let spec = entry.padSpec else {
                    throw FaceGateError.badInput("\(s) is a \(entry.role.rawValue) model, not an anti-spoof model")
                }
                let path = try directory.locate(entry.file)
                try add(path, name: entry.name, spec: spec)
            } else if FileManager.default.fileExists(atPath: s) {
                try add(s, name: nil, spec: nil)
            } else if s.contains("/") || s.lowercased().hasSuffix(".onnx") {
                throw FaceGateError.missingFile(s)
            } else {
                throw FaceGateError.badInput("unknown anti-spoof model '\(s)' — pass an ONNX path or one of: \(ModelCatalog.entries.filter { $0.role == .antiSpoof }.map(\.name).joined(separator: ", "))")
            }
        }
        if includeInstalled {
            for e in ModelCatalog.entries where e.role == .antiSpoof {
                guard let spec = e.padSpec, let path = try? directory.locate(e.file) else { continue }
                try add(path, name: e.name, spec: spec)
            }
        }
        return out
    }

    /// Catalog names of the anti-spoof models installed in `directory` (existence only; loading verifies). What makes
    /// the passive cues run with the challenges by default (`LivenessModeRule`: `liveness`, `authenticate`, `enroll`,
    /// the unlock daemon, server sessions).
    public static func installedAntiSpoof(in directory: ModelDirectory) -> [String] {
        ModelCatalog.entries.filter { $0.role == .antiSpoof && $0.padSpec != nil && (try? directory.locate($0.file, verify: false)) != nil }.map(\.name)
    }
}
