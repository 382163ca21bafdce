import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Protocol v1 between `pam_facegate.so` and `facegate daemon` (docs/face-unlock.md is the reference): text lines
/// ending in `\n`, each at most `maxLine` bytes. The module sends `FACEGATE-PAM 1`, `USER`, `SERVICE`, optional `TTY`
/// and `RHOST`, then `AUTH`; the daemon answers with `INFO`/`ERROR` prompts and exactly one `RESULT` line.
public enum UnlockProtocol {
    public static let greeting = "FACEGATE-PAM 1"
    /// The module's own bound (FG_MAX_LINE in pam_facegate.c): a line of either side is at most this long.
    public static let maxLine = 512
    /// A request is 4–6 lines; more is not a module talking.
    public static let maxRequestLines = 8

    public struct Request: Sendable, Equatable {
        public var user: String
        public var service: String
        public var tty: String?
        public var rhost: String?
        public init(user: String, service: String, tty: String? = nil, rhost: String? = nil) {
            self.user = user; self.service = service; self.tty = tty; self.rhost = rhost
        }
    }

    /// Why a request was not understood (answered `RESULT UNAVAILABLE bad request`, logged with this text).
    public enum RequestError: Error, Equatable, CustomStringConvertible {
        case badGreeting(String)
        case unknownVerb(String)
        case badValue(String)
        case missingUser
        case tooManyLines
        case incomplete
        public var description: String {
            switch self {
            case .badGreeting(let l): return "not a protocol v1 greeting: '\(l.prefix(40))'"
            case .unknownVerb(let v): return "unknown request verb '\(v.prefix(20))'"
            case .badValue(let v): return "malformed value for \(v)"
            case .missingUser: return "no USER line before AUTH"
            case .tooManyLines: return "more than \(maxRequestLines) request lines"
            case .incomplete: return "the request ended before AUTH"
            }
        }
    }

    /// Parses a complete request (the lines up to and including `AUTH`).
    public static func parse(_ lines: [String]) throws -> Request {
        guard lines.count <= maxRequestLines else { throw RequestError.tooManyLines }
        guard let first = lines.first else { throw RequestError.incomplete }
        guard first == greeting else { throw RequestError.badGreeting(first) }
        var user: String?, service = "unknown", tty: String?, rhost: String?
        var sawAuth = false
        for line in lines.dropFirst() {
            if line == "AUTH" { sawAuth = true; break }
            guard let sp = line.firstIndex(of: " ") else { throw RequestError.unknownVerb(line) }
            let verb = String(line[..<sp]), value = String(line[line.index(after: sp)...])
            guard isCleanValue(value) else { throw RequestError.badValue(verb) }
            switch verb {
            case "USER":
                // A Linux account name: no spaces, no slashes (it may name a file or a lockout key).
                guard !value.contains(" "), !value.contains("/"), value.utf8.count <= 256 else { throw RequestError.badValue(verb) }
                user = value
            case "SERVICE": service = value
            case "TTY": tty = value
            case "RHOST": rhost = value
            default: throw RequestError.unknownVerb(verb)
            }
        }
        guard sawAuth else { throw RequestError.incomplete }
        guard let user else { throw RequestError.missingUser }
        return Request(user: user, service: service, tty: tty, rhost: rhost)
    }

    /// One printable line (the module checks the same before sending).
    static func isCleanValue(_ v: String) -> Bool {
        !v.isEmpty && v.utf8.count < maxLine - 16 && !v.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }

    /// What the daemon sends.
    public enum Answer: Sendable, Equatable {
        case info(String)
        case error(String)
        case ok
        case denied(String)
        case unknownUser
        case unavailable(String)

        /// The wire line (without `\n`), bounded and free of control characters.
        public var line: String {
            switch self {
            case .info(let t): return "INFO " + Answer.clean(t)
            case .error(let t): return "ERROR " + Answer.clean(t)
            case .ok: return "RESULT OK"
            case .denied(let why): return "RESULT DENIED " + Answer.clean(why)
            case .unknownUser: return "RESULT UNKNOWN_USER"
            case .unavailable(let why): return "RESULT UNAVAILABLE " + Answer.clean(why)
            }
        }
        public var isResult: Bool { if case .info = self { return false }; if case .error = self { return false }; return true }

