import Foundation

/// API keys: `fgk.<id>.<secret>`. The id is public (logged, listed); only SHA-256 of the whole key is stored and
/// the comparison is constant-time.
public enum APIKeys {
    public static let prefix = "fgk"
    /// 6 random bytes (12 hex digits) of id: unique enough among the keys of one deployment, short to type.
    static let idBytes = 6
    /// 32 random bytes of secret (256 bits), base64url.
    static let secretBytes = 32

    /// Creates a key; returns the plaintext (shown once) and the record to store.
    public static func make(name: String, scope: APIScope, now: Date = Date()) -> (key: String, record: APIKeyRecord) {
        let id = Secrets.randomHex(bytes: idBytes)
        let key = "\(prefix).\(id).\(Secrets.randomToken(bytes: secretBytes))"
        return (key, APIKeyRecord(id: id, name: name, scope: scope, hash: Secrets.sha256Hex(key), created: now, revoked: nil))
    }

    /// The id part of a well-formed key, nil otherwise.
    public static func id(of key: String) -> String? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == prefix, parts[1].count == idBytes * 2,
              parts[1].allSatisfy({ $0.isHexDigit }), parts[2].count >= 20 else { return nil }
        return String(parts[1])
    }

    /// Creates a key in a store.
    public static func create(in store: any ServerStore, name: String, scope: APIScope) async throws -> (key: String, record: APIKeyRecord) {
        let made = make(name: name, scope: scope)
        try await store.insertKey(made.record)
        return made
    }
}

/// Checks presented keys against the store, caching records briefly so every request does not hit the database.
public actor KeyVerifier {
    let store: any ServerStore
    /// 5 s: a revoked key stops working on every instance within this time while a busy instance does at most one
    /// key lookup per key per 5 s.
    public static let cacheSeconds: TimeInterval = 5
    private var cache: [String: (record: APIKeyRecord?, at: Date)] = [:]
    private var activeCount: (n: Int, at: Date)?

    public init(store: any ServerStore) { self.store = store }

    /// The key's record when the key is valid and active, nil otherwise.
    public func verify(_ presented: String, now: Date = Date()) async throws -> APIKeyRecord? {
        guard let id = APIKeys.id(of: presented) else { return nil }
        let rec: APIKeyRecord?
        if let c = cache[id], now.timeIntervalSince(c.at) < Self.cacheSeconds {
            rec = c.record
        } else {
            rec = try await store.key(id: id)
            if cache.count > 10_000 { cache.removeAll() }
            cache[id] = (rec, now)
        }
        guard let r = rec, r.isActive, Secrets.constantTimeEquals(r.hash, Secrets.sha256Hex(presented)) else { return nil }
        return r
    }

    /// Number of active keys (cached like the records).
    public func activeKeys(now: Date = Date()) async throws -> Int {
        if let a = activeCount, now.timeIntervalSince(a.at) < Self.cacheSeconds { return a.n }
        let n = try await store.listKeys().filter(\.isActive).count
        activeCount = (n, now)
        return n
    }

    /// True once any key was ever created (revoked keys count): key-less local mode is over for good then. Cached
    /// like the records while false; true is final.
    public func anyKeyEverCreated(now: Date = Date()) async throws -> Bool {
        if everCreated { return true }
        if let c = everCreatedCheck, now.timeIntervalSince(c) < Self.cacheSeconds { return false }
        everCreated = try await !store.listKeys().isEmpty
        everCreatedCheck = now
        return everCreated
    }
    private var everCreated = false
    private var everCreatedCheck: Date?

    public func invalidate() { cache.removeAll(); activeCount = nil; everCreatedCheck = nil }
}
