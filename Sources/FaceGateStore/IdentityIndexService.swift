import FaceGateCore
import Foundation
import Logging

/// An in-memory `GalleryIndex` kept in step with a gallery: loaded once, then refreshed from the gallery's change
/// log whenever another connection or process commits (PostgreSQL NOTIFY, plus polling as a fallback).
public actor IdentityIndexService {
    public nonisolated let gallery: any Gallery
    private var index = GalleryIndex()
    private var seq: Int64 = 0
    private var loaded = false
    private var follower: Task<Void, Never>?
    private let logger = Logger(label: "facegate.store.index")
    public var policy: IdentityPolicy
    /// Threads used to scan the index in `identify`.
    public var threads: Int

    /// Change-log polling period for SQLite (no push channel): a cheap `MAX(seq)` query, 4 per second keeps other
    /// processes within the one-second refresh target.
    public static let sqlitePollSeconds = 0.25
    /// Fallback polling period for PostgreSQL, which pushes NOTIFY signals (covers a dropped LISTEN connection).
    public static let postgresPollSeconds = 1.0

    public init(gallery: any Gallery, policy: IdentityPolicy = IdentityPolicy(),
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.gallery = gallery; self.policy = policy; self.threads = max(1, threads)
    }

    public var templateCount: Int { index.templateCount }
    public var userCount: Int { index.userCount }
    public var memoryBytes: Int { index.memoryBytes }
    public var lastChange: Int64 { seq }

    public func setPolicy(_ p: IdentityPolicy) { policy = p }

    /// Loads every user (replacing the index). Decryption or key errors propagate.
    public func load() async throws {
        await acquire(); defer { release() }
        try await fullLoad()
    }

    /// Applies changes committed since the last load/refresh.
    public func refresh() async throws {
        await acquire(); defer { release() }
        if !loaded { try await fullLoad(); return }
        let ch = try await gallery.changes(after: seq)
        if ch.reloadAll { try await fullLoad(); return }
        var fetched: [(UUID, UserRecord?)] = []
        for uid in ch.users { fetched.append((uid, try await gallery.user(key: uid))) }
        for (uid, u) in fetched {
            if let u {
                try index.upsert(GalleryIndex.User(key: u.key, name: u.name, threshold: u.summary.threshold), templates: u.embeddings)
            } else {
                index.remove(key: uid)
            }
        }
        seq = ch.latest
    }

    // Loads and refreshes run one at a time (actor re-entrancy at `await` would otherwise interleave them).
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private func acquire() async {
        if busy { await withCheckedContinuation { waiters.append($0) } } else { busy = true }
    }
    private func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }

    /// Builds a new index from one gallery snapshot and swaps it in; on failure the previous index stays.
    private func fullLoad() async throws {
        let fresh = try await gallery.loadIndex(threads: threads)
        index = fresh.index
        seq = fresh.changeSeq
        loaded = true
    }

    /// 1:N against the in-memory index (loads it on first use).
    public func identify(_ probe: Embedding) async throws -> IdentifyResult {
        if !loaded { try await load() }
        return try index.identify(probe, policy: policy, threads: threads)
    }

    /// 1:1 against the gallery's stored templates.
    public func verify(user: String, probe: Embedding) async throws -> VerifyResult {
        try await gallery.verify(user: user, probe: probe, policy: policy)
    }

    /// Starts following the gallery's changes in the background (idempotent).
    public func startFollowing() {
        guard follower == nil else { return }
        let signals = gallery.changeSignals()
        let poll: Double
        if case .postgres = gallery.location { poll = Self.postgresPollSeconds } else { poll = Self.sqlitePollSeconds }
        follower = Task { [weak self] in
            await withTaskGroup(of: Void.self) { group in
                if let signals {
                    group.addTask { [weak self] in
                        for await _ in signals { try? await self?.refreshLogged() }
                    }
                }
                group.addTask { [weak self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(nanoseconds: UInt64(poll * 1e9))
                        guard let self else { return }
                        try? await self.refreshIfChanged()
                    }
                }
            }
        }
    }

    private func refreshLogged() async throws {
        do { try await refresh() } catch { logger.warning("gallery refresh failed: \(error)"); throw error }
    }

    private func refreshIfChanged() async throws {
        if try await gallery.latestChange() != seq { try await refreshLogged() }
    }

    public func stopFollowing() {
        follower?.cancel(); follower = nil
    }
}
