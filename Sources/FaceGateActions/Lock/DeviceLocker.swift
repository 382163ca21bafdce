import Foundation
import Logging

/// Locks the session with a configured command (default `loginctl lock-session`, fallback `xdg-screensaver lock`).
/// A failing command is an error, never ignored: `lock()` throws and the dispatcher logs it and reports it.
public struct DeviceLocker: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The command ran and exited 0.
        case locked(command: String)
        /// The primary failed; the fallback locked. `primaryError` says why the primary failed.
        case lockedByFallback(command: String, primaryError: String)
        /// Dry-run: nothing was run.
        case dryRun(command: String)
    }

    public var command: [String]
    public var fallback: [String]?
    public var dryRun: Bool
    public var timeout: TimeInterval

    public init(command: [String], fallback: [String]? = nil, dryRun: Bool = false, timeout: TimeInterval = 10) {
        self.command = command; self.fallback = fallback; self.dryRun = dryRun; self.timeout = timeout
    }

    /// Blocking; run off the decision path.
    public func lock(logger: Logger? = nil) throws -> Outcome {
        let line = command.joined(separator: " ")
        if dryRun {
            logger?.notice("lock (dry run): would run `\(line)`")
            return .dryRun(command: line)
        }
        do {
            try Self.run(command, timeout: timeout)
            logger?.notice("session locked with `\(line)`")
            return .locked(command: line)
        } catch let primary {
            guard let fb = fallback, !fb.isEmpty else { throw primary }
            logger?.warning("lock command failed: \(primary) — trying fallback `\(fb.joined(separator: " "))`")
            do {
                try Self.run(fb, timeout: timeout)
            } catch let second as ActionError {
                // Report the primary failure first: it is the configured one.
                logger?.error("fallback lock command failed too: \(second)")
                throw primary
            }
            return .lockedByFallback(command: fb.joined(separator: " "), primaryError: "\(primary)")
        }
    }

    /// Runs a command without a shell; throws on a missing executable, non-zero exit or timeout.
    static func run(_ argv: [String], timeout: TimeInterval) throws {
        guard let exe = argv.first, !exe.isEmpty else { throw ActionError.lockCommandMissing(command: "(empty)") }
        guard let path = resolve(exe) else { throw ActionError.lockCommandMissing(command: argv.joined(separator: " ")) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw ActionError.lockCommand(command: argv.joined(separator: " "), status: -1, output: error.localizedDescription)
        }
        // Read output concurrently so a chatty command cannot block on a full pipe.
        let collected = OutputBox()
        let reader = Thread { collected.data = pipe.fileHandleForReading.readDataToEndOfFile(); collected.done.signal() }
        reader.start()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            p.terminate()
            // SIGTERM may be ignored (an inherited SIG_IGN, or the command's choice): escalate.
            let grace = Date().addingTimeInterval(0.5)
            while p.isRunning && Date() < grace { usleep(10_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            throw ActionError.lockCommand(command: argv.joined(separator: " "), status: -1,
                                          output: "did not finish within \(Int(timeout)) s (killed)")
        }
        p.waitUntilExit()
        _ = collected.done.wait(timeout: .now() + 2)
        let out = String(decoding: collected.data.prefix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0 else {
            throw ActionError.lockCommand(command: argv.joined(separator: " "), status: p.terminationStatus, output: out)
        }
    }

    /// Absolute path of an executable: as given when it contains "/", else searched in PATH.
    static func resolve(_ exe: String) -> String? {
        if exe.contains("/") { return FileManager.default.isExecutableFile(atPath: exe) ? exe : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let c = "\(dir)/\(exe)"
            if FileManager.default.isExecutableFile(atPath: c) { return c }
        }
        return nil
    }
}

private final class OutputBox: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
