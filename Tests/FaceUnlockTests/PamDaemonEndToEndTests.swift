import Foundation
import Testing

/// What the end-to-end tests need besides the PAM tools: the built `facegate`, the fixtures beside the repository,
/// the base models and ffmpeg.
enum UnlockE2E {
    static let cli = PamTools.repo.appendingPathComponent(".build/debug/facegate").path
    static let fixtures = PamTools.repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    static let blinkClip = fixtures + "/motion/repeating__Blink-Detector/video.mp4"
    static let otherPerson = fixtures + "/identities/ageitgey__face_recognition/examples/knn_examples/train/obama/obama.jpg"
    static var models: String {
        ProcessInfo.processInfo.environment["FACEGATE_MODELS"] ?? (NSHomeDirectory() + "/.cache/facegate/models")
    }
    static let available = PamTools.available && FileManager.default.isExecutableFile(atPath: cli)
        && FileManager.default.fileExists(atPath: blinkClip) && FileManager.default.fileExists(atPath: otherPerson)
        && FileManager.default.fileExists(atPath: models + "/shape_predictor_68_face_landmarks.dat")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg")
        && FileManager.default.fileExists(atPath: phoneReplay) && FileManager.default.fileExists(atPath: phoneReplayGenuine)

    /// A fixed throw-away gallery key (32 bytes, base64).
    static let key = Data((0..<32).map { UInt8($0 &* 7 &+ 3) }).base64EncodedString()

    static func env(_ dir: String) -> [String: String] {
        ["FACEGATE_DB": dir + "/g.sqlite", "FACEGATE_KEY": key, "FACEGATE_CONFIG": dir + "/facegate.toml",
         "FACEGATE_AUDIT_ENABLED": "true", "FACEGATE_LOCK_ENABLED": "false", "FACEGATE_VOICE_ENABLED": "off",
         "FACEGATE_ACTIONS_SPOOL_DIR": dir + "/spool", "FACEGATE_MODELS": models]
    }

    /// The gallery every test copies: `blinker` enrolled from the blink clip, `obama` from a photo of another
    /// person; and a still-photo video of the blink clip's person (a printed photo held still: it never blinks).
    static let prepared: Result<String, any Error> = Result {
        let dir = NSTemporaryDirectory() + "fg-unlock-e2e-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "".write(toFile: dir + "/facegate.toml", atomically: true, encoding: .utf8)
        for (user, input) in [("blinker", ["--video", blinkClip]), ("obama", ["--images", otherPerson]),
                              ("lestari", ["--video", phoneReplayGenuine])] {
            let r = try PamTools.run(cli, ["enroll", "--user", user] + input, env: env(dir))
            guard r.status == 0 else { throw PamTestError("enroll \(user) failed: \(r.out)") }
        }
        let frame = dir + "/frame.png"
        var r = try PamTools.run("/usr/bin/ffmpeg", ["-loglevel", "error", "-y", "-ss", "1", "-i", blinkClip, "-frames:v", "1", frame])
        guard r.status == 0 else { throw PamTestError("ffmpeg: \(r.out)") }
        r = try PamTools.run("/usr/bin/ffmpeg", ["-loglevel", "error", "-y", "-loop", "1", "-i", frame, "-t", "6", "-r", "24",
                                                 "-pix_fmt", "yuv420p", dir + "/photo.mp4"])
        guard r.status == 0 else { throw PamTestError("ffmpeg: \(r.out)") }
        // A screen replay of the blink clip (`facegate attack --kind replay`, as CombinedLivenessMediaTests renders
        // it): the replayed person blinks on cue, so the challenge alone passes; 6 s outlasts the hold-still.
        r = try PamTools.run(cli, ["attack", "--input", blinkClip, "--kind", "replay", "--seed", "3", "--fps", "25", "--duration", "6",
                                   "--output", dir + "/replay.mp4"])
        guard r.status == 0 else { throw PamTestError("attack: \(r.out)") }
        return dir
    }

    /// A real phone replay from the fixtures: lestari15's webcam clip of a man (genuine) and the same man on a
    /// smartphone held up to the webcam (2.6 s).
    static let phoneReplayGenuine = fixtures + "/liveness/lestari15__CNN-face-detection/videos/real.mp4"
    static let phoneReplay = fixtures + "/liveness/lestari15__CNN-face-detection/videos/fake.mp4"

