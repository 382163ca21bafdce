import Crypto
import FaceGateCore
import FaceGateStore
import Foundation

/// What an API key may do. Scopes are ordered: `admin` ⊃ `enroll` ⊃ `verify`.
public enum APIScope: String, Sendable, Codable, CaseIterable, Comparable {
    /// Create liveness sessions, read their status, verify and identify.
    case verify
    /// Everything `verify` may, plus create users, add templates, list users, issue enrollment links.
    case enroll
    /// Everything, plus deleting users and test-only seeded challenge plans.
    case admin

    var rank: Int { switch self { case .verify: 0; case .enroll: 1; case .admin: 2 } }
    public static func < (a: APIScope, b: APIScope) -> Bool { a.rank < b.rank }
    public func allows(_ needed: APIScope) -> Bool { self >= needed }
}

/// A stored API key: never the key itself, only its SHA-256.
public struct APIKeyRecord: Sendable, Hashable, Codable {
    /// Public identifier (also the key's prefix), safe to log.
    public var id: String
    public var name: String
    public var scope: APIScope
    /// Lower-case hex SHA-256 of the whole key string.
    public var hash: String
    public var created: Date
    public var revoked: Date?
    public var isActive: Bool { revoked == nil }
}

/// The state of a liveness session.
public enum SessionStatus: String, Sendable, Codable, CaseIterable {
    case created
    case inProgress = "in_progress"
    case succeeded, failed, expired
    public var isFinal: Bool { self == .succeeded || self == .failed || self == .expired }
}

/// What a session is for.
public enum SessionMode: String, Sendable, Codable, CaseIterable {
    /// Liveness only (and 1:1 verification when a user is given).
    case liveness
    /// Liveness, then the session's frames become templates of `user` (enrollment link).
    case enroll
}

/// Immutable facts of a session, fixed at creation.
public struct SessionSpec: Sendable, Hashable, Codable {
    public var mode: SessionMode
    /// User to verify (liveness mode) or to enroll (enroll mode).
    public var user: String?
    /// Plan nonce (hex) or nil for an explicit (admin, test-only) plan.
    public var nonce: String?
    public var challenges: [String]
    public var allowed: [String]
    /// Id of the API key that created it (nil in local mode or for enrollment links).
    public var keyID: String?
    /// Hash of the enrollment link token that created it.
    public var enrollLink: String?
    /// Address of the caller that created it (the backend, or a link's browser).
    public var source: String
    /// Liveness checks: "active", "passive" or "both" (nil in records made before modes existed = active).
    public var liveness: String?
    /// Key of the lockout source the session counts against (`LockoutSubject.key`, e.g. "source:client:HINT"); nil:
    /// only the user.
    public var lockoutSource: String? = nil
}

/// Server-side result of a finished session. Scores live here; the browser only ever sees pass/fail.
public struct SessionOutcome: Sendable, Hashable, Codable {
    public var passed: Bool
    public var live: Bool
    /// Machine code of the failure ("timeout", "face_lost", "no_match", "locked_out", ...), nil when passed: the
    /// client-facing rendering only; decisions, audit and lockout use `denial`.
    public var reason: String?
    /// Why the session was denied, typed where it ended (liveness failure table, identity step, stream protocol,
    /// lifecycle); nil when passed, and in rows written before it existed. Never derived from `reason`.
    public var denial: DenialReason?
    /// Human text of the failure.
    public var detail: String?
    public var challenges: [ChallengeSummary]
    public var frames: Int
    /// 1:1 verification against `user` (when one was given).
    public var verified: Bool?
    public var distance: Double?
    public var threshold: Double?
    /// Largest early-vs-late embedding distance (continuity of identity within the session).
    public var identityDistance: Double?
    /// Indices/timestamps of the frames the decision relied on (audit references).
    public var evidence: [EvidenceRef]
    /// Templates added to `user` (enroll mode).
    public var enrolledTemplates: Int?
    /// A succeeded liveness session: indices (into its sealed anchor embeddings) of the anchors that passed the
    /// enrollment quality gate (`identity.quality`), the only ones `POST /v1/users/{id}/templates {"session"}` stores.
    /// nil in rows written before the gate was recorded.
    public var enrollableAnchors: [Int]?
    /// Liveness checks that ran ("active", "passive", "both").
    public var liveness: String?
    /// What decided liveness: `challenge`, passive cue names, `challenge:<type>` or a failure code.
    public var decidedBy: [String]?
    /// The passive verdict of a passive/both session (server-side only: scores never go to the browser).
    public var passive: PassiveSummary?

    public struct PassiveSummary: Sendable, Hashable, Codable {
        public var mode: String
        public var live: Bool
        public var score: Double
        public var reason: String
        public var decidedBy: [String]
        /// Attack-evidence level (0 live … 1 attack, 0.5 at the cue's threshold) of every cue that could see.
        public var cues: [String: Double]
    }

    public struct ChallengeSummary: Sendable, Hashable, Codable {
        public var type: String
        public var status: String
        public var latencyMs: Int?
    }
    public struct EvidenceRef: Sendable, Hashable, Codable {
        public var index: Int
        public var timestamp: Double
        public var role: String
    }
}

/// A session as stored.
public struct SessionRecord: Sendable, Hashable, Codable {
    public var id: String
    /// SHA-256 (hex) of the stream token handed out with the session.
    public var tokenHash: String
    public var status: SessionStatus
    public var created: Date
    public var expires: Date
    public var updated: Date
    /// Instance that ran the stream.
    public var instance: String?
    public var spec: SessionSpec
    public var outcome: SessionOutcome?
    /// Encrypted (AES-GCM, gallery key) embeddings of the session's identity anchor frames.
    public var embeddings: Data?
    /// True once the session's embeddings were turned into templates (single use).
    public var consumed: Bool
}

