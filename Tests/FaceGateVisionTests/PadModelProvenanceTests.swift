import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// Which anti-spoof models the bezel's sides yield to (#15 item 2, session 15): only the measured catalogue models,
/// identified by their files' pinned SHA-256 and the catalogue's preprocessing — not by a file or catalogue name.
/// Session 14's yield applied to any model, and a user's own exported model (`--pad-model`) that voted live on
/// obama.jpg silenced the sides (ModelExportTests, whole suite; reverted in aedaaba).
@Suite("Anti-spoof model provenance: the sides yield to the measured catalogue models only", .serialized)
struct PadModelProvenanceTests {
    static let modelDir = "models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models/"
    static var ready: Bool { TestPaths.hasFixtures && TestPaths.hasModels }
    static var v2: String { TestPaths.fixture(modelDir + "2.7_80x80_MiniFASNetV2.onnx") }
    static var v1se: String { TestPaths.fixture(modelDir + "4_0_0_80x80_MiniFASNetV1SE.onnx") }

    static func sidecar(_ spec: PadModelSpec, for model: String) throws {
        try JSONEncoder().encode(spec).write(to: URL(fileURLWithPath: PadModelSpec.sidecarPaths(for: model)[0]))
    }

    @Test(.enabled(if: TestPaths.hasFixtures)) func identityComesFromTheBytesAndTheRecipeNotTheName() throws {
        let dir = TestPaths.tempDir("pad-provenance")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec2 = try #require(ModelCatalog.miniFASNetV2.padSpec), spec1 = try #require(ModelCatalog.miniFASNetV1SE.padSpec)
        // The fixture copies under their Silent-Face names: pinned bytes, the catalogue's recipe.
        #expect(try PadModel(path: Self.v2).provenance == .measuredCatalogue)
        #expect(try PadModel(path: Self.v1se).provenance == .measuredCatalogue)
        // Renamed, with the catalogue's recipe in a sidecar: still the catalogue model.
        let renamed = dir + "/mine.onnx"
        try FileManager.default.copyItem(atPath: Self.v2, toPath: renamed)
        try Self.sidecar(spec2, for: renamed)
        #expect(try PadModel(path: renamed).provenance == .measuredCatalogue)
        // V1SE's bytes under V2's file name (whose name-derived recipe is V2's crop ×2.7): not V1SE as measured.
        let misnamed = dir + "/2.7_80x80_MiniFASNetV2.onnx"
        try FileManager.default.copyItem(atPath: Self.v1se, toPath: misnamed)
        #expect(try PadModel(path: misnamed).provenance == .unmeasured)
        // The pinned file fed another crop: a model nobody measured.
        #expect(PadModel.provenance(ofFile: Self.v2, spec: PadModelSpec(inputSize: [80, 80], cropScale: 2.75)) == .unmeasured)
        #expect(PadModel.provenance(ofFile: Self.v2, spec: spec1) == .unmeasured)
        // One byte altered (same size): the checksum no longer matches the pin.
        let altered = dir + "/altered.onnx"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.v2))
        bytes[bytes.count - 10] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: altered))
        #expect(PadModel.provenance(ofFile: altered, spec: spec2) == .unmeasured)
        #expect(PadModel.provenance(ofFile: dir + "/missing.onnx", spec: spec2) == .unmeasured)
    }

    @Test(.enabled(if: ready)) func installedCatalogueModelsAreMeasured() throws {
        let models = try PadModelResolver.resolve([], directory: .resolve(), includeInstalled: true)
        for m in models { #expect(m.provenance == .measuredCatalogue, "\(m.name)") }
    }

    /// obama-1080p (the session-12 press photo): the sides see window-frame and curtain edges; both MiniFASNets vote
    /// live with a wide margin (P(real) ~0.99). With the pinned files the sides yield; the same files run with a
    /// slightly different crop (a user's own recipe, still voting live) get no yield — the bezel refuses.
    @Test(.enabled(if: ready)) func theSameVoteFromAnUnmeasuredModelDoesNotSilenceTheSides() throws {
        let dir = TestPaths.tempDir("pad-provenance-still")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let photo = TestPaths.fixture("identities/ageitgey__face_recognition/examples/obama-1080p.jpg")
        let pinned = [try PadModel(path: Self.v2), try PadModel(path: Self.v1se)]
        let v = try PassiveMatteTests.verdict(photo, models: pinned)
        let bezel = v.cues.first { $0.cue == .bezel }
        #expect(v.live && bezel?.note.contains("yields") == true, "\(v.cueSummaries)")
        let mine2 = dir + "/mine_a.onnx", mine1 = dir + "/mine_b.onnx"
        try FileManager.default.copyItem(atPath: Self.v2, toPath: mine2)
        try FileManager.default.copyItem(atPath: Self.v1se, toPath: mine1)
        try Self.sidecar(PadModelSpec(inputSize: [80, 80], cropScale: 2.75), for: mine2)
        try Self.sidecar(PadModelSpec(inputSize: [80, 80], cropScale: 4.05), for: mine1)
        let own = [try PadModel(path: mine2), try PadModel(path: mine1)]
        #expect(own.allSatisfy { $0.provenance == .unmeasured })
        let w = try PassiveMatteTests.verdict(photo, models: own)
        let model = w.cues.first { $0.cue == .model }, ownBezel = w.cues.first { $0.cue == .bezel }
        #expect(model?.state == .neutral && (model?.level ?? 1) <= BezelCue.sidesYieldModelLevel, "the own recipe votes confidently live: \(model?.note ?? "")")
        #expect(ownBezel?.state == .spoof && ownBezel?.note.contains("no yield") == true, "\(ownBezel?.note ?? "no bezel")")
        #expect(!w.live && w.decidedBy.contains(.bezel), "\(w.cueSummaries)")
    }
}
