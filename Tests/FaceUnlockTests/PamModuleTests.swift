import Foundation
import Testing

/// The tools the PAM tests need (Debian: libpam0g-dev, pamtester, libpam-wrapper; `make test` installs them).
enum PamTools {
    static let wrapper = "/usr/lib/x86_64-linux-gnu/libpam_wrapper.so"
    static let matrix = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
    static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/pamtester")
        && FileManager.default.fileExists(atPath: wrapper) && FileManager.default.fileExists(atPath: "/usr/include/security/pam_modules.h")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/cc")
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let daemonScript = repo.appendingPathComponent("Tests/FaceUnlockTests/Support/fake_pam_daemon.py").path
    static let userName = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 }
        ?? String(cString: getpwuid(getuid())!.pointee.pw_name)

    @discardableResult
    static func run(_ exe: String, _ args: [String], env: [String: String] = [:], stdin: String? = nil) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inp.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Builds pam_facegate.so into `dir` the way `make pam` does (warnings are errors).
    static func build(into dir: String) throws -> String {
        let so = dir + "/pam_facegate.so"
        let r = try run("/usr/bin/cc", ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-o", so,
                                        repo.appendingPathComponent("pam/pam_facegate.c").path, "-lpam"])
        guard r.status == 0 else { throw PamTestError("cc failed: \(r.out)") }
        return so
    }
}

struct PamTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// What pamtester reported, as the PAM result the module returned.
enum PamOutcome: Equatable {
    case success, authError, authInfoUnavailable, ignored, other(String)
    init(_ out: String) {
        if out.contains("successfully authenticated") { self = .success }
        else if out.contains("Authentication failure") { self = .authError }
        else if out.contains("cannot retrieve authentication info") { self = .authInfoUnavailable }
        else if out.contains("Permission denied") { self = .ignored }   // a lone PAM_IGNORE: libpam's default denial
        else { self = .other(out) }
    }
}

/// A fake `facegate daemon` (Support/fake_pam_daemon.py) serving one scenario on a socket in `dir`.
final class FakeDaemon {
    let process = Process()
    let socket: String
    let log: String
    init(dir: String, scenario: String, asNobody: Bool = false) throws {
        socket = dir + "/pam.sock"
        log = dir + "/requests.log"
        try? FileManager.default.removeItem(atPath: log)
        var args = [PamTools.daemonScript, socket, scenario, log]
        if asNobody {
            // Root only: the same daemon under another account, to check the module's peer rule.
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dir)
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            args = ["-u", "nobody", "--", "/usr/bin/python3"] + args
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        }
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // Wait for "ready" (the socket is listening).
        let line = out.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).contains("ready") else { throw PamTestError("fake daemon did not start") }
    }
    var requests: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    // SIGKILL: a child of the test process may inherit a signal mask that blocks SIGTERM.
    // `runuser` does not pass a kill on to its child: end every process serving this socket.
    deinit {
        kill(process.processIdentifier, SIGKILL)
        _ = try? PamTools.run("/usr/bin/pkill", ["-KILL", "-f", socket])
        process.waitUntilExit()
    }
}

/// pam_facegate.so through Linux-PAM (pam_wrapper + pamtester, no root, no camera) against a fake daemon: every
/// return path, deadlines, garbage replies, a dead daemon, the password fallback, and the dependency rule.
@Suite(.serialized, .enabled(if: PamTools.available, "needs cc, libpam0g-dev, pamtester and libpam-wrapper (scripts/install-deps.sh)"))
final class PamModuleTests {
    let dir: String
    let module: String

    /// Built once per test run (the compiler is the slow part of each test's set-up).
    static let built: Result<String, any Error> = Result {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("fg-pam-module-\(getpid())").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return try PamTools.build(into: d)
    }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fg-pam-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/services", withIntermediateDirectories: true)
        module = try Self.built.get()
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// The module's options in the test stack: short deadlines so the timeout paths are quick. The daemon user is
    /// whoever runs the tests (root in CI); the module also trusts root.
    private var options: String { "socket=\(dir)/pam.sock timeout=0.8 max_time=2.5 daemon_user=\(PamTools.userName)" }

