import FaceGate
import FaceGateCore
import FaceGateLab
import FaceGateVision
import Foundation
import Testing

/// The bezel cue in a webcam room: a genuine person (the Krzysiek354 webcam clip inside an ellipse) in front of a door
/// whose jambs flank the face and whose lintel closes them above the head, rendered with ffmpeg (as
/// /work/notes/h2/s8/room.py). Session 8 found the bezel refusing this person (the jambs passed for a device's sides cut
/// by the frame); a device's sides are open at both ends, a door's are joined by the lintel. The devices the cue
/// catches must stay caught: the simulator's screen and the Manikantha phone replay.
@Suite("Passive bezel cue: door behind a person", .serialized)
struct PassiveBezelRoomTests {
    static var ready: Bool { TestPaths.hasFixtures && TestPaths.hasModels }

    static func bezel(_ path: String, frames: Int = 32) throws -> PadCueReading {
        var o = PassiveOptions()
        o.maxFrames = frames
        o.models = []
        let rep = try EnginePool.shared.with { try PassiveRunner.run(try openSource(path), engine: $0, options: o) }
        return try #require(rep.verdict.cues.first { $0.name == PadCue.bezel.name })
    }

    @Test(.enabled(if: ready)) func aDoorBehindAGenuinePersonIsNotABezel() throws {
        let dir = TestPaths.tempDir("pad-bezel-room")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let person = TestPaths.fixture("liveness/Krzysiek354__Python_Face_Detection/videos/real.mp4")
        let room = dir + "/room.mp4"
        // Wall, door casing (14 px) and leaf, a picture on the door, two shelf boards; sensor noise on the room.
        let scene = ["drawbox=x=150:y=20:w=340:h=460:c=0x96785A:t=fill", "drawbox=x=164:y=34:w=312:h=446:c=0x785C42:t=fill",
                     "drawbox=x=250:y=70:w=140:h=80:c=0x282828:t=fill", "drawbox=x=258:y=78:w=124:h=64:c=0xAAC8DC:t=fill",
                     "drawbox=x=0:y=100:w=135:h=8:c=0x6E5032:t=fill", "drawbox=x=505:y=100:w=135:h=8:c=0x6E5032:t=fill",
                     "noise=alls=5:allf=t"].joined(separator: ",")
        let ellipse = "if(lte(pow((X-330)/130\\,2)+pow((Y-270)/210\\,2)\\,1)\\,255\\,0)"
        try ffmpeg(["-f", "lavfi", "-i", "color=c=0xC4BCAA:s=640x480:r=16:d=2", "-i", person, "-filter_complex",
                    "[0]\(scene)[bg];[1]fps=16,scale=640:480,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='\(ellipse)'[p];[bg][p]overlay=shortest=1,format=yuv420p",
                    "-t", "2", "-c:v", "mpeg4", "-q:v", "3", room])
        let r = try Self.bezel(room)
        #expect(r.state != .spoof, "\(r.note)")
        #expect(r.confidence > 0, "the cue saw the face: \(r.note)")
    }

    static var hasPadModels: Bool { ready && !PadModelResolver.installedAntiSpoof(in: .resolve()).isEmpty }

    /// Sessions 14–15 (#15 item 2): a genuine person before an **open doorway** — jambs running out of the picture at
    /// both ends, the doorway scene of scripts/pad-bench-rooms.py (lestari15 pasted in, shelf boards beside). The
    /// jambs are exactly a device cut by the frame to the sides rule, and the installed catalogue MiniFASNets vote
    /// live but unsure on the composite (level ~0.2, P(real) ~0.8), so the sides do not yield
    /// (`BezelCue.sidesYieldModelLevel`): refused with and without the models — a known issue. Yielding at the models'
    /// arg-max would pass this person but also a backlit moving print that the models call live at level 0.107
    /// (session 15; `BezelSidesYieldTests.sidesDenyNextToAnUnsureCatalogueVote`).
    @Test(.enabled(if: hasPadModels)) func aGenuinePersonBeforeAnOpenDoorwayIsRefusedByTheSides() throws {
        let dir = TestPaths.tempDir("pad-bezel-doorway")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let person = TestPaths.fixture("liveness/lestari15__CNN-face-detection/videos/real.mp4")
        let room = dir + "/doorway.mp4"
        var scene = ["drawbox=x=140:y=0:w=360:h=480:c=0x96785A:t=fill", "drawbox=x=154:y=0:w=332:h=480:c=0x785C42:t=fill"]
        scene += stride(from: 200, through: 440, by: 60).map { "drawbox=x=\($0):y=60:w=3:h=420:c=0x644C34:t=fill" }
        scene += stride(from: 30, through: 450, by: 70).flatMap { ["drawbox=x=0:y=\($0):w=125:h=8:c=0x6E5032:t=fill",
                                                                   "drawbox=x=515:y=\($0):w=125:h=8:c=0x6E5032:t=fill"] }
        scene.append("noise=alls=5:allf=t")
        let ellipse = "if(lte(pow((X-320)/140\\,2)+pow((Y-250)/220\\,2)\\,1)\\,255\\,0)"
        try ffmpeg(["-f", "lavfi", "-i", "color=c=0xC4BCAA:s=640x480:r=16:d=2", "-i", person, "-filter_complex",
                    "[0]\(scene.joined(separator: ","))[bg];[1]fps=16,scale=640:480,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='\(ellipse)'[p];[bg][p]overlay=shortest=1,format=yuv420p",
                    "-t", "2", "-c:v", "mpeg4", "-q:v", "3", room])
        let models = try PadModelResolver.resolve([], directory: .resolve(), includeInstalled: true)
        func verdict(_ models: [PadModel]) throws -> PassiveVerdict {
            var o = PassiveOptions()
            o.models = models
            return try EnginePool.shared.with { try PassiveRunner.run(try openSource(room), engine: $0, options: o) }.verdict
        }
        let v = try verdict(models)
        let bezel = v.cues.first { $0.cue == .bezel }, model = v.cues.first { $0.cue == .model }
        #expect(model?.state == .neutral, "the catalogue models vote live: \(model?.note ?? "no model")")
        #expect(bezel?.note.contains("sides only") == true, "the sides see the jambs: \(bezel?.note ?? "no bezel")")
        withKnownIssue("the sides cannot tell the jambs from a device cut by the frame; the models are unsure here (sessions 14-15)") {
            #expect(v.live, "with the catalogue models: \(v.cueSummaries)")
        }
        let without = try verdict([])
        withKnownIssue("without a model the sides cannot tell the jambs from a device cut by the frame (sessions 14-15)") {
            #expect(without.live, "\(without.cueSummaries)")
        }
    }

    @Test(.enabled(if: ready)) func heldDevicesStayCaught() throws {
        let dir = TestPaths.tempDir("pad-bezel-devices")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var sim = AttackSimulator(kind: .screen, seed: 1)
        sim.duration = 1.5
        try sim.render(input: TestPaths.fixture("motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"), output: dir + "/screen.mp4")
        let screen = try Self.bezel(dir + "/screen.mp4")
        #expect(screen.state == .spoof, "\(screen.note)")
        // A real phone replay whose top and bottom are outside the picture (the sides rule's case).
        let phone = try Self.bezel(TestPaths.fixture("liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/videos/fake.mp4"), frames: 40)
        #expect(phone.state == .spoof, "\(phone.note)")
    }
}
