import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

@Suite struct FacePipelineTests {
    @Test func detectsLandmarksOnRealPhotos() throws {
        try #require(TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata models`")
        try EnginePool.shared.with { engine in
            for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
                let img = try Image.read(TestPaths.testImage(name))
                let a = engine.analyze(img)
                #expect(a.faces.count == 1, "\(name): \(a.faces.count) faces")
                let f = try #require(a.primary)
                let grown = f.box.expanded(by: 0.35)
                #expect(f.landmarks.points.allSatisfy { grown.intersection(Rect(x: $0.x, y: $0.y, width: 0.1, height: 0.1)).area > 0 },
                        "\(name): landmarks outside the face box")
                #expect(f.ear.mean > 0.15 && f.ear.mean < 0.5, "\(name): EAR \(f.ear.mean)")
                #expect(abs(f.pose.yaw) < 35 && abs(f.pose.pitch) < 35, "\(name): pose \(f.pose)")
                #expect(f.interocular > 20)
            }
        }
    }

    @Test func groupPhotoFindsEveryoneAndOrdersPrimaryFirst() throws {
        try #require(TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures")
        try EnginePool.shared.with { engine in
            let img = try Image.read(TestPaths.fixture("identities/ageitgey__face_recognition/examples/two_people.jpg"))
            let a = engine.analyze(img)
            #expect(a.faces.count >= 2)
            let p = try #require(a.primary)
            #expect(a.faces.dropFirst().allSatisfy { $0.score * $0.box.width <= p.score * p.box.width * 1.5 })
        }
    }

    @Test func sameAndDifferentPeopleOnFixturePairs() throws {
        try #require(TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures")
        let text = try String(contentsOfFile: TestPaths.fixture("PAIRS.tsv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }.filter { $0.count >= 5 }
        #expect(rows.count >= 50)
        var cache: [String: Embedding] = [:]
        var correct = 0, total = 0
        var failures: [String] = []
        try EnginePool.shared.with { engine in
            func embedding(_ rel: String) throws -> Embedding {
                if let e = cache[rel] { return e }
                let img = try Image.read(TestPaths.fixture(rel))
                let face = try #require(engine.analyze(img).primary, "no face in \(rel)")
                let e = try engine.embedding(img, face: face)
                cache[rel] = e
                return e
            }
            for row in rows {
                let d = try embedding(row[0]).distance(to: embedding(row[1]))
                let same = row[4] == "1"
                total += 1
                if (d <= IdentityThreshold.default) == same { correct += 1 } else { failures.append("\(row[2])/\(row[3]) d=\(d)") }
            }
        }
        let accuracy = Double(correct) / Double(total)
        #expect(accuracy >= 0.97, "accuracy \(accuracy) on \(total) pairs; wrong: \(failures)")
    }

    @Test func trackerFollowsFacesWhereverADetectorFindsThem() throws {
        try #require(TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures")
        let clips = ["motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4",
                     "motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4",
                     "motion/repeating__Blink-Detector/video.mp4"]
        let maxFrames = 150
        try EnginePool.shared.with { engine in
            for clip in clips {
                let reader = try VideoReader.open(TestPaths.fixture(clip))
                let tracker = FaceTracker(engine: engine)
                var found = 0, followed = 0
                while let frame = try reader.next(), frame.index < maxFrames {
                    let analysis = tracker.process(frame)
                    // Reference: a fresh detection on this very frame.
                    guard let det = engine.detector.detect(frame.image, maxSide: 640).first else { continue }
                    found += 1
                    if let p = analysis.primary, p.box.iou(det.box) > 0.3 || p.box.intersection(det.box).area > 0.5 * det.box.area {
                        followed += 1
                    }
                }
                #expect(found > 50, "\(clip): detector found a face on only \(found) frames")
                let rate = Double(followed) / Double(max(found, 1))
                #expect(rate >= 0.99, "\(clip): followed \(followed)/\(found) = \(rate)")
                #expect(tracker.detections < found, "\(clip): tracking should not detect on every frame")
            }
        }
    }

    @Test func imageDirectoryAndVideoSources() throws {
        try #require(TestPaths.hasTestImages, "needs `make testdata`")
        let dir = TestPaths.tempDir()
        for n in ["b.jpg", "a.png"] {
            try FileManager.default.copyItem(atPath: TestPaths.testImage(n == "b.jpg" ? "obama.jpg" : "32bit.png"), toPath: dir + "/" + n)
        }
        try "not an image".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        let source = try openSource(dir)
        var names: [Int] = []
        while let f = try source.next() { names.append(f.index) }
        #expect(names == [0, 1])
        // A video made from the photo carries increasing timestamps at its frame rate.
        let video = dir + "/clip.mp4"
        try ffmpeg(["-loop", "1", "-i", TestPaths.testImage("obama.jpg"), "-t", "1", "-r", "10", "-vf", "scale=320:-2", "-pix_fmt", "yuv420p", video])
        let v = try openSource(video)
        var ts: [Double] = []
        while let f = try v.next() { ts.append(f.timestamp) }
        #expect(ts.count >= 9 && ts.count <= 11)
        #expect(zip(ts, ts.dropFirst()).allSatisfy { $1 > $0 })
        #expect(abs((ts.last ?? 0) - 0.9) < 0.15)
    }
}