    private func authenticate(_ stack: String, service: String = "fgtest", user: String? = nil, env: [String: String] = [:],
                              stdin: String? = nil) throws -> (outcome: PamOutcome, out: String, seconds: Double) {
        try stack.write(toFile: "\(dir)/services/\(service)", atomically: true, encoding: .utf8)
        let start = Date()
        let r = try PamTools.run("/usr/bin/pamtester", [service, user ?? PamTools.userName, "authenticate"],
                                 env: ["LD_PRELOAD": PamTools.wrapper, "PAM_WRAPPER": "1",
                                       "PAM_WRAPPER_SERVICE_DIR": dir + "/services",
                                       // tests may run over ssh: only the test says whether the session is remote
                                       "SSH_CONNECTION": "", "SSH_CLIENT": "", "SSH_TTY": ""].merging(env) { $1 },
                                 stdin: stdin)
        return (PamOutcome(r.out), r.out, Date().timeIntervalSince(start))
    }

    private func alone(_ extra: String = "") -> String { "auth required \(module) \(options) \(extra)\n" }

    @Test func successOnlyOnTheExactSuccessLineAndPromptsReachTheUser() throws {
        let d = try FakeDaemon(dir: dir, scenario: "ok")
        let r = try authenticate(alone())
        #expect(r.outcome == .success, "\(r.out)")
        #expect(r.out.contains("Look at the camera") && r.out.contains("Blink"), "prompts relayed: \(r.out)")
        #expect(d.requests.contains("FACEGATE-PAM 1\nUSER \(PamTools.userName)\nSERVICE fgtest\n") && d.requests.contains("\nAUTH\n"),
                "request: \(d.requests)")
    }

    @Test(arguments: [("deny", PamOutcome.authError), ("unknown", .ignored), ("unavailable", .authInfoUnavailable)])
    func eachDaemonAnswerMapsToItsPamResult(scenario: String, expected: PamOutcome) throws {
        let d = try FakeDaemon(dir: dir, scenario: scenario)
        let r = try authenticate(alone())
        #expect(r.outcome == expected, "\(scenario): \(r.out)")
        _ = d
    }

    /// Nothing but the exact success line succeeds: near misses, NUL bytes, over-long lines, floods and closed or
    /// silent daemons all fall back (PAM_AUTHINFO_UNAVAIL), within the deadlines.
    @Test(arguments: ["garbage", "okay", "ok-trailing", "nul", "longline", "flood", "close", "silent", "trickle"])
    func malformedOrSilentDaemonsNeverSucceed(scenario: String) throws {
        let d = try FakeDaemon(dir: dir, scenario: scenario)
        let r = try authenticate(alone())
        #expect(r.outcome == .authInfoUnavailable, "\(scenario): \(r.out)")
        // silent: the 0.8 s silence deadline; trickle: the 2.5 s whole-attempt limit (generous upper bounds)
        #expect(r.seconds < 6, "\(scenario) took \(r.seconds) s")
        _ = d
    }

    @Test func steadyProgressWithinTheSilenceDeadlineSucceeds() throws {
        let d = try FakeDaemon(dir: dir, scenario: "slow-ok")      // 6 prompts 0.3 s apart (< 0.8 s each)
        let r = try authenticate(alone())
        #expect(r.outcome == .success, "\(r.out)")
        _ = d
    }

    @Test func controlCharactersFromTheDaemonAreNotPassedToTheTerminal() throws {
        let d = try FakeDaemon(dir: dir, scenario: "control")
        let r = try authenticate(alone())
        #expect(r.outcome == .success)
        #expect(!r.out.contains("\u{1b}"), "escape sequence reached the terminal: \(r.out.debugDescription)")
        _ = d
    }

    /// No daemon: fall back at once, without waiting for any deadline.
    @Test func absentDaemonFallsBackAtOnce() throws {
        let r = try authenticate(alone())
        #expect(r.outcome == .authInfoUnavailable, "\(r.out)")
        #expect(r.seconds < 0.8, "waited \(r.seconds) s")
    }

    /// A remote session (PAM_RHOST or SSH_* variables) is skipped before connecting: this camera cannot answer it.
    @Test func remoteSessionsAreSkippedUnlessAllowed() throws {
        let d = try FakeDaemon(dir: dir, scenario: "ok")
        var r = try authenticate(alone(), env: ["SSH_CONNECTION": "10.0.0.9 52100 10.0.0.1 22"])
        #expect(r.outcome == .ignored, "\(r.out)")
        #expect(!d.requests.contains("AUTH"), "the daemon was asked for a remote session")
        r = try authenticate(alone("allow_remote"), env: ["SSH_CONNECTION": "10.0.0.9 52100 10.0.0.1 22"])
        #expect(r.outcome == .success, "\(r.out)")
    }

    /// A socket served by another account (a user's own fake daemon) is not trusted, whatever it answers.
    @Test func aDaemonUnderAnotherAccountIsNotTrusted() throws {
        if getuid() == 0 {
            let d = try FakeDaemon(dir: dir, scenario: "ok", asNobody: true)
            let r = try authenticate("auth required \(module) socket=\(dir)/pam.sock timeout=0.8 max_time=2.5 daemon_user=root\n")
            #expect(r.outcome == .authInfoUnavailable, "\(r.out)")
            _ = d
        } else {
            let d = try FakeDaemon(dir: dir, scenario: "ok")
            let r = try authenticate("auth required \(module) socket=\(dir)/pam.sock timeout=0.8 max_time=2.5 daemon_user=root\n")
            #expect(r.outcome == .authInfoUnavailable, "\(r.out)")
            _ = d
        }
    }

    /// In the stack face unlock is installed in (`sufficient`, then the password), every non-success falls through
    /// to the password prompt, and the password still decides.
    @Test func thePasswordFollowsWhenFaceUnlockDoesNotSucceed() throws {
        try "\(PamTools.userName):secret:fgstack\n".write(toFile: dir + "/passdb", atomically: true, encoding: .utf8)
        let stack = "auth sufficient \(module) \(options)\nauth required \(PamTools.matrix) passdb=\(dir)/passdb\n"
        for scenario in ["deny", "unknown", "unavailable", "garbage"] {
            let d = try FakeDaemon(dir: dir, scenario: scenario)
            var r = try authenticate(stack, service: "fgstack", stdin: "secret\n")
            #expect(r.outcome == .success && r.out.contains("Password"), "\(scenario): \(r.out)")
            r = try authenticate(stack, service: "fgstack", stdin: "wrong\n")
            #expect(r.outcome == .authError, "\(scenario) with a wrong password: \(r.out)")
            _ = d
        }
        let d = try FakeDaemon(dir: dir, scenario: "ok")
        let r = try authenticate(stack, service: "fgstack", stdin: "")
        #expect(r.outcome == .success && !r.out.contains("Password"), "face unlock alone: \(r.out)")
        _ = d
    }

    /// The dependency rule: the module imports from libc and libpam only (no Swift runtime, no OpenCV, no exec).
    @Test func theModuleLinksOnlyLibcAndLibpam() throws {
        let r = try PamTools.run("/usr/bin/nm", ["-D", "--undefined-only", module])
        let symbols = r.out.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        let foreign = symbols.filter { s in
            !(s.contains("@GLIBC_") || s.contains("@LIBPAM") || s.hasPrefix("_ITM_") || s == "__gmon_start__" || s.hasPrefix("__cxa_finalize"))
        }
        #expect(foreign.isEmpty, "unexpected imports: \(foreign)")
        for forbidden in ["execve", "execv", "execvp", "system", "popen", "fork", "posix_spawn"] {
            #expect(!symbols.contains { $0.hasPrefix(forbidden + "@") }, "the module must never run a program (\(forbidden))")
        }
    }
}
