import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// Missing, corrupt, truncated and random inputs give typed errors — never a crash.
@Suite struct BadInputTests {
    func isTyped(_ body: () throws -> Void) -> Bool {
        do { try body(); return false } catch is FaceGateError { return true } catch { return false }
    }

    @Test func missingAndWrongFilesAreTypedErrors() throws {
        let dir = TestPaths.tempDir()
        #expect(throws: FaceGateError.missingFile(dir + "/nope.jpg")) { try Image.read(dir + "/nope.jpg") }
        try "hello, I am text".write(toFile: dir + "/text.jpg", atomically: true, encoding: .utf8)
        #expect(isTyped { _ = try Image.read(dir + "/text.jpg") })
        FileManager.default.createFile(atPath: dir + "/empty.png", contents: Data())
        #expect(isTyped { _ = try Image.read(dir + "/empty.png") })
        #expect(isTyped { _ = try Image.read(dir) })
        #expect(isTyped { _ = try VideoReader.open(dir + "/text.jpg") })
        #expect(isTyped { _ = try VideoReader.open(dir + "/missing.mp4") })
        #expect(isTyped { _ = try VideoReader.camera("/dev/video-none") })
    }

    @Test func truncatedAndRandomFilesNeverCrash() throws {
        try #require(TestPaths.hasTestImages, "needs `make testdata`")
        let dir = TestPaths.tempDir()
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: TestPaths.testImage("obama.jpg")))
        var rng = SystemRandomNumberGenerator()
        for (i, fraction) in [0.0005, 0.01, 0.3, 0.7, 0.99].enumerated() {
            let path = dir + "/trunc\(i).jpg"
            try jpeg.prefix(Int(Double(jpeg.count) * fraction)).write(to: URL(fileURLWithPath: path))
            // Either a (partial) picture or a typed error.
            do { let img = try Image.read(path); #expect(img.width > 0) } catch { #expect(error is FaceGateError) }
        }
        for i in 0..<40 {
            let n = Int.random(in: 1...4096, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 4 == 0 { bytes.replaceSubrange(0..<min(3, n), with: [0xFF, 0xD8, 0xFF].prefix(n)) }  // JPEG magic
            if i % 4 == 1 && n > 8 { bytes.replaceSubrange(0..<8, with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) }  // PNG magic
            let ext = ["jpg", "png", "webp", "mp4"][i % 4]
            let path = dir + "/rand\(i).\(ext)"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let src = try openSource(path)
                while let f = try src.next() { _ = f.image.width }
            } catch {
                #expect(error is FaceGateError, "\(path): \(error)")
            }
        }
    }

    @Test func truncatedVideoYieldsWhatItHas() throws {
        try #require(TestPaths.hasTestImages, "needs `make testdata`")
        let dir = TestPaths.tempDir()
        let video = dir + "/clip.mp4"
        try ffmpeg(["-loop", "1", "-i", TestPaths.testImage("obama.jpg"), "-t", "2", "-r", "10", "-vf", "scale=320:-2", "-pix_fmt", "yuv420p", video])
        let data = try Data(contentsOf: URL(fileURLWithPath: video))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/half.mp4"))
        do {
            let src = try openSource(dir + "/half.mp4")
            var n = 0
            while let _ = try src.next() { n += 1 }
            #expect(n < 20)
        } catch {
            #expect(error is FaceGateError)
        }
    }

    @Test func hugeImageIsRefusedBeforeDecoding() throws {
        // A valid PNG header declaring 30000 x 30000 pixels (900 MP): bounded, refused quickly.
        let dir = TestPaths.tempDir()
        let path = dir + "/huge.png"
        let py = """
        import struct, zlib, sys
        w = h = 30000
        def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
        raw = zlib.compress(b'\\x00' * (w // 8 + 1) * 64)
        open(sys.argv[1], 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0)) + chunk(b'IDAT', raw) + chunk(b'IEND', b''))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", py, path]
        try p.run(); p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        #expect(isTyped { _ = try Image.read(path) })
    }

    @Test func cliExitCodesAndOneLineErrors() throws {
        try #require(TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata models`")
        try #require(FileManager.default.isExecutableFile(atPath: TestPaths.cli), "build the CLI first")
        let dir = TestPaths.tempDir()
        let missing = try runCLI(["analyze", dir + "/missing.jpg"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such file"))
        try "text".write(toFile: dir + "/t.jpg", atomically: true, encoding: .utf8)
        let text = try runCLI(["embed", dir + "/t.jpg"])
        #expect(text.status == 2)
        #expect(text.stderr.split(separator: "\n").count == 1)
        // A blank picture has no face.
        try Image(width: 320, height: 240, color: .white).write(dir + "/blank.png")
        let blank = try runCLI(["embed", dir + "/blank.png"])
        #expect(blank.status == 2 && blank.stderr.contains("no face"))
        // A tiny face is refused for embedding.
        let small = try Image.read(TestPaths.testImage("obama.jpg")).limited(maxSide: 90)
        try small.write(dir + "/tiny.png")
        let tiny = try runCLI(["embed", dir + "/tiny.png"])
        #expect(tiny.status == 2)
        // Usage errors (a missing argument, an unknown flag) exit 2.
        #expect(try runCLI(["compare", TestPaths.testImage("obama.jpg")]).status == 2)
        #expect(try runCLI(["analyze", "--no-such-flag", TestPaths.testImage("obama.jpg")]).status == 2)
        let models = try runCLI(["embed", TestPaths.testImage("obama.jpg"), "--models", dir + "/no-models"])
        #expect(models.status == 3)
        #expect(models.stderr.contains("make models"))
    }

    @Test func cliAnalyzeJSONShape() throws {
        try #require(TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata models`")
        try #require(FileManager.default.isExecutableFile(atPath: TestPaths.cli), "build the CLI first")
        let res = try runCLI(["analyze", TestPaths.testImage("obama.jpg"), "--json"])
        #expect(res.status == 0)
        let line = try #require(res.stdout.split(separator: "\n").first)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(obj["frame"] as? Int == 0)
        let faces = try #require(obj["faces"] as? [[String: Any]])
        #expect(faces.count == 1)
        let f = faces[0]
        #expect((f["box"] as? [Int])?.count == 4)
        #expect((f["landmarks"] as? [[Double]])?.count == 68)
        #expect((f["pose"] as? [String: Double])?.keys.sorted() == ["pitch", "roll", "yaw"])
        #expect((f["ear"] as? [String: Double])?.keys.sorted() == ["left", "right"])
        #expect(f["mar"] is Double && f["score"] is Double)
        let cmp = try runCLI(["compare", TestPaths.testImage("obama.jpg"), TestPaths.testImage("obama2.jpg"), "--json"])
        #expect(cmp.status == 0)
        let c = try #require(try JSONSerialization.jsonObject(with: Data(cmp.stdout.utf8)) as? [String: Any])
        #expect(c["same"] as? Bool == true)
        let diff = try runCLI(["compare", TestPaths.testImage("obama.jpg"), TestPaths.testImage("biden.jpg"), "--json"])
        #expect(diff.status == 1)
    }
}
