import Foundation

/// Every error FaceGate reports to a user. Each says what was wrong and what to do next.
public enum FaceGateError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A file or directory that does not exist.
    case missingFile(String)
    /// A file that exists but cannot be decoded as the expected kind.
    case unreadableMedia(path: String, detail: String)
    /// A model file that is missing or fails its checksum.
    case modelMissing(name: String, path: String, fix: String)
    case modelCorrupt(name: String, path: String, fix: String)
    /// The camera could not be opened.
    case cameraUnavailable(String)
    /// Input is understood but unusable (no face, several faces, tiny face...).
    case noFace(String)
    case multipleFaces(count: Int, source: String)
    case faceTooSmall(pixels: Int, minimum: Int, source: String)
    /// Anything else the user passed that is wrong.
    case badInput(String)
    /// A failure inside FaceGate or the system, not the user's input.
    case runtime(String)

    public var description: String {
        switch self {
        case .missingFile(let p): return "no such file or directory: \(p) — check the path"
        case .unreadableMedia(let p, let d): return "cannot read \(p): \(d) — pass a valid image (jpg, png, bmp, webp) or video (mp4, mov, webm, avi)"
        case .modelMissing(let n, let p, let fix): return "model \(n) is missing at \(p) — run `\(fix)`"
        case .modelCorrupt(let n, let p, let fix): return "model \(n) at \(p) is corrupt or altered (checksum mismatch) — run `\(fix)`"
        case .cameraUnavailable(let d): return "cannot open camera \(d) — check that it exists (ls /dev/video*) and that you may read it (group video)"
        case .noFace(let s): return "no face found in \(s) — face the camera in good light, or use a clearer image"
        case .multipleFaces(let c, let s): return "\(c) faces found in \(s) — exactly one person must be in view"
        case .faceTooSmall(let px, let m, let s): return "face in \(s) is too small (\(px) px wide, need ≥ \(m)) — move closer or use a larger image"
        case .badInput(let d): return d
        case .runtime(let d): return d
        }
    }

    /// CLI exit status: 2 for usage or bad input, 3 for runtime failures.
    public var exitCode: Int32 {
        switch self {
        case .runtime, .cameraUnavailable: return 3
        case .modelMissing, .modelCorrupt: return 3
        default: return 2
        }
    }
}
