import Foundation
import Logging

/// When to retry a failed delivery: exponential backoff with a cap, and an age after which the item expires.
public struct RetryPolicy: Sendable, Hashable {
    /// First retry delay, seconds. 2 s: a restarting local MTA or webhook receiver is usually back within that.
    public static let defaultInitialDelay: TimeInterval = 2
    /// Backoff factor per failed attempt (classic doubling).
    public static let defaultFactor: Double = 2
    /// Longest wait between two attempts, seconds (10 min): an endpoint that comes back is served within 10 min.
    public static let defaultMaxDelay: TimeInterval = 600

    public var initialDelay: TimeInterval
    public var factor: Double
    public var maxDelay: TimeInterval
    /// Items older than this are given up (moved to failed/, logged as errors).
    public var maxAge: TimeInterval

    public init(initialDelay: TimeInterval = RetryPolicy.defaultInitialDelay, factor: Double = RetryPolicy.defaultFactor,
                maxDelay: TimeInterval = RetryPolicy.defaultMaxDelay, maxAge: TimeInterval) {
        self.initialDelay = initialDelay; self.factor = factor; self.maxDelay = maxDelay; self.maxAge = maxAge
    }

    /// Delay before attempt number `attempts + 1`, after `attempts` failures (attempts ≥ 1).
    public func delay(afterFailures attempts: Int) -> TimeInterval {
        let exp = initialDelay * pow(factor, Double(max(0, attempts - 1)))
        return min(maxDelay, exp)
    }
}

/// How much of `failed/` is kept (#17): expired items are kept for inspection, but a mail alert carries the face
/// snapshot of the attempt, so they may not pile up forever. The newest `maxItems` are kept, none older than `maxAge`
/// (counted from when the item was given up).
public struct FailedRetention: Sendable, Hashable {
    /// 100 items: a day of alerts for an SMTP server that is down on a busy door, still readable by hand.
    public static let defaultMaxItems = 100
    /// 7 days: a week to notice the errors in the log and look at what was not delivered.
    public static let defaultMaxAge: TimeInterval = 7 * 86_400

    public var maxItems: Int
    public var maxAge: TimeInterval
    public init(maxItems: Int = FailedRetention.defaultMaxItems, maxAge: TimeInterval = FailedRetention.defaultMaxAge) {
        self.maxItems = max(0, maxItems); self.maxAge = maxAge
    }
}

/// One queued delivery, stored as one JSON file.
public struct SpoolItem: Sendable, Codable, Hashable {
    public var id: String
    /// What it is: "mail", "webhook".
    public var kind: String
    /// Short human label for logs ("alert to owner@example.org", "denied → https://…").
    public var label: String
    public var created: Date
    public var attempts: Int
    public var nextAttempt: Date
    public var lastError: String?
    /// Kind-specific payload (JSON).
    public var payload: Data
}

/// A durable queue: a directory of JSON files, each written atomically (temp file + rename), so a crash never
/// leaves a half-written item and nothing is lost across restarts. Expired items go to `failed/`, which is bounded
/// by `failedRetention` (oldest removed first).
/// Safe to use from several processes: `withDrainLock` serialises draining with flock(2).
public final class Spool: Sendable {
    public let directory: URL
    public var failedDirectory: URL { directory.appendingPathComponent("failed") }
    public let failedRetention: FailedRetention

    static let sequence = SequenceCounter()

