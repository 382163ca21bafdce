import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// Issue 15 item 7 (passive cost): a faster computation of a cue must not change what the cue measures. The bezel
/// cue's device-side search runs the shim's own progressive probabilistic Hough transform instead of
/// cv::HoughLinesP; both are run here on the same frames and face boxes and must give identical measurements
/// (found quad, corners, ratios, sides found and their length — exact equality, tolerance 0), and the two transforms
/// must return the same segments in the same order.
@Suite("Passive cue cost: same measurements", .serialized)
struct PadCostEquivalenceTests {
    static var ready: Bool { TestPaths.hasFixtures && TestPaths.hasModels }

    /// Face boxes to try on a frame: the tracked one, shifted, and grown (other band positions, other line lengths).
    static func boxes(_ b: Rect) -> [Rect] {
        [b, Rect(x: b.x + b.width / 7, y: b.y - b.height / 9, width: b.width, height: b.height),
         Rect(x: b.x - b.width / 5, y: b.y + b.height / 8, width: b.width * 1.15, height: b.height * 1.1)]
    }

    /// Compares fast and reference bezel measurements on every box, and the transforms' full segment lists (same
    /// segments in the same order) at the cue's minimum length (the face height in working pixels) and at a short one
    /// (many more segments); returns (calls, calls that found device sides, segments compared).
    static func compare(_ image: Image, _ box: Rect, _ label: String) -> (Int, Int, Int) {
        var sides = 0, segments = 0
        let all = boxes(box)
        let scale = min(1, 320 / Double(max(image.width, image.height)))
        for b in all {
            let fast = PadNative.bezel(image, face: b), ref = PadNative.bezel(image, face: b, reference: true)
            #expect(fast == ref, "\(label) box \(b): fast \(fast) vs OpenCV \(ref)")
            if ref.sidesFound { sides += 1 }
            for length in [b.height * scale, 20] {
                let f = PadNative.bezelSideSegments(image, face: b, minLength: length, reference: false)
                let r = PadNative.bezelSideSegments(image, face: b, minLength: length, reference: true)
                #expect(f == r, "\(label) box \(b) length \(length): \(f.count) segments vs OpenCV \(r.count)")
                segments += r.count
            }
        }
        return (all.count, sides, segments)
    }

    /// Real webcam clips (door frames, shelves, a phone held up) and talking-head clips, every 4th frame.
    @Test(.enabled(if: ready)) func bezelSidesMatchOpenCVOnFixtureClips() throws {
        let clips = ["liveness/Krzysiek354__Python_Face_Detection/videos/real.mp4",
                     "liveness/lestari15__CNN-face-detection/videos/real.mp4",
                     "liveness/lestari15__CNN-face-detection/videos/fake.mp4",
                     "liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/videos/fake.mp4",
                     "motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4",
                     "motion/repeating__Blink-Detector/video.mp4"]
        var calls = 0, segments = 0
        try EnginePool.shared.with { engine in
            for clip in clips {
                let tracker = FaceTracker(engine: engine)
                let src = try VideoSource.file(TestPaths.fixture(clip))
                var used = 0
                while used < 6, let f = try src.next() {
                    let a = tracker.process(f)
                    guard f.index % 4 == 0, let face = a.primary else { continue }
                    used += 1
                    let (c, _, n) = Self.compare(f.image, face.box, "\(clip) frame \(f.index)")
                    calls += c; segments += n
                }
                #expect(used > 0, "\(clip): no face tracked")
            }
        }
        #expect(calls >= 90)
        #expect(segments >= 1000, "only \(segments) segments compared")
    }

