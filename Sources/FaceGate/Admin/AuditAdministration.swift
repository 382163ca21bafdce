import FaceGateActions
import FaceGateCore
import FaceGateStore
import Foundation

/// `facegate audit lockouts` / `unlock`: which subjects are locked and for how long, and which subject an unlock
/// request names. The store is the one every front-end gates on (`RuntimeEnvironment.lockoutStore`).
public enum LockoutAdministration {
    /// One active lock.
    public struct ActiveLock: Sendable {
        public var subject: LockoutSubject
        public var until: Date
        /// Whole seconds left, rounded up.
        public var secondsLeft: Int
        public var untilText: String { ISO8601DateFormatter().string(from: until) }
        /// `user alice: locked until 2026-…Z (897 s left)`.
        public var line: String { "\(subject): locked until \(untilText) (\(secondsLeft) s left)" }
        /// `{"subject": "user:alice", "until": "2026-…Z"}`.
        public var json: [String: String] { ["subject": subject.key, "until": untilText] }
    }

    /// The locks active at `now`.
    public static func active(in store: any LockoutStore, now: Date = Date()) async throws -> [ActiveLock] {
        try await store.activeLocks(now: now).map {
            ActiveLock(subject: $0.subject, until: $0.until, secondsLeft: Int($0.until.timeIntervalSince(now).rounded(.up)))
        }
    }

    /// The subject of an unlock request: a user, a source as `audit lockouts` shows it, or an end client a server
    /// backend named (stored as the source `client:HINT`). Exactly one must be given (nil otherwise).
    public static func subject(user: String?, source: String?, client: String?) -> LockoutSubject? {
        guard [user, source, client].compactMap({ $0 }).count == 1 else { return nil }
        return user.map { .user($0) } ?? client.map { .source("client:" + $0) } ?? source.map { .source($0) }
    }

    /// Lifts the lock and failure count of `subject`; the line to print.
    public static func unlock(_ subject: LockoutSubject, in store: any LockoutStore) async throws -> String {
        try await store.clear(subject) ? "\(subject): unlocked" : "\(subject): was not locked"
    }
}

/// `facegate audit` (list, prune): the query a request describes and the retention that applies.
public enum AuditAdministration {
    /// What is wrong with a request (the front-end shows it as a usage error).
    public struct InvalidRequest: Error, CustomStringConvertible { public let description: String }

    /// The query for `since` (a duration ago such as 90m/24h/7d, or a date), a user, a source, an outcome
    /// (authorized/denied) and at most `limit` (≥ 1) records.
    public static func query(since: String?, user: String?, source: String?, decision: String?, limit: Int) throws -> AuditQuery {
        var q = AuditQuery(user: user, source: source, limit: max(1, limit))
        if let since {
            guard let t = AuditQuery.parseSince(since) else { throw InvalidRequest(description: "--since: cannot read '\(since)' — use 90m, 24h, 7d or 2026-01-31") }
            q.since = t
        }
        if let decision {
            guard let d = Decision.Outcome(rawValue: decision) else { throw InvalidRequest(description: "--decision must be authorized or denied") }
            q.decision = d
        }
        return q
    }

    /// The lines `facegate audit` prints for `records` (newest first) of the log at `path`: one JSON object per
    /// record, or one human line per record and a count (or that nothing matched).
    public static func listing(_ records: [AuditRecord], json: Bool, path: String) -> [String] {
        if json { return records.map { $0.jsonLine() } }
        if records.isEmpty { return ["no matching attempts in \(path)"] }
        return records.map { $0.humanLine() } + ["\(records.count) attempt\(records.count == 1 ? "" : "s") (\(path))"]
    }

    /// The retention in days: `days` if given, else `audit.retention_days`; at least 1.
    public static func retentionDays(_ days: Int?, configured: Int) throws -> Int {
        let d = days ?? configured
        guard d >= 1 else { throw InvalidRequest(description: "--days must be ≥ 1") }
        return d
    }
}
