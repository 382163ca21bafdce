import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Logging

/// Server decisions through the actions layer (`ActionDispatcher`): one audit record per finished session and per
/// verify/identify decision, signed webhooks, and the e-mail alert on a denial — as configured in `facegate.toml`.
///
/// Never on the frame path or the HTTP response: `submit` only appends the decision to an in-memory FIFO served by
/// one background thread, which runs the dispatcher's synchronous part (audit row + fsync'd spool files, a few ms);
/// the spool workers then deliver mail and webhooks with retries, also across restarts. `drain()` waits for the FIFO
/// (tests, shutdown).
///
/// Skipped on a server, whatever the configuration says: the device lock and voice (they would lock or speak on the
/// server machine, not where the person is). Lockout is not an action: routes settle each attempt through the
/// server's `LockoutGate` before they submit its decision here.
public final class ServerActions: Sendable {
    public let dispatcher: ActionDispatcher
    let queue = DispatchQueue(label: "facegate.server.actions", qos: .utility)
    let logger: Logger
    private let state = Counters()

    final class Counters: @unchecked Sendable {
        let lock = NSLock()
        var pending = 0, dispatched = 0, failed = 0
    }

    /// The configuration as the server applies it: lock and voice off.
    public static func serverConfig(_ c: FaceGateConfig) -> FaceGateConfig {
        var c = c
        c.lock.enabled = false
        c.voice.enabled = .off
        c.voice.saveDir = nil
        return c
    }

    /// Where the server's audit log lives: the gallery's SQLite file, or — with PostgreSQL, which has no audit tables
    /// yet — `audit.sqlite` in the data directory (same rule as the CLI's dispatcher).
    public static func auditPath(database: GalleryLocation, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        switch database {
        case .sqlite(let p): return p
        case .postgres: return GalleryLocation.dataDirectory(environment: environment) + "/audit.sqlite"
        }
    }

    /// - Parameters:
    ///   - auditPath: overrides `auditPath(database:)` (tests, several instances on one machine).
    public init(config: FaceGateConfig, database: GalleryLocation, galleryKey: GalleryKey, auditPath: String? = nil,
                logger: Logger) throws {
        let c = Self.serverConfig(config)
        self.logger = logger
        var store: AuditStore? = nil
        if c.audit.enabled {
            let path = auditPath ?? Self.auditPath(database: database)
            if case .postgres = database, auditPath == nil {
                logger.warning("audit: the gallery is in PostgreSQL; this instance's audit records go to SQLite \(path)")
            }
            store = try AuditStore(path: path, key: c.audit.snapshots ? galleryKey : nil)
        }
        dispatcher = try ActionDispatcher(config: c, logger: logger, auditStore: store)
    }

    /// Starts the mail/webhook delivery loops (also delivers what earlier runs left queued on disk).
    public func start() async { await dispatcher.start() }

    /// Queues a decision; returns at once.
    public func submit(_ d: Decision) {
        self.state.lock.withLock { self.state.pending += 1 }
        let dispatcher = self.dispatcher, logger = self.logger, state = self.state
        queue.async {
            let receipt = dispatcher.dispatch(d)
            state.lock.withLock {
                state.pending -= 1
                state.dispatched += 1
                if !receipt.errors.isEmpty { state.failed += 1 }
            }
            for e in receipt.errors {
                logger.error("action failed", metadata: ["decision": "\(d.id.uuidString.lowercased())", "action": "\(e.action.rawValue)",
                                                         "error": "\(e.message)"])
            }
        }
    }

    /// Gallery changes for webhooks (`enrolled`, `removed`), queued the same way.
    public func notify(_ kind: WebhookEventKind, user: String, detail: String? = nil) {
        self.state.lock.withLock { self.state.pending += 1 }
        let dispatcher = self.dispatcher, state = self.state
        queue.async {
            dispatcher.notify(kind, user: user, detail: detail)
            state.lock.withLock { state.pending -= 1 }
        }
    }

    /// Decisions accepted but not yet written to the audit log / spool.
    public var pending: Int { state.lock.withLock { state.pending } }
    /// Decisions dispatched so far, and how many of them had a failed synchronous action (logged).
    public var counts: (dispatched: Int, failed: Int) { state.lock.withLock { (state.dispatched, state.failed) } }

    /// Waits until every decision submitted before this call is audited and queued.
    public func drain() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in queue.async { c.resume() } }
    }

    /// Audit records, newest first (nil when the audit log is off).
    public func records(_ q: AuditQuery) throws -> [AuditRecord]? {
        try dispatcher.audit?.records(q)
    }

    /// Drains the FIFO and stops the delivery loops; undelivered mail/webhooks stay queued on disk for the next run.
    public func stop() async {
        await drain()
        await dispatcher.stop()
    }
}
