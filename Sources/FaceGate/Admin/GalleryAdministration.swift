import FaceGateCore
import FaceGateStore
import Foundation

/// The gallery administration use cases behind `facegate users`: a user's details with the threshold that applies to
/// them, storing a per-user threshold (only stricter than the global one unless forced), export to a private file
/// and import. The front-end opens the gallery (`RuntimeEnvironment.open`), calls one of these and renders the result.
public enum GalleryAdministration {
    /// One enrolled user as listed (`facegate users list --json`).
    public struct UserInfo: Sendable, Encodable {
        public var name: String
        public var key: String
        public var templates: Int
        public var threshold: Double?
        public var created: String
        public var thumbnail: Bool
        public init(_ s: UserSummary) {
            name = s.name; key = s.key.uuidString; templates = s.templateCount; threshold = s.threshold
            created = ISO8601DateFormatter().string(from: s.created); thumbnail = s.hasThumbnail
        }
    }

    /// One stored template's metadata (quality rounded to 3 places).
    public struct TemplateInfo: Sendable, Encodable {
        public var id: Int64; public var pose: String; public var quality: Double; public var created: String
    }

    /// One user in full (`facegate users show --json`): the threshold that applies to them under the policy.
    public struct UserDetail: Sendable, Encodable {
        public var user: UserInfo
        public var effective_threshold: Double
        public var template_list: [TemplateInfo]
        /// The user's own threshold, nil when the global one applies.
        public var perUserThreshold: Double? { user.threshold }
        enum CodingKeys: String, CodingKey { case user, effective_threshold, template_list }
    }

    /// The user named `name` with the threshold `policy` applies to them; `thumbnailTo` also writes their decrypted
    /// reference thumbnail there (a user without one is an input error).
    public static func detail(of name: String, in gallery: any Gallery, policy: IdentityPolicy,
                              thumbnailTo path: String? = nil) async throws -> UserDetail {
        let u = try await gallery.user(named: name)
        let f = ISO8601DateFormatter()
        let ts = u.templates.map {
            TemplateInfo(id: $0.id, pose: $0.template.metadata.pose.rawValue,
                         quality: ($0.template.metadata.quality * 1000).rounded() / 1000,
                         created: f.string(from: $0.template.metadata.created))
        }
        if let path {
            guard let jpeg = try await gallery.thumbnail(user: name) else {
                throw FaceGateError.badInput("user '\(name)' has no reference thumbnail")
            }
            try jpeg.write(to: URL(fileURLWithPath: path))
        }
        return UserDetail(user: UserInfo(u.summary), effective_threshold: policy.threshold(override: u.summary.threshold),
                          template_list: ts)
    }

    /// Stores (`value`) or clears (nil) a user's own threshold. A value must be in range and no looser than the
    /// global threshold of `policy` unless `force` (`IdentityThreshold.checkPerUser`; `IdentityError` otherwise).
    public static func setThreshold(user: String, to value: Double?, in gallery: any Gallery, policy: IdentityPolicy,
                                    force: Bool) async throws {
        if let v = value { try IdentityThreshold.checkPerUser(v, global: policy.threshold, force: force) }
        try await gallery.setThreshold(user: user, value)
    }

    /// Every user exported (`GalleryExport`): encrypted under `key`, or raw embeddings with `plaintext`.
    public static func export(_ gallery: any Gallery, key: GalleryKey, plaintext: Bool) async throws -> (data: Data, users: Int) {
        let data = try await GalleryExport.export(gallery, key: key, plaintext: plaintext)
        return (data, try await gallery.listUsers().count)
    }

    /// Writes an export to `path`, readable by its owner only (mode 0600: it may hold plaintext embeddings).
    public static func writePrivate(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw FaceGateError.badInput("cannot write \(path): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) } == data.count
        close(fd)
        guard ok else { throw FaceGateError.runtime("short write to \(path)") }
    }

    /// Imports the users of the export file at `path`; `replace` replaces users that exist (else the whole import
    /// is refused). Returns how many were imported.
    public static func importUsers(from path: String, into gallery: any Gallery, key: GalleryKey, replace: Bool) async throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { throw FaceGateError.missingFile(path) }
        return try await GalleryExport.importUsers(data, into: gallery, key: key, replace: replace)
    }
}
