import Foundation
import Testing
@testable import FaceGateCore

/// A unit vector near `base` (Gaussian noise of per-component σ = `sigma`, renormalised).
private func near(_ base: [Float], sigma: Float, _ g: inout RandomUnitVectors) -> [Float] {
    let n = g.vector()  // unit, components ~ N(0, 1/128)
    var v = zip(base, n).map { $0 + $1 * sigma * Float(128).squareRoot() }
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    for i in v.indices { v[i] /= norm }
    return v
}

@Test func poseBucketsFollowTheYawPitchConvention() {
    #expect(PoseBucket(HeadPose(yaw: 0, pitch: 3, roll: 0)) == .frontal)
    #expect(PoseBucket(HeadPose(yaw: 25, pitch: 3, roll: 0)) == .left)
    #expect(PoseBucket(HeadPose(yaw: -25, pitch: 3, roll: 0)) == .right)
    #expect(PoseBucket(HeadPose(yaw: 5, pitch: 20, roll: 0)) == .up)
    #expect(PoseBucket(HeadPose(yaw: 5, pitch: -20, roll: 0)) == .down)
}

@Test func scoreRulesCombineDistances() {
    #expect(ScoreRule.best.combine([0.5, 0.3, 0.9]) == 0.3)
    #expect(ScoreRule.meanOfBest(2).combine([0.5, 0.3, 0.9])! == 0.4)
    #expect(ScoreRule.meanOfBest(5).combine([0.5, 0.3])! == 0.4)
    #expect(ScoreRule.best.combine([]) == nil)
    #expect(ScoreRule(parsing: "mean-of-best-3") == .meanOfBest(3))
    #expect(ScoreRule(parsing: "best") == .best)
    #expect(ScoreRule(parsing: "worst") == nil)
}

@Test func policyRejectsUnknownFacesInsteadOfPickingTheNearest() throws {
    var g = RandomUnitVectors(seed: 7)
    let a = g.vector(), b = g.vector()
    let users = [(name: "a", templates: [Embedding(a), Embedding(near(a, sigma: 0.02, &g))], threshold: Double?.none),
                 (name: "b", templates: [Embedding(b)], threshold: Double?.none)]
    let policy = IdentityPolicy()
    let hit = try policy.identify(users: users, probe: Embedding(near(a, sigma: 0.02, &g)))
    #expect(hit.user == "a")
    #expect(hit.candidates.map(\.user) == ["a", "b"])
    // A random unit vector is ~1.41 away from everyone: nearest user exists, but nobody is accepted.
    let miss = try policy.identify(users: users, probe: g.embedding())
    #expect(miss.user == nil)
    #expect(miss.distance! > 1.0)
    #expect(throws: IdentityError.emptyGallery) { try policy.identify(users: [], probe: Embedding(a)) }
    #expect(throws: IdentityError.self) { try policy.identify(users: users, probe: Embedding([1, 2])) }
}

@Test func perUserThresholdOverridesTheGlobalOne() throws {
    var g = RandomUnitVectors(seed: 8)
    let a = g.vector()
    let probe = Embedding(near(a, sigma: 0.03, &g))
    let d = Embedding(a).distance(to: probe)
    let loose = try IdentityPolicy(threshold: d + 0.01).verify(templates: [Embedding(a)], probe: probe)
    #expect(loose.match && abs(loose.distance - d) < 1e-9)
    let strict = try IdentityPolicy(threshold: d + 0.01).verify(templates: [Embedding(a)], probe: probe, thresholdOverride: d - 0.01)
    #expect(!strict.match && strict.threshold == d - 0.01)
}

@Test func calibrationComputesRatesEERAndFARThreshold() throws {
    // Genuine 0.1…0.5, impostor 0.4…0.9: they overlap on [0.4, 0.5].
    var pairs: [ScoredPair] = []
    for i in 0...4 { pairs.append(ScoredPair(distance: 0.1 + 0.1 * Double(i), same: true)) }
    for i in 0...5 { pairs.append(ScoredPair(distance: 0.4 + 0.1 * Double(i), same: false)) }
    let c = try Calibration(pairs: pairs)
    #expect(c.genuineCount == 5 && c.impostorCount == 6)
    let at45 = c.rates(at: 0.45)
    #expect(abs(at45.far - 1.0 / 6) < 1e-9)   // impostor 0.4 accepted
    #expect(abs(at45.frr - 1.0 / 5) < 1e-9)   // genuine 0.5 rejected
    let zeroFAR = c.threshold(forFAR: 0)
    #expect(zeroFAR.far == 0 && zeroFAR.threshold < 0.4)
    #expect(c.eer > 0.1 && c.eer < 0.25)
    #expect(c.eerThreshold >= 0.3 && c.eerThreshold <= 0.5)
    #expect(throws: FaceGateError.self) { try Calibration(pairs: [ScoredPair(distance: 0.1, same: true)]) }
}

