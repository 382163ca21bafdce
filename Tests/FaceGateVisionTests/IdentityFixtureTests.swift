import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Testing

/// Fixture identities (shared/fixtures/LABELS.tsv): identity → image paths, in file order.
private func labelledImages() throws -> [String: [String]] {
    let text = try String(contentsOfFile: TestPaths.fixture("LABELS.tsv"), encoding: .utf8)
    var out: [String: [String]] = [:]
    for line in text.split(whereSeparator: \.isNewline).dropFirst() {
        let f = line.split(separator: "\t").map(String.init)
        guard f.count == 2 else { continue }
        out[f[1], default: []].append(TestPaths.fixture(f[0]))
    }
    return out
}

/// Identities never enrolled: one with a single photo and one held out completely.
private let strangers: Set<String> = ["Lin-Manuel_Miranda", "Rose_Leslie"]

@Suite(.serialized) struct IdentityFixtureTests {
    /// Enroll every fixture identity (all photos but the last) through the quality gate into an encrypted SQLite
    /// gallery, identify the held-back photo of each, and reject identities that were never enrolled.
    @Test func enrollIdentifyHeldBackAndRejectStrangers() async throws {
        try #require(TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures and models")
        let labels = try labelledImages()
        let dir = TestPaths.tempDir("facegate-identity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gallery = try SQLiteGallery(path: dir + "/g.sqlite", key: .generate(source: "test"))
        var heldBack: [(String, String)] = []
        var rejectedReasons: [String] = []
        for (name, paths) in labels.sorted(by: { $0.key < $1.key }) where !strangers.contains(name) && paths.count >= 2 {
            let collection = try EnginePool.shared.with { engine in
                try Enroller(engine: engine).collect(images: Array(paths.dropLast()), wantThumbnail: true)
            }
            rejectedReasons += collection.rejected.flatMap { $0.rejections.map(\.code) }
            try #require(!collection.templates.isEmpty, "no template of \(name) passed the quality gate")
            try await gallery.enroll(Enrollment(name: name, templates: collection.templates, thumbnailJPEG: collection.thumbnailJPEG))
            heldBack.append((name, paths.last!))
        }
        let index = IdentityIndexService(gallery: gallery, threads: 1)
        try await index.load()
        #expect(await index.userCount == heldBack.count)
        var correct = 0
        for (name, path) in heldBack {
            let probe = try EnginePool.shared.with { try IdentityProbe.embedding(image: path, engine: $0) }
            let r = try await index.identify(probe)
            #expect(r.user == name, "held-back photo of \(name) identified as \(r.user ?? "nobody") (distance \(r.distance ?? -1))")
            if r.user == name { correct += 1 }
            #expect(try await index.verify(user: name, probe: probe).match)
        }
        print("identity fixtures: \(correct)/\(heldBack.count) held-back photos identified; gate rejections: \(rejectedReasons)")
        for name in strangers {
            for path in labels[name] ?? [] {
                let probe = try EnginePool.shared.with { try IdentityProbe.embedding(image: path, engine: $0) }
                let r = try await index.identify(probe)
                #expect(r.user == nil, "\(name), never enrolled, was identified as \(r.user ?? "") (distance \(r.distance ?? -1))")
            }
        }
        await gallery.close()
    }

    /// Leave-one-out over the fixture identities: genuine and impostor scores under both score rules (the numbers in
    /// docs/identity.md). Both must separate the fixtures well; the test prints the EERs for the comparison.
    @Test func scoreRulesOnFixtures() throws {
        try #require(TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures and models")
        let labels = try labelledImages()
        var emb: [String: [Embedding]] = [:]
        try EnginePool.shared.with { engine in
            for (name, paths) in labels {
                emb[name] = paths.compactMap { try? IdentityProbe.embedding(image: $0, engine: engine) }
            }
        }
        for rule in [ScoreRule.best, .meanOfBest(2), .meanOfBest(3)] {
            var pairs: [ScoredPair] = []
            var rank1 = 0, trials = 0
            for (name, es) in emb where es.count >= 3 {
                for i in es.indices {
                    let probe = es[i]
                    var scores: [(String, Double)] = []
                    for (other, os) in emb {
                        let templates = other == name ? es.enumerated().filter { $0.offset != i }.map(\.element) : os
                        guard let s = rule.combine(templates.map { $0.distance(to: probe) }) else { continue }
                        pairs.append(ScoredPair(distance: s, same: other == name))
                        scores.append((other, s))
                    }
                    trials += 1
                    if scores.min(by: { $0.1 < $1.1 })?.0 == name { rank1 += 1 }
                }
            }
            let c = try Calibration(pairs: pairs)
            let at = c.rates(at: IdentityThreshold.default)
            let g = pairs.filter(\.same).map(\.distance), i = pairs.filter { !$0.same }.map(\.distance)
            print(String(format: "score rule %@: rank-1 %d/%d, EER %.4f at %.3f; at 0.6 FAR %.4f FRR %.4f (%d genuine, %d impostor); genuine mean %.3f max %.3f, impostor min %.3f, margin %.3f",
                         rule.description, rank1, trials, c.eer, c.eerThreshold, at.far, at.frr, c.genuineCount, c.impostorCount,
                         g.reduce(0, +) / Double(g.count), g.max()!, i.min()!, i.min()! - g.max()!))
            #expect(Double(rank1) / Double(trials) >= 0.9)
            #expect(c.eer <= 0.1)
        }
    }

    /// The CLI end to end: enroll from images, list, identify, verify, reject a stranger, remove.
    @Test func cliEnrollIdentifyVerify() throws {
        try #require(TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures and models")
        try #require(FileManager.default.isExecutableFile(atPath: TestPaths.cli), "needs the facegate binary (swift build)")
        let labels = try labelledImages()
        let dir = TestPaths.tempDir("facegate-cli-identity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["FACEGATE_DB": "sqlite:" + dir + "/g.sqlite", "FACEGATE_KEY": GalleryKey.generate().base64]
        let woz = try #require(labels["Steve_Wozniak"]), allen = try #require(labels["Paul_Allen"])
        var r = try runCLI(["enroll", "--user", "woz", "--images"] + woz.dropLast() + ["--json"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"enrolled\":true"))
        r = try runCLI(["enroll", "--user", "allen", "--images"] + allen.dropLast(), environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        r = try runCLI(["users", "list", "--json"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("\"woz\"") && r.stdout.contains("\"allen\""))
        r = try runCLI(["identify", woz.last!, "--json"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("\"user\":\"woz\""), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["verify", "--user", "allen", allen.last!, "--json"], environment: env)
        #expect(r.status == 0 && r.stdout.contains("\"match\":true"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["verify", "--user", "allen", woz.last!, "--json"], environment: env)
        #expect(r.status == 1 && r.stdout.contains("\"match\":false"))
        let stranger = try #require(labels["Rose_Leslie"]?.first)
        r = try runCLI(["identify", stranger, "--json"], environment: env)
        #expect(r.status == 1 && r.stdout.contains("\"user\":null"), "\(r.stdout) \(r.stderr)")
        r = try runCLI(["verify", "--user", "nobody", stranger], environment: env)
        #expect(r.status == 2 && r.stderr.contains("users list"))
        // A second enrollment of the same face under another name warns, and --strict refuses.
        r = try runCLI(["enroll", "--user", "woz2", "--images", woz[0], "--strict"], environment: env)
        #expect(r.status == 1 && r.stdout.contains("woz"), "\(r.stdout) \(r.stderr)")
        // The wrong key is a clear error, not garbage matches.
        r = try runCLI(["users", "list"], environment: env.merging(["FACEGATE_KEY": GalleryKey.generate().base64]) { $1 })
        #expect(r.status == 2 && r.stderr.contains("wrong gallery key"))
        r = try runCLI(["users", "remove", "woz"], environment: env)
        #expect(r.status == 0)
        r = try runCLI(["identify", woz.last!, "--json"], environment: env)
        #expect(r.status == 1)
    }

    /// Authenticate on real recordings: a person enrolled from a clip is authorized by a blink session on it; the
    /// same session against a gallery without them is denied as an unknown face; a still photo of an enrolled person
    /// rendered to video is denied because it is not live.
    @Test func authenticateIsLivenessThenIdentity() async throws {
        try #require(TestPaths.hasFixtures && TestPaths.hasModels, "needs ../shared/fixtures and models")
        let clip = TestPaths.fixture("motion/repeating__Blink-Detector/video.mp4")
        let labels = try labelledImages()
        let dir = TestPaths.tempDir("facegate-auth")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gallery = try SQLiteGallery(path: dir + "/g.sqlite", key: .generate(source: "test"))
        let (fromClip, _) = try EnginePool.shared.with { engine in
            try Enroller(engine: engine).collect(video: try VideoSource.file(clip), maxSeconds: 30, wantThumbnail: false)
        }
        try #require(!fromClip.templates.isEmpty, "no template from \(clip): \(fromClip.rejectionCounts)")
        try await gallery.enroll(Enrollment(name: "blinker", templates: fromClip.templates))
        let obamaPhotos = try #require(labels["Barack_Obama"])
        let obama = try EnginePool.shared.with { try Enroller(engine: $0).collect(images: obamaPhotos, wantThumbnail: false) }
        try await gallery.enroll(Enrollment(name: "obama", templates: obama.templates))

        func authenticate(_ video: String, claimed: String? = nil) async throws -> AuthenticationResult {
            let (live, anchors) = try EnginePool.shared.with { engine in
                let runner = ActiveRunner(engine: engine, plan: try ChallengePlan(explicit: [.blink]),
                                          configuration: LivenessConfiguration(challengeTimeout: 20), checkIdentity: false,
                                          keepAnchors: true)
                return try Authenticator.runLiveness(runner, source: try VideoSource.file(video))
            }
            let index = IdentityIndexService(gallery: gallery, threads: 1)
            try await index.load()
            return try await Authenticator.decide(liveness: live, anchors: anchors, claimedUser: claimed, index: index)
        }
        let ok = try await authenticate(clip)
        #expect(ok.authorized && ok.user == "blinker", "\(ok.reason)")
        #expect(ok.identityFrames >= Authenticator.minIdentityFrames)
        let wrongClaim = try await authenticate(clip, claimed: "obama")
        #expect(!wrongClaim.authorized && wrongClaim.live)

        let photoVideo = dir + "/obama-still.mp4"
        try ffmpeg(["-loop", "1", "-i", obamaPhotos[0], "-t", "6", "-r", "15", "-vf", "scale=640:-2", "-pix_fmt", "yuv420p", photoVideo])
        let photo = try await authenticate(photoVideo)
        #expect(!photo.authorized && !photo.live, "\(photo.reason)")

        try await gallery.removeUser(named: "blinker")
        let stranger = try await authenticate(clip)
        #expect(!stranger.authorized && stranger.live && stranger.user == nil, "\(stranger.reason)")
        #expect(stranger.reason.contains("unknown face"))
        await gallery.close()
    }
}
