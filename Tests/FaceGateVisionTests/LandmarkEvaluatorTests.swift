import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// The flat, prefetching tree evaluator (landmarks.cpp) must give exactly dlib's landmarks: same trees, same
/// comparisons, same order of additions. Checked on real faces across a head-turning clip, for both the 68-point
/// and the 5-point model, including boxes that are off-centre, tiny or partly outside the frame.
@Suite struct LandmarkEvaluatorTests {
    @Test func fastEvaluatorMatchesDlibExactly() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let models = ModelDirectory.resolve()
        let clip = TestPaths.fixture("motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4")
        let reader = try VideoReader.open(clip)
        var frames: [Image] = []
        while let f = try reader.next(), frames.count < 40 { if f.index % 2 == 0 { frames.append(f.image) } }
        try #require(frames.count >= 15)
        for model in [BaseModels.landmarks68, BaseModels.landmarks5] {
            let path = try models.locate(model, verify: false)
            let fast = try LandmarkModel(path: path)
            let reference = try LandmarkModel(path: path, evaluator: .dlibReference)
            #expect(fast.parts == reference.parts)
            var compared = 0
            try EnginePool.shared.with { engine in
                for img in frames {
                    guard let face = engine.analyze(img).faces.first else { continue }
                    let b = face.box
                    let boxes = [b,
                                 Rect(x: b.x + b.width * 0.15, y: b.y - b.height * 0.1, width: b.width * 0.9, height: b.height * 0.9),
                                 Rect(x: -b.width / 3, y: b.y, width: b.width, height: b.height),
                                 Rect(x: b.x, y: b.y, width: 12, height: 12)]
                    for box in boxes {
                        let a = fast.predict(img, box: box), r = reference.predict(img, box: box)
                        #expect(a == r, "landmarks differ for box \(box)")
                        compared += 1
                    }
                }
            }
            #expect(compared >= 60, "only \(compared) boxes compared")
        }
    }

    @Test func truncatedModelIsRefused() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        let path = try ModelDirectory.resolve().locate(BaseModels.landmarks68, verify: false)
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        let cut = TestPaths.tempDir() + "/truncated.dat"
        try data.prefix(data.count / 3).write(to: URL(fileURLWithPath: cut))
        #expect(throws: FaceGateError.self) { _ = try LandmarkModel(path: cut) }
    }
}
