import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Logging

/// What happened to one action of one decision (collected for the CLI/server to report).
public struct ActionOutcome: Sendable, Hashable, CustomStringConvertible {
    public enum Action: String, Sendable { case overlay, voice, mail, lock, webhook, audit, lockout }
    public var action: Action
    public var ok: Bool
    public var message: String
    public var description: String { "\(action.rawValue): \(ok ? "ok" : "FAILED") — \(message)" }
}

/// What `dispatch` did synchronously (all durable by the time it returns).
public struct DispatchReceipt: Sendable {
    public var audit: AuditRecord?
    public var mailQueued: Bool
    public var webhooksQueued: Int
    /// Failures of the synchronous part (audit write, spool write). Background failures arrive via `finish`.
    public var errors: [ActionOutcome]
}

/// Runs every action for a decision without delaying it. Synchronous part (milliseconds): audit record and durable queueing of the e-mail and webhooks. Everything slow — SMTP, HTTP, espeak-ng, the lock
/// command — runs in the background; e-mail and webhooks retry with backoff from their on-disk queue until
/// delivered or expired, also across restarts.
public final class ActionDispatcher: Sendable {
    public let config: FaceGateConfig
    public let host: HostInfo
    let logger: Logger
    public let audit: AuditStore?
    let jsonl: AuditJSONLWriter?
    let mailQueue: MailQueue?
    public let mailWorker: SpoolWorker?
    let webhookQueue: WebhookQueue?
    public let webhookWorker: SpoolWorker?
    let voice: VoiceAnnouncer
    let speakAloud: Bool
    let locker: DeviceLocker?
    let overlay: (@Sendable (Decision) -> Void)?
    let background = BackgroundTasks()

    /// - Parameters:
    ///   - overlay: draws the decision on the current preview/annotated frame (FaceGate/Actions supplies it).
    ///   - auditStore: an already open store (tests, server); nil opens the configured database.
    public init(config: FaceGateConfig, logger: Logger = Logger(label: "facegate.actions"),
                environment: [String: String] = ProcessInfo.processInfo.environment,
                auditStore: AuditStore? = nil, overlay: (@Sendable (Decision) -> Void)? = nil) throws {
        self.config = config
        self.logger = logger
        self.host = HostInfo.current()
        self.overlay = overlay

        if let auditStore {
            audit = auditStore
        } else if config.audit.enabled {
            audit = try Self.openAuditStore(config: config, environment: environment, logger: logger)
        } else {
            audit = nil
        }
        jsonl = config.audit.file.map(AuditJSONLWriter.init(destination:))
        if config.audit.enabled, let audit {
            do { let n = try audit.prune(retentionDays: config.audit.retentionDays); if n > 0 { logger.info("audit: pruned \(n) record(s) older than \(config.audit.retentionDays) days") } }
            catch { logger.error("\(error)") }
        }

        let spoolRoot = URL(fileURLWithPath: config.spoolDir)
        let retention = FailedRetention(maxItems: config.spoolFailedKeep, maxAge: config.spoolFailedMaxAge)
        if config.mail.enabled {
            let spool = try Spool(directory: spoolRoot.appendingPathComponent("mail"), failedRetention: retention)
            let m = config.mail
            mailQueue = MailQueue(spool: spool, from: m.from, to: m.to, subject: m.subject,
                                  location: .init(text: m.location, latitude: m.latitude, longitude: m.longitude))
            let client = SMTPClient(url: m.smtpURL, security: .init(rawValue: m.security.rawValue) ?? .starttls, user: m.user,
                                    password: m.password, caFile: m.caFile, timeout: m.timeout)
            mailWorker = SpoolWorker(spool: spool, policy: RetryPolicy(maxAge: m.maxAge), deliverer: MailDeliverer(client: client),
                                     logger: logger)
        } else {
            mailQueue = nil; mailWorker = nil
        }
        if !config.webhooks.urls.isEmpty {
            let spool = try Spool(directory: spoolRoot.appendingPathComponent("webhooks"), failedRetention: retention)
            let w = config.webhooks
            webhookQueue = WebhookQueue(spool: spool, urls: w.urls, events: Set(w.events.compactMap(WebhookEventKind.init(rawValue:))))
            webhookWorker = SpoolWorker(spool: spool, policy: RetryPolicy(maxAge: w.maxAge),
                                        deliverer: WebhookDeliverer(secret: w.secret, timeout: w.timeout), logger: logger)
        } else {
            webhookQueue = nil; webhookWorker = nil
        }
        let v = config.voice
        voice = VoiceAnnouncer(voice: v.voice, speed: v.speed, grantedText: v.grantedText, deniedText: v.deniedText)
        speakAloud = VoiceAnnouncer.shouldSpeak(v.enabled)
        locker = config.lock.enabled
            ? DeviceLocker(command: config.lock.command, fallback: config.lock.fallback, dryRun: config.lock.dryRun, timeout: config.lock.timeout)
            : nil
    }

