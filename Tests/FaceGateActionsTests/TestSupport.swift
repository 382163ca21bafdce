import Foundation

/// Helpers shared by the actions tests.
enum TestPaths {
    static let repoRoot: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()
    static let support = repoRoot.appendingPathComponent("Tests/FaceGateActionsTests/Support")

    /// A fresh temporary directory for one test.
    static func tempDir(_ name: String = "t") -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-actions-\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

/// Finds a free loopback TCP port by binding port 0.
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
func waitUntil(_ timeout: TimeInterval, _ condition: () throws -> Bool) async rethrows -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try condition() { return true }
        try? await Task.sleep(nanoseconds: 50_000_000)
    }
    return try condition()
}

/// A helper process (Python test server) started by a test; stopped by `stop()` or deinit.
final class HelperProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe()

    /// Starts `python3 script args…` and waits until it prints a line starting with READY.
    init(python script: String, _ args: [String], readyTimeout: TimeInterval = 15) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.support.appendingPathComponent(script).path] + args
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        let end = Date().addingTimeInterval(readyTimeout)
        var seen = Data()
        let fh = out.fileHandleForReading
        while Date() < end, process.isRunning {
            let chunk = fh.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains("READY") { return }
        }
        stop()
        throw HelperError.notReady("\(script) did not become ready: \(String(decoding: seen, as: UTF8.self))")
    }

    /// SIGKILL: SIGTERM can be ignored (SIG_IGN is inherited from some launchers), and a test server needs no
    /// clean shutdown.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    deinit { stop() }

    enum HelperError: Error { case notReady(String) }

    /// Whether `python3 -c "import <module>"` works (the Makefile's test set-up installs aiosmtpd).
    static func pythonHas(_ module: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import \(module)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
    static let hasAiosmtpd = pythonHas("aiosmtpd")
    static let hasPython = pythonHas("http.server")
}

/// Runs a command to completion; returns status and combined output.
@discardableResult
func runCommand(_ args: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe; p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Parses the received .eml files with Python's email package (an independent MIME parser) into JSON.
func parseEML(_ path: String) throws -> [String: Any] {
    let script = """
    import email, json, sys, base64
    from email import policy
    m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
    parts = []
    for p in m.walk():
        if p.is_multipart(): continue
        payload = p.get_payload(decode=True) or b''
        parts.append({'type': p.get_content_type(), 'filename': p.get_filename(),
                      'text': payload.decode('utf-8') if p.get_content_maintype() == 'text' else None,
                      'b64': base64.b64encode(payload).decode() if p.get_content_maintype() != 'text' else None})
    print(json.dumps({'from': str(m['From']), 'to': str(m['To']), 'subject': str(m['Subject']), 'date': str(m['Date']),
                      'message_id': str(m['Message-ID']), 'content_type': m.get_content_type(), 'parts': parts}))
    """
    let (rc, out) = try runCommand(["python3", "-c", script, path])
    guard rc == 0, let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] else {
        throw HelperProcess.HelperError.notReady("cannot parse \(path): \(out)")
    }
    return obj
}
