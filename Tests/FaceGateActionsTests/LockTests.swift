import FaceGateActions
import Foundation
import Testing

@Suite struct LockTests {
    /// A real lock stand-in: a script that writes a marker file with its arguments.
    func markerScript(_ dir: URL, exit code: Int = 0) throws -> (script: String, marker: URL) {
        let marker = dir.appendingPathComponent("locked.marker")
        let script = dir.appendingPathComponent("fake-lock-\(code).sh")
        try "#!/bin/sh\necho \"locked $*\" > '\(marker.path)'\necho 'lock diagnostics' >&2\nexit \(code)\n"
            .write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        return (script.path, marker)
    }

    @Test func runsTheConfiguredCommand() throws {
        let dir = TestPaths.tempDir("lock")
        let (script, marker) = try markerScript(dir)
        let out = try DeviceLocker(command: [script, "--session", "self"]).lock()
        #expect(out == .locked(command: "\(script) --session self"))
        #expect(try String(contentsOf: marker, encoding: .utf8) == "locked --session self\n")
    }

    @Test func dryRunRunsNothing() throws {
        let dir = TestPaths.tempDir("lockdry")
        let (script, marker) = try markerScript(dir)
        let out = try DeviceLocker(command: [script], dryRun: true).lock()
        #expect(out == .dryRun(command: script))
        #expect(!FileManager.default.fileExists(atPath: marker.path))
    }

    @Test func failingCommandIsReported() throws {
        let dir = TestPaths.tempDir("lockfail")
        let (script, marker) = try markerScript(dir, exit: 3)
        #expect {
            try DeviceLocker(command: [script]).lock()
        } throws: { e in
            guard case ActionError.lockCommand(_, let status, let output) = e else { return false }
            return status == 3 && output.contains("lock diagnostics")
        }
        #expect(FileManager.default.fileExists(atPath: marker.path))  // it did run
        #expect(throws: ActionError.lockCommandMissing(command: "/nonexistent/locker now")) {
            try DeviceLocker(command: ["/nonexistent/locker", "now"]).lock()
        }
    }

    @Test func fallbackIsUsedWhenPrimaryFails() throws {
        let dir = TestPaths.tempDir("lockfb")
        let (good, marker) = try markerScript(dir)
        let out = try DeviceLocker(command: ["definitely-not-a-locker-xyz"], fallback: [good, "fb"]).lock()
        guard case .lockedByFallback(let cmd, let why) = out else { Issue.record("expected fallback, got \(out)"); return }
        #expect(cmd == "\(good) fb")
        #expect(why.contains("not found"))
        #expect(try String(contentsOf: marker, encoding: .utf8) == "locked fb\n")
    }

    @Test func hangingCommandTimesOut() throws {
        let start = Date()
        #expect(throws: ActionError.self) { try DeviceLocker(command: ["sleep", "30"], timeout: 0.5).lock() }
        #expect(Date().timeIntervalSince(start) < 10)
    }
}
