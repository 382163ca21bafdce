import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// The HOG detector's own evaluation (hog.cpp: reused buffers, wider filter loops) must find exactly what dlib's
/// object_detector call finds: same boxes, same scores to the bit. Checked on the fixture media the way the pipeline
/// feeds the detector (longer side brought down to 320 px, as the tracker does), on the 320x240 bench size, with
/// up-sampling, and inside regions of interest.
@Suite struct HOGDetectorTests {
    /// Frames of each clip that are compared (every n-th frame; the clips are 5–30 s at 25–30 fps).
    static let clipStride = 12
    /// Clips are long; this many frames per clip keep the test a few seconds in a debug build.
    static let framesPerClip = 12

    @Test func fastEvaluationMatchesDlibExactly() throws {
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let fast = try FaceDetector(.hog)
        let reference = try FaceDetector(.hog, hogEvaluator: .dlibReference)
        var frames: [(String, Image)] = []
        let identities = try FileManager.default.contentsOfDirectory(atPath: TestPaths.fixture("identities"))
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        for name in identities { frames.append((name, try Image.read(TestPaths.fixture("identities/" + name)))) }
        let clips = ["identities/ageitgey__face_recognition/examples/short_hamilton_clip.mp4",
                     "liveness/lestari15__CNN-face-detection/videos/real.mp4",
                     "liveness/lestari15__CNN-face-detection/videos/fake.mp4",
                     "liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/videos/fake.mp4",
                     "motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4",
                     "motion/KwaiVGI__LivePortrait/assets/examples/driving/d14.mp4",
                     "motion/repeating__Blink-Detector/video.mp4",
                     "motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4"]
        for clip in clips where FileManager.default.fileExists(atPath: TestPaths.fixture(clip)) {
            let reader = try VideoReader.open(TestPaths.fixture(clip))
            var taken = 0
            while taken < Self.framesPerClip, let f = try reader.next() {
                if f.index % Self.clipStride == 0 { frames.append(("\(clip)#\(f.index)", f.image)); taken += 1 }
            }
        }
        try #require(frames.count >= 60, "only \(frames.count) fixture frames")

        var compared = 0, withFaces = 0
        for (name, img) in frames {
            let tracking = PipelineConstants.trackingDetectSide
            let a = fast.detect(img, maxSide: tracking), r = reference.detect(img, maxSide: tracking)
            #expect(a == r, "\(name): detections differ at \(tracking) px")
            let bench = img.resized(width: 320, height: 240)
            #expect(fast.detect(bench) == reference.detect(bench), "\(name): detections differ at 320x240")
            compared += 2
            if let face = r.first {
                withFaces += 1
                // A region around the face, as the tracker's region check does.
                let roi = Rect(x: face.box.x - face.box.width / 2, y: face.box.y - face.box.height / 2,
                               width: face.box.width * 2, height: face.box.height * 2)
                #expect(fast.detect(img, in: roi, maxSide: tracking) == reference.detect(img, in: roi, maxSide: tracking),
                        "\(name): detections differ in \(roi)")
                compared += 1
            }
        }
        // Up-sampling (dlib's pyramid_up before the detector), on a few small frames.
        for (name, img) in frames.prefix(6) {
            let small = img.resized(width: 200, height: 150)
            #expect(fast.detect(small, upsample: 1) == reference.detect(small, upsample: 1), "\(name): differ with upsample 1")
            compared += 1
        }
        #expect(withFaces >= 40, "only \(withFaces) frames with a face: the comparison would not exercise detections")
        #expect(compared >= 150)
    }

    @Test func tinyImagesAndRegionsDoNotCrash() throws {
        let fast = try FaceDetector(.hog)
        let reference = try FaceDetector(.hog, hogEvaluator: .dlibReference)
        try #require(TestPaths.hasTestImages, "needs `make testdata`")
        let img = try Image.read(TestPaths.testImage("obama.jpg"))
        for (w, h) in [(8, 8), (23, 40), (24, 24), (40, 23), (64, 64), (81, 79), (161, 97)] {
            let small = img.resized(width: w, height: h)
            #expect(fast.detect(small) == reference.detect(small), "differ at \(w)x\(h)")
        }
        let roi = Rect(x: 10, y: 10, width: 30, height: 30)
        #expect(fast.detect(img, in: roi) == reference.detect(img, in: roi))
    }
}
