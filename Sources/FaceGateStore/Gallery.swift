import FaceGateCore
import Foundation

/// A stored template: database id plus the decrypted template.
public struct StoredTemplate: Sendable, Hashable, Codable {
    public var id: Int64
    public var template: FaceTemplate
    public init(id: Int64, template: FaceTemplate) { self.id = id; self.template = template }
}

/// A user without their templates.
public struct UserSummary: Sendable, Hashable, Codable {
    /// Stable identifier (survives renames, export/import).
    public var key: UUID
    public var name: String
    /// Per-user threshold override (nil = the global threshold).
    public var threshold: Double?
    public var created: Date
    public var templateCount: Int
    public var hasThumbnail: Bool
}

/// A user with decrypted templates.
public struct UserRecord: Sendable, Hashable, Codable {
    public var summary: UserSummary
    public var templates: [StoredTemplate]
    public var name: String { summary.name }
    public var key: UUID { summary.key }
    public var embeddings: [Embedding] { templates.map(\.template.embedding) }
}

/// Users changed since a sequence number.
public struct GalleryChanges: Sendable, Hashable {
    public var latest: Int64
    public var users: Set<UUID>
    /// The log no longer reaches back to the requested sequence number (or a key rotation happened): reload all.
    public var reloadAll: Bool
}

/// Rows kept in the change log; older ones are pruned (a reader that far behind reloads everything).
let changeLogRetention: Int64 = 10_000

/// What to store for one user.
public struct Enrollment: Sendable {
    public enum Mode: Sendable { case create, replace, append }
    public var name: String
    public var templates: [FaceTemplate]
    /// Optional reference thumbnail (JPEG bytes), stored encrypted.
    public var thumbnailJPEG: Data?
    public var threshold: Double?
    /// `.create` fails if the name exists; `.replace` swaps all templates; `.append` adds to existing ones.
    public var mode: Mode
    /// Keep an existing stable key (import); nil = new.
    public var key: UUID?
    public var created: Date

    public init(name: String, templates: [FaceTemplate], thumbnailJPEG: Data? = nil, threshold: Double? = nil,
                mode: Mode = .create, key: UUID? = nil, created: Date = Date()) {
        self.name = name; self.templates = templates; self.thumbnailJPEG = thumbnailJPEG; self.threshold = threshold
        self.mode = mode; self.key = key; self.created = created
    }
}

/// An encrypted template gallery. SQLite (`SQLiteGallery`) and PostgreSQL (`PostgresGallery`) implement the same
/// behaviour and run the same test suite.
///
/// Every mutation is one transaction and appends to a change log (`changes`), which `IdentityIndexService` follows
/// to refresh in-memory indexes in other processes.
public protocol Gallery: AnyObject, Sendable {
    var location: GalleryLocation { get }
    /// Fingerprint of the key this gallery is opened with.
    var keyFingerprint: String { get }

    /// Stores a user and all their templates atomically (all or nothing).
    @discardableResult func enroll(_ e: Enrollment) async throws -> UserSummary
    /// Stores several users in one transaction (import, bulk loads): all or nothing.
    func enroll(batch: [Enrollment]) async throws
    func listUsers() async throws -> [UserSummary]
    /// Throws `GalleryError.unknownUser`.
    func user(named: String) async throws -> UserRecord
    /// nil when no such user (used to refresh indexes after a change).
    func user(key: UUID) async throws -> UserRecord?
    /// Every user with decrypted templates (export).
    func allUsers() async throws -> [UserRecord]
    /// The 1:N index of every stored template, built from one read snapshot: rows are streamed (no per-user
    /// records), opened on `threads` cores and quantised straight into the index's storage.
    func loadIndex(threads: Int) async throws -> LoadedIndex
    func removeUser(named: String) async throws
    func renameUser(_ old: String, to new: String) async throws
    /// Sets (or clears with nil) a user's threshold override.
    func setThreshold(user: String, _ threshold: Double?) async throws
    /// The decrypted reference thumbnail, nil if none stored.
    func thumbnail(user: String) async throws -> Data?
    /// Re-encrypts every template, thumbnail and the key check value under `newKey` in one transaction.
    /// Returns the number of records re-encrypted. Afterwards this instance uses `newKey`.
    @discardableResult func rotateKey(to newKey: GalleryKey) async throws -> Int
    /// Where this instance reads its key again after another process rotated it (`facegate keys rotate`): a long-running
    /// process (the server) sets it; when the gallery then answers `wrongKey`, the instance loads the key anew and
    /// adopts it if it opens the gallery's key check (`reloadKey`). Without a loader the instance keeps refusing.
    func setKeyLoader(_ loader: @escaping @Sendable () throws -> GalleryKey)
    /// Loads the key through the loader and adopts it when it differs from the current one and opens the gallery's
    /// key check. True when the key changed (the previous one stays in `keys` to open blobs sealed before).
    func reloadKey() async -> Bool
    /// The current key, then the one it replaced in `reloadKey` (if any).
    var keys: [GalleryKey] { get }
    /// Highest change sequence number (0 for a new gallery).
    func latestChange() async throws -> Int64
    /// Users changed after `seq` (added, altered or removed) and the newest sequence number.
    func changes(after seq: Int64) async throws -> GalleryChanges
    /// Pushes a value when another connection commits a change (PostgreSQL LISTEN/NOTIFY); nil if the backend
    /// has no push channel (callers poll `latestChange`).
    func changeSignals() -> AsyncStream<Void>?
    func close() async
}

extension Gallery {
    /// Fallback for backends without a streaming loader: builds the index from `allUsers` (change position read
    /// first, so nothing committed meanwhile is missed by the next refresh).
    public func loadIndex(threads: Int) async throws -> LoadedIndex {
        let seq = try await latestChange()
        let index = GalleryIndex()
        for u in try await allUsers() where !u.templates.isEmpty {
            try index.upsert(GalleryIndex.User(key: u.key, name: u.name, threshold: u.summary.threshold), templates: u.embeddings)
        }
        return LoadedIndex(index: index, changeSeq: seq)
    }

    /// Same as `listUsers` but throws `GalleryError.emptyGallery` when nobody is enrolled.
    public func requireUsers() async throws -> [UserSummary] {
        let u = try await listUsers()
        if u.isEmpty { throw GalleryError.emptyGallery }
        return u
    }

    /// 1:1 against the stored templates.
    public func verify(user: String, probe: Embedding, policy: IdentityPolicy = IdentityPolicy()) async throws -> VerifyResult {
        let u = try await self.user(named: user)
        guard !u.templates.isEmpty else { throw IdentityError.noTemplates(user: user) }
        return try policy.verify(templates: u.embeddings, probe: probe, thresholdOverride: u.summary.threshold)
    }

    /// Validates enrollment input shared by both backends.
    func validate(_ e: Enrollment) throws {
        try GalleryError.checkName(e.name)
        if e.mode != .append && e.templates.isEmpty {
            throw GalleryError.invalidTemplate("no templates given for '\(e.name)'")
        }
        if let t = e.threshold, !(t.isFinite && IdentityThreshold.allowedRange.contains(t)) {
            throw GalleryError.invalidTemplate("threshold must lie in \(IdentityThreshold.allowedRange), got \(t)")
        }
    }
}

/// Opens a gallery at a location.
public enum GalleryFactory {
    public static func open(_ location: GalleryLocation, key: GalleryKey) async throws -> any Gallery {
        switch location {
        case .sqlite(let path): return try SQLiteGallery(path: path, key: key)
        case .postgres(let url): return try await PostgresGallery(url: url, key: key)
        }
    }
}
