import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// The default chip sampler (fast_chip.hpp) must give dlib's `extract_image_chip` bytes exactly: same pyramid, same
/// sample points, same double-precision blend. Checked on every labelled fixture face and on frames of two motion
/// clips, at the chip settings the product uses, on the faces as they are and rescaled (other pyramid depths).
@Suite struct FaceChipEquivalenceTests {
    /// (side, padding) of every chip FaceGate cuts: embedding 150/0.25, passive texture 96/0.1 (PadNative),
    /// trained-model crops 64/0.2 (TrainingBench, Gatherer default) and 64/0.25.
    static let settings: [(Int, Double)] = [(150, 0.25), (96, 0.1), (64, 0.2), (64, 0.25)]

    struct Face: Sendable { var name: String; var image: Image; var points: [Point2] }

    /// Found once per test process (detection + landmarks on 80-odd frames), shared by the tests below.
    static let cachedFaces: Result<[Face], any Error> = Result { try findFixtureFaces() }
    static func fixtureFaces() throws -> [Face] { try cachedFaces.get() }

    static func findFixtureFaces() throws -> [Face] {
        var faces: [Face] = []
        let labels = try String(contentsOfFile: TestPaths.fixture("LABELS.tsv"), encoding: .utf8)
        let images = labels.split(separator: "\n").dropFirst().compactMap { $0.split(separator: "\t").first.map(String.init) }
        try EnginePool.shared.with { engine in
            for rel in images {
                let img = try Image.read(TestPaths.fixture(rel))
                guard let face = try engine.analyze(img).primary else { continue }
                faces.append(Face(name: rel, image: img, points: try engine.alignmentPoints(img, face: face)))
                faces.append(Face(name: rel + " (68-point)", image: img, points: face.landmarks.points))
            }
            for clip in ["motion/repeating__Blink-Detector/video.mp4",
                         "motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"] {
                let reader = try VideoReader.open(TestPaths.fixture(clip))
                while let frame = try reader.next() {
                    guard frame.index % 30 == 0 else { continue }
                    guard let face = try engine.analyze(frame.image).primary else { continue }
                    faces.append(Face(name: "\(clip)#\(frame.index)", image: frame.image,
                                      points: try engine.alignmentPoints(frame.image, face: face)))
                }
            }
        }
        return faces
    }

    /// Number of differing bytes between the fast and the dlib chip (Int.max when one is missing or sizes differ).
    static func differingBytes(_ image: Image, _ points: [Point2], side: Int, padding: Double) -> Int {
        guard let fast = faceChip(image, points: points, size: side, padding: padding, sampler: .fast),
              let ref = faceChip(image, points: points, size: side, padding: padding, sampler: .dlibReference),
              fast.width == ref.width, fast.height == ref.height else { return .max }
        return zip(fast.bgrBytes, ref.bgrBytes).reduce(0) { $0 + ($1.0 == $1.1 ? 0 : 1) }
    }

    @Test func fastSamplerIsActiveOnThisBuild() {
        #if arch(x86_64)
        // Package.swift builds the shim with -mavx2 -mfma on this kind of host; if a compiler or flag change turned
        // the fast sampler off, every chip would quietly fall back to dlib (3.5-5x slower). FACEGATE_PORTABLE=1
        // builds have no AVX2 and are exempt.
        let portable = ProcessInfo.processInfo.environment["FACEGATE_PORTABLE"] == "1"
        let avx2 = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx2")
        if avx2 && !portable { #expect(fastChipSamplerActive, "fast chip sampler disabled: its self-test against dlib failed") }
        #endif
    }

    @Test func fastChipsAreByteIdenticalToDlibOnFixtureFaces() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let faces = try Self.fixtureFaces()
        try #require(faces.count >= 50, "only \(faces.count) fixture faces found")
        var chips = 0
        for face in faces {
            for (side, padding) in Self.settings {
                let diff = Self.differingBytes(face.image, face.points, side: side, padding: padding)
                #expect(diff == 0, "\(face.name) chip \(side)/\(padding): \(diff) differing bytes")
                chips += 1
            }
        }
        print("FaceChipEquivalence: \(chips) chips from \(faces.count) faces, all byte-identical")
    }

    /// Rescaled frames take other pyramid depths (0..3 levels of pyramid_down<2>) and faces near the border.
    @Test func fastChipsAreByteIdenticalOnRescaledAndShiftedFaces() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let faces = Array(try Self.fixtureFaces().filter { !$0.name.contains("68-point") }.prefix(12))
        try #require(faces.count == 12)
        for face in faces {
            for scale in [0.5, 2.0, 3.0] {
                let w = Int(Double(face.image.width) * scale), h = Int(Double(face.image.height) * scale)
                let img = face.image.resized(width: w, height: h)
                let pts = face.points.map { Point2($0.x * scale, $0.y * scale) }
                for (side, padding) in Self.settings {
                    let diff = Self.differingBytes(img, pts, side: side, padding: padding)
                    #expect(diff == 0, "\(face.name) x\(scale) chip \(side)/\(padding): \(diff) differing bytes")
                }
            }
            // Landmarks pushed towards (and past) the top-left corner: the chip is partly outside the frame (black).
            let dx = (face.points.map(\.x).min() ?? 0) + 40, dy = (face.points.map(\.y).min() ?? 0) + 30
            let shifted = face.points.map { Point2($0.x - dx, $0.y - dy) }
            let diff = Self.differingBytes(face.image, shifted, side: 150, padding: 0.25)
            #expect(diff == 0, "\(face.name) off-frame chip: \(diff) differing bytes")
        }
    }

    /// The embedding from the fast chip equals the one from dlib's chip exactly (same bytes in, same network).
    @Test func embeddingsUnchangedByTheFastSampler() throws {
        try #require(TestPaths.hasModels, "needs `make models`")
        try #require(TestPaths.hasFixtures, "needs ../shared/fixtures")
        let model = try ModelDirectory.resolve().locate(BaseModels.resnet, verify: false)
        let fast = try FaceEmbedder(path: model)
        let reference = try FaceEmbedder(path: model, chipSampler: .dlibReference)
        let faces = Array(try Self.fixtureFaces().filter { !$0.name.contains("68-point") }.prefix(4))
        try #require(faces.count == 4)
        for face in faces {
            let a = try #require(fast.embed(face.image, points: face.points))
            let b = try #require(reference.embed(face.image, points: face.points))
            #expect(a.values == b.values, "\(face.name): embeddings differ")
        }
    }

    @Test func badInputGivesNoChip() {
        let pts = [Point2(20, 20), Point2(30, 20), Point2(44, 20), Point2(34, 20), Point2(32, 40)]
        #expect(faceChip(Image(width: 64, height: 64), points: Array(pts.prefix(3))) == nil)
        #expect(faceChip(Image(width: 64, height: 64), points: pts, size: 0) == nil)
        // A valid call on a blank frame still works (all-black chip), on both samplers.
        #expect(faceChip(Image(width: 64, height: 64), points: pts, size: 32)?.width == 32)
        #expect(faceChip(Image(width: 64, height: 64), points: pts, size: 32, sampler: .dlibReference)?.width == 32)
    }
}