    public init(directory: URL, failedRetention: FailedRetention = FailedRetention()) throws {
        self.directory = directory
        self.failedRetention = failedRetention
        do {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("failed"), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw ActionError.spool("cannot create spool directory \(directory.path): \(error.localizedDescription) — check actions.spool_dir and its permissions")
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder(); e.dateEncodingStrategy = .iso8601; e.outputFormatting = [.sortedKeys]; return e
    }()
    static let decoder: JSONDecoder = { let d = JSONDecoder(); d.dateDecodingStrategy = .iso8601; return d }()

    private func fileURL(_ id: String, in dir: URL? = nil) -> URL { (dir ?? directory).appendingPathComponent("\(id).json") }

    /// Queues a payload; returns the stored item. Durable when this returns (fsync'd).
    @discardableResult
    public func enqueue(kind: String, label: String, payload: Data, now: Date = Date()) throws -> SpoolItem {
        // Time-ordered, unique file names (oldest first when listed): microseconds, then a per-process sequence
        // number so items queued in the same microsecond keep their order.
        let micros = UInt64(max(0, now.timeIntervalSince1970) * 1_000_000)
        let seq = Spool.sequence.next()
        let id = String(format: "%017llu-%06llu-", micros, seq % 1_000_000) + "\(kind)-\(UUID().uuidString.prefix(8).lowercased())"
        let item = SpoolItem(id: id, kind: kind, label: label, created: now, attempts: 0, nextAttempt: now,
                             lastError: nil, payload: payload)
        try write(item)
        return item
    }

    /// Atomically (re)writes an item.
    public func write(_ item: SpoolItem, in dir: URL? = nil) throws {
        let data = try Self.encoder.encode(item)
        let target = fileURL(item.id, in: dir)
        let tmp = (dir ?? directory).appendingPathComponent(".tmp-\(item.id)-\(getpid())")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ActionError.spool("cannot write \(tmp.path) — is the spool directory writable and the disk not full?")
        }
        let fh = try FileHandle(forWritingTo: tmp)
        do {
            try fh.write(contentsOf: data)
            try fh.synchronize()
            try fh.close()
        } catch {
            try? fh.close(); try? FileManager.default.removeItem(at: tmp)
            throw ActionError.spool("cannot write \(tmp.path): \(error.localizedDescription)")
        }
        guard rename(tmp.path, target.path) == 0 else {
            let e = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw ActionError.spool("cannot move \(tmp.lastPathComponent) into the spool: \(e)")
        }
    }

    /// Items waiting, oldest first. Unreadable files are moved to failed/ (and reported) rather than retried forever.
    public func pending(logger: Logger? = nil) -> [SpoolItem] {
        items(in: directory, logger: logger)
    }
    /// Items that expired undelivered.
    public func failed() -> [SpoolItem] { items(in: failedDirectory, logger: nil) }

    private func items(in dir: URL, logger: Logger?) -> [SpoolItem] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        var out: [SpoolItem] = []
        for n in names.sorted() where n.hasSuffix(".json") && !n.hasPrefix(".") {
            let url = dir.appendingPathComponent(n)
            guard let data = FileManager.default.contents(atPath: url.path) else { continue }
            if let item = try? Self.decoder.decode(SpoolItem.self, from: data) {
                out.append(item)
            } else if dir == directory {
                logger?.error("spool file \(url.path) is corrupt — moved to \(failedDirectory.path)")
                _ = rename(url.path, failedDirectory.appendingPathComponent(n).path)
            }
        }
        return out
    }

    public func remove(_ item: SpoolItem) {
        try? FileManager.default.removeItem(at: fileURL(item.id))
    }

    /// Moves an item to failed/ with its last error (kept for inspection within `failedRetention`).
    public func moveToFailed(_ item: SpoolItem) throws {
        try write(item, in: failedDirectory)
        remove(item)
        pruneFailed()
    }

    /// Deletes what `failedRetention` no longer keeps in failed/: files given up longer than `maxAge` ago (file
    /// modification time: when they were moved there), then the oldest beyond `maxItems` (names are time-ordered).
    /// Returns the names removed (the caller logs them).
    @discardableResult
    public func pruneFailed(now: Date = Date()) -> [String] {
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: failedDirectory.path)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        var keep: [String] = [], removed: [String] = []
        for n in names {
            let path = failedDirectory.appendingPathComponent(n).path
            let moved = (try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? now
            if now.timeIntervalSince(moved) > failedRetention.maxAge, (try? fm.removeItem(atPath: path)) != nil { removed.append(n) } else { keep.append(n) }
        }
        for n in keep.prefix(max(0, keep.count - failedRetention.maxItems)) where (try? fm.removeItem(atPath: failedDirectory.appendingPathComponent(n).path)) != nil {
            removed.append(n)
        }
        return removed
    }

    /// Takes the spool's drain lock (flock, released on process exit); nil if another process holds it.
    /// Returns -1 when the lock file cannot be created (read-only directory): drain anyway.
    public func tryLockDrain() -> Int32? {
        let fd = open(directory.appendingPathComponent(".drain.lock").path, O_CREAT | O_RDWR, 0o600)
        guard fd >= 0 else { return -1 }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); return nil }
        return fd
    }
    public func unlockDrain(_ fd: Int32) {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN); close(fd)
    }
}

/// Delivers one spooled item, or throws why not.
public protocol SpoolDeliverer: Sendable {
    func deliver(_ item: SpoolItem) async throws
}

