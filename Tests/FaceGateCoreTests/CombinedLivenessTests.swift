import FaceGateCore
import Foundation
import Testing

/// The fusion of challenges and passive cues, and the passive-only capture, on synthetic inputs.
@Suite("Combined liveness: challenges + passive cues")
struct CombinedLivenessTests {
    func reading(_ name: PadCue, _ role: PadCueRole, _ state: PadCueState, level: Double?, confidence: Double = 0.9) -> PadCueReading {
        precondition(name.role == role, "\(name) is a \(name.role) cue"); return PadCueReading(cue: name, state: state, level: level, confidence: confidence)
    }

    /// A finished challenge session: every challenge passed, or the last one failed with `failure`.
    func session(_ types: [ChallengeType], failure: LivenessFailure? = nil) throws -> LivenessResult {
        var outcomes = types.map { ChallengeOutcome(type: $0, status: .passed) }
        if failure != nil, !outcomes.isEmpty { outcomes[outcomes.count - 1].status = .failed }
        return LivenessResult(live: failure == nil, plan: try ChallengePlan(explicit: types), challenges: outcomes,
                              failure: failure, frames: 60, evidence: [], baseline: nil)
    }

    let quietDenyCues: [PadCueReading] = [
        PadCueReading(cue: .moire, state: .neutral, level: 0.3, confidence: 0.9),
        PadCueReading(cue: .glare, state: .neutral, level: 0.1, confidence: 0.9),
    ]

    @Test func passedChallengeAndABezelDenyIsNotLive() throws {
        let s = try session([.blink, .turnLeft])
        let cues = quietDenyCues + [reading(.bezel, .deny, .spoof, level: 0.8)]
        for mode in PassiveMode.allCases {
            let v = CombinedFusion.decide(mode: .both, session: s, passive: cues, passiveMode: mode)
            #expect(!v.live, "\(mode)")
            #expect(v.reason == .denyCue)
            #expect(v.decidedBy.map(\.name) == ["bezel"])
            #expect(v.failure == .presentationAttack(cues: [.bezel]))
            #expect(v.passive?.score ?? 1 < 0.5)
            // the merged result is what every consumer of active results reads
            let merged = CombinedFusion.merge(v, into: s)
            #expect(!merged.live)
            #expect(merged.failure?.code == "presentation_attack")
            #expect(merged.challenges.filter(\.passed).count == s.challenges.count, "the challenge outcomes are kept as they were")
        }
    }

    @Test func passedChallengeWithQuietCuesIsLiveAndNamesTheChallenge() throws {
        let s = try session([.blink])
        let light = CombinedFusion.decide(mode: .both, session: s, passive: quietDenyCues, passiveMode: .light)
        #expect(light.live)
        #expect(light.failure == nil)
        #expect(light.decidedBy.map(\.name).first == CombinedFusion.challengeCue.name)
        #expect(Set(light.decidedBy.map(\.name)) == ["challenge", "moire", "glare"])
        // strict: the passed plan is the confirm cue "challenge"
        let strict = CombinedFusion.decide(mode: .both, session: s, passive: quietDenyCues, passiveMode: .strict)
        #expect(strict.live)
        #expect(strict.passive?.reason == .confirmed)
        #expect(strict.passive?.decidedBy.map(\.name) == ["challenge"])
        #expect(strict.passive?.cues.contains { $0.name == "challenge" && $0.state == .live } == true)
        #expect(strict.passive?.score ?? 0 >= 0.5)
    }

    @Test func strictWithoutAnyConfirmIsNotLive() {
        // passive mode (no challenges): nothing confirmed a live face
        let capture = LivenessResult(live: true, plan: .passiveOnly, challenges: [], failure: nil, frames: 30, evidence: [], baseline: nil)
        let cues = quietDenyCues + [PadCueReading.abstain(.noseDepth, "no head turn"),
                                    reading(.flat3D, .both, .neutral, level: 0.45)]
        let v = CombinedFusion.decide(mode: .passive, session: capture, passive: cues, passiveMode: .strict)
        #expect(!v.live)
        #expect(v.reason == .noConfirmCue)
        #expect(v.failure?.code == "not_confirmed")
        #expect(Set(v.decidedBy.map(\.name)) == ["nose-depth", "flat-3d"])
        // the same cues in light mode: live (deny-only)
        #expect(CombinedFusion.decide(mode: .passive, session: capture, passive: cues, passiveMode: .light).live)
        // a blink confirms in strict mode
        let blink = CombinedFusion.decide(mode: .passive, session: capture, passive: cues + [reading(.blink, .confirm, .live, level: 0.3)],
                                          passiveMode: .strict)
        #expect(blink.live)
        #expect(blink.decidedBy.map(\.name) == ["blink"])
    }

