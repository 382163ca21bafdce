import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Testing

private let examples = "identities/ageitgey__face_recognition/examples/"
/// The fixture photos with two people (unlabelled in LABELS.tsv).
private let twoFacePhotos = [examples + "two_people.jpg", examples + "knn_examples/test/obama_and_biden.jpg",
                             examples + "knn_examples/test/kit_with_rose.jpg"]

/// Pastes `src` into the BGR canvas at (x, y) (clipped).
private func paste(_ src: Image, into canvas: inout [UInt8], width: Int, height: Int, x: Int, y: Int) {
    let s = src.bgrBytes
    for row in 0..<src.height where y + row >= 0 && y + row < height {
        for col in 0..<src.width where x + col >= 0 && x + col < width {
            let d = ((y + row) * width + x + col) * 3, o = (row * src.width + col) * 3
            canvas[d] = s[o]; canvas[d + 1] = s[o + 1]; canvas[d + 2] = s[o + 2]
        }
    }
}

/// The head (face box grown by 40 % on every side, 1.8× its width) of the subject of a photo, scaled so the face box is `face` px wide.
private func head(_ path: String, face: Double, engine: FaceEngine) throws -> Image {
    let img = try Image.read(path)
    let f = try #require(engine.analyze(img).subject)
    let crop = img.cropped(f.box.expanded(by: 0.4))
    let s = face * 1.8 / Double(crop.width)
    return crop.resized(width: Int(Double(crop.width) * s), height: Int(Double(crop.height) * s))
}

@Suite(.serialized, .enabled(if: TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures and models"))
struct IdentitySubjectTests {
    /// Every fixture two-face photo answers with its largest face (identity's subject), whatever the detector scores.
    @Test func fixtureTwoFacePhotosUseTheLargestFace() throws {
        for rel in twoFacePhotos {
            let path = TestPaths.fixture(rel)
            let (a, s) = try EnginePool.shared.with { engine in
                (engine.analyze(try Image.read(path)), try IdentityProbe.subject(image: path, engine: engine))
            }
            #expect(a.faces.count >= 2, "\(rel): \(a.faces.count) faces")
            let widest = a.faces.map(\.box.width).max() ?? 0
            #expect(s.faces == a.faces.count && s.note == "\(a.faces.count) faces — used the largest")
            #expect(s.face.box.width >= SubjectFace.sameSizeFraction * widest,
                    "\(rel): used a \(Int(s.face.box.width)) px face, the largest is \(Int(widest)) px")
            print("\(rel): faces \(a.faces.map { "\(Int($0.box.width))px/score \(String(format: "%.2f", $0.score))" }), used \(Int(s.face.box.width)) px")
        }
    }

    /// A large face in front and a smaller one pasted into the background nearer the centre: the large one answers,
    /// and its embedding is the large face's person.
    @Test func compositeAnswersWithTheLargeFace() throws {
        let labels = try String(contentsOfFile: TestPaths.fixture("LABELS.tsv"), encoding: .utf8)
            .split(whereSeparator: \.isNewline).map { $0.split(separator: "\t").map(String.init) }
        func photos(_ who: String) -> [String] { labels.filter { $0.count == 2 && $0[1] == who }.map { TestPaths.fixture($0[0]) } }
        let big = try #require(photos("Paul_Allen").first), small = try #require(photos("Guido_van_Rossum").first)
        let (w, h) = (640, 480)   // ≤ the still-detection side: no down-scaling, the 100 px face stays detectable
        try EnginePool.shared.with { engine in
            var canvas = [UInt8](repeating: 128, count: w * h * 3)
            let bg = try head(small, face: 100, engine: engine), fg = try head(big, face: 150, engine: engine)
            paste(bg, into: &canvas, width: w, height: h, x: w / 2 - bg.width / 2 + 60, y: 20)   // near the centre, behind
            paste(fg, into: &canvas, width: w, height: h, x: 10, y: h - fg.height - 10)    // lower left, in front
            let img = try #require(Image.fromBGR(canvas, width: w, height: h))
            let s = try IdentityProbe.subject(img, source: "composite", engine: engine)
            #expect(s.faces == 2)
            #expect(s.face.box.center.x < Double(w) / 2, "the centred background face was used: \(s.face.box.intArray)")
            let allen = try IdentityProbe.subject(image: big, engine: engine).embedding
            let guido = try IdentityProbe.subject(image: small, engine: engine).embedding
            #expect(s.embedding.distance(to: allen) < s.embedding.distance(to: guido))
        }
    }

    /// `compare` answers a pair with a two-face photo (no exit 2), reports the face counts, and enrollment still
    /// refuses such a photo unless --largest-face.
    @Test func cliCompareAndEnrollWithTwoFaces() throws {
        try #require(FileManager.default.isExecutableFile(atPath: TestPaths.cli), "needs the facegate binary (swift build)")
        let two = TestPaths.fixture(examples + "knn_examples/test/obama_and_biden.jpg")
        let obama = TestPaths.fixture(examples + "knn_examples/train/obama/obama.jpg")
        var r = try runCLI(["compare", two, obama, "--json"], environment: [:])
        #expect(r.status == 0 || r.status == 1, "\(r.stderr)")
        #expect(r.stdout.range(of: #""faces":\[[2-9],1\]"#, options: .regularExpression) != nil, "\(r.stdout)")
        r = try runCLI(["compare", two, obama], environment: [:])
        #expect(r.stdout.contains(" faces — used the largest"), "\(r.stdout)")
        let dir = TestPaths.tempDir("facegate-subject")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["FACEGATE_DB": "sqlite:" + dir + "/g.sqlite", "FACEGATE_KEY": GalleryKey.generate().base64]
        r = try runCLI(["enroll", "--user", "pair", "--images", two], environment: env)
        #expect(r.status != 0 && r.stdout.contains("--largest-face"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["enroll", "--user", "pair", "--images", two, "--largest-face", "--quality", "lenient"], environment: env)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        r = try runCLI(["identify", two, "--json"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("\"user\":\"pair\"") && r.stdout.range(of: #""faces":[2-9]"#, options: .regularExpression) != nil, "\(r.stdout) \(r.stderr)")
    }
}
