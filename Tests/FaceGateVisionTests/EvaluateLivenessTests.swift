import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// `facegate evaluate-liveness`: manifest parsing (pure) and the real session on resampled fixture clips.
struct LivenessManifestTests {
    @Test func rowsPlansEventsAttacksAndOptions() throws {
        let text = """
        # comment
        path\tlabel\tactions\toptions
        a.mp4\tbona-fide\tblink,turn-left
        /abs/b.mp4\tbonafide\tblink@2.1,turn-left@4.0\tstart=1 end=9\tnote
        c.jpg\tmoving-print\tall\trender=print-moving seed=3 duration=6
        d.mp4\tall-actions-loop\trandom:3:20\tloop=3
        e.mp4\tbona-fide\tnone
        """
        let m = try LivenessManifest.parse(text, base: "/m")
        #expect(m.rows.count == 5)
        #expect(m.rows[0].path == "/m/a.mp4" && m.rows[0].isBonaFide && m.rows[0].script == .plan([.blink, .turnLeft]))
        #expect(m.rows[1].path == "/abs/b.mp4" && m.rows[1].start == 1 && m.rows[1].end == 9)
        #expect(m.rows[1].script == .events([.init(type: .blink, time: 2.1), .init(type: .turnLeft, time: 4.0)]))
        #expect(m.rows[2].render == .printMoving && m.rows[2].seed == 3 && m.rows[2].renderDuration == 6 && m.rows[2].script == .everyType)
        #expect(!m.rows[2].isBonaFide && m.rows[2].label == "moving-print")
        #expect(m.rows[3].script == .random(count: 3, sessions: 20) && m.rows[3].loop == 3)
        #expect(m.rows[4].script == LivenessManifest.Script.none)
    }

    @Test(arguments: [
        "a.mp4\tbona-fide",                                  // too few fields
        "a.mp4\tbona-fide\twink",                            // unknown challenge
        "a.mp4\tbona-fide\tblink@2,turn-left",               // times for some only
        "a.mp4\tbona-fide\tblink@3,turn-left@2",             // times decrease
        "a.mp4\tbona-fide\tblink,blink",                     // a plan cannot repeat back to back
        "a.mp4\tbona-fide\tall",                             // attacks only
        "a.mp4\tprint\tall\trender=hologram",                // unknown attack kind
        "a.mp4\tprint\tall\tloop=0",                         // out of range
        "a.mp4\tprint\trandom:3",                            // malformed
        "a.mp4\tbona-fide\tblink\tstart=5 end=2",            // end before start
        "# only a comment",                                  // no rows
    ])
    func badRowsAreOneLineErrors(_ row: String) {
        #expect(throws: FaceGateError.self) { try LivenessManifest.parse(row, base: "/m") }
        do { _ = try LivenessManifest.parse(row, base: "/m") } catch {
            #expect(!"\(error)".contains("\n"), "one line: \(error)")
        }
    }
}
