import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `facegate daemon --status` reports: whether the daemon answers on its socket, the camera check it would make
/// now, and which Linux accounts map to which gallery users (and whether those are enrolled). The daemon builds the
/// report itself when an allowed caller asks (`FACEGATE-STATUS 1` on its socket); when it is down, or the caller is
/// not allowed to ask, the command builds the same report locally from its flags.
public struct UnlockStatusReport: Sendable, Equatable {
    public var source: String
    /// nil: a test video (no device to check).
    public var camera: CameraDeviceCheck.Verdict?
    public var map: UnlockUserMap
    /// Gallery users; nil when the gallery could not be read (the reason in `galleryError`).
    public var enrolled: Set<String>?
    public var galleryError: String?
    public var liveness: String
    public var frameTiming: Bool
    public var attempts: Int?

    public init(source: String, camera: CameraDeviceCheck.Verdict?, map: UnlockUserMap, enrolled: Set<String>?,
                galleryError: String? = nil, liveness: String, frameTiming: Bool, attempts: Int? = nil) {
        self.source = source; self.camera = camera; self.map = map; self.enrolled = enrolled; self.galleryError = galleryError
        self.liveness = liveness; self.frameTiming = frameTiming; self.attempts = attempts
    }

    /// One fact per line (no line breaks inside: each is sent as one protocol `INFO` line).
    public var lines: [String] {
        var out = ["source: \(source)"]
        switch camera {
        case nil: out.append("camera check: none (test video)")
        case .allowed(let bus, let id)?: out.append("camera check: allowed (\(bus)\(id.map { " \($0)" } ?? ""))")
        case .refused(let why)?: out.append("camera check: REFUSED — \(why)")
        }
        out.append("liveness: \(liveness); frame-timing cue \(frameTiming ? "on" : "off")")
        if let e = galleryError { out.append("gallery: cannot read — \(e)") }
        if map.sameName {
            let names = enrolled.map { $0.sorted().joined(separator: ", ") } ?? "?"
            out.append("user map: same name (any account whose name is an enrolled gallery user): \(names.isEmpty ? "nobody enrolled" : names)")
        } else if map.entries.isEmpty {
            out.append("user map: empty — no account can use face unlock")
        } else {
            for (account, user) in map.entries.sorted(by: { $0.key < $1.key }) {
                let state = enrolled.map { $0.contains(user) ? "enrolled" : "NOT ENROLLED" } ?? "?"
                out.append("user map: \(account) -> \(user) (\(state))")
            }
        }
        if let a = attempts { out.append("attempts since start: \(a)") }
        return out
    }
}

/// Asks a running daemon for its status over its socket.
public enum UnlockStatusClient {
    public static let greeting = "FACEGATE-STATUS 1"

    public enum Answer: Sendable, Equatable {
        /// Nothing listens (no socket file, or connection refused): the daemon is down.
        case down(String)
        /// The daemon answered with its report.
        case up([String])
        /// The daemon is up but does not serve this caller (only root PAM callers; run with sudo for its report).
        case upNotAllowed
    }

    public static func query(socket path: String, timeout: TimeInterval = 2) -> Answer {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .down("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return .down("socket path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b }; p[bytes.count] = 0 }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else { return .down("\(path): \(String(cString: strerror(errno)))") }
        let conn = UnlockConnection(fd: fd)
        guard conn.sendLine(greeting) else { return .down("\(path): the daemon closed the connection") }
        let deadline = UnlockConnection.deadline(in: timeout)
        var lines: [String] = []
        while lines.count < 64 {
            guard let line = try? conn.readLine(deadlineMs: deadline) else { break }
            if line == "RESULT UNAVAILABLE caller not allowed" { return .upNotAllowed }
            if line.hasPrefix("RESULT") { return .up(lines) }
            if line.hasPrefix("INFO ") { lines.append(String(line.dropFirst(5))) }
        }
        return .up(lines + ["(the daemon's answer ended early)"])
    }
}
