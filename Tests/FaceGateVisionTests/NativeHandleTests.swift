import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// Native handles are freed by deinit: memory stays flat however long the pipeline runs, and a 640x480 video
/// is analysed within the 400 MB target. Measured in a child process (`facegate analyze`) so that other tests
/// running in parallel do not disturb the numbers.
@Suite struct NativeHandleTests {
    /// Peak resident memory (bytes) of `facegate analyze VIDEO --json`, via GNU time.
    static func peakMemory(analysing video: String) throws -> Int {
        let out = TestPaths.tempDir() + "/time.txt"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = ["-f", "%M", "-o", out, TestPaths.cli, "analyze", video, "--json"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let kb = Int(try String(contentsOfFile: out, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        return kb * 1024
    }

    @Test func memoryStaysFlatOverLongVideos() throws {
        try #require(TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata models`")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "needs GNU time")
        try #require(FileManager.default.isExecutableFile(atPath: TestPaths.cli), "build the CLI first")
        let dir = TestPaths.tempDir()
        // A moving 640x480 face (zoom + pan), so detection, tracking, landmarks and pose all run on every frame.
        for (name, seconds) in [("short", 3), ("long", 12)] {
            try ffmpeg(["-loop", "1", "-i", TestPaths.testImage("obama.jpg"), "-t", "\(seconds)", "-r", "25",
                        "-vf", "scale=1280:-2,zoompan=z='1.2+0.1*sin(on/10)':x='iw/2-(iw/zoom/2)+20*sin(on/7)':y='ih/2-(ih/zoom/2)':d=1:s=640x480:fps=25",
                        "-pix_fmt", "yuv420p", dir + "/\(name).mp4"])
        }
        let short = try Self.peakMemory(analysing: dir + "/short.mp4")
        let long = try Self.peakMemory(analysing: dir + "/long.mp4")
        // 225 more frames: leaking one 640x480 frame each would add ≈ 200 MB.
        #expect(long - short < 25 << 20, "peak memory grew from \(short >> 20) MB to \(long >> 20) MB")
        #expect(long < 400 << 20, "peak memory \(long >> 20) MB over the 400 MB target")
    }
}