    @Test func aFailedChallengeIsNotConfirmedByTheChallengeCue() throws {
        let s = try session([.blink, .nod], failure: .challengeTimeout(challenge: .nod, seconds: 5))
        let v = CombinedFusion.decide(mode: .both, session: s, passive: quietDenyCues, passiveMode: .strict)
        #expect(!v.live)
        #expect(v.reason == .sessionFailed)
        #expect(v.decidedBy.map(\.name) == ["challenge:nod"])
        #expect(v.failure?.code == "timeout")
        #expect(v.passive?.cues.contains { $0.name == "challenge" } == false)
        // and a deny cue on top is reported first, with the failed challenge
        let both = CombinedFusion.decide(mode: .both, session: s, passive: quietDenyCues + [reading(.moire, .deny, .spoof, level: 0.9)],
                                         passiveMode: .light)
        #expect(both.reason == .denyCue)
        #expect(both.decidedBy.map(\.name) == ["moire", "challenge:nod"])
    }

    @Test func abstainingAndUnsureCuesDoNotVote() throws {
        let s = try session([.blink])
        let cues = [PadCueReading.abstain(.model, "no anti-spoof model"),
                    PadCueReading.abstain(.texture, "no texture model"),
                    reading(.glare, .deny, .spoof, level: 0.9, confidence: PassiveFusion.minimumConfidence / 2)]
        let v = CombinedFusion.decide(mode: .both, session: s, passive: cues, passiveMode: .light)
        #expect(v.live, "an abstaining cue and a spoof reading below the confidence floor must not deny")
        #expect(v.decidedBy.map(\.name) == ["challenge"])
        #expect(v.passive?.reason == .allAbstained)
        // the same glare, confident, denies
        let sure = CombinedFusion.decide(mode: .both, session: s, passive: [reading(.glare, .deny, .spoof, level: 0.9)], passiveMode: .light)
        #expect(!sure.live)
        #expect(sure.decidedBy.map(\.name) == ["glare"])
    }

    @Test func activeModeIgnoresPassiveReadings() throws {
        let s = try session([.blink])
        let v = CombinedFusion.decide(mode: .active, session: s, passive: [reading(.moire, .deny, .spoof, level: 0.9)], passiveMode: .strict)
        #expect(v.live)
        #expect(v.passive == nil)
        #expect(v.decidedBy.map(\.name) == ["challenge"])
    }

    @Test func passiveCaptureCollectsOneFaceFramesWithAnchors() {
        var c = PassiveCapture(frames: 12, timeout: 10)
        var anchors: [Int] = []
        var t = 0.0
        for i in 0..<40 {
            t += 1.0 / 15
            let faces = i % 4 == 3 ? 2 : 1            // every 4th frame has a second face: not counted
            switch c.add(index: i, timestamp: t, faces: faces) {
            case .collecting(let a): if a { anchors.append(i) }
            case .complete: anchors.append(i)
            case .failed(let f): Issue.record("failed: \(f)")
            case .ignored: break
            }
            if c.isFinished { break }
        }
        let r = try! #require(c.result)
        #expect(r.live)
        #expect(c.counted == 12)
        #expect(anchors.count == 3)
        #expect(r.evidence.map(\.index) == anchors)
        #expect(r.identityAnchors.count == 3)
        #expect(r.plan.count == 0)
        // the anchors must stay the same person
        c.identityChanged(distance: 0.8, threshold: 0.6)
        #expect(c.result?.live == false)
        #expect(c.result?.failure?.code == "identity_changed")
    }

    @Test func passiveCaptureTimesOutWithoutAFace() {
        var c = PassiveCapture(frames: 30, timeout: 2)
        var last: PassiveCapture.Step = .ignored
        for i in 0..<60 { last = c.add(index: i, timestamp: Double(i) * 0.1, faces: 0); if c.isFinished { break } }
        #expect(last == .failed(.noStableFace(hint: "no single face in 2 s")))
        #expect(c.result?.failure?.code == "no_stable_face")
        // frames below the minimum are raised to it
        #expect(PassiveCapture(frames: 1).frames == PassiveCapture.minimumFrames)
        // the input ending early is a failure too
        var short = PassiveCapture(frames: 30)
        _ = short.add(index: 0, timestamp: 0, faces: 1)
        #expect(short.endOfInput().failure?.code == "input_ended")
    }
}
