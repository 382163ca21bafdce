import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Testing

private let people = "identities/ageitgey__face_recognition/examples/face_recognition_svm_proba/people_dataset/train/"

/// A web-style photo made from a fixture portrait: a square crop around the subject scaled to 250×250 so the face
/// is ≈ `face` px wide, JPEG quality `quality` — the kind of photo issue 16 saw refused as "too blurry".
private func webPhoto(_ path: String, face: Double = 100, quality: Int = 75, engine: FaceEngine) throws -> Image {
    let img = try Image.read(path)
    let f = try #require(engine.analyze(img).subject)
    let side = min(f.box.width * 250 / face, Double(min(img.width, img.height)))
    let c = f.box.center
    let x = max(0, min(Double(img.width) - side, c.x - side / 2)), y = max(0, min(Double(img.height) - side, c.y - side / 2))
    let crop = img.cropped(Rect(x: x, y: y, width: side, height: side)).resized(width: 250, height: 250)
    return try Image.decode(try #require(crop.jpeg(quality: quality)))
}

@Suite(.serialized, .enabled(if: TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures and models"))
struct EnrollmentQualityTests {
    /// Three 250 px web photos (face ≈ 100 px, JPEG q75) of one person enroll at the standard level; the same photos
    /// defocused (down- and up-sampled) or darkened are refused with a reason and a hint how to relax the gate.
    @Test func webPhotosEnrollAndDegradedOnesAreRefused() throws {
        let dir = TestPaths.tempDir("facegate-quality")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sources = ["paul_allen/paul_allen.jpg", "paul_allen/paul_allen2.jpg", "guido_van_rossum/guido_van_rossum1.jpg"]
        var web: [String] = [], blurred: [String] = [], dark: [String] = []
        try EnginePool.shared.with { engine in
            for (i, s) in sources.enumerated() {
                let w = try webPhoto(TestPaths.fixture(people + s), engine: engine)
                let p = "\(dir)/web\(i).jpg"; try w.write(p); web.append(p)
                // Defocus: 250 → 50 → 250 px (a blur of ≈ 5 px at a 100 px face).
                let b = w.resized(width: 50, height: 50).resized(width: 250, height: 250)
                let pb = "\(dir)/blur\(i).jpg"; try b.write(pb); blurred.append(pb)
                let d = w.clone()
                d.withBGRBytes { px in for k in px.indices { px[k] = UInt8(Double(px[k]) * 0.15) } }
                let pd = "\(dir)/dark\(i).png"; try d.write(pd); dark.append(pd)
            }
            let good = try Enroller(engine: engine).collect(images: web, wantThumbnail: false)
            #expect(good.accepted.count == web.count, "refused: \(good.rejected.map { "\($0.source): \($0.rejections)" })")
            let bad = try Enroller(engine: engine).collect(images: blurred + dark, wantThumbnail: false)
            #expect(bad.accepted.isEmpty, "accepted: \(bad.accepted.map { "\($0.source) \(String(describing: $0.measurements))" })")
            let codes = Set(bad.rejected.flatMap { $0.rejections.map(\.code) })
            #expect(codes.isSubset(of: ["blurry", "too_dark", "no_face"]) && codes.contains("blurry") && codes.contains("too_dark"), "\(codes)")
            print("web photos: sharpness \(good.accepted.compactMap { $0.measurements?.sharpness }.map { String(format: "%.3f", $0) }), "
                  + "blurred \(bad.rejected.compactMap { $0.measurements?.sharpness }.map { String(format: "%.3f", $0) })")
        }
        // The CLI: the web photos enroll; a refusal says how to relax the gate.
        try #require(FileManager.default.isExecutableFile(atPath: TestPaths.cli), "needs the facegate binary (swift build)")
        let env = ["FACEGATE_DB": "sqlite:" + dir + "/g.sqlite", "FACEGATE_KEY": GalleryKey.generate().base64, "FACEGATE_CONFIG": ""]
        var r = try runCLI(["enroll", "--user", "web", "--images"] + Array(web.prefix(2)), environment: env)
        #expect(r.status == 0 && r.stdout.contains("enrolled web: 2 templates"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["enroll", "--user", "blurry", "--images", blurred[0]], environment: env)
        #expect(r.status == 2 && r.stderr.contains("--quality lenient"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["enroll", "--user", "blurry", "--images", blurred[0], "--quality", "strict"], environment: env)
        #expect(r.status == 2 && r.stderr.contains("--quality standard"), "\(r.stderr)")
        r = try runCLI(["enroll", "--user", "x", "--images", web[0], "--quality", "sloppy"], environment: env)
        #expect(r.status == 2 && r.stderr.contains("lenient, standard or strict"), "\(r.stderr)")
    }
}