/// A one-time enrollment link.
public struct EnrollLinkRecord: Sendable, Hashable, Codable {
    public var tokenHash: String
    public var user: String
    public var created: Date
    public var expires: Date
    public var used: Date?
    public var sessionID: String?
}

/// A user created through the API before any template exists.
public struct PendingUser: Sendable, Hashable, Codable {
    public var name: String
    public var threshold: Double?
    public var created: Date
}

/// Errors of the server's own tables.
public enum ServerStoreError: Error, Sendable, CustomStringConvertible, Equatable {
    case database(String)
    case duplicate(String)
    public var description: String {
        switch self {
        case .database(let d): return "server database error: \(d) — check the --db location and that the database is reachable"
        case .duplicate(let d): return "\(d) already exists"
        }
    }
}

/// The server's own tables (API keys, sessions, enrollment links, pending users; lockout is the shared
/// `LockoutStore`), kept in the same
/// database as the gallery so several instances behind a load balancer share them.
public protocol ServerStore: AnyObject, Sendable {
    func insertKey(_ k: APIKeyRecord) async throws
    func key(id: String) async throws -> APIKeyRecord?
    func listKeys() async throws -> [APIKeyRecord]
    /// Marks a key revoked; false when no such active key.
    func revokeKey(id: String, at: Date) async throws -> Bool

    func insertSession(_ s: SessionRecord) async throws
    func session(id: String) async throws -> SessionRecord?
    /// Atomically moves a session from `created` to `in_progress` (single use). False if it was already
    /// claimed, finished or expired.
    func claimSession(id: String, instance: String, now: Date) async throws -> Bool
    /// Records the final state (only from `created`/`in_progress`). False if it was already final.
    @discardableResult
    func finishSession(id: String, status: SessionStatus, outcome: SessionOutcome?, embeddings: Data?, now: Date) async throws -> Bool
    /// Marks a succeeded session's result used (one decision: verify, identify or enrollment) and drops its sealed
    /// embeddings, atomically. False if already used.
    func consumeSession(id: String) async throws -> Bool
    /// Deletes session rows that expired before the given time; returns how many.
    @discardableResult func purgeSessions(expiredBefore: Date) async throws -> Int
    /// Marks sessions past their expiry `expired`; returns how many.
    @discardableResult func expireSessions(now: Date) async throws -> Int

    func insertLink(_ l: EnrollLinkRecord) async throws
    func link(tokenHash: String) async throws -> EnrollLinkRecord?
    /// Atomically marks an unused, unexpired link used by `sessionID`.
    func useLink(tokenHash: String, sessionID: String, now: Date) async throws -> Bool

    func insertPendingUser(_ u: PendingUser) async throws
    func pendingUsers() async throws -> [PendingUser]
    func removePendingUser(name: String) async throws -> Bool
    /// Everything of a deleted user (#17): their enrollment links are deleted, their sessions not yet finished are
    /// expired and their succeeded sessions' results marked used (sealed embeddings dropped), their pending record
    /// removed. Returns how many links and sessions it ended.
    @discardableResult func forgetUser(name: String, now: Date) async throws -> Int

    func ping() async throws
    func close() async
}

public enum ServerStoreFactory {
    public static func open(_ location: GalleryLocation) async throws -> any ServerStore {
        switch location {
        case .sqlite(let path): return try SQLiteServerStore(path: path)
        case .postgres(let url): return try await PostgresServerStore(url: url)
        }
    }
}

/// Hashing and constant-time comparison for secrets (API keys, stream tokens, link tokens).
public enum Secrets {
    /// Lower-case hex SHA-256.
    public static func sha256Hex(_ s: String) -> String {
        SHA256.hash(data: Data(s.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two strings in time independent of where they differ (lengths are public: both are hex digests).
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            let p = i < x.count ? x[i] : 0, q = i < y.count ? y[i] : 0
            diff |= p ^ q
        }
        return diff == 0
    }

    /// `n` random bytes from the system CSPRNG, base64url without padding.
    public static func randomToken(bytes n: Int = 32) -> String {
        var g = SystemRandomNumberGenerator()
        var d = Data(count: n)
        for i in 0..<n { d[i] = UInt8.random(in: 0...255, using: &g) }
        return d.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Lower-case hex of `n` random bytes.
    public static func randomHex(bytes n: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<n).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }
}

/// Seals blobs (session embeddings) with the gallery key, AES-256-GCM, so no biometric data sits in clear text.
public struct BlobSealer: Sendable {
    /// Current key first, then the one it replaced (a running server follows `keys rotate`, #17).
    let keys: @Sendable () -> [GalleryKey]
    public init(key: GalleryKey) { keys = { [key] } }
    /// Follows the gallery's key: seals under its current key; opens under the current one or the one it replaced
    /// (a blob sealed by a request that raced a rotation; `keys rotate` re-seals the stored ones itself).
    public init(gallery: any Gallery) { keys = { [gallery] in gallery.keys } }
    public func seal(_ d: Data) throws -> Data {
        guard let key = keys().first, let c = try AES.GCM.seal(d, using: key.key).combined else { throw ServerStoreError.database("sealing failed") }
        return c
    }
    public func open(_ d: Data) throws -> Data {
        let box = try AES.GCM.SealedBox(combined: d)
        var failure: any Error = ServerStoreError.database("no key to open a sealed blob")
        for k in keys() {
            do { return try AES.GCM.open(box, using: k.key) } catch { failure = error }
        }
        throw failure
    }
}
