import FaceGate
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `facegate daemon`'s parts without a camera or models (#19): protocol v1 parsing and answers, the user map, the
/// camera gate, the socket server with a stub attempt (peer check, deadlines, bounds, busy), and the virtual-camera
/// check on fake sysfs trees.
@Suite struct UnlockProtocolTests {
    @Test func aModuleRequestParses() throws {
        let r = try UnlockProtocol.parse(["FACEGATE-PAM 1", "USER alice", "SERVICE sudo", "TTY /dev/pts/3", "AUTH"])
        #expect(r == UnlockProtocol.Request(user: "alice", service: "sudo", tty: "/dev/pts/3", rhost: nil))
    }

    @Test(arguments: [
        (["FACEGATE-PAM 2", "USER a", "AUTH"], UnlockProtocol.RequestError.badGreeting("FACEGATE-PAM 2")),
        (["FACEGATE-PAM 1", "SERVICE sudo", "AUTH"], .missingUser),
        (["FACEGATE-PAM 1", "USER a", "EXEC /bin/sh", "AUTH"], .unknownVerb("EXEC")),
        (["FACEGATE-PAM 1", "USER ../../etc", "AUTH"], .badValue("USER")),
        (["FACEGATE-PAM 1", "USER a b", "AUTH"], .badValue("USER")),
        (["FACEGATE-PAM 1", "USER a\u{1b}[2J", "AUTH"], .badValue("USER")),
        (["FACEGATE-PAM 1", "USER a"], .incomplete),
        (["FACEGATE-PAM 1"] + Array(repeating: "TTY x", count: 8) + ["AUTH"], .tooManyLines),
    ])
    func malformedRequestsAreRefused(lines: [String], error: UnlockProtocol.RequestError) {
        #expect(throws: error) { try UnlockProtocol.parse(lines) }
    }

    @Test func answersAreOneBoundedPrintableLine() {
        #expect(UnlockProtocol.Answer.ok.line == "RESULT OK")
        #expect(UnlockProtocol.Answer.unknownUser.line == "RESULT UNKNOWN_USER")
        #expect(UnlockProtocol.Answer.denied("spoof").line == "RESULT DENIED spoof")
        // a reason can never turn into a second line (e.g. a forged RESULT OK)
        #expect(UnlockProtocol.Answer.info("Blink\nRESULT OK").line == "INFO Blink RESULT OK")
        #expect(UnlockProtocol.Answer.error(String(repeating: "é", count: 600)).line.utf8.count < UnlockProtocol.maxLine)
    }

    @Test func theUserMapListsAccountsOrMapsSameNames() throws {
        let m = try UnlockUserMap.parse("# linux gallery\nalice alice\n\nbob\trobert.smith  # work account\n")
        #expect(m.galleryUser(for: "bob") == "robert.smith")
        #expect(m.galleryUser(for: "alice") == "alice")
        #expect(m.galleryUser(for: "mallory") == nil, "a map lists exactly who may use face unlock")
        #expect(UnlockUserMap.sameNameMap.galleryUser(for: "mallory") == "mallory")
        #expect(throws: UnlockUserMap.ParseError.self) { try UnlockUserMap.parse("alice alice\nalice bob\n") }
        #expect(throws: UnlockUserMap.ParseError.self) { try UnlockUserMap.parse("alice\n") }
    }

    @Test func theCameraGateQueuesBoundedAndAnswersBusy() throws {
        let gate = CameraGate(maxWaiting: 1, maxWait: 2)
        #expect(gate.enter())
        // one waiter is admitted when the holder leaves; a second waiter is refused at once
        let waiter = OnThread { gate.enter() }     // a blocking wait: a thread, not the 2-thread concurrency pool
        usleep(200_000)
        let start = Date()
        #expect(!gate.enter(), "queue of 1 is full")
        #expect(Date().timeIntervalSince(start) < 0.2)
        gate.leave()
        #expect(waiter.value)
        gate.leave()
        let short = CameraGate(maxWaiting: 1, maxWait: 0.3)
        #expect(short.enter())
        let t0 = Date()
        #expect(!short.enter(), "a waiter gives up after maxWait")
        #expect(Date().timeIntervalSince(t0) >= 0.25)
    }
}

