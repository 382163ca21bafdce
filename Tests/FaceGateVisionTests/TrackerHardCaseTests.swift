import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// The video tracker on generated hard cases: a fixture face rolled ±30°, pushed partly out of the frame, moved fast,
/// shrunk, and cut to frames with no face. The tracker must follow the face wherever it is visible and must not
/// report a face on frames without one for more than `maxFramesAfterCut` frames.
///
/// "Visible" = a per-frame still-image detection finds a face: RetinaFace (installed from the fixture folder into a
/// temporary model directory) or HOG at full size. Each case runs with HOG alone and with RetinaFace as the tracking
/// assist (the default when it is installed).
@Suite(.serialized) struct TrackerHardCaseTests {
    static let source = "motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"
    static var enabled: Bool { TestPaths.hasFixtures && TestPaths.hasModels }
    /// At most this many frames after a cut to a faceless frame may still carry the old face (the cut frame itself,
    /// and one more while the guard's check runs).
    static let maxFramesAfterCut = 2

    /// Engines for the two tracker set-ups, sharing one temporary model directory with RetinaFace installed.
    static func engines() async throws -> (hogOnly: FaceEngine, assisted: FaceEngine, reference: FaceEngine) {
        let dir = try await CatalogDetectorTests.modelDirectory(installRetinaFace: true)
        let assisted = try FaceEngine(models: dir, detector: .hog)
        #expect(assisted.assistDetector != nil, "RetinaFace installed: HOG tracking should get it as its assist")
        let hogOnly = try FaceEngine(models: dir, detector: .hog, trackingAssist: false)
        #expect(hogOnly.assistDetector == nil)
        let reference = try FaceEngine(models: dir, detector: DetectorChoice("retinaface-silentface"))
        return (hogOnly, assisted, reference)
    }

