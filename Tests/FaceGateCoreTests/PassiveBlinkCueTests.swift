import FaceGateCore
import Foundation
import Testing

/// The passive blink cue is the challenge's blink detector (one detector): real blinks count at webcam and browser
/// frame rates, a one-frame landmark glitch on a still face does not (the old 65 %-dip rule counted it, so a
/// jittering photo could confirm liveness in strict mode).
@Suite struct PassiveBlinkCueTests {
    private func run(_ stream: inout SynthStream, seconds: Double) -> BlinkCue {
        var cue = BlinkCue()
        var i = 0
        while stream.time(ofFrame: i) <= seconds {
            for f in stream.deliver(i) {
                if let face = f.primary { cue.add(face, stamp: FrameStamp(index: f.index, timestamp: f.timestamp)) }
            }
            i += 1
        }
        return cue
    }

    @Test(arguments: [12.0, 15.0, 30.0])
    func blinksCountAtWebcamAndBrowserRates(fps: Double) {
        for seed in UInt64(1)...10 {
            var s = SynthStream.noisy(fps: fps, seed: seed)
            s.add(.blink, at: 1.6)
            s.add(.blink, at: 3.1)
            let cue = run(&s, seconds: 4.5)
            #expect(cue.blinks >= 1, "fps \(fps) seed \(seed): \(cue.blinks) blinks")
            #expect(cue.reading.state == .live, "fps \(fps) seed \(seed)")
        }
    }

    @Test func aOneFrameEyeGlitchOnAStillFaceIsNotABlink() {
        var s = SynthStream(fps: 30, seed: 3)
        s.landmarkNoise = 0.3
        // one frame (33 ms) with the eye landmarks snapped shut: a fit glitch, not a lid movement
        s.motions.append(SynthMotion(channel: .eye, keys: [(0, 0), (0.0001, 1), (0.0333, 1), (0.0334, 0)], start: 2.0))
        let cue = run(&s, seconds: 4)
        #expect(cue.blinks == 0)
        #expect(cue.reading.state != .live)
    }

    @Test func talkingWithoutBlinkingIsNotABlink() {
        for seed in UInt64(1)...5 {
            var s = SynthStream.noisy(fps: 15, seed: seed)
            s.talkingPitch = 8; s.talkingYaw = 4; s.talkingMouth = true
            let cue = run(&s, seconds: 5)
            #expect(cue.blinks == 0, "seed \(seed)")
        }
    }
}