/// Runs blocking work on its own thread (socket clients, waits on the camera gate): the concurrency pool has only
/// as many threads as cores, two here, and a blocked pool thread would stall the test itself.
final class OnThread<T>: @unchecked Sendable {
    private var result: T?
    private let done = DispatchSemaphore(value: 0)
    init(_ body: @escaping @Sendable () -> T) {
        Thread { [self] in result = body(); done.signal() }.start()
    }
    var value: T { done.wait(); done.signal(); return result! }
}

/// A stub attempt: says `prompts`, then answers `answer` (optionally after waiting for `release`).
final class StubAuthenticator: UnlockAuthenticator, @unchecked Sendable {
    let prompts: [String]
    let answer: UnlockProtocol.Answer
    let release: DispatchSemaphore?
    private let lock = NSLock()
    private var seen: [(UnlockProtocol.Request, String)] = []
    init(prompts: [String] = ["Look at the camera", "Blink"], answer: UnlockProtocol.Answer = .ok, release: DispatchSemaphore? = nil) {
        self.prompts = prompts; self.answer = answer; self.release = release
    }
    var calls: [(UnlockProtocol.Request, String)] { lock.lock(); defer { lock.unlock() }; return seen }
    func authenticate(_ request: UnlockProtocol.Request, galleryUser: String, say: @escaping (UnlockProtocol.Answer) -> Void) -> UnlockProtocol.Answer {
        lock.lock(); seen.append((request, galleryUser)); lock.unlock()
        for p in prompts { say(.info(p)) }
        release?.wait()
        return answer
    }
}

/// A client speaking to a daemon socket.
struct UnlockTestClient {
    static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.utf8.enumerated() { p[i] = b }
        }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard r == 0 else { close(fd); throw CocoaError(.fileNoSuchFile) }
        return fd
    }

    /// Sends `request` raw, returns every line until the daemon closes (or 5 s pass).
    static func exchange(_ path: String, _ request: String) throws -> [String] {
        let fd = try connect(path)
        defer { close(fd) }
        let bytes = Array(request.utf8)
        if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        let conn = UnlockConnection(fd: fd)
        var lines: [String] = []
        let deadline = UnlockConnection.deadline(in: 5)
        while let l = try? conn.readLine(deadlineMs: deadline) { lines.append(l) }
        return lines
    }

    static let request = "FACEGATE-PAM 1\nUSER alice\nSERVICE sudo\nAUTH\n"
}

@Suite(.serialized) final class UnlockDaemonSocketTests {
    let dir = NSTemporaryDirectory() + "fg-unlock-\(UUID().uuidString.prefix(6))"
    var socketPath: String { dir + "/pam.sock" }
    var daemons: [UnlockDaemon] = []

