import Foundation
import Logging
#if canImport(Glibc)
import Glibc
import FaceGateCore
#endif

/// One face-unlock attempt for a mapped user: the daemon calls it while holding the camera. `say` sends a prompt to
/// the PAM conversation at once; the returned answer is the attempt's `RESULT`.
public protocol UnlockAuthenticator: AnyObject {
    func authenticate(_ request: UnlockProtocol.Request, galleryUser: String,
                      say: @escaping (UnlockProtocol.Answer) -> Void) -> UnlockProtocol.Answer
}

/// `facegate daemon`: listens on a Unix socket for `pam_facegate.so`, checks each caller (`SO_PEERCRED`: root, or
/// the extra uids given for tests), reads one bounded request within a deadline, maps the Linux account to a gallery
/// user, and runs one attempt at a time through an `UnlockAuthenticator` (the real one runs `AuthenticationSession`).
/// Concurrent callers queue (bounded) and otherwise get `RESULT UNAVAILABLE camera busy` at once.
public final class UnlockDaemon: @unchecked Sendable {
    /// Face unlock always runs the challenges with the passive cues on the same frames: a replay blinks on cue and
    /// only the passive cues see the screen, so a replay is denied also where no anti-spoof model is installed (#19;
    /// PamDaemonEndToEndTests.aReplayOfTheEnrolledPersonIsDenied).
    public static let livenessMode: LivenessMode = .both

    public struct Settings: Sendable {
        public var socketPath: String
        /// Callers served (`SO_PEERCRED` uid). Production: root only — root-owned PAM callers (sudo, login, GDM's
        /// session worker, polkit's setuid agent helper). Tests add their own uid.
        public var allowedUIDs: Set<UInt32>
        public var userMap: UnlockUserMap
        /// The whole request must arrive within this (the module sends it at once; 2 s is generous for a busy host).
        public var requestTimeout: TimeInterval
        public var maxWaiting: Int
        /// How long a queued caller waits for the camera: below the module's 5 s silence deadline, so a queued caller
        /// gets "busy" before the module gives up on its own.
        public var maxWait: TimeInterval
        /// Socket file mode: root bypasses it; 0600 keeps every other account from even connecting.
        public var socketMode: mode_t
        /// Also serve a caller that is not in `allowedUIDs` when it asks for its own account only (`USER`'s uid in
        /// the passwd database = the caller's `SO_PEERCRED` uid): user-run lock screens (swaylock, i3lock, KDE) run
        /// PAM as the user. Off by default; on, the socket must be reachable by users (`--allow-own-account` makes it
        /// 0666), and any process of that user may then ask for attempts on that user's face — the per-user lockout
        /// bounds them.
        public var allowOwnAccount: Bool

        public init(socketPath: String, allowedUIDs: Set<UInt32> = [0], userMap: UnlockUserMap = .sameNameMap,
                    requestTimeout: TimeInterval = 2, maxWaiting: Int = 1, maxWait: TimeInterval = 4, socketMode: mode_t = 0o600,
                    allowOwnAccount: Bool = false) {
            self.socketPath = socketPath; self.allowedUIDs = allowedUIDs; self.userMap = userMap
            self.requestTimeout = requestTimeout; self.maxWaiting = maxWaiting; self.maxWait = maxWait; self.socketMode = socketMode
            self.allowOwnAccount = allowOwnAccount
        }
    }

    public let settings: Settings
    public let authenticator: UnlockAuthenticator
    public let logger: Logger
    public let gate: CameraGate
    private var listenFD: Int32 = -1
    private let lock = NSLock()
    private var stopped = false
    private var attemptCount = 0
    /// The report an allowed caller gets for `FACEGATE-STATUS 1` (`facegate daemon --status`); nil: the user map only.
    /// Set before `serve()`.
    public var statusReport: (() -> UnlockStatusReport)?
    /// Attempts run (reached the camera gate) since the daemon started.
    public var attempts: Int { lock.lock(); defer { lock.unlock() }; return attemptCount }

    public init(settings: Settings, authenticator: UnlockAuthenticator, logger: Logger = Logger(label: "facegate.unlock")) {
        self.settings = settings
        self.authenticator = authenticator
        self.logger = logger
        self.gate = CameraGate(maxWaiting: settings.maxWaiting, maxWait: settings.maxWait)
    }

