import FaceGateCore
import Foundation

/// Errors from galleries and their keys. Each says what to do next.
public enum GalleryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key does not open this gallery (its key check value does not decrypt).
    case wrongKey(expected: String, got: String, source: String)
    /// The key material itself is unusable (bad base64, wrong length, unreadable file).
    case badKey(String)
    /// One stored record fails authentication or decoding.
    case corruptRecord(user: String, detail: String)
    case unknownUser(String)
    case userExists(String)
    case emptyGallery
    case invalidName(String)
    case invalidTemplate(String)
    case badLocation(String)
    /// The database could not be opened or queried.
    case database(String)

    public var description: String {
        switch self {
        case .wrongKey(let e, let g, let s):
            return "wrong gallery key: this gallery was encrypted with key \(e), but the key from \(s) is \(g) — set FACEGATE_KEY_FILE or FACEGATE_KEY to the key that created the gallery (or restore it from backup)"
        case .badKey(let d):
            return "unusable gallery key: \(d) — a key is 32 random bytes, stored base64-encoded (create one with `head -c32 /dev/urandom | base64`)"
        case .corruptRecord(let u, let d):
            return "corrupt gallery record for user '\(u)': \(d) — remove and re-enroll the user (`facegate users remove \(u)`), or restore the database from backup"
        case .unknownUser(let n):
            return "no enrolled user named '\(n)' — see `facegate users list`"
        case .userExists(let n):
            return "a user named '\(n)' is already enrolled — choose another name, or remove it first (`facegate users remove \(n)`)"
        case .emptyGallery:
            return "the gallery is empty: nobody is enrolled — enroll someone first (`facegate enroll --user NAME --images FILE…`)"
        case .invalidName(let d):
            return "invalid user name: \(d) — use 1–64 characters without control characters"
        case .invalidTemplate(let d):
            return "invalid template: \(d) — templates are \(Embedding.dimension)-value embeddings from `facegate embed`"
        case .badLocation(let d):
            return "invalid gallery location: \(d) — use a file path, sqlite:PATH or postgres://user:pass@host:port/db"
        case .database(let d):
            return "gallery database error: \(d)"
        }
    }

    /// CLI exit status: 2 for the user's input, 3 for runtime failures.
    public var exitCode: Int32 {
        switch self {
        case .database, .corruptRecord: return 3
        default: return 2
        }
    }

    /// Validates a user name.
    public static func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 64 else { throw GalleryError.invalidName("'\(name)' must be 1–64 characters") }
        guard !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw GalleryError.invalidName("'\(name)' contains control characters")
        }
        guard name.trimmingCharacters(in: .whitespaces) == name else {
            throw GalleryError.invalidName("'\(name)' has leading or trailing spaces")
        }
    }
}