    init() throws { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    deinit {
        for d in daemons { d.stop() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func start(_ auth: UnlockAuthenticator, allowed: Set<UInt32>? = nil, map: UnlockUserMap = .sameNameMap,
               maxWaiting: Int = 1, maxWait: TimeInterval = 1, requestTimeout: TimeInterval = 0.5) throws -> UnlockDaemon {
        let d = UnlockDaemon(settings: .init(socketPath: socketPath, allowedUIDs: allowed ?? [getuid()], userMap: map,
                                             requestTimeout: requestTimeout, maxWaiting: maxWaiting, maxWait: maxWait),
                             authenticator: auth)
        try d.bind()
        Thread { d.serve() }.start()
        daemons.append(d)
        return d
    }

    @Test func anAllowedCallerGetsThePromptsAndOneResult() throws {
        let auth = StubAuthenticator()
        _ = try start(auth)
        let lines = try UnlockTestClient.exchange(socketPath, UnlockTestClient.request)
        #expect(lines == ["INFO Look at the camera", "INFO Blink", "RESULT OK"])
        #expect(auth.calls.map(\.1) == ["alice"])
        var st = stat()
        #expect(lstat(socketPath, &st) == 0 && (st.st_mode & 0o777) == 0o600, "socket mode \(String(st.st_mode & 0o777, radix: 8))")
    }

    /// SO_PEERCRED: a caller whose uid is not served gets no attempt (the tests run as root in CI, so root itself is
    /// left out of the allowed set here).
    @Test func aCallerWithAnotherUidIsRefusedWithoutAnAttempt() throws {
        let auth = StubAuthenticator()
        _ = try start(auth, allowed: [getuid() == 4242 ? 4243 : 4242])
        let lines = try UnlockTestClient.exchange(socketPath, UnlockTestClient.request)
        #expect(lines == ["RESULT UNAVAILABLE caller not allowed"])
        #expect(auth.calls.isEmpty)
    }

    @Test(arguments: [
        ("HELLO\nUSER alice\nAUTH\n", "bad greeting"),
        ("FACEGATE-PAM 1\nUSER " + String(repeating: "a", count: 600) + "\nAUTH\n", "over-long line"),
        ("FACEGATE-PAM 1\nUSER al\u{0}ice\nAUTH\n", "NUL byte"),
        ("FACEGATE-PAM 1\nUSER alice\n", "never says AUTH (request deadline)"),
        ("", "silent caller (request deadline)"),
    ])
    func malformedOrSilentRequestsGetNoAttempt(request: String, what: String) throws {
        let auth = StubAuthenticator()
        _ = try start(auth)
        let t0 = Date()
        let lines = try UnlockTestClient.exchange(socketPath, request)
        #expect(lines == ["RESULT UNAVAILABLE bad request"], "\(what): \(lines)")
        #expect(auth.calls.isEmpty, "\(what)")
        #expect(Date().timeIntervalSince(t0) < 2, "\(what) held the daemon \(Date().timeIntervalSince(t0)) s")
    }

    @Test func anAccountTheMapDoesNotListIsUnknownWithoutAnAttempt() throws {
        let auth = StubAuthenticator()
        _ = try start(auth, map: try UnlockUserMap.parse("bob robert\n"))
        #expect(try UnlockTestClient.exchange(socketPath, UnlockTestClient.request) == ["RESULT UNKNOWN_USER"])
        #expect(auth.calls.isEmpty)
        _ = try UnlockTestClient.exchange(socketPath, "FACEGATE-PAM 1\nUSER bob\nSERVICE login\nAUTH\n")
        #expect(auth.calls.map(\.1) == ["robert"])
    }

    /// One camera user at a time: while an attempt runs, one caller waits and the next is answered busy at once.
    @Test func concurrentCallersQueueBoundedAndTheRestAreBusy() throws {
        let release = DispatchSemaphore(value: 0)
        let auth = StubAuthenticator(prompts: ["Blink"], release: release)
        _ = try start(auth, maxWaiting: 1, maxWait: 4)
        let path = socketPath
        let first = OnThread { (try? UnlockTestClient.exchange(path, UnlockTestClient.request)) ?? [] }
        usleep(300_000)
        let second = OnThread { (try? UnlockTestClient.exchange(path, UnlockTestClient.request)) ?? [] }
        usleep(300_000)
        let t0 = Date()
        let third = try UnlockTestClient.exchange(path, UnlockTestClient.request)
        #expect(third == ["RESULT UNAVAILABLE camera busy"])
        #expect(Date().timeIntervalSince(t0) < 0.5, "busy must be answered at once")
        release.signal()
        #expect(first.value == ["INFO Blink", "RESULT OK"])
        release.signal()
        #expect(second.value == ["INFO Blink", "RESULT OK"], "the queued caller is served after the first")
        #expect(auth.calls.count == 2)
    }

    /// `--allow-own-account`: a caller that is not root is served for its own account only (its uid = the uid of
    /// `USER`); another account, or the status report, stays refused. Root is left out of the allowed set here, so
    /// the test's own uid plays the lock screen's user.
    @Test func aNonRootCallerIsServedForItsOwnAccountOnly() throws {
        let me = String(cString: getpwuid(getuid())!.pointee.pw_name)
        let other = getuid() == 0 ? "daemon" : "root"
        let auth = StubAuthenticator()
        let d = UnlockDaemon(settings: .init(socketPath: socketPath, allowedUIDs: [getuid() == 4242 ? 4243 : 4242], requestTimeout: 0.5,
                                             socketMode: 0o666, allowOwnAccount: true),
                             authenticator: auth)
        try d.bind()
        Thread { d.serve() }.start()
        daemons.append(d)
        #expect(try UnlockTestClient.exchange(socketPath, "FACEGATE-PAM 1\nUSER \(me)\nSERVICE swaylock\nAUTH\n").last == "RESULT OK")
        #expect(try UnlockTestClient.exchange(socketPath, "FACEGATE-PAM 1\nUSER \(other)\nSERVICE swaylock\nAUTH\n")
                == ["RESULT UNAVAILABLE caller not allowed"])
        #expect(try UnlockTestClient.exchange(socketPath, "FACEGATE-PAM 1\nUSER no-such-account-fg\nSERVICE swaylock\nAUTH\n")
                == ["RESULT UNAVAILABLE caller not allowed"])
        #expect(auth.calls.map(\.1) == [me], "only the caller's own account reached an attempt")
        #expect(UnlockStatusClient.query(socket: socketPath) == .upNotAllowed, "the status report is for root only")
        var st = stat()
        #expect(lstat(socketPath, &st) == 0 && (st.st_mode & 0o777) == 0o666)
    }

    /// `facegate daemon --status`: an allowed caller gets the daemon's report (camera check, user map with enrolment,
    /// attempts); another uid learns only that it is up; a stopped daemon is down; a probe that connects and leaves
    /// without a word starts no attempt and gets no answer.
    @Test func statusIsReportedToAllowedCallersAndDownIsDown() throws {
        let fs = try FakeSysfs()
        defer { fs.remove() }
        let auth = StubAuthenticator()
        let map = try UnlockUserMap.parse("alice alice\nbob robert\n")
        let d = try start(auth, map: map)
        let check = CameraDeviceCheck(sysfsRoot: fs.root)
        d.statusReport = {
            UnlockStatusReport(source: "camera:/dev/video0", camera: check.check("/dev/video0"), map: map, enrolled: ["alice", "carol"],
                               liveness: "1 random challenge, mode both", frameTiming: true)
        }
        guard case .up(let lines) = UnlockStatusClient.query(socket: socketPath) else {
            Issue.record("not up: \(UnlockStatusClient.query(socket: socketPath))"); return
        }
        #expect(lines.contains("camera check: allowed (usb 04f2:b6dd)"), "\(lines)")
        #expect(lines.contains("user map: alice -> alice (enrolled)") && lines.contains("user map: bob -> robert (NOT ENROLLED)"), "\(lines)")
        #expect(lines.contains("attempts since start: 0") && lines.contains { $0.contains("frame-timing cue on") }, "\(lines)")
        // a silent probe: no attempt, no answer
        let fd = try UnlockTestClient.connect(socketPath)
        close(fd)
        _ = try UnlockTestClient.exchange(socketPath, UnlockTestClient.request)
        guard case .up(let after) = UnlockStatusClient.query(socket: socketPath) else { Issue.record("not up"); return }
        #expect(after.contains("attempts since start: 1"), "\(after)")
        #expect(auth.calls.count == 1)
        // a virtual camera is reported refused
        d.statusReport = {
            UnlockStatusReport(source: "camera:/dev/video2", camera: check.check("/dev/video2"), map: .sameNameMap, enrolled: [],
                               liveness: "-", frameTiming: false)
        }
        guard case .up(let refused) = UnlockStatusClient.query(socket: socketPath) else { Issue.record("not up"); return }
        #expect(refused.contains { $0.hasPrefix("camera check: REFUSED — virtual device") }, "\(refused)")
        #expect(refused.contains { $0.contains("nobody enrolled") }, "\(refused)")
        d.stop()
        daemons.removeAll()
        guard case .down = UnlockStatusClient.query(socket: socketPath) else { Issue.record("a stopped daemon must be down"); return }
        // a caller the daemon does not serve: up, without the report
        _ = try start(StubAuthenticator(), allowed: [getuid() == 4242 ? 4243 : 4242])
        #expect(UnlockStatusClient.query(socket: socketPath) == .upNotAllowed)
    }

    /// sd_notify without libsystemd: the datagram reaches a path socket and an abstract one; without
    /// $NOTIFY_SOCKET nothing is sent.
    @Test func sdNotifyDatagramsReachTheNotifySocket() throws {
        func receiver(_ name: String) throws -> (fd: Int32, address: String) {
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var addr = sockaddr_un(); addr.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(name.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
            withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
            let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
            let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) } }
            guard r == 0 else { close(fd); throw CocoaError(.fileWriteUnknown) }
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            return (fd, name)
        }
        func read(_ fd: Int32) -> String {
            var buf = [UInt8](repeating: 0, count: 256)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 256, 0) }
            return n > 0 ? String(decoding: buf[..<n], as: UTF8.self) : ""
        }
        let path = try receiver(dir + "/notify.sock")
        defer { close(path.fd) }
        #expect(SystemdNotify.send("READY=1\nSTATUS=listening", socket: path.address))
        #expect(read(path.fd) == "READY=1\nSTATUS=listening")
        let abstract = try receiver("@fg-notify-\(getpid())-\(UUID().uuidString.prefix(6))")
        defer { close(abstract.fd) }
        #expect(SystemdNotify.send("STOPPING=1", socket: abstract.address))
        #expect(read(abstract.fd) == "STOPPING=1")
        #expect(!SystemdNotify.send("READY=1", socket: nil))
        #expect(!SystemdNotify.send("READY=1", socket: dir + "/nobody-listens.sock"))
    }

    @Test func aStaleSocketIsReplacedButNoOtherFile() throws {
        try "not a socket".write(toFile: socketPath, atomically: true, encoding: .utf8)
        let d = UnlockDaemon(settings: .init(socketPath: socketPath), authenticator: StubAuthenticator())
        #expect(throws: UnlockDaemon.SocketError.self) { try d.bind() }
        try FileManager.default.removeItem(atPath: socketPath)
        let first = try start(StubAuthenticator())
        first.stop()
        daemons.removeAll()
        // a socket left by a killed daemon: replaced
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un(); addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in socketPath.utf8.enumerated() { p[i] = b } }
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        _ = try start(StubAuthenticator())
        #expect(try UnlockTestClient.exchange(socketPath, UnlockTestClient.request).last == "RESULT OK")
    }
}