        static func clean(_ t: String) -> String {
            var s = String(String.UnicodeScalarView(t.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : $0 }))
            // 512 bytes with the verb and the newline: cut on a character boundary
            while s.utf8.count > UnlockProtocol.maxLine - 32 { s.removeLast() }
            return s.isEmpty ? "-" : s
        }
    }
}

/// Bounded line I/O on a connected socket with `poll()` deadlines: what a hostile or stuck peer can make the daemon
/// hold is one 512-byte line and one deadline.
public final class UnlockConnection {
    public let fd: Int32
    private var buffer: [UInt8] = []
    public init(fd: Int32) { self.fd = fd }

    public enum ReadError: Error, Equatable { case timeout, closed, lineTooLong, nulByte }

    private static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The next line (without `\n` or a trailing `\r`), waiting at most until `deadlineMs` (monotonic milliseconds,
    /// see `UnlockConnection.deadline(in:)`).
    public func readLine(deadlineMs: Int64) throws -> String {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                var bytes = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if bytes.contains(0) { throw ReadError.nulByte }
                if bytes.last == 0x0D { bytes.removeLast() }
                return String(decoding: bytes, as: UTF8.self)
            }
            if buffer.count >= UnlockProtocol.maxLine { throw ReadError.lineTooLong }
            let left = deadlineMs - Self.nowMs()
            if left <= 0 { throw ReadError.timeout }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(min(left, Int64(Int32.max))))
            if r < 0 && errno == EINTR { continue }
            if r == 0 { throw ReadError.timeout }
            if r < 0 { throw ReadError.closed }
            var chunk = [UInt8](repeating: 0, count: UnlockProtocol.maxLine)
            let want = UnlockProtocol.maxLine - buffer.count
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, want, 0) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { throw ReadError.closed }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    public static func deadline(in seconds: Double) -> Int64 { nowMs() + Int64(seconds * 1000) }

    /// Sends one line; false when the peer is gone (never SIGPIPE: MSG_NOSIGNAL) or does not read within 2 s.
    @discardableResult
    public func send(_ answer: UnlockProtocol.Answer) -> Bool { sendLine(answer.line) }

    @discardableResult
    public func sendLine(_ line: String) -> Bool {
        let bytes = Array((line + "\n").utf8)
        var off = 0
        let deadline = Self.nowMs() + 2000
        while off < bytes.count {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let left = deadline - Self.nowMs()
            guard left > 0, poll(&p, 1, Int32(left)) == 1 else { return false }
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; return false }
            off += n
        }
        return true
    }

    /// Reads a request up to `AUTH` (bounded in lines, bytes and time).
    public func readRequest(deadlineMs: Int64, after read: [String] = []) throws -> [String] {
        var lines = read
        while lines.last != "AUTH" {
            if lines.count >= UnlockProtocol.maxRequestLines { throw UnlockProtocol.RequestError.tooManyLines }
            lines.append(try readLine(deadlineMs: deadlineMs))
        }
        return lines
    }

    /// The connected peer's credentials (`SO_PEERCRED`), nil when the kernel does not say.
    public func peer() -> PeerCredentials? { PeerCredentials.of(fd) }
}

/// `struct ucred` (pid, uid, gid) of a Unix-socket peer, read with `SO_PEERCRED`.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public static func of(_ fd: Int32) -> PeerCredentials? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } — declared here: Glibc hides it behind _GNU_SOURCE.
        var raw: (Int32, UInt32, UInt32) = (0, 0, 0)
        var len = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        let r = withUnsafeMutablePointer(to: &raw) { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, $0, &len) }
        guard r == 0, len == socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size) else { return nil }
        return PeerCredentials(pid: raw.0, uid: raw.1, gid: raw.2)
    }
}