    /// Starts the background delivery loops (also delivers anything left queued by earlier runs).
    public func start() async {
        await mailWorker?.start()
        await webhookWorker?.start()
    }

    /// Opens the audit tables in the gallery's SQLite file, with the gallery's key for snapshots.
    public static func openAuditStore(config: FaceGateConfig, environment: [String: String], logger: Logger) throws -> AuditStore {
        var path: String
        let location = try StoreAccess.location(flag: nil, config: config, environment: environment)
        switch location {
        case .sqlite(let p): path = p
        case .postgres:
            // PostgreSQL audit tables are not implemented yet: keep the audit log next to the default gallery file.
            path = GalleryLocation.dataDirectory(environment: environment) + "/audit.sqlite"
            logger.warning("audit: the gallery is in PostgreSQL; audit records go to SQLite \(path)")
        }
        // The gallery's key by the one resolution every front-end uses; only needed to seal snapshots.
        var key: GalleryKey? = nil
        do { key = try StoreAccess.key(config: config, environment: environment) } catch {
            if config.audit.snapshots { throw error }
        }
        return try AuditStore(path: path, key: config.audit.snapshots ? key : nil)
    }

    /// Runs all actions for a decision. Returns as soon as everything is durably recorded/queued; never waits for
    /// the network, espeak-ng or the lock command.
    @discardableResult
    public func dispatch(_ d: Decision) -> DispatchReceipt {
        var errors: [ActionOutcome] = []
        overlay?(d)

        // Audit first: it must be on disk before the next attempt starts. (Lockout counters are not an action: every
        // front-end settles its attempt through `LockoutGate` before it dispatches.)
        var record: AuditRecord? = nil
        if config.audit.enabled, let audit {
            do { record = try audit.record(d, keepSnapshot: config.audit.snapshots) }
            catch { errors.append(.init(action: .audit, ok: false, message: "\(error)")); logger.error("\(error)") }
        }
        if let jsonl {
            do { try jsonl.write(record ?? AuditRecord(d, snapshotStored: false)) }
            catch { errors.append(.init(action: .audit, ok: false, message: "\(error)")); logger.error("\(error)") }
        }

        // Durable queueing (a few ms: one fsync'd file each).
        var mailQueued = false
        if !d.isAuthorized, let mailQueue {
            do { try mailQueue.enqueue(d, host: host); mailQueued = true }
            catch { errors.append(.init(action: .mail, ok: false, message: "\(error)")); logger.error("cannot queue alert mail: \(error)") }
        }
        var hooks = 0
        if let webhookQueue {
            do { hooks = try webhookQueue.enqueue(WebhookEvent(decision: d, host: host.hostname)) }
            catch { errors.append(.init(action: .webhook, ok: false, message: "\(error)")); logger.error("cannot queue webhook: \(error)") }
        }
        let mw = mailQueued ? mailWorker : nil, ww = hooks > 0 ? webhookWorker : nil
        if mw != nil || ww != nil {
            Task { await mw?.start(); await mw?.kick(); await ww?.start(); await ww?.kick() }
        }

        // Slow local actions in the background.
        let text = voice.message(for: d)
        if speakAloud || config.voice.saveDir != nil {
            let voice = self.voice, speak = speakAloud, saveDir = config.voice.saveDir, logger = self.logger
            let name = Self.fileStamp(d)
            background.run { () -> [ActionOutcome] in
                var out: [ActionOutcome] = []
                if let saveDir {
                    let path = (saveDir as NSString).appendingPathComponent("\(name).wav")
                    do {
                        try FileManager.default.createDirectory(atPath: saveDir, withIntermediateDirectories: true)
                        try voice.synthesize(text, to: path)
                        out.append(.init(action: .voice, ok: true, message: "\"\(text)\" saved to \(path)"))
                    } catch { out.append(.init(action: .voice, ok: false, message: "\(error)")); logger.error("voice: \(error)") }
                }
                if speak {
                    do { try voice.speak(text); out.append(.init(action: .voice, ok: true, message: "said \"\(text)\"")) }
                    catch { out.append(.init(action: .voice, ok: false, message: "\(error)")); logger.error("voice: \(error)") }
                }
                return out
            }
        }
        if !d.isAuthorized, d.reason != .cancelled, let locker {
            let logger = self.logger
            background.run { () -> [ActionOutcome] in
                do {
                    switch try locker.lock(logger: logger) {
                    case .locked(let c): return [.init(action: .lock, ok: true, message: "ran `\(c)`")]
                    case .lockedByFallback(let c, let why): return [.init(action: .lock, ok: true, message: "ran fallback `\(c)` (primary failed: \(why))")]
                    case .dryRun(let c): return [.init(action: .lock, ok: true, message: "dry run: would run `\(c)`")]
                    }
                } catch {
                    logger.error("device lock failed: \(error)")
                    return [.init(action: .lock, ok: false, message: "\(error)")]
                }
            }
        }
        return DispatchReceipt(audit: record, mailQueued: mailQueued, webhooksQueued: hooks, errors: errors)
    }