    /// A fresh copy of the prepared gallery (lockout counters and audit records start empty in each test).
    static func copy(into dir: String, config: String = "") throws {
        let src = try prepared.get()
        for f in ["g.sqlite", "g.sqlite-wal", "g.sqlite-shm", "photo.mp4", "replay.mp4"] where FileManager.default.fileExists(atPath: src + "/" + f) {
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
        }
        try config.write(toFile: dir + "/facegate.toml", atomically: true, encoding: .utf8)
    }
}

/// The real `facegate daemon`, started for one test.
final class RealDaemon {
    let process = Process()
    let socket: String
    let log: String
    init(dir: String, args: [String], environment: [String: String] = [:]) throws {
        socket = dir + "/pam.sock"
        log = dir + "/daemon.log"
        process.executableURL = URL(fileURLWithPath: UnlockE2E.cli)
        process.arguments = ["daemon", "--socket", socket, "--allow-uid", String(getuid())] + args
        process.environment = ProcessInfo.processInfo.environment.merging(UnlockE2E.env(dir)) { $1 }.merging(environment) { $1 }
        // a socket left by an earlier daemon of the same test (killed, so not unlinked) must not read as "ready"
        try? FileManager.default.removeItem(atPath: socket)
        FileManager.default.createFile(atPath: log, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = out
        process.standardError = out
        try process.run()
        // Ready once the socket exists (models are loaded before it is bound; slow on a busy 2-core machine).
        let deadline = Date().addingTimeInterval(90)
        while !FileManager.default.fileExists(atPath: socket) {
            guard process.isRunning, Date() < deadline else { throw PamTestError("daemon did not start: \(output)") }
            usleep(100_000)
        }
    }
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// pam_facegate.so (built as `make pam` builds it) through Linux-PAM (pam_wrapper + pamtester) against the real
/// `facegate daemon` reading a video file instead of a camera: the enrolled person unlocks; a photo of them,
/// another person, an account that is not enrolled and a virtual camera do not, and the password follows; the
/// lockout is the one the CLI reads; every attempt is audited. Serial phase: each test starts a daemon that loads
/// the models, and the decision time is measured.
@Suite(.serialized, .enabled(if: UnlockE2E.available, "needs the PAM tools, the built facegate, ../shared/fixtures, models and ffmpeg"))
final class PamDaemonEndToEndTests {
    let dir: String
    let module: String
    let me = PamTools.userName

    init() throws {
        dir = NSTemporaryDirectory() + "fg-e2e-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir + "/services", withIntermediateDirectories: true)
        module = try PamModuleTests.built.get()
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// The installed stack's shape: face unlock `sufficient`, then the password (pam_matrix with a test passdb).
    private func stack() throws -> String {
        var passdb = ""
        for u in [me, "other", "stranger"] { passdb += "\(u):secret:fgstack\n" }
        try passdb.write(toFile: dir + "/passdb", atomically: true, encoding: .utf8)
        return "auth sufficient \(module) socket=\(dir)/pam.sock timeout=5 max_time=30 daemon_user=\(me)\n"
            + "auth required \(PamTools.matrix) passdb=\(dir)/passdb\n"
    }

    private func pam(_ user: String, password: String = "") throws -> (outcome: PamOutcome, out: String, seconds: Double) {
        try stack().write(toFile: "\(dir)/services/fgstack", atomically: true, encoding: .utf8)
        let start = Date()
        let r = try PamTools.run("/usr/bin/pamtester", ["fgstack", user, "authenticate"],
                                 env: ["LD_PRELOAD": PamTools.wrapper, "PAM_WRAPPER": "1", "PAM_WRAPPER_SERVICE_DIR": dir + "/services",
                                       "SSH_CONNECTION": "", "SSH_CLIENT": "", "SSH_TTY": ""],
                                 stdin: password + "\n")
        return (PamOutcome(r.out), r.out, Date().timeIntervalSince(start))
    }

    private func audit() throws -> String {
        try PamTools.run(UnlockE2E.cli, ["audit", "list", "--json"], env: UnlockE2E.env(dir)).out
    }

    /// The enrolled person's clip unlocks without a password, prompts relayed; another person and an account that is
    /// not enrolled fall through to the password.
    @Test func theEnrolledPersonUnlocksAndOthersGetThePassword() throws {
        try UnlockE2E.copy(into: dir)
        try "\(me) blinker\nother obama\n".write(toFile: dir + "/users", atomically: true, encoding: .utf8)
        let notify = try NotifyReceiver(path: dir + "/notify.sock")
        let d = try RealDaemon(dir: dir, args: ["--test-video", UnlockE2E.blinkClip, "--challenges", "blink", "--user-map", dir + "/users"],
                               environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notify.next().hasPrefix("READY=1"), "Type=notify: READY=1 once the socket is bound")
        var times: [Double] = []
        for _ in 0..<2 {
            let r = try pam(me)
            #expect(r.outcome == .success && !r.out.contains("Password"), "face alone must unlock: \(r.out)\n\(d.output)")
            #expect(r.out.contains("Look at the camera") && r.out.contains("Blink"), "prompts: \(r.out)")
            times.append(r.seconds)
        }
        print("PamDaemonEndToEndTests: PAM request → answer, enrolled person, one blink, video file: \(times.map { String(format: "%.2f s", $0) })")
        // generous bound for a loaded CI machine; the ≤ 2.5 s measurement is in docs/face-unlock.md
        #expect(times.min()! < 8, "\(times)")

        var r = try pam("other", password: "secret")       // obama's account, the blink clip's face: wrong person
        #expect(r.outcome == .success && r.out.contains("Password"), "another person: the password decides: \(r.out)")
        r = try pam("other", password: "wrong")
        #expect(r.outcome == .authError, "\(r.out)")
        r = try pam("stranger", password: "secret")        // not in the user map: no attempt at all
        #expect(r.outcome == .success && r.out.contains("Password") && !r.out.contains("Look at the camera"), "\(r.out)")

        let log = try audit()
        #expect(log.contains("\"authorized\"") && log.contains("blinker"), "audit: \(log)")
        #expect(log.contains("\"claimed_user\":\"obama\"") && log.contains("\"decision\":\"denied\""), "the other person's denial is audited: \(log)")
        #expect(d.output.contains("result=OK") && d.output.contains("gallery_user=obama"), "journal lines: \(d.output)")
        #expect(d.output.contains("unlock: timing user=blinker") && d.output.contains("prompt="), "timing line: \(d.output)")

        // `facegate daemon --status`: the running daemon's own report, then (stopped) the same checks made locally
        let statusArgs = ["daemon", "--status", "--socket", dir + "/pam.sock", "--test-video", UnlockE2E.blinkClip, "--user-map", dir + "/users"]
        var st = try PamTools.run(UnlockE2E.cli, statusArgs, env: UnlockE2E.env(dir))
        #expect(st.status == 0 && st.out.contains("daemon: up"), "\(st.out)")
        #expect(st.out.contains("user map: \(me) -> blinker (enrolled)") && st.out.contains("user map: other -> obama (enrolled)"), "\(st.out)")
        #expect(st.out.contains("camera check: none (test video)") && st.out.contains("attempts since start: 4"), "\(st.out)")
        kill(d.process.processIdentifier, SIGTERM)
        d.process.waitUntilExit()
        #expect(notify.next() == "STOPPING=1", "STOPPING=1 on SIGTERM")
        st = try PamTools.run(UnlockE2E.cli, statusArgs, env: UnlockE2E.env(dir))
        #expect(st.status == 3 && st.out.contains("daemon: DOWN"), "\(st.out)")
        #expect(st.out.contains("user map: \(me) -> blinker (enrolled)"), "the local check reads the gallery: \(st.out)")
    }

    /// A replay of the enrolled person is denied and the password follows: the rendered screen replay of the blink
    /// clip (its person blinks on cue: the challenge passes, the passive cues — on by default in the daemon — refuse
    /// it), and a real phone replay from the fixtures (lestari15: the man on a phone held up to a webcam; enrolled
    /// from his genuine webcam clip).
    @Test func aReplayOfTheEnrolledPersonIsDenied() throws {
        try UnlockE2E.copy(into: dir)
        for (clip, user) in [(dir + "/replay.mp4", "blinker"), (UnlockE2E.phoneReplay, "lestari")] {
            let d = try RealDaemon(dir: dir, args: ["--test-video", clip, "--challenges", "blink", "--timeout", "6",
                                                    "--user-map", try mapFile("\(me) \(user)\n")])
            var r = try pam(me, password: "secret")
            #expect(r.outcome == .success && r.out.contains("Password"), "\(clip): a replay must not unlock: \(r.out)\n\(d.output)")
            #expect(d.output.contains("result=DENIED"), "\(d.output)")
            r = try pam(me, password: "wrong")
            #expect(r.outcome == .authError, "a replay plus a wrong password: \(r.out)")
            print("PamDaemonEndToEndTests: \(clip.split(separator: "/").suffix(2).joined(separator: "/")): "
                  + d.output.split(separator: "\n").filter { $0.contains("result=") }.map { String($0.split(separator: " ").last { $0.hasPrefix("result=") } ?? "") }.joined(separator: ", "))
        }
        #expect(!(try audit()).contains("\"authorized\""))
    }

    /// A still photo of the enrolled person (it cannot blink) is denied; the password follows.
    @Test func aPhotoOfTheEnrolledPersonIsDenied() throws {
        try UnlockE2E.copy(into: dir)
        let d = try RealDaemon(dir: dir, args: ["--test-video", dir + "/photo.mp4", "--challenges", "blink", "--timeout", "3",
                                                "--user-map", try mapFile("\(me) blinker\n")])
        var r = try pam(me, password: "secret")
        #expect(r.outcome == .success && r.out.contains("Password"), "the photo must not unlock: \(r.out)\n\(d.output)")
        #expect(d.output.contains("result=DENIED"), "\(d.output)")
        r = try pam(me, password: "wrong")
        #expect(r.outcome == .authError, "a photo plus a wrong password: \(r.out)")
        #expect(!(try audit()).contains("\"authorized\""))
    }

    /// A v4l2loopback device (fake sysfs) is refused before the camera is opened; the password follows at once.
    @Test func aVirtualCameraIsRefused() throws {
        try UnlockE2E.copy(into: dir)
        let sysfs = dir + "/sys"
        try FileManager.default.createDirectory(atPath: sysfs + "/devices/virtual/video4linux/video7", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sysfs + "/class/video4linux", withIntermediateDirectories: true)
        try "OBS Virtual Camera\n".write(toFile: sysfs + "/devices/virtual/video4linux/video7/name", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: sysfs + "/class/video4linux/video7", withDestinationPath: "../../devices/virtual/video4linux/video7")
        let d = try RealDaemon(dir: dir, args: ["--camera", "/dev/video7", "--sysfs-root", sysfs, "--user-map", try mapFile("\(me) blinker\n")])
        let r = try pam(me, password: "secret")
        #expect(r.outcome == .success && r.out.contains("Password") && !r.out.contains("Look at the camera"), "\(r.out)")
        #expect(r.seconds < 2, "the refusal is immediate: \(r.seconds) s")
        #expect(d.output.contains("refused: virtual device"), "\(d.output)")
        #expect((try audit()).contains("virtual camera refused"))
    }

    /// The daemon's lockout is the CLI's: after `max_failures` denials the account is refused without looking, and
    /// `facegate audit lockouts` (the CLI) shows the lock.
    @Test func theLockoutIsSharedWithTheCLI() throws {
        try UnlockE2E.copy(into: dir, config: "[lockout]\nmax_failures = 2\n")
        let d = try RealDaemon(dir: dir, args: ["--test-video", dir + "/photo.mp4", "--challenges", "blink", "--timeout", "2",
                                                "--user-map", try mapFile("\(me) blinker\n")])
        for _ in 0..<2 { _ = try pam(me, password: "secret") }
        let r = try pam(me, password: "secret")
        #expect(r.out.contains("locked"), "third attempt: \(r.out)\n\(d.output)")
        #expect(d.output.contains("result=DENIED lockedOut"), "\(d.output)")
        let locks = try PamTools.run(UnlockE2E.cli, ["audit", "lockouts"], env: UnlockE2E.env(dir)).out
        #expect(locks.contains("blinker"), "the CLI sees the daemon's lockout: \(locks)")
    }

    private func mapFile(_ text: String) throws -> String {
        let p = dir + "/users"
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
}

/// A datagram socket standing in for systemd's $NOTIFY_SOCKET.
final class NotifyReceiver {
    let path: String
    let fd: Int32
    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un(); addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard r == 0 else { close(fd); throw PamTestError("cannot bind \(path)") }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd); unlink(path) }
    /// The next datagram ("" after 10 s of silence).
    func next() -> String {
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 512, 0) }
        return n > 0 ? String(decoding: buf[..<n], as: UTF8.self) : ""
    }
}