@Test func indexMatchesExactSearchOnRandomVectors() throws {
    var g = RandomUnitVectors(seed: 11)
    let index = GalleryIndex()
    var all: [(UUID, [Float])] = []
    for u in 0..<400 {
        let key = UUID()
        let ts = (0..<5).map { _ in g.vector() }
        all += ts.map { (key, $0) }
        try index.upsert(.init(key: key, name: "u\(u)"), templates: ts.map(Embedding.init))
    }
    #expect(index.templateCount == 2000 && index.userCount == 400)
    var qg = RandomUnitVectors(seed: 12)
    for _ in 0..<50 {
        let q = Embedding(qg.vector())
        let exact = all.map { ($0.0, Embedding($0.1).distance(to: q)) }.min { $0.1 < $1.1 }!
        let got = try index.nearestTemplates(q, k: 1).first!
        #expect(abs(got.distance - exact.1) < 1e-5)
        #expect(got.user == exact.0 || abs(got.distance - exact.1) < 1e-5)
        let two = try index.nearestTemplates(q, k: 1, threads: 2, candidates: 64).first!
        #expect(two.entry == got.entry)
    }
}

@Test func indexIdentifiesNoisyProbesAndRejectsStrangers() throws {
    var g = RandomUnitVectors(seed: 21)
    let index = GalleryIndex()
    var bases: [String: [Float]] = [:]
    for u in 0..<300 {
        let base = g.vector(); bases["u\(u)"] = base
        try index.upsert(.init(key: UUID(), name: "u\(u)"), templates: (0..<4).map { _ in Embedding(near(base, sigma: 0.02, &g)) })
    }
    for (name, base) in bases.prefix(40) {
        let r = try index.identify(Embedding(near(base, sigma: 0.02, &g)))
        #expect(r.user == name)
        #expect(r.candidates.count == 5 && r.candidates.first?.user == name)
    }
    for _ in 0..<20 { #expect(try index.identify(g.embedding()).user == nil) }
}

@Test func indexRemoveUpdateAndCompactKeepResultsRight() throws {
    var g = RandomUnitVectors(seed: 31)
    let index = GalleryIndex()
    var users: [(GalleryIndex.User, [Float])] = []
    for u in 0..<100 {
        let user = GalleryIndex.User(key: UUID(), name: "u\(u)")
        let v = g.vector()
        users.append((user, v))
        try index.upsert(user, templates: [Embedding(v), Embedding(near(v, sigma: 0.01, &g))])
    }
    // Remove 60 users: crosses the compaction fraction, so storage is rewritten.
    for (u, _) in users.prefix(60) { index.remove(key: u.key) }
    #expect(index.userCount == 40 && index.templateCount == 80)
    #expect(index.stored < 100)   // compacted automatically on the way
    index.compact()
    #expect(index.stored == 80)
    for (u, v) in users.prefix(60).suffix(5) {
        #expect(try index.identify(Embedding(v)).user != u.name)
    }
    for (u, v) in users.suffix(40) { #expect(try index.identify(Embedding(v)).user == u.name) }
    // Rename and per-user threshold without touching templates.
    var renamed = users[99].0; renamed.name = "renamed"; renamed.threshold = 0.0001
    index.update(renamed)
    let r = try index.identify(Embedding(near(users[99].1, sigma: 0.01, &g)))
    #expect(r.user == nil && r.candidates.first?.user == "renamed")
    // Re-upsert replaces templates.
    let w = g.vector()
    try index.upsert(users[98].0, templates: [Embedding(w)])
    #expect(try index.identify(Embedding(w)).user == users[98].0.name)
    #expect(try index.identify(Embedding(users[98].1)).user != users[98].0.name)
    index.removeAll()
    #expect(throws: IdentityError.emptyGallery) { try index.identify(Embedding(w)) }
}

@Test func indexReconstructionErrorIsTiny() throws {
    var g = RandomUnitVectors(seed: 41)
    let index = GalleryIndex()
    let v = g.vector()
    try index.upsert(.init(key: UUID(), name: "x"), templates: [Embedding(v)])
    let r = index.reconstruct(0)
    let m = v.map(abs).max()!
    for (a, b) in zip(v, r) { #expect(abs(a - b) <= m / 65534 * 1.01) }
    // Non-unit embeddings (dlib descriptors are not normalised) and the zero vector work too.
    try index.upsert(.init(key: UUID(), name: "scaled"), templates: [Embedding(v.map { $0 * 0.37 })])
    try index.upsert(.init(key: UUID(), name: "zero"), templates: [Embedding([Float](repeating: 0, count: 128))])
    #expect(try index.identify(Embedding(v.map { $0 * 0.37 })).user == "scaled")
    #expect(try index.identify(Embedding([Float](repeating: 0, count: 128))).user == "zero")
}

@Test func benchmarkReportsRecallAndLatency() throws {
    let r = try IndexBenchmark.run(templates: 3000, templatesPerUser: 3, queries: 20, recallQueries: 20, threads: [1, 2])
    #expect(r.users == 1000)
    #expect(r.recallAt1WithinTolerance == 1.0)
    #expect(r.p50ms.count == 2 && r.p50ms.allSatisfy { $0 > 0 })
    #expect(r.indexMB > 0.7)
}