    /// A clip made from the first seconds of the fixture face, at 15 fps, the face (256 px square frame) laid over
    /// a 480×360 grey canvas at `x`,`y` (ffmpeg expressions of t), then `post` filters.
    static func clip(_ name: String, seconds: Double, x: String = "112", y: String = "52", size: Int = 256, pre: String = "",
                     post: String = "") throws -> String {
        let out = TestPaths.tempDir("fg-track") + "/\(name).mp4"
        let graph = "color=c=0x808080:s=480x360:r=15:d=\(seconds)[bg];[0:v]fps=15,\(pre.isEmpty ? "" : pre + ",")scale=\(size):\(size),setsar=1[fg];"
            + "[bg][fg]overlay=x='\(x)':y='\(y)':shortest=1\(post.isEmpty ? "" : "," + post)[v]"
        try ffmpeg(["-i", TestPaths.fixture(source), "-t", String(seconds), "-filter_complex", graph, "-map", "[v]",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", out])
        return out
    }

    struct Coverage: CustomStringConvertible {
        var visible = 0, followed = 0, frames = 0
        var misses: [Int] = []
        var rate: Double { visible == 0 ? 1 : Double(followed) / Double(visible) }
        var description: String { "followed \(followed)/\(visible) visible of \(frames) frames (missed at \(misses))" }
    }

    /// Reference faces of every frame (RetinaFace or full-size HOG), computed once per clip.
    static func reference(_ path: String, _ e: (hogOnly: FaceEngine, assisted: FaceEngine, reference: FaceEngine)) throws -> [[Rect]] {
        let reader = try VideoReader.open(path)
        var out: [[Rect]] = []
        while let f = try reader.next() {
            out.append(e.reference.analyze(f.image).faces.map(\.box) + e.hogOnly.analyze(f.image).faces.map(\.box))
        }
        return out
    }

    static func follows(_ a: FrameAnalysis, _ ref: [Rect]) -> Bool {
        a.faces.contains { f in ref.contains { f.box.iou($0) > 0.3 || f.box.intersection($0).area > 0.5 * $0.area } }
    }

    /// Runs a tracker over the clip; coverage against the reference and the frames on which it reported a face.
    static func track(_ path: String, engine: FaceEngine, reference ref: [[Rect]]) throws -> (Coverage, [Bool]) {
        let reader = try VideoReader.open(path)
        let tracker = FaceTracker(engine: engine)
        var c = Coverage()
        var reported: [Bool] = []
        while let f = try reader.next() {
            let a = tracker.process(f)
            reported.append(!a.faces.isEmpty)
            c.frames += 1
            guard f.index < ref.count, !ref[f.index].isEmpty else { continue }
            c.visible += 1
            if follows(a, ref[f.index]) { c.followed += 1 } else { c.misses.append(f.index) }
        }
        return (c, reported)
    }

    /// The tracker's face-likeness probe: at margin 0 it returns exactly HOG's region detections; below 0 it adds
    /// windows under the threshold, none scoring below the margin asked; a blank region scores nothing.
    @Test(.enabled(if: TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata` and the base models"))
    func hogScoresBelowTheThreshold() throws {
        let detector = try FaceDetector(.hog)
        let photo = try Image.read(TestPaths.testImage("obama.jpg"))
        let face = try #require(detector.detect(photo, maxSide: 640).first)
        let roi = face.box.expanded(by: 0.5).clamped(width: Double(photo.width), height: Double(photo.height))
        let side = Int(max(roi.width, roi.height) * min(1, 110 / face.box.width))
        let plain = detector.detect(photo, in: roi, maxSide: side)
        let atZero = detector.hogScores(photo, in: roi, maxSide: side, adjustThreshold: 0)
        #expect(!plain.isEmpty)
        #expect(atZero == plain)
        let below = detector.hogScores(photo, in: roi, maxSide: side, adjustThreshold: TrackerConstants.weakFaceMargin)
        #expect(below.count >= atZero.count)
        #expect(below.allSatisfy { $0.score >= TrackerConstants.weakFaceMargin - 1e-6 })
        // Blank: nothing face-like at all.
        let blank = try #require(Image.fromGray(Array(repeating: 128, count: 320 * 240), width: 320, height: 240))
        #expect(detector.hogScores(blank, in: Rect(x: 0, y: 0, width: 320, height: 240), adjustThreshold: TrackerConstants.weakFaceMargin).isEmpty)
    }

    /// Head roll swinging to ±30° (1.5 cycles over 3 s), the face otherwise still.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func rollToThirtyDegrees() async throws {
        let e = try await Self.engines()
        let path = try Self.clip("roll", seconds: 3, post: "rotate=a='0.53*sin(2*PI*t/2)':c=0x808080")
        let ref = try Self.reference(path, e)
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let (c, _) = try Self.track(path, engine: engine, reference: ref)
            #expect(c.visible >= 30, "\(name): reference finds the face on too few frames: \(c)")
            #expect(c.rate >= 0.97, "\(name): \(c)")
        }
    }

    /// The face slides out of the left edge (up to ≈ 45 % of it outside) and down until the chin leaves the frame.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func faceLeavesTheFramePartly() async throws {
        let e = try await Self.engines()
        let path = try Self.clip("leave", seconds: 4, x: "112-240*(0.5-0.5*cos(2*PI*t/2))*lt(t,2)",
                                 y: "52+130*(0.5-0.5*cos(2*PI*(t-2)/2))*gte(t,2)")
        let ref = try Self.reference(path, e)
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let (c, _) = try Self.track(path, engine: engine, reference: ref)
            #expect(c.visible >= 40, "\(name): \(c)")
            // Session 10 (AMD EPYC, AVX-512): OpenCV's AVX2/FMA RetinaFace boxed only the visible half of the face at
            // the edge (frames 14-16, 95x162 px); the track took that size and offset, then lagged the face
            // re-entering at ~25 px/frame by 60-70 px and missed frames 23-26 (56/60). An assist box cut by an edge
            // is now squared across it (`FaceTracker.hogLike`): 59/60 with the assist, as HOG alone.
            #expect(c.rate >= 0.97, "\(name): \(c)")
        }
    }

    /// Fast motion: the face crosses a third of its width per frame, and every other frame is dropped on top.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func fastMotionAndDroppedFrames() async throws {
        let e = try await Self.engines()
        let path = try Self.clip("fast", seconds: 4, x: "112+100*sin(2*PI*t/1.5)", y: "52+40*sin(2*PI*t/1.1)",
                                 post: "fps=7.5")
        let ref = try Self.reference(path, e)
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let (c, _) = try Self.track(path, engine: engine, reference: ref)
            #expect(c.visible >= 20, "\(name): \(c)")
            #expect(c.rate >= 0.97, "\(name): \(c)")
        }
    }

    /// The whole frame shrunk to 240×180 (face ≈ 75 px wide, under HOG's 80 px window at tracking size).
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func downscaledFrames() async throws {
        let e = try await Self.engines()
        let path = try Self.clip("small", seconds: 2, x: "112+40*sin(2*PI*t/2)", post: "scale=240:180")
        let ref = try Self.reference(path, e)
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let (c, _) = try Self.track(path, engine: engine, reference: ref)
            #expect(c.visible >= 20, "\(name): \(c)")
            #expect(c.rate >= 0.97, "\(name): \(c)")
        }
    }

    /// Close to the camera: the face scaled to 440 px on the 480×360 canvas (its box ≈ 60–70 % of the frame width),
    /// sliding down until nose, mouth and chin are below the bottom edge, as a selfie taken looking down does (#14:
    /// the tracker lost such a face for 1.5 s). Issue 14's bar: ≥ 99 % of the frames a still detector sees a face on.
    /// Until session 11 HOG alone followed 49/60 (frames 28–38 lost), with RetinaFace 59/60: dlib's shape predictor
    /// reads the pixels below the frame as black and the landmarks slid sideways off the still face. Now the rows
    /// below the frame are filled once the mouth leaves it (`BelowFrameFill`; not while only the chin is out, where
    /// LivePortrait d3's turn-right needs dlib's own reading), and a track whose eyes are in the frame is kept.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func closeFaceWithChinOutOfTheBottom() async throws {
        let e = try await Self.engines()
        let path = try Self.clip("close", seconds: 4, x: "20", y: "-60+170*(0.5-0.5*cos(2*PI*t/4))", size: 440)
        let ref = try Self.reference(path, e)
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let (c, _) = try Self.track(path, engine: engine, reference: ref)
            #expect(c.visible >= 40, "\(name): reference finds the face on too few frames: \(c)")
            #expect(c.rate >= 0.99, "\(name): \(c)")
        }
    }

    /// The close face of `closeFaceWithChinOutOfTheBottom` (the 15 fps clip) resampled to 10 and to 30 fps (its
    /// pictures dropped or repeated, a second `ffmpeg -vf fps=N`). The hold of a face partly out of the frame is a
    /// time (`maxBorderMissSeconds`): as 3 missed checks 8 frames apart it lasted 0.8 s at 30 fps, and HOG alone lost
    /// this face on frames 72–77 of 120 (114/120, sessions 11 and 12), while the same count held it at 10 and 15 fps.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func closeFaceAtTenAndThirtyFps() async throws {
        let e = try await Self.engines()
        let source = try Self.clip("close15", seconds: 4, x: "20", y: "-60+170*(0.5-0.5*cos(2*PI*t/4))", size: 440)
        for rate in [10, 30] {
            let path = TestPaths.tempDir("fg-track") + "/close\(rate).mp4"
            try ffmpeg(["-i", source, "-vf", "fps=\(rate)", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", path])
            let ref = try Self.reference(path, e)
            for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
                let (c, _) = try Self.track(path, engine: engine, reference: ref)
                #expect(c.visible >= 3 * rate, "\(name) at \(rate) fps: reference finds the face on too few frames: \(c)")
                #expect(c.rate >= 0.99, "\(name) at \(rate) fps: \(c)")
            }
        }
    }

    /// A fast, blurred turn of a real head (Krzysiek fixture clip, 16 fps source resampled to 30 fps as the
    /// evaluation does, so every picture comes twice): the landmark fit on the blurred pictures depends on the box,
    /// which follows the previous fit, and the same picture was fitted 41° of yaw apart on consecutive frames
    /// (frames 77/78; 10 poses more than 20° from both neighbours with the assist, 13 with HOG alone, session 11).
    /// The tracker reports no such out-and-back pose now (`PoseContinuity` per track), and still follows the turns.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func noPoseFlipsOnABlurredFastTurn() async throws {
        let e = try await Self.engines()
        let out = TestPaths.tempDir("fg-track") + "/krzysiek30.mkv"
        try ffmpeg(["-i", TestPaths.fixture("liveness/Krzysiek354__Python_Face_Detection/videos/real.mp4"), "-an", "-vf", "fps=30",
                    "-c:v", "ffv1", out])
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let reader = try VideoReader.open(out)
            let tracker = FaceTracker(engine: engine)
            var poses: [HeadPose] = []
            while let f = try reader.next() {
                if let face = tracker.process(f).faces.first { poses.append(face.pose) }
            }
            #expect(poses.count >= 250, "\(name): face on \(poses.count) frames")
            let outAndBack = (1..<max(1, poses.count - 1)).filter { i in
                PoseContinuity.distance(poses[i], poses[i - 1]) > 20 && PoseContinuity.distance(poses[i], poses[i + 1]) > 20
                    && PoseContinuity.distance(poses[i - 1], poses[i + 1]) < 20
            }
            #expect(outAndBack.isEmpty, "\(name): poses > 20° from both neighbours at frames \(outAndBack)")
            // The person turns both ways by more than 30° (reported −34…+33° with the assist, −44…+33° HOG alone).
            #expect((poses.map(\.yaw).max() ?? 0) >= 25 && (poses.map(\.yaw).min() ?? 0) <= -25, "\(name): turns lost")
        }
    }

    /// A track started just before a blink at 10 fps, as each live session starts its own: LivePortrait d0 from
    /// 1.22 s and d6 from 29.67 s (the evaluator's event sessions for the blinks at 2.52 s and 30.97 s), the clips
    /// resampled with `ffmpeg -vf fps=10`. With the eye points from the tracking fit (its box seeded by the previous
    /// fit) the closed eye read 0.22 (d0) and 0.43 (d6), 86 % and 101 % of the open EAR: no blink, `input_ended`.
    /// Re-fitted in the last detection's box moved with the face (`Configuration.eyesFromDetection`): under the blink
    /// detector's `closedRatio`, with and without the assist, and the open eye reads as with the tracking fit.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func closedEyeOfAFreshTrackAtTenFps() async throws {
        let e = try await Self.engines()
        let cases: [(clip: String, start: Double, closed: Double)] = [("d0", 1.22, 2.6), ("d6", 29.67, 31.0)]
        for c in cases {
            let out = TestPaths.tempDir("fg-track") + "/\(c.clip)-10.mkv"
            try ffmpeg(["-i", TestPaths.fixture("motion/KwaiVGI__LivePortrait/assets/examples/driving/\(c.clip).mp4"), "-an",
                        "-vf", "fps=10", "-c:v", "ffv1", out])
            for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
                var openByFit: [Bool: Double] = [:]
                for fromDetection in [false, true] {
                    var configuration = FaceTracker.Configuration()
                    configuration.eyesFromDetection = fromDetection
                    let reader = try VideoReader.open(out)
                    let tracker = FaceTracker(engine: engine, configuration: configuration)
                    var open: [Double] = []
                    var closed: Double?
                    while let f = try reader.next() {
                        if f.timestamp < c.start - 1e-6 { continue }
                        if f.timestamp > c.closed + 0.05 { break }
                        guard let face = tracker.process(f).faces.first else { continue }
                        // The calibration window's open eye (0.6 s), and the picture with the eye shut (checked by eye).
                        if f.timestamp < c.start + 0.6 { open.append(face.ear.mean) }
                        if abs(f.timestamp - c.closed) < 0.05 { closed = face.ear.mean }
                    }
                    try #require(open.count >= 5, "\(c.clip) \(name): face on \(open.count) calibration frames")
                    let shut = try #require(closed, "\(c.clip) \(name): no face on the closed-eye picture at \(c.closed) s")
                    let reference = open.sorted()[open.count / 2]
                    openByFit[fromDetection] = reference
                    if fromDetection {
                        #expect(shut <= BlinkDetector.closedRatio * reference,
                                "\(c.clip) \(name): closed eye at EAR \(shut), open \(reference): fitted off the eyes")
                    }
                }
                let tracking = try #require(openByFit[false]), detection = try #require(openByFit[true])
                #expect(abs(detection / tracking - 1) < Self.openEyeAgreement,
                        "\(c.clip) \(name): open EAR \(detection) re-fitted vs \(tracking) from the tracking fit")
            }
        }
    }

    /// The open eye re-fitted from the detection reads within this fraction of the tracking fit's (measured on d0 and
    /// d6 at 10 fps: 0.258 → 0.275 and 0.425 → 0.420, i.e. ≤ 7 %; the blink detector's closed ratio is 0.7).
    static let openEyeAgreement = 0.15

    /// A mirrored camera (front cameras and the page preview mirror) rolling to ±30° while moving: the same face,
    /// flipped left-right, must be followed as well as the original.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func mirroredFaceRollingAndMoving() async throws {
        let e = try await Self.engines()
        let path = try Self.clip("mirror", seconds: 3, x: "112+60*sin(2*PI*t/3)", pre: "hflip",
                                 post: "rotate=a='-0.53*sin(2*PI*t/2)':c=0x808080")
        let ref = try Self.reference(path, e)
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let (c, _) = try Self.track(path, engine: engine, reference: ref)
            #expect(c.visible >= 30, "\(name): reference finds the face on too few frames: \(c)")
            #expect(c.rate >= 0.99, "\(name): \(c)")
        }
    }

    /// The face growing from 120 px to 360 px and back (walking up to the camera and away) over 4 s.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func faceGrowsAndShrinks() async throws {
        let e = try await Self.engines()
        let out = TestPaths.tempDir("fg-track") + "/zoom.mp4"
        // scale with a per-frame size (eval=frame), centred on the canvas.
        let graph = "color=c=0x808080:s=480x360:r=15:d=4[bg];[0:v]fps=15,scale=w='2*trunc((240-120*cos(2*PI*t/4))/2)':h=-2:eval=frame,setsar=1[fg];"
            + "[bg][fg]overlay=x='(W-w)/2':y='(H-h)/2':shortest=1:eval=frame[v]"
        try ffmpeg(["-i", TestPaths.fixture(Self.source), "-t", "4", "-filter_complex", graph, "-map", "[v]",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", out])
        let ref = try Self.reference(out, e)
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let (c, _) = try Self.track(out, engine: engine, reference: ref)
            #expect(c.visible >= 40, "\(name): reference finds the face on too few frames: \(c)")
            #expect(c.rate >= 0.99, "\(name): \(c)")
        }
    }

    /// Cuts from the face to a blank frame, to a textured scene, and back: no face may be reported on the faceless
    /// frames beyond the first `maxFramesAfterCut`, and the face is found again after the cut back.
    @Test(.enabled(if: enabled, "needs ../shared/fixtures and the base models")) func noFaceAfterACutToBlankOrScenery() async throws {
        let e = try await Self.engines()
        let out = TestPaths.tempDir("fg-track") + "/cuts.mp4"
        // 0–1.5 s face, 1.5–2.5 s grey, 2.5–3.5 s a Mandelbrot zoom (texture, edges, no face), 3.5–4.5 s the face again.
        let graph = "[0:v]fps=15,scale=256:256,setsar=1,split[f1][f2];[f1]trim=0:1.5,setpts=PTS-STARTPTS[a];"
            + "[f2]trim=1.5:2.5,setpts=PTS-STARTPTS[d];"
            + "color=c=0x808080:s=256x256:r=15:d=1,setsar=1,format=yuv420p[b];mandelbrot=s=256x256:r=15,trim=0:1,setpts=PTS-STARTPTS,setsar=1,format=yuv420p[c];"
            + "[a][b][c][d]concat=n=4:v=1:a=0,format=yuv420p[v]"
        try ffmpeg(["-t", "3", "-i", TestPaths.fixture(Self.source), "-filter_complex", graph, "-map", "[v]",
                    "-c:v", "libx264", "-crf", "18", out])
        for (name, engine) in [("hog", e.hogOnly), ("hog+retinaface", e.assisted)] {
            let reader = try VideoReader.open(out)
            let tracker = FaceTracker(engine: engine)
            var reported: [Bool] = []
            while let f = try reader.next() { reported.append(!tracker.process(f).faces.isEmpty) }
            #expect(reported.count >= 66, "\(name): \(reported.count) frames")
            guard reported.count >= 66 else { continue }
            // Frames 0–21: face; 22–36 grey; 37–51 scene; 52– face.
            let blank = Array(reported[22..<37]), scene = Array(reported[37..<52])
            let falseBlank = blank.dropFirst(Self.maxFramesAfterCut).filter { $0 }.count
            let falseScene = scene.dropFirst(Self.maxFramesAfterCut).filter { $0 }.count
            #expect(falseBlank == 0, "\(name): face reported on grey frames: \(blank)")
            #expect(falseScene == 0, "\(name): face reported on scenery frames: \(scene)")
            #expect(reported[2..<22].allSatisfy { $0 }, "\(name): face lost before the cut: \(reported[0..<23])")
            #expect(reported[55...].allSatisfy { $0 }, "\(name): face not found again: \(reported[52...])")
        }
    }
}
