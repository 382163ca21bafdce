import FaceGateCore
import Foundation

/// The actions work's lockout rules (`Lockout`, `LockoutPolicy`) with counters persisted in the server tables,
/// so they survive restarts and are shared by every instance on the same database.
public actor LockoutService {
    let store: any ServerStore
    public let policy: LockoutPolicy
    public let enabled: Bool

    public init(store: any ServerStore, policy: LockoutPolicy, enabled: Bool) {
        self.store = store; self.policy = policy; self.enabled = enabled
    }

    private func load(_ subjects: [LockoutSubject]) async throws -> Lockout {
        let rows = try await store.lockoutRows(subjects: subjects.map(\.key))
        var failures: [String: [Date]] = [:], until: [String: Date] = [:]
        for r in rows {
            failures[r.subject] = r.failures
            if let u = r.lockedUntil { until[r.subject] = u }
        }
        return Lockout(policy: policy, failures: failures, lockedUntil: until)
    }

    private func save(_ l: Lockout, _ subjects: [LockoutSubject]) async throws {
        try await store.saveLockout(subjects.map { s in
            LockoutRow(subject: s.key, failures: l.failures[s.key] ?? [], lockedUntil: l.lockedUntil[s.key])
        })
    }

    public func check(_ subjects: [LockoutSubject], now: Date = Date()) async throws -> LockoutStatus {
        guard enabled, !subjects.isEmpty else { return .open }
        return try await load(subjects).check(subjects, now: now)
    }

    @discardableResult
    public func failure(_ subjects: [LockoutSubject], now: Date = Date()) async throws -> LockoutStatus {
        guard enabled, !subjects.isEmpty else { return .open }
        var l = try await load(subjects)
        let st = l.recordFailure(subjects, now: now)
        try await save(l, subjects)
        return st
    }

    public func success(_ subjects: [LockoutSubject]) async throws {
        guard enabled, !subjects.isEmpty else { return }
        var l = try await load(subjects)
        l.recordSuccess(subjects)
        try await save(l, subjects)
    }
}