    /// Gallery changes for webhooks (called by enrollment / removal).
    public func notify(_ kind: WebhookEventKind, user: String, detail: String? = nil) {
        guard let webhookQueue else { return }
        do {
            if try webhookQueue.enqueue(WebhookEvent(galleryEvent: kind, user: user, host: host.hostname, detail: detail)) > 0 {
                let ww = webhookWorker
                Task { await ww?.start(); await ww?.kick() }
            }
        } catch { logger.error("cannot queue webhook: \(error)") }
    }

    /// Waits for background voice/lock work and tries to deliver queued mail/webhooks for up to `timeout` seconds
    /// (for one-shot CLI runs). Undelivered items stay queued on disk for the next run or the server.
    public func finish(timeout: TimeInterval) async -> (outcomes: [ActionOutcome], pendingMail: Int, pendingWebhooks: Int) {
        let outcomes = await background.wait()
        let end = Date().addingTimeInterval(timeout)
        if let mailWorker { _ = await mailWorker.flush(timeout: max(0, end.timeIntervalSinceNow)) }
        if let webhookWorker { _ = await webhookWorker.flush(timeout: max(0, end.timeIntervalSinceNow)) }
        return (outcomes, mailWorker?.spool.pending().count ?? 0, webhookWorker?.spool.pending().count ?? 0)
    }

    public func stop() async {
        await mailWorker?.stop()
        await webhookWorker?.stop()
    }

    static func fileStamp(_ d: Decision) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(f.string(from: d.time))-\(d.id.uuidString.prefix(8).lowercased())-\(d.outcome.rawValue)"
    }
}

/// Background jobs whose outcomes are collected for `finish`.
final class BackgroundTasks: @unchecked Sendable {
    private let lock = NSLock()
    private var tasks: [Task<[ActionOutcome], Never>] = []

    func run(_ body: @escaping @Sendable () -> [ActionOutcome]) {
        // Blocking work (processes) on its own thread, not on the cooperative pool.
        let t = Task<[ActionOutcome], Never> {
            await withCheckedContinuation { c in Thread.detachNewThread { c.resume(returning: body()) } }
        }
        lock.withLock { tasks.append(t) }
    }

    func wait() async -> [ActionOutcome] {
        let ts = lock.withLock { () -> [Task<[ActionOutcome], Never>] in let ts = tasks; tasks.removeAll(); return ts }
        var out: [ActionOutcome] = []
        for t in ts { out += await t.value }
        return out
    }
}
