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