/// A fake sysfs tree: the layout the kernel gives a UVC webcam, a v4l2loopback device, vivid, a PCI capture device
/// and a platform (MIPI) camera.
struct FakeSysfs {
    let root: String
    init() throws {
        root = NSTemporaryDirectory() + "fg-sysfs-\(UUID().uuidString.prefix(6))"
        let fm = FileManager.default
        func dir(_ p: String) throws { try fm.createDirectory(atPath: root + p, withIntermediateDirectories: true) }
        func file(_ p: String, _ s: String) throws { try (s + "\n").write(toFile: root + p, atomically: true, encoding: .utf8) }
        func link(_ p: String, _ to: String) throws { try fm.createSymbolicLink(atPath: root + p, withDestinationPath: to) }
        try dir("/class/video4linux")
        try dir("/bus/usb/drivers/uvcvideo"); try dir("/bus/platform/drivers/vivid"); try dir("/bus/platform/drivers/intel-ipu6")
        // video0: a USB webcam (uvcvideo) 04f2:b6dd
        let usb = "/devices/pci0000:00/0000:00:14.0/usb1/1-6"
        try dir(usb + "/1-6:1.0/video4linux/video0")
        try file(usb + "/idVendor", "04f2"); try file(usb + "/idProduct", "b6dd")
        try file(usb + "/1-6:1.0/video4linux/video0/name", "Integrated Camera: Integrated C")
        try link(usb + "/1-6:1.0/video4linux/video0/device", "../../../1-6:1.0")
        try link(usb + "/1-6:1.0/driver", "../../../../../../bus/usb/drivers/uvcvideo")
        try link("/class/video4linux/video0", "../.." + usb + "/1-6:1.0/video4linux/video0")
        // video2: v4l2loopback (OBS's virtual camera, ffmpeg -f v4l2 replays)
        try dir("/devices/virtual/video4linux/video2")
        try file("/devices/virtual/video4linux/video2/name", "Dummy video device (0x0000)")
        try link("/class/video4linux/video2", "../../devices/virtual/video4linux/video2")
        // video3: vivid, the kernel's virtual test driver, on the platform bus
        try dir("/devices/platform/vivid.0/video4linux/video3")
        try file("/devices/platform/vivid.0/video4linux/video3/name", "vivid-000-vid-cap")
        try link("/devices/platform/vivid.0/video4linux/video3/device", "../../../vivid.0")
        try link("/devices/platform/vivid.0/driver", "../../../bus/platform/drivers/vivid")
        try link("/class/video4linux/video3", "../../devices/platform/vivid.0/video4linux/video3")
        // video4: a platform (MIPI/IPU6) camera: real, but without a USB/PCI parent
        try dir("/devices/platform/intel-ipu6.0/video4linux/video4")
        try file("/devices/platform/intel-ipu6.0/video4linux/video4/name", "ipu6 capture 0")
        try link("/devices/platform/intel-ipu6.0/video4linux/video4/device", "../../../intel-ipu6.0")
        try link("/devices/platform/intel-ipu6.0/driver", "../../../bus/platform/drivers/intel-ipu6")
        try link("/class/video4linux/video4", "../../devices/platform/intel-ipu6.0/video4linux/video4")
        // video5: a PCI capture device 8086:1234
        try dir("/devices/pci0000:00/0000:00:05.0/video4linux/video5")
        try file("/devices/pci0000:00/0000:00:05.0/video4linux/video5/name", "PCI capture")
        try file("/devices/pci0000:00/0000:00:05.0/vendor", "0x8086"); try file("/devices/pci0000:00/0000:00:05.0/device", "0x1234")
        try link("/devices/pci0000:00/0000:00:05.0/video4linux/video5/device", "../../../0000:00:05.0")
        try link("/class/video4linux/video5", "../../devices/pci0000:00/0000:00:05.0/video4linux/video5")
        // video6: a platform device named like OBS's virtual camera
        try dir("/devices/platform/obs.0/video4linux/video6")
        try file("/devices/platform/obs.0/video4linux/video6/name", "OBS Virtual Camera")
        try link("/class/video4linux/video6", "../../devices/platform/obs.0/video4linux/video6")
    }
    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

@Suite struct CameraDeviceCheckTests {
    @Test func hardwareCamerasAreAllowedAndVirtualOnesRefused() throws {
        let fs = try FakeSysfs()
        defer { fs.remove() }
        let check = CameraDeviceCheck(sysfsRoot: fs.root)
        #expect(check.check("/dev/video0") == .allowed(bus: "usb", id: "04f2:b6dd"))
        #expect(check.check("0") == .allowed(bus: "usb", id: "04f2:b6dd"), "an index names /dev/videoN")
        #expect(check.check("/dev/video5") == .allowed(bus: "pci", id: "8086:1234"))
        #expect(check.check("/dev/video2") == .refused(.virtualDevice(path: "/devices/virtual/video4linux/video2")))
        #expect(check.check("/dev/video3") == .refused(.virtualDriver("vivid")))
        #expect(check.check("/dev/video6") == .refused(.virtualName("OBS Virtual Camera")))
        #expect(check.check("/dev/video4") == .refused(.noHardwareParent(path: "/devices/platform/intel-ipu6.0/video4linux/video4")))
        #expect(check.check("/dev/video9") == .refused(.unknownDevice("video9")))
        #expect(check.check("/dev/sda") == .refused(.notAVideoDevice("/dev/sda")))
        #expect(check.check("/tmp/clip.mp4") == .refused(.notAVideoDevice("/tmp/clip.mp4")))
    }

    /// The allow-list admits a platform camera by path, never a loopback or virtual device.
    @Test func theAllowListAdmitsPlatformCamerasOnly() throws {
        let fs = try FakeSysfs()
        defer { fs.remove() }
        let check = CameraDeviceCheck(sysfsRoot: fs.root, allowedPaths: ["/dev/video4", "/dev/video2", "/dev/video3", "/dev/video6"])
        #expect(check.check("/dev/video4") == .allowed(bus: "allow-list", id: nil))
        #expect(check.check("/dev/video2") == .refused(.virtualDevice(path: "/devices/virtual/video4linux/video2")))
        #expect(check.check("/dev/video3") == .refused(.virtualDriver("vivid")))
        #expect(check.check("/dev/video6") == .refused(.virtualName("OBS Virtual Camera")))
    }
}