    public struct SocketError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates the listening socket (a stale socket file is replaced; any other file at the path is an error).
    public func bind() throws {
        let path = settings.socketPath
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw SocketError(description: "\(path) exists and is not a socket: remove it or choose another --socket")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(description: "socket(): \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw SocketError(description: "socket path too long (\(bytes.count) bytes): \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
            p[bytes.count] = 0
        }
        let old = umask(0o077)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard r == 0 else {
            let e = String(cString: strerror(errno)); close(fd)
            throw SocketError(description: "cannot bind \(path): \(e) (does its directory exist and is it writable?)")
        }
        chmod(path, settings.socketMode)
        guard listen(fd, 8) == 0 else { close(fd); throw SocketError(description: "listen(): \(String(cString: strerror(errno)))") }
        listenFD = fd
    }

    /// Accepts connections until `stop()`; each is served on its own thread (the attempt itself waits for the camera).
    public func serve() {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                lock.lock(); let s = stopped; lock.unlock()
                if s { return }
                logger.error("accept failed: \(String(cString: strerror(errno)))")
                usleep(100_000)
                continue
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            let t = Thread { [self] in handle(c) }
            t.stackSize = 4 << 20
            t.start()
        }
    }

    public func stop() {
        lock.lock(); stopped = true; lock.unlock()
        if listenFD >= 0 { shutdown(listenFD, Int32(SHUT_RDWR)); close(listenFD); listenFD = -1 }
        unlink(settings.socketPath)
    }

    /// The uid of a Linux account (passwd database), nil when there is no such account.
    static func uid(ofAccount name: String) -> UInt32? {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(name, &pwd, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return pwd.pw_uid
    }

    /// The status report with the attempt count (the map alone when no provider was set).
    func report() -> UnlockStatusReport {
        var r = statusReport?() ?? UnlockStatusReport(source: "?", camera: nil, map: settings.userMap, enrolled: nil,
                                                      galleryError: "not reported", liveness: "?", frameTiming: true)
        r.attempts = attempts
        return r
    }

    /// One connection: peer check, request, user mapping, camera gate, attempt, `RESULT`.
    func handle(_ fd: Int32) {
        defer { close(fd) }
        let conn = UnlockConnection(fd: fd)
        let started = Date()
        guard let peer = conn.peer() else {
            logger.warning("unlock: refused a caller whose credentials the kernel did not give")
            return
        }
        let privileged = settings.allowedUIDs.contains(peer.uid)
        guard privileged || settings.allowOwnAccount else {
            // Not a root PAM stack: a user process asking the daemon to look at the camera for someone.
            logger.warning("unlock: refused caller pid \(peer.pid) uid \(peer.uid) (only root PAM callers may ask)")
            conn.send(.unavailable("caller not allowed"))
            return
        }
        let request: UnlockProtocol.Request
        do {
            let deadline = UnlockConnection.deadline(in: settings.requestTimeout)
            let first = try conn.readLine(deadlineMs: deadline)
            if first == UnlockStatusClient.greeting {
                // the report names accounts and devices: for the served (root) callers only
                if privileged { for line in report().lines { conn.send(.info(line)) } }
                conn.send(privileged ? .ok : .unavailable("caller not allowed"))
                return
            }
            request = try UnlockProtocol.parse(try conn.readRequest(deadlineMs: deadline, after: [first]))
        } catch UnlockConnection.ReadError.closed {
            // connected and left without a word (a liveness probe): nothing to answer
            logger.debug("unlock: pid \(peer.pid) closed the connection before a request")
            return
        } catch {
            logger.warning("unlock: bad request from pid \(peer.pid): \(error)")
            conn.send(.unavailable("bad request"))
            return
        }
        if !privileged && Self.uid(ofAccount: request.user) != peer.uid {
            // A user's lock screen may ask for its own account only.
            logger.warning("unlock: refused caller pid \(peer.pid) uid \(peer.uid) asking for \(request.user) (not its own account)")
            conn.send(.unavailable("caller not allowed"))
            return
        }
        guard let galleryUser = settings.userMap.galleryUser(for: request.user) else {
            logger.info("unlock: \(request.user) (\(request.service)) has no gallery user in the user map")
            conn.send(.unknownUser)
            return
        }
        guard gate.enter() else {
            logger.notice("unlock: camera busy, \(request.user) (\(request.service)) answered busy")
            conn.send(.unavailable("camera busy"))
            return
        }
        defer { gate.leave() }
        lock.lock(); attemptCount += 1; lock.unlock()
        let answer = authenticator.authenticate(request, galleryUser: galleryUser, say: { conn.send($0) })
        conn.send(answer.isResult ? answer : .unavailable("no result"))
        let ms = Int(Date().timeIntervalSince(started) * 1000)
        logger.notice("unlock: user=\(request.user) gallery_user=\(galleryUser) service=\(request.service) pid=\(peer.pid) result=\(answer.line.dropFirst(7)) ms=\(ms)")
    }
}