    /// Rendered webcam rooms (the worst case for the side search): door jambs flanking the face, shelves of book
    /// spines, a framed picture, at several positions (with and without the lintel in view); and the simulator's
    /// screen and print attacks. Some of them must find sides, or the comparison would prove nothing.
    @Test(.enabled(if: ready)) func bezelSidesMatchOpenCVOnRenderedRoomsAndAttacks() throws {
        var calls = 0, sides = 0, segments = 0
        for seed in 0..<12 {
            var g = UInt64(seed) &* 0x9E3779B97F4A7C15 &+ 1
            func rnd(_ n: Int) -> Int { g = g &* 6364136223846793005 &+ 1442695040888963407; return Int((g >> 33) % UInt64(n)) }
            let img = Image(width: 640, height: 480, color: Color(196, 188, 170))
            let doorL = 120 + rnd(60), doorR = 460 + rnd(60)
            // Even seeds: the door's lintel in view; odd seeds: the jambs run out of the picture at both ends.
            let top = seed % 2 == 0 ? 20.0 : 0.0
            img.fillRect(Rect(x: Double(doorL), y: top, width: Double(doorR - doorL), height: 480 - top), color: Color(150, 120, 90))
            img.fillRect(Rect(x: Double(doorL + 14), y: top == 0 ? 0 : 34, width: Double(doorR - doorL - 28), height: 480), color: Color(120, 92, 66))
            for x in stride(from: doorL + 50, to: doorR - 40, by: 60) {
                img.fillRect(Rect(x: Double(x), y: 60, width: 3, height: 420), color: Color(100, 76, 52))
            }
            for (x0, x1) in [(0, doorL - 15), (doorR + 15, 640)] where x1 - x0 > 20 {
                for y in stride(from: 30, to: 480, by: 70) {
                    img.fillRect(Rect(x: Double(x0), y: Double(y), width: Double(x1 - x0), height: 8), color: Color(110, 80, 50))
                    var x = x0 + 2
                    while x < x1 - 6 {
                        let w = 5 + rnd(11), h = 35 + rnd(25)
                        img.fillRect(Rect(x: Double(x), y: Double(y - h), width: Double(min(w, x1 - 2 - x)), height: Double(h)),
                                     color: Color(30 + rnd(200), 30 + rnd(200), 30 + rnd(200)))
                        x += w + 1
                    }
                }
            }
            img.fillRect(Rect(x: 250, y: 70, width: 140, height: 80), color: Color(40, 40, 40))
            // The person: head and shoulders in front of the door.
            let cx = 300 + rnd(60), cy = 230 + rnd(30), fw = 110 + rnd(60)
            img.drawEllipse(center: Point2(Double(cx), Double(cy)), axes: (fw / 2, fw * 3 / 5), color: Color(200, 160, 140), thickness: -1)
            img.drawEllipse(center: Point2(Double(cx), 480), axes: (fw, fw / 2), color: Color(60, 70, 120), thickness: -1)
            for dx in [-fw / 5, fw / 5] {
                img.drawCircle(Point2(Double(cx + dx), Double(cy - fw / 8)), radius: 5, color: Color(40, 30, 30), thickness: -1)
            }
            let face = Rect(x: Double(cx - fw / 2), y: Double(cy - fw / 2), width: Double(fw), height: Double(fw))
            let (c, s, n) = Self.compare(img, face, "room seed \(seed)")
            calls += c; sides += s; segments += n
        }
        let dir = TestPaths.tempDir("pad-cost")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try EnginePool.shared.with { engine in
            for kind in [AttackKind.screen, .print] {
                var sim = AttackSimulator(kind: kind, seed: 5)
                sim.duration = 0.8
                let out = dir + "/\(kind.rawValue).mp4"
                _ = try sim.render(input: TestPaths.fixture("motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"), output: out)
                let tracker = FaceTracker(engine: engine)
                let src = try VideoSource.file(out)
                while let f = try src.next() {
                    guard let face = tracker.process(f).primary, f.index % 3 == 0 else { continue }
                    let (c, s, n) = Self.compare(f.image, face.box, "\(kind) frame \(f.index)")
                    calls += c; sides += s; segments += n
                }
            }
        }
        #expect(calls >= 40 && segments >= 500, "\(calls) calls, \(segments) segments")
        #expect(sides >= 3, "the device-side transform was hardly exercised (\(sides) of \(calls) calls found sides)")
    }
}
