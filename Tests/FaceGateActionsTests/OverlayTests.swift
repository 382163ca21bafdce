import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateVision
import Foundation
import Logging
import Testing

@Suite struct OverlayTests {
    /// Counts pixels close to `c` (BGR storage) inside a rectangle.
    func count(_ img: Image, _ c: Color, in r: Rect, tol: Int = 40) -> Int {
        let bgr = img.bgrBytes
        var n = 0
        for y in Int(r.y)..<Int(r.maxY) {
            for x in Int(r.x)..<Int(r.maxX) {
                let i = (y * img.width + x) * 3
                if abs(Int(bgr[i]) - c.b) < tol && abs(Int(bgr[i + 1]) - c.g) < tol && abs(Int(bgr[i + 2]) - c.r) < tol { n += 1 }
            }
        }
        return n
    }

    let box = Rect(x: 220, y: 150, width: 200, height: 200)

    @Test func authorizedIsGreenWithName() {
        let img = Image(width: 640, height: 480, color: Color(90, 90, 90))
        let d = Decision.authorized(user: "Zoë", source: "camera:0")
        #expect(DecisionOverlay.label(for: d) == "Authorized - Zoe")
        DecisionOverlay.drawDecision(d, faceBox: box, on: img)
        // The box's left edge is green, not red.
        let edge = Rect(x: box.x - 1, y: box.y + 20, width: 4, height: 150)
        #expect(count(img, DecisionOverlay.authorizedColor, in: edge) > 300)
        #expect(count(img, DecisionOverlay.deniedColor, in: edge) == 0)
        // Label above the box: white text on green.
        let label = Rect(x: box.x, y: box.y - 30, width: 200, height: 26)
        #expect(count(img, .white, in: label) > 50)
        // Inside of the box untouched.
        #expect(count(img, Color(90, 90, 90), in: Rect(x: 260, y: 190, width: 120, height: 120), tol: 2) == 120 * 120)
    }

    @Test func deniedIsRedWithReason() {
        let img = Image(width: 640, height: 480, color: Color(90, 90, 90))
        let d = Decision.denied(.spoof, source: "camera:0")
        #expect(DecisionOverlay.label(for: d) == "Unauthorized - spoof detected")
        DecisionOverlay.drawDecision(d, faceBox: box, on: img)
        let edge = Rect(x: box.x - 1, y: box.y + 20, width: 4, height: 150)
        #expect(count(img, DecisionOverlay.deniedColor, in: edge) > 300)
        #expect(count(img, DecisionOverlay.authorizedColor, in: edge) == 0)
        // Bottom banner carries the text even without looking at the box.
        #expect(count(img, .white, in: Rect(x: 0, y: 440, width: 640, height: 40)) > 100)
        // Different reasons render different text.
        let img2 = Image(width: 640, height: 480, color: Color(90, 90, 90))
        DecisionOverlay.drawDecision(.denied(.timeout, source: "camera:0"), faceBox: nil, on: img2)
        #expect(img2.bgrBytes != img.bgrBytes)
    }

    @Test func progressShowsPromptAndBar() {
        let a = Image(width: 640, height: 480, color: Color(90, 90, 90))
        DecisionOverlay.drawProgress(.init(prompt: "Turn your head left", step: 1, total: 3, fraction: 0.25, secondsLeft: 4.2), faceBox: box, on: a)
        let barY = 30 * 0.7 + 12 + 2  // inside the bar below the banner
        let cyanLeft = count(a, .cyan, in: Rect(x: 0, y: barY, width: 160, height: 3))
        let cyanRight = count(a, .cyan, in: Rect(x: 170, y: barY, width: 470, height: 3))
        #expect(cyanLeft == 160 * 3 && cyanRight == 0)
        #expect(count(a, .white, in: Rect(x: 0, y: 0, width: 640, height: 30)) > 100)
        #expect(count(a, .yellow, in: Rect(x: box.x - 1, y: box.y + 20, width: 4, height: 150)) > 300)
    }

    @Test func decisionActionsWriteAnnotatedFrameAndSnapshot() async throws {
        let dir = TestPaths.tempDir("overlay")
        let toml = """
        [store]
        database = "\(dir.path)/facegate.sqlite"
        key_file = "\(dir.path)/k.key"
        [voice]
        enabled = "off"
        [lock]
        enabled = false
        [actions]
        spool_dir = "\(dir.path)/spool"
        """
        try GalleryKeyFile.make("\(dir.path)/k.key")
        let cfg = try FaceGateConfig(ConfigLoader.resolve(text: toml, path: nil, environment: [:], overrides: [:]), environment: [:])
        let dispatcher = try ActionDispatcher(config: cfg, logger: Logger(label: "t"))
        let frame = Image(width: 640, height: 480, color: Color(90, 90, 90))
        let out = dir.appendingPathComponent("annotated.jpg").path
        let (receipt, annotated) = try DecisionActions(dispatcher: dispatcher)
            .complete(.denied(.spoof, source: "file:x"), frame: frame, faceBox: box, annotatedOutput: out)
        #expect(FileManager.default.fileExists(atPath: out))
        #expect(try Image.read(out).width == 640)
        #expect(annotated != nil)
        // The snapshot is the clean frame, stored encrypted, and decrypts to a JPEG.
        let id = try #require(receipt.audit?.id)
        let jpeg = try dispatcher.audit!.snapshot(id)
        let snap = try Image.decode(jpeg)
        #expect(snap.width == 640 && count(snap, DecisionOverlay.deniedColor, in: Rect(x: 0, y: 0, width: 640, height: 480)) == 0)
        _ = await dispatcher.finish(timeout: 0.1)
    }
}

import FaceGateStore
enum GalleryKeyFile {
    static func make(_ path: String) throws { _ = try GalleryKey.create(file: path) }
}
