import Foundation

/// How many failures, in how long, lock a user or a source out, and for how long.
public struct LockoutPolicy: Sendable, Hashable, Codable {
    /// Default failures allowed in `defaultWindow` (issue #7's requirement). Not measured: a policy choice that gives
    /// an owner in bad light a few retries while capping an attacker at 5 tries per window.
    public static let defaultMaxFailures = 5
    /// Default counting window, seconds (3 min, issue #7): a burst of replayed photos/videos fits inside it.
    public static let defaultWindow: TimeInterval = 180
    /// Default lockout, seconds (15 min, issue #7): long enough to make brute-force replays impractical.
    public static let defaultDuration: TimeInterval = 900

    public var maxFailures: Int
    public var window: TimeInterval
    public var duration: TimeInterval

    public init(maxFailures: Int = LockoutPolicy.defaultMaxFailures, window: TimeInterval = LockoutPolicy.defaultWindow,
                duration: TimeInterval = LockoutPolicy.defaultDuration) {
        precondition(maxFailures >= 1 && window > 0 && duration > 0, "lockout policy values must be positive")
        self.maxFailures = maxFailures; self.window = window; self.duration = duration
    }
    public static let `default` = LockoutPolicy()
}

/// Who a failure counts against: the claimed/matched user, or the place the attempt came from.
public enum LockoutSubject: Sendable, Hashable, Codable, CustomStringConvertible {
    case user(String)
    case source(String)

    /// Stable storage key: "user:alice", "source:camera:0".
    public var key: String {
        switch self {
        case .user(let u): return "user:\(u)"
        case .source(let s): return "source:\(s)"
        }
    }
    public init?(key: String) {
        if key.hasPrefix("user:") { self = .user(String(key.dropFirst(5))) }
        else if key.hasPrefix("source:") { self = .source(String(key.dropFirst(7))) }
        else { return nil }
    }
    public var description: String {
        switch self {
        case .user(let u): return "user \(u)"
        case .source(let s): return "source \(s)"
        }
    }

    /// The subjects an attempt counts against.
    public static func of(user: String?, source: String) -> [LockoutSubject] {
        var out: [LockoutSubject] = []
        if let user, !user.isEmpty { out.append(.user(user)) }
        if !source.isEmpty { out.append(.source(source)) }
        return out
    }
}

/// Whether an attempt may proceed.
public enum LockoutStatus: Sendable, Hashable {
    case open
    case locked(subject: LockoutSubject, until: Date, remaining: TimeInterval)

    public var isLocked: Bool { if case .locked = self { return true } else { return false } }

    /// Clear message for the user, nil when open.
    public var message: String? {
        guard case .locked(let subject, let until, let remaining) = self else { return nil }
        let total = Int(remaining.rounded(.up))
        let mins = total / 60, secs = total % 60
        let wait = mins > 0 ? "\(mins) min \(secs) s" : "\(secs) s"
        let f = ISO8601DateFormatter()
        return "too many failed attempts for \(subject): locked for another \(wait) (until \(f.string(from: until))) — "
            + "wait, or ask an administrator to run `facegate audit unlock`"
    }
}

/// Pure lockout bookkeeping: failures per subject inside a sliding window; a subject that reaches the maximum is
/// locked for `policy.duration`. Driven by explicit `now` timestamps so tests (and restarts) control the clock.
public struct Lockout: Sendable, Hashable {
    public var policy: LockoutPolicy
    /// Failure times per subject key, oldest first, only those inside the window.
    public private(set) var failures: [String: [Date]]
    /// Lock expiry per subject key.
    public private(set) var lockedUntil: [String: Date]

    public init(policy: LockoutPolicy = .default, failures: [String: [Date]] = [:], lockedUntil: [String: Date] = [:]) {
        self.policy = policy
        self.failures = failures.mapValues { $0.sorted() }
        self.lockedUntil = lockedUntil
    }

    /// Whether an attempt by these subjects may start at `now`. The first locked subject wins.
    public func check(_ subjects: [LockoutSubject], now: Date) -> LockoutStatus {
        var worst: LockoutStatus = .open
        for s in subjects {
            guard let until = lockedUntil[s.key], until > now else { continue }
            if case .locked(_, let u, _) = worst, u >= until { continue }
            worst = .locked(subject: s, until: until, remaining: until.timeIntervalSince(now))
        }
        return worst
    }

    /// Counts one failure against each subject; returns the resulting status (locked if any subject reached the
    /// maximum now or was already locked).
    @discardableResult
    public mutating func recordFailure(_ subjects: [LockoutSubject], now: Date) -> LockoutStatus {
        for s in subjects {
            var times = (failures[s.key] ?? []).filter { now.timeIntervalSince($0) < policy.window && $0 <= now }
            times.append(now)
            if times.count >= policy.maxFailures {
                let until = now.addingTimeInterval(policy.duration)
                if (lockedUntil[s.key] ?? .distantPast) < until { lockedUntil[s.key] = until }
                times.removeAll()  // the lock replaces the count: after it expires the subject starts fresh
            }
            failures[s.key] = times
        }
        return check(subjects, now: now)
    }

    /// A successful attempt clears the failure count (not an active lock) of its subjects.
    public mutating func recordSuccess(_ subjects: [LockoutSubject]) {
        for s in subjects { failures[s.key] = nil }
    }

    /// Lifts a lock and its count (administrator action).
    public mutating func clear(_ subject: LockoutSubject) {
        failures[subject.key] = nil
        lockedUntil[subject.key] = nil
    }

    /// Drops failures older than the window and expired locks.
    public mutating func prune(now: Date) {
        for (k, v) in failures {
            let kept = v.filter { now.timeIntervalSince($0) < policy.window }
            failures[k] = kept.isEmpty ? nil : kept
        }
        lockedUntil = lockedUntil.filter { $0.value > now }
    }

    /// Failures of a subject counted at `now`.
    public func failureCount(_ subject: LockoutSubject, now: Date) -> Int {
        (failures[subject.key] ?? []).filter { now.timeIntervalSince($0) < policy.window }.count
    }
}
