import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Testing

/// Issue 16's targets on the fixtures, at the default threshold and the default score rule (docs/identity.md):
/// every PAIRS.tsv pair answered by each photo's subject with accuracy ≥ 0.99; enrollment accepts ≥ 95 % of the
/// labelled identity photos at the standard quality level; with 3 enrolled photos per identity, rank-1 ≥ 0.99 and
/// unknown people rejected ≥ 0.99.
@Suite(.serialized, .enabled(if: TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures and models"))
struct IdentityTargetTests {
    /// Identity → photo paths (LABELS.tsv, file order).
    static func labelled() throws -> [(name: String, paths: [String])] {
        let text = try String(contentsOfFile: TestPaths.fixture("LABELS.tsv"), encoding: .utf8)
        var order: [String] = [], out: [String: [String]] = [:]
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: "\t").map(String.init)
            guard f.count == 2 else { continue }
            if out[f[1]] == nil { order.append(f[1]) }
            out[f[1], default: []].append(TestPaths.fixture(f[0]))
        }
        return order.map { ($0, out[$0]!) }
    }

    @Test("every PAIRS.tsv pair is answered by the subjects, accuracy >= 0.99 at the default threshold")
    func pairsAnsweredAndAccurate() throws {
        let text = try String(contentsOfFile: TestPaths.fixture("PAIRS.tsv"), encoding: .utf8)
        let rows = text.split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: "\t").map(String.init) }
            .filter { $0.count >= 5 }
        #expect(rows.count >= 71)
        var cache: [String: Embedding] = [:]
        var correct = 0
        var wrong: [String] = []
        try EnginePool.shared.with { engine in
            func embedding(_ rel: String) throws -> Embedding {
                if let e = cache[rel] { return e }
                let e = try IdentityProbe.embedding(image: TestPaths.fixture(rel), engine: engine)  // throws = not answered
                cache[rel] = e
                return e
            }
            for r in rows {
                let d = try embedding(r[0]).distance(to: embedding(r[1]))
                if (d <= IdentityThreshold.default) == (r[4] == "1") { correct += 1 } else { wrong.append("\(r[2])/\(r[3]) \(d)") }
            }
        }
        #expect(Double(correct) / Double(rows.count) >= 0.99, "\(correct)/\(rows.count); wrong: \(wrong)")
    }

    @Test("enrollment accepts >= 95 % of the fixture identity photos; 3 enrolled photos: rank-1 and unknowns rejected >= 0.99")
    func enrollmentAndIdentificationTargets() async throws {
        let people = try Self.labelled()
        let all = people.flatMap(\.paths)
        let collection = try EnginePool.shared.with { try Enroller(engine: $0).collect(images: all, wantThumbnail: false) }
        let rate = Double(collection.accepted.count) / Double(all.count)
        #expect(rate >= 0.95, "enrollment accepted \(collection.accepted.count)/\(all.count)")

        let dir = TestPaths.tempDir("facegate-identity-targets")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gallery = try SQLiteGallery(path: dir + "/g.sqlite", key: .generate(source: "test"))
        var probes: [(String, String)] = [], unknown: [String] = []
        for (name, paths) in people {
            guard paths.count >= 4 else { unknown += paths; continue }
            let enrolled = try EnginePool.shared.with { try Enroller(engine: $0).collect(images: Array(paths.prefix(3)), wantThumbnail: false) }
            try #require(!enrolled.templates.isEmpty, "no photo of \(name) passed the gate")
            try await gallery.enroll(Enrollment(name: name, templates: enrolled.templates))
            probes += paths.dropFirst(3).map { (name, $0) }
        }
        let index = IdentityIndexService(gallery: gallery, threads: 1)
        try await index.load()
        var rank1 = 0, rejected = 0
        for (name, path) in probes {
            let e = try EnginePool.shared.with { try IdentityProbe.embedding(image: path, engine: $0) }
            if try await index.identify(e).user == name { rank1 += 1 }
        }
        for path in unknown {
            let e = try EnginePool.shared.with { try IdentityProbe.embedding(image: path, engine: $0) }
            if try await index.identify(e).user == nil { rejected += 1 }
        }
        await gallery.close()
        #expect(probes.count >= 7 && unknown.count >= 10)
        #expect(Double(rank1) / Double(probes.count) >= 0.99, "rank-1 \(rank1)/\(probes.count)")
        #expect(Double(rejected) / Double(unknown.count) >= 0.99, "unknowns rejected \(rejected)/\(unknown.count)")
    }
}
