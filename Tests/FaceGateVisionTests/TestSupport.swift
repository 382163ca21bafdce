import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// Paths shared by the vision tests. Use these instead of re-deriving paths in each test file.
enum TestPaths {
    /// The repository root (two levels above this file's folder).
    static let repo: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared/fixtures` beside the repository (present in CI; tests that need it skip without it).
    static let fixtures: URL = repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    static var hasFixtures: Bool { FileManager.default.fileExists(atPath: fixtures.path + "/MANIFEST.tsv") }
    /// Real photos fetched by `make testdata` (PyPI face_recognition 1.3.0 sdist test images).
    static let testImages: URL = repo.appendingPathComponent("testdata/images")
    static var hasTestImages: Bool { FileManager.default.fileExists(atPath: testImages.path + "/obama.jpg") }
    static func fixture(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }
    static func testImage(_ name: String) -> String { testImages.appendingPathComponent(name).path }
    /// A fresh temporary directory.
    static func tempDir(_ tag: String = "facegate") -> String {
        let p = NSTemporaryDirectory() + "\(tag)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
    /// The `facegate` executable built by `swift build --build-tests`.
    static var cli: String {
        for c in [".build/debug/facegate", ".build/release/facegate"] {
            let p = repo.appendingPathComponent(c).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return repo.appendingPathComponent(".build/debug/facegate").path
    }
    static var hasModels: Bool { (try? ModelDirectory.resolve().locate(BaseModels.landmarks68, verify: false)) != nil }
}

/// Engines are expensive to load (≈1 s) and not thread-safe; tests borrow one from this pool.
final class EnginePool: @unchecked Sendable {
    static let shared = EnginePool()
    private let lock = NSLock()
    private var free: [FaceEngine] = []

    func with<T>(_ body: (FaceEngine) throws -> T) throws -> T {
        lock.lock()
        let e = free.popLast()
        lock.unlock()
        let engine = try e ?? FaceEngine()
        defer { lock.lock(); free.append(engine); lock.unlock() }
        return try body(engine)
    }
}

/// Result of running the CLI.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the built `facegate` binary with arguments.
func runCLI(_ args: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws -> CLIResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: TestPaths.cli)
    p.arguments = args
    if let env = environment { p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let inPipe = Pipe()
    p.standardInput = inPipe
    try p.run()
    if let stdin { inPipe.fileHandleForWriting.write(stdin) }
    try? inPipe.fileHandleForWriting.close()
    // Read before waiting so a full pipe cannot block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// Generates a short video with ffmpeg (e.g. a still photo looped, moved or zoomed). Returns the output path.
func ffmpeg(_ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
    p.arguments = ["-loglevel", "error", "-y"] + args
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    if p.terminationStatus != 0 { throw FaceGateError.runtime("ffmpeg failed: \(args.joined(separator: " "))") }
}
