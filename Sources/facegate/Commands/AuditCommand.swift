import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Logging

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read the audit log of authentication attempts; manage lockouts.",
        discussion: """
        Every attempt is one record (time, source, claimed/matched user, decision, reason, liveness cues, challenges,
        snapshot reference) in the gallery database. Examples:
          facegate audit --since 24h --user alice
          facegate audit --json --decision denied
          facegate audit snapshot 3f2a9c1e --output intruder.jpg
          facegate audit lockouts
          facegate audit unlock --user alice
          facegate audit unlock --source 'video:/home/me/clip.mp4'
          facegate audit unlock --client 203.0.113.7      (an end client a server backend named)
        Lockouts live in the gallery's database (SQLite or PostgreSQL, [store] database / FACEGATE_DB): the same table
        for the CLI and every `facegate serve` instance on it, so `unlock` lifts a server's locks too.
        """,
        subcommands: [List.self, Snapshot.self, Prune.self, Lockouts.self, Unlock.self],
        defaultSubcommand: List.self)

    static func openStore(_ options: ConfigOptions) throws -> (AuditStore, FaceGateConfig) {
        let cfg = try options.load()
        let store = try opening { try ActionDispatcher.openAuditStore(config: cfg, environment: ProcessInfo.processInfo.environment,
                                                                       logger: Logger(label: "facegate.audit")) }
        return (store, cfg)
    }

    /// The lockout table every front-end gates on (`RuntimeEnvironment.lockoutStore`; no key needed).
    static func openLockouts(_ options: ConfigOptions) async throws -> any LockoutStore {
        let cfg = try options.load()
        do { return try await RuntimeEnvironment.lockoutStore(config: cfg) } catch { throw failed(error) }
    }

    /// A store that cannot be opened: one line, exit 2 for a bad configuration, else 3.
    static func failed(_ error: any Error) -> ExitCode {
        let e = error as? FaceGateConfigError
        printError("facegate: error: \((error as? ActionError)?.description ?? e?.description ?? "\(error)")")
        return ExitCode(e?.exitCode ?? 3)
    }
    static func opening<T>(_ body: () throws -> T) throws -> T { do { return try body() } catch { throw failed(error) } }

    /// An invalid request is a usage error (ArgumentParser's `ValidationError`).
    static func usage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as AuditAdministration.InvalidRequest { throw ValidationError(e.description) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List attempts, newest first.")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "Only attempts since: a duration ago (90m, 24h, 7d) or a date (2026-01-31, 2026-01-31T08:00:00Z).")
        var since: String?
        @Option(name: .long, help: "Only attempts concerning this user (claimed or matched).")
        var user: String?
        @Option(name: .long, help: "Only attempts from this source (camera:0, ws:IP, file:PATH).")
        var source: String?
        @Option(name: .long, help: "Only authorized or denied attempts.")
        var decision: String?
        @Option(name: .long, help: "At most this many records.")
        var limit: Int = 100
        @Flag(name: .long, help: "One JSON object per line.")
        var json = false

        func run() async throws {
            let q = try AuditCommand.usage { try AuditAdministration.query(since: since, user: user, source: source, decision: decision, limit: limit) }
            let (store, _) = try AuditCommand.openStore(options)
            let recs: [AuditRecord]
            do { recs = try store.records(q) } catch { printError("facegate: error: \(error)"); throw ExitCode(3) }
            for l in AuditAdministration.listing(recs, json: json, path: store.path) { print(l) }
        }
    }

    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt the snapshot JPEG of one attempt.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "Record id (or a unique prefix), as shown by `facegate audit`.")
        var id: String
        @Option(name: .shortAndLong, help: "Where to write the JPEG.")
        var output: String

        func run() async throws {
            let (store, _) = try AuditCommand.openStore(options)
            do {
                let jpeg = try store.snapshot(id)
                try jpeg.write(to: URL(fileURLWithPath: output))
                print("wrote \(output) (\(jpeg.count) bytes)")
            } catch let e as ActionError {
                printError("facegate: error: \(e.description)"); throw ExitCode(2)
            } catch { printError("facegate: error: cannot write \(output): \(error.localizedDescription)"); throw ExitCode(3) }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete records older than the retention (audit.retention_days).")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "Override the retention in days.")
        var days: Int?
        func run() async throws {
            let (store, cfg) = try AuditCommand.openStore(options)
            let d = try AuditCommand.usage { try AuditAdministration.retentionDays(days, configured: cfg.audit.retentionDays) }
            do { print("deleted \(try store.prune(retentionDays: d)) record(s) older than \(d) days") }
            catch { printError("facegate: error: \(error)"); throw ExitCode(3) }
        }
    }

    struct Lockouts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users and sources currently locked out.")
        @OptionGroup var options: ConfigOptions
        @Flag(name: .long, help: "One JSON object per line.")
        var json = false
        func run() async throws {
            let store = try await AuditCommand.openLockouts(options)
            defer { Task { await store.close() } }
            let locks = try await LockoutAdministration.active(in: store)
            if locks.isEmpty && !json { print("no active lockouts") }
            for l in locks { print(json ? jsonLine(l.json) : l.line) }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a lockout (and its failure count) for a user or a source, from the CLI or a server.")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "User to unlock.")
        var user: String?
        @Option(name: .long, help: "Source to unlock, as `facegate audit lockouts` shows it (camera:0, video:/full/path.mp4, client:HINT).")
        var source: String?
        @Option(name: .long, help: "End client to unlock: the 'client' hint a server backend passed (same as --source client:HINT).")
        var client: String?
        func validate() throws {
            if LockoutAdministration.subject(user: user, source: source, client: client) == nil { throw ValidationError("give exactly one of --user, --source or --client") }
        }
        func run() async throws {
            let store = try await AuditCommand.openLockouts(options)
            do { print(try await LockoutAdministration.unlock(LockoutAdministration.subject(user: user, source: source, client: client)!, in: store)) }
            catch { printError("facegate: error: \(error)"); await store.close(); throw ExitCode(3) }
            await store.close()
        }
    }
}
