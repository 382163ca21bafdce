import FaceGateCore
import Foundation

/// What is wrong with a dataset or a model file, and what to do about it.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
    case notADirectory(String)
    case noClassFolders(String)
    case oneClassOnly(directory: String, label: String)
    case emptyClass(folder: String, otherFiles: [String])
    case noRealClass(directory: String, labels: [String])
    case unreadableCrop(path: String, detail: String)
    case tinyCrops(count: Int, example: String, width: Int, height: Int, minimum: Int)
    case tooFewCrops(count: Int, minimum: Int)
    case badGroupsFile(path: String, line: Int, detail: String)
    case notAModel(path: String, detail: String)
    case incompatibleModel(path: String, formatVersion: Int, writtenBy: String)
    case corruptModel(path: String, detail: String)
    case badParameter(String)

    public var description: String {
        switch self {
        case .notADirectory(let d):
            return "\(d) is not a directory — pass a dataset folder with one sub-folder per class (real/, fake/ …)"
        case .noClassFolders(let d):
            return "\(d) has no class folders — put crops in \(d)/real and \(d)/fake (one sub-folder per class; `facegate gather --label` makes them)"
        case .oneClassOnly(let d, let l):
            return "\(d) has only one class (\(l)) — a liveness model needs real crops and at least one attack class (fake/, print/, replay/ …)"
        case .emptyClass(let f, let others):
            let extra = others.isEmpty ? "" : " (found only non-image files: \(others.prefix(3).joined(separator: ", "))\(others.count > 3 ? ", …" : ""))"
            return "class folder \(f) has no images\(extra) — add crops (png, jpg) or remove the folder"
        case .noRealClass(let d, let labels):
            return "no class folder named real (or live, genuine, bonafide) in \(d) (found: \(labels.joined(separator: ", "))) — name the folder of genuine faces real/"
        case .unreadableCrop(let p, let d):
            return "cannot read crop \(p): \(d) — delete or replace the file"
        case .tinyCrops(let n, let ex, let w, let h, let m):
            return "\(n) crop\(n == 1 ? " is" : "s are") smaller than \(m)x\(m) px (e.g. \(ex) is \(w)x\(h)) — re-gather with `facegate gather --size 64` or remove them"
        case .tooFewCrops(let n, let m):
            return "only \(n) crops — need at least \(m) (gather more frames, e.g. `facegate gather --skip 2`)"
        case .badGroupsFile(let p, let l, let d):
            return "\(p) line \(l): \(d) — each line is `<path relative to the dataset>\\t<group>`"
        case .notAModel(let p, let d):
            return "\(p) is not a FaceGate model (\(d)) — pass a file written by `facegate train`"
        case .incompatibleModel(let p, let v, let by):
            return "\(p) uses model format \(v) (written by FaceGate \(by)); this FaceGate \(FaceGateVersionInfo.version) reads format \(ModelContainer.formatVersion) — retrain with `facegate train` or use a matching FaceGate"
        case .corruptModel(let p, let d):
            return "model \(p) is damaged (\(d)) — copy it again or retrain with `facegate train`"
        case .badParameter(let d):
            return d
        }
    }

    /// The CLI form: every training problem is bad input (exit 2).
    public var faceGateError: FaceGateError { .badInput(description) }
}

/// FaceGate's version as recorded in model files (mirrors `FaceGateVersion`).
enum FaceGateVersionInfo {
    static var version: String { FaceGateVersion.string }
}
