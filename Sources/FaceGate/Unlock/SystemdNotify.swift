import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The systemd readiness protocol without libsystemd (sd_notify(3)): one datagram of `KEY=VALUE` lines to the
/// AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). The daemon sends
/// `READY=1` once its models are loaded and its socket is bound (the unit is `Type=notify`, so `systemctl start`
/// and units ordered after it wait for that), and `STOPPING=1` when it shuts down.
public enum SystemdNotify {
    /// Sends `state`; false when not started by systemd (no `$NOTIFY_SOCKET`) or the datagram could not be sent.
    @discardableResult
    public static func send(_ state: String, socket: String? = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"]) -> Bool {
        guard let socket, !socket.isEmpty, socket.hasPrefix("/") || socket.hasPrefix("@") else { return false }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(socket.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }          // abstract namespace: leading NUL
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), a, length) }
            }
        }
        return sent == message.count
    }
}
