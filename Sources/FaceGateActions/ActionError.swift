import Foundation

/// Failures of actions. Each says what went wrong and what to do.
public enum ActionError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The durable queue could not be written or read.
    case spool(String)
    /// SMTP delivery failed (libcurl code and message).
    case mail(code: Int, detail: String)
    /// A webhook endpoint failed or answered non-2xx.
    case webhook(url: String, detail: String)
    /// The lock command failed.
    case lockCommand(command: String, status: Int32, output: String)
    case lockCommandMissing(command: String)
    /// espeak-ng failed or is missing.
    case voice(String)
    /// The audit database failed.
    case audit(String)

    public var description: String {
        switch self {
        case .spool(let d): return d
        case .mail(let c, let d): return "SMTP delivery failed (curl \(c)): \(d) — check mail.smtp_url, mail.security, credentials and that the server is reachable"
        case .webhook(let u, let d): return "webhook \(u) failed: \(d)"
        case .lockCommand(let c, let s, let o):
            return "lock command `\(c)` exited with status \(s)\(o.isEmpty ? "" : ": \(o)") — fix lock.command / lock.fallback, or set lock.dry_run = true"
        case .lockCommandMissing(let c): return "lock command `\(c)` not found — install it or set lock.command"
        case .voice(let d): return d
        case .audit(let d): return d
        }
    }
}
