import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// The bezel cue and digital mattes (#15, unseen cameras, session 11): a picture converted to another aspect ratio
/// (pillarbox: bars left and right; letterbox: above and below) has two flat bars whose inner borders are full-length
/// straight edges flanking the face, cut by the frame at both ends — the topology of a phone's sides held close to the
/// camera. Before the matte rule the genuine obama-1080p press photo (pillarboxed) was refused by `bezel` at every size,
/// and 4 of 5 genuine fixture frames padded to a pillarbox were refused (`/work/notes/h4/mt`). The bezel now judges the
/// content inside a centred matte; a device inside the content is still found.
@Suite("Passive bezel: digital mattes (pillarbox, letterbox)", .serialized)
struct PassiveMatteTests {
    static var ready: Bool { TestPaths.hasFixtures && TestPaths.hasModels }

    static func bezel(_ path: String) throws -> PadCueState? {
        let src = ImageFilesSource(paths: [path])
        src.orientation = .exif
        let v = try EnginePool.shared.with { try PassiveRunner.run(src, engine: $0, options: PassiveOptions()) }.verdict
        return v.cues.first { $0.name == PadCue.bezel.name }?.state
    }

    /// One frame of a fixture clip at 1 s, padded to a centred matte with ffmpeg (black bars).
    static func matted(_ clip: String, pad: String, to path: String) throws {
        try ffmpeg(["-ss", "1", "-i", clip, "-frames:v", "1", "-vf", pad, path])
    }
    static let pillarbox = "pad=iw*1.7:ih:(ow-iw)/2:0:black"
    static let letterbox = "pad=iw:ih*1.5:0:(oh-ih)/2:black"

    /// Known issue: inside its matte the press photo still shows two long vertical edges flanking the face (window
    /// frame and curtains behind the head, from the top border down to the shoulders), which the bezel's sides rule
    /// takes for a phone cut by the frame; a rule on where the sides end would also drop the Manikantha-M phone replay's
    /// sides (they end mid-frame on most frames), so none was adopted (docs/passive-liveness.md, session 11). This test
    /// runs without a model; with the installed MiniFASNets the sides yield (`theSidesYieldToConfidentlyLiveModels`).
    @Test(.enabled(if: ready)) func aPillarboxedGenuinePhotoIsNotADevice() throws {
        let photo = TestPaths.fixture("identities/ageitgey__face_recognition/examples/obama-1080p.jpg")
        let state = try Self.bezel(photo)
        withKnownIssue("the window/curtain edges inside the matte still count as device sides") {
            #expect(state == .neutral, "the press photo's pillarbox bars and background are not a phone's sides")
        }
    }

    static var hasPadModels: Bool { ready && !PadModelResolver.installedAntiSpoof(in: .resolve()).isEmpty }

    static func verdict(_ path: String, models: [PadModel]) throws -> PassiveVerdict {
        let src = ImageFilesSource(paths: [path])
        src.orientation = .exif
        var o = PassiveOptions()
        o.models = models
        return try EnginePool.shared.with { try PassiveRunner.run(src, engine: $0, options: o) }.verdict
    }

    /// Session 12: with the installed anti-spoof models the press photo is live — its bezel evidence rests on the
    /// sides alone (no rim in view) and the models judge it confidently live (P(real) 0.99), so the sides yield
    /// (`BezelCue.sidesYieldModelLevel`). Fails before that change (bezel spoof, refused). The attack side: a frame of
    /// the Manikantha-M phone replay, whose device the sides catch, is still refused with and without the models.
    @Test(.enabled(if: hasPadModels)) func theSidesYieldToConfidentlyLiveModels() throws {
        let models = try PadModelResolver.resolve([], directory: .resolve(), includeInstalled: true)
        let photo = TestPaths.fixture("identities/ageitgey__face_recognition/examples/obama-1080p.jpg")
        let v = try Self.verdict(photo, models: models)
        let bezel = v.cues.first { $0.cue == .bezel }
        #expect(v.live, "obama-1080p with both MiniFASNets: \(v.cueSummaries)")
        #expect(bezel?.state == .neutral && bezel?.note.contains("yields") == true, "\(bezel?.note ?? "no bezel")")

        let dir = TestPaths.tempDir("pad-sides-yield")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let frame = dir + "/manikantha_fake.png"
        try ffmpeg(["-ss", "1", "-i", TestPaths.fixture("liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/videos/fake.mp4"),
                    "-frames:v", "1", frame])
        let without = try Self.verdict(frame, models: [])
        #expect(!without.live && without.decidedBy.contains(.bezel), "no models: the sides catch the phone replay")
        #expect(!(try Self.verdict(frame, models: models)).live, "with the models: still refused")
    }

    @Test(.enabled(if: ready)) func genuineFramesInAMatteAreNotDevices() throws {
        let dir = TestPaths.tempDir("pad-matte")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, clip) in [("d3", "motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"),
                             ("lestari", "liveness/lestari15__CNN-face-detection/videos/real.mp4"),
                             ("driving", "motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4")] {
            for (kind, pad) in [("pillarbox", Self.pillarbox), ("letterbox", Self.letterbox)] {
                let path = dir + "/\(name)_\(kind).png"
                try Self.matted(TestPaths.fixture(clip), pad: pad, to: path)
                #expect(try Self.bezel(path) == .neutral, "\(name) \(kind)")
            }
        }
    }

    /// The attack side: a simulator screen and print (a device / sheet fully in view) in a matte are still devices.
    @Test(.enabled(if: ready)) func aDeviceInsideAMatteIsStillFound() throws {
        let dir = TestPaths.tempDir("pad-matte-attack")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for kind in [AttackKind.screen, .print] {
            var sim = AttackSimulator(kind: kind, seed: 3)
            sim.duration = 2
            let video = dir + "/\(kind.rawValue).mp4"
            try sim.render(input: TestPaths.fixture("motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"), output: video)
            for (matte, pad) in [("pillarbox", Self.pillarbox), ("letterbox", Self.letterbox)] {
                let path = dir + "/\(kind.rawValue)_\(matte).png"
                try Self.matted(video, pad: pad, to: path)
                #expect(try Self.bezel(path) == .spoof, "\(kind.rawValue) \(matte)")
            }
        }
    }
}