/// Drains a spool in the background: delivers due items, reschedules failures with backoff, expires old ones.
public actor SpoolWorker {
    public nonisolated let spool: Spool
    public nonisolated let policy: RetryPolicy
    let deliverer: any SpoolDeliverer
    let logger: Logger
    /// Idle re-scan period, seconds: picks up items queued by other processes.
    public static let idleRescan: TimeInterval = 30

    private var loop: Task<Void, Never>?
    private var sleeper: Task<Void, Never>?
    private var kicked = false
    public private(set) var delivered = 0
    public private(set) var expired = 0

    public init(spool: Spool, policy: RetryPolicy, deliverer: any SpoolDeliverer, logger: Logger) {
        self.spool = spool; self.policy = policy; self.deliverer = deliverer; self.logger = logger
    }

    /// Starts the background loop (idempotent).
    public func start() {
        guard loop == nil else { return }
        loop = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                let next = await self.drainOnce()
                await self.sleep(until: next)
            }
        }
    }

    public func stop() {
        loop?.cancel(); loop = nil
        sleeper?.cancel()
    }

    /// Wakes the loop now (e.g. after enqueueing).
    public func kick() {
        kicked = true
        sleeper?.cancel()
    }

    private func sleep(until next: Date?) async {
        if kicked { kicked = false; return }
        let wait = min(max(0.01, (next ?? .distantFuture).timeIntervalSinceNow), Self.idleRescan)
        let t = Task { _ = try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        sleeper = t
        await t.value
        sleeper = nil
        kicked = false
    }

    /// One pass: attempts every due item. Returns when the next item is due (nil if the queue is empty).
    @discardableResult
    public func drainOnce(now: @Sendable () -> Date = Date.init, ignoringBackoff: Bool = false) async -> Date? {
        // Another process is draining: look again soon.
        guard let lockFD = spool.tryLockDrain() else { return Date().addingTimeInterval(1) }
        defer { spool.unlockDrain(lockFD) }
        let pruned = spool.pruneFailed(now: now())
        if !pruned.isEmpty { logger.info("spool: deleted \(pruned.count) given-up item(s) from \(spool.failedDirectory.path) (kept: the newest \(spool.failedRetention.maxItems), none older than \(Int(spool.failedRetention.maxAge / 3600)) h)") }
        do {
            var next: Date? = nil
            for var item in spool.pending(logger: logger) {
                if Task.isCancelled { return nil }
                let t = now()
                if t.timeIntervalSince(item.created) > policy.maxAge {
                    expire(item)
                    continue
                }
                guard ignoringBackoff || item.nextAttempt <= t else {
                    next = min(next ?? item.nextAttempt, item.nextAttempt)
                    continue
                }
                do {
                    try await deliverer.deliver(item)
                    spool.remove(item)
                    delivered += 1
                    logger.info("delivered \(item.kind) \(item.label) after \(item.attempts + 1) attempt(s)")
                } catch {
                    item.attempts += 1
                    item.lastError = "\(error)"
                    let delay = policy.delay(afterFailures: item.attempts)
                    item.nextAttempt = now().addingTimeInterval(delay)
                    if item.nextAttempt.timeIntervalSince(item.created) > policy.maxAge {
                        expire(item)
                        continue
                    }
                    logger.warning("\(item.kind) \(item.label) failed (attempt \(item.attempts)): \(error) — retrying in \(Int(delay.rounded())) s")
                    do { try spool.write(item) } catch { logger.error("cannot reschedule \(item.id): \(error)") }
                    next = min(next ?? item.nextAttempt, item.nextAttempt)
                }
            }
            return next
        }
    }

    private func expire(_ item: SpoolItem) {
        expired += 1
        logger.error("giving up on \(item.kind) \(item.label) after \(item.attempts) attempt(s), queued \(item.created): \(item.lastError ?? "never attempted") — kept in \(spool.failedDirectory.path)")
        do { try spool.moveToFailed(item) } catch { logger.error("cannot move \(item.id) to failed/: \(error)") }
    }

    /// Drains until the queue is empty or `timeout` passes; true if empty. For one-shot CLI runs before exit.
    /// The first pass ignores the backoff schedule (one immediate attempt per item); later passes follow it.
    public func flush(timeout: TimeInterval) async -> Bool {
        let end = Date().addingTimeInterval(timeout)
        // First pass now, whatever the backoff says: the caller is about to exit (or an endpoint just came back).
        var first = true
        while Date() < end {
            let next = await drainOnce(ignoringBackoff: first)
            first = false
            if spool.pending().isEmpty { return true }
            let wait = min(max(0.05, (next ?? end).timeIntervalSinceNow), end.timeIntervalSinceNow)
            if wait <= 0 { break }
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
        }
        return spool.pending().isEmpty
    }
}

/// Process-wide increasing counter.
final class SequenceCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 0
    func next() -> UInt64 { lock.withLock { value += 1; return value } }
}
