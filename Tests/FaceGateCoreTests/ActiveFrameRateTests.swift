import FaceGateCore
import Foundation
import Testing

/// How frames reach the session: the delivery conditions issue 14 asks the detectors to tolerate.
enum SynthDelivery: String, CaseIterable, CustomStringConvertible {
    /// 1.5° pose noise, 0.5 px landmark noise, 8 % detector misses, 4 ms timestamp noise.
    case noisy
    /// The picture changes at 80 % of the frame rate only (24 → 30 fps): every 5th frame repeats the previous
    /// picture with a new timestamp.
    case duplicated
    /// Every 4th frame arrives twice with the same timestamp.
    case repeated
    /// Every 3rd frame never arrives.
    case dropEvery3
    /// 20 % of the frames, at random, never arrive.
    case drop20
    /// Timestamps off by up to ±20 ms (uniform), as browsers deliver them.
    case jitter20
    /// The person talks all the while: pitch swings of 8° peak to peak at 2–4 Hz, yaw ±2°, roll ±1°, syllables.
    /// 8°: the median per-second pitch range of the fixture talking heads (LivePortrait d10 4–11°, d13 2–5°,
    /// d14 5–18°, raw dlib pose at native rate); `ActiveFrameRateTests` also checks 16° (the expressive child d11
    /// reaches 12–22°) against false and wrong actions.
    case talking
    /// Everything a browser at its own rate delivers at once: ±20 ms jitter, 20 % dropped frames, duplicates, talking.
    case browser

    var description: String { rawValue }

    func stream(fps: Double, seed: UInt64) -> SynthStream {
        var s = SynthStream.noisy(fps: fps, seed: seed)
        switch self {
        case .noisy: break
        case .duplicated: s.sourceFPS = fps * 0.8
        case .repeated: s.repeatEvery = 4
        case .dropEvery3: s.dropEvery = 3
        case .drop20: s.dropFraction = 0.2
        case .jitter20: s.jitterMax = 0.02
        case .talking: s.talkingPitch = 8; s.talkingYaw = 4; s.talkingMouth = true
        case .browser:
            s.jitterMax = 0.02; s.dropFraction = 0.2; s.sourceFPS = fps * 0.8
            s.talkingPitch = 8; s.talkingYaw = 4; s.talkingMouth = true
        }
        return s
    }
}

/// One single-challenge session with a cooperative synthetic person; true when it passed.
func synthSessionPasses(_ c: ChallengeType, fps: Double, delivery: SynthDelivery, seed: UInt64,
                        reaction: Double = 0.6, retryAfter: Double? = nil) -> (Bool, String?) {
    // the hold-still before the prompt anywhere in its range, reproducibly per seed
    var session = LivenessSession(plan: try! ChallengePlan(explicit: [c]), holdFractions: [Double(seed % 11) / 10])
    var stream = delivery.stream(fps: fps, seed: seed)
    let r = SynthActor(reaction: reaction, retryAfter: retryAfter).run(&session, stream: &stream, seconds: 12)
    return (r.live, r.reason)
}

@Suite struct ActiveFrameRateTests {
    static let rates: [Double] = [10, 12, 15, 24, 25, 30, 60]

    /// Every challenge passes at every rate under every delivery condition (3 seeds each). The person repeats an
    /// action that was not accepted once, 2 s after the first attempt (the prompt is still there); at 10–15 fps a
    /// quick nod or shake (0.9–1.05 s) is sometimes sampled too coarsely the first time (`singleAttemptTable`).
    @Test(arguments: rates)
    func everyChallengePassesAtEveryRate(fps: Double) {
        var failures: [String] = []
        for c in ChallengeType.allCases {
            for d in SynthDelivery.allCases {
                for seed in UInt64(0)..<3 {
                    let (ok, why) = synthSessionPasses(c, fps: fps, delivery: d, seed: 500 + seed * 31 + UInt64(fps), retryAfter: 2)
                    if !ok { failures.append("\(c)/\(d)/seed \(seed): \(why ?? "")") }
                }
            }
        }
        let total = ChallengeType.allCases.count * SynthDelivery.allCases.count * 3
        // ≥ 97 % (the issue's genuine pass-rate target) at every rate
        #expect(failures.count * 100 <= 3 * total, "\(fps) fps: \(failures.count) of \(total) sessions failed:\n\(failures.joined(separator: "\n"))")
        for c in ChallengeType.allCases where c != .nod && c != .shake && c != .lookUp && c != .lookDown {
            // the single-axis actions and the eyes/mouth never need more than the one repeat
            #expect(!failures.contains { $0.hasPrefix("\(c)/") }, "\(c) at \(fps) fps: \(failures.filter { $0.hasPrefix("\(c)/") })")
        }
    }

    /// Single-attempt pass rates per challenge × frame rate under browser delivery (jitter, drops, duplicates,
    /// talking), 20 seeds each: printed for docs/active-liveness.md. Each must be ≥ 60 %: a detector that breaks at a
    /// rate (as the blink did at 12 fps) falls far below; quick nods and shakes under talking motion are the weakest
    /// (see the table in the docs).
    @Test func singleAttemptTable() {
        let rates: [Double] = [10, 12, 15, 25, 30, 60]
        var lines = ["| challenge | " + rates.map { "\(Int($0)) fps" }.joined(separator: " | ") + " |",
                     "|---|" + rates.map { _ in "---|" }.joined()]
        for c in ChallengeType.allCases {
            var cells: [String] = []
            for fps in rates {
                var ok = 0
                for seed in UInt64(0)..<20 where synthSessionPasses(c, fps: fps, delivery: .browser, seed: 7000 + seed * 13 + UInt64(fps)).0 { ok += 1 }
                cells.append("\(ok * 5) %")
                #expect(ok >= 12, "\(c) at \(fps) fps: \(ok)/20 single attempts passed")
            }
            lines.append("| \(c) | " + cells.joined(separator: " | ") + " |")
        }
        print(lines.joined(separator: "\n"))
    }

    /// Blink at the browser's lowest rates with the person the page addresses: they react 0.6–1.5 s after the prompt
    /// and, when nothing happens (no tick, the prompt still up — after 2 s it reads "Blink again"), blink again
    /// 1.0–1.5 s after their previous blink began, at most 3 blinks in the challenge's 5 s. Browser delivery (±20 ms,
    /// 20 % dropped, pictures at 80 % of the rate, talking), 100 sessions per rate. Single blinks pass 84–90 % at
    /// 10–12 fps (a 0.26 s blink falls between the ~6–8 distinct pictures a second that arrive); with the second
    /// blink ≥ 97 % must pass. A detector that loses blinks at low rates fails this.
    @Test(arguments: [10.0, 12.0])
    func aPersonWhoBlinksAgainPassesAtLowRates(fps: Double) throws {
        var failures: [String] = []
        for seed in UInt64(0)..<100 {
            var session = LivenessSession(plan: try ChallengePlan(explicit: [.blink]), holdFractions: [Double(seed % 11) / 10])
            var stream = SynthDelivery.browser.stream(fps: fps, seed: 7000 + seed * 13 + UInt64(fps))
            let actor = SynthActor(reaction: 0.6, reactionSpread: 0.9, repeatAfter: 1.0...1.5, attempts: 3, seed: seed)
            let r = actor.run(&session, stream: &stream, seconds: 14)
            if !r.live { failures.append("seed \(seed): \(r.reason ?? "")") }
        }
        #expect(failures.count <= 3, "\(fps) fps: \(failures.count) of 100 blink sessions failed:\n\(failures.joined(separator: "\n"))")
    }

    /// The blink, nod and shake prompts turn into "Blink again" / "Nod again" / "Shake your head again" 2 s after
    /// they appeared when no action was counted, announced once by a `promptAgain` event at that time; a head
    /// challenge that cannot fall between pictures (turn) keeps its prompt and is never asked again.
    @Test func thePromptAsksAgainAfterTwoSeconds() throws {
        for c in [ChallengeType.blink, .nod, .shake, .turnLeft] {
            var session = LivenessSession(plan: try ChallengePlan(explicit: [c]), holdFractions: [0])
            var stream = SynthStream.noisy(fps: 15, seed: 5)
            stream.dropRate = 0
            var promptAt: Double? = nil
            var seen: [(Double, String)] = []
            var again: [(Double, String)] = []
            for i in 0..<(15 * 8) {
                for f in stream.deliver(i) {
                    let u = session.process(f)
                    for e in u.events {
                        if case .prompt(_, _, _, let at) = e { promptAt = at.timestamp }
                        if case .promptAgain(0, c, let text, let at) = e, let p = promptAt { again.append((at.timestamp - p, text)) }
                    }
                    if let p = promptAt, let text = u.prompt { seen.append((f.timestamp - p, text)) }
                }
            }
            #expect(!seen.isEmpty, "\(c): never prompted")
            let after = LivenessSession.againAfter(c)
            #expect((after == nil) == (c == .turnLeft))
            for (dt, text) in seen {
                let want = after.map { dt >= $0 } == true ? LivenessSession.againPrompt(c)! : c.prompt
                #expect(text == want, "\(c) \(dt) s after the prompt: \(text)")
            }
            if let after {
                #expect(again.count == 1, "\(c): \(again)")
                #expect(again.first.map { $0.0 >= after && $0.0 < after + 0.1 && $0.1 == LivenessSession.againPrompt(c) } == true, "\(c): \(again)")
            } else {
                #expect(again.isEmpty, "\(c): \(again)")
            }
        }
        #expect(LivenessSession.againPrompt(.blink) == "Blink again")
        #expect(LivenessSession.againPrompt(.nod) == "Nod again")
    }

    /// Nods and shakes at the browser's lowest rates with the person the page addresses: they react 0.6–1.5 s after
    /// the prompt and, when the prompt turns into "Nod again" / "Shake your head again" (`LivenessSession
    /// .againAfter`), once more 0.6–1.5 s after that text appeared (not before their first attempt is over). Browser
    /// delivery (±20 ms, 20 % dropped, pictures at 80 % of the rate, talking), 300 sessions per rate and action
    /// (seeds apart from the ones the 11° nod cap and the 2 s were tuned on). Single attempts pass nod 80/85/88 %,
    /// shake 85/91/97 % at 10/12/15 fps. Measured with the repeat: nod 95.3/97.7/99.0 % before, 97.7/99.3/99.0 %
    /// with the nod's first swing at 75 % (`SwingDetector.nodFirstSwingFraction`; held-out seeds 300–1299:
    /// 96.0/98.1/99.5 %), shake 97.0/100/100 %. Session 15: with the nod's reversal and neutral band bounded by the
    /// swing cap (`SwingDetector.nodMaxNoiseSwing`) nod 98.3/99.7/100 % here, held-out seeds 300–1299
    /// 97.2/99.6/99.8 %; the bar is the issue's 97 % at every rate (it was 96 % for the nod at 10 fps; 2 of the
    /// failures here are the delivery's face gaps).
    @Test(arguments: [10.0, 12.0, 15.0])
    func aPersonWhoNodsOrShakesAgainPassesAtLowRates(fps: Double) throws {
        for c in [ChallengeType.nod, .shake] {
            var failures: [String] = []
            for seed in UInt64(0)..<300 {
                var session = LivenessSession(plan: try ChallengePlan(explicit: [c]), holdFractions: [Double(seed % 11) / 10])
                var stream = SynthDelivery.browser.stream(fps: fps, seed: 7000 + seed * 13 + UInt64(fps))
                var actor = SynthActor(reaction: 0.6, reactionSpread: 0.9, seed: seed)
                actor.againReaction = 0.6...1.5
                let r = actor.run(&session, stream: &stream, seconds: 14)
                if !r.live { failures.append("seed \(seed): \(r.reason ?? "")") }
            }
            let allowed = 9      // 97 % of 300
            #expect(failures.count <= allowed, "\(c) at \(fps) fps: \(failures.count) of 300 sessions failed:\n\(failures.joined(separator: "\n"))")
        }
    }

    /// Noise, talking and everything a browser delivers produce no action at all, at every rate; strong talking
    /// (16° pitch swings) produces no deliberate action (at most a small nod, below the wrong-action strength).
    @Test(arguments: rates)
    func noiseAndTalkingPerformNothing(fps: Double) {
        func show(_ a: [DetectedAction]) -> String {
            a.map { "\($0.type)@\(String(format: "%.2f", $0.onset.timestamp)) amp \(String(format: "%.2f", $0.amplitude))" }.joined(separator: ", ")
        }
        for d in [SynthDelivery.noisy, .talking, .browser] {
            for seed in UInt64(0)..<2 {
                var s = d.stream(fps: fps, seed: 77 + seed)
                s.poseNoise = 2.0; s.landmarkNoise = 0.7
                let got = activeEngineActions(&s, seconds: 20)
                #expect(got.isEmpty, "\(d) at \(fps) fps produced \(show(got))")
                var loud = d.stream(fps: fps, seed: 177 + seed)
                loud.talkingPitch = 16; loud.talkingYaw = 4; loud.talkingMouth = true
                var engine: ActionEngine? = nil
                let strong = activeEngineActions(&loud, seconds: 20, engine: &engine)
                let deliberate = strong.filter { engine?.isDeliberate($0) ?? true }
                #expect(deliberate.isEmpty && strong.allSatisfy { $0.type == .nod },
                        "16° talking (\(d)) at \(fps) fps produced \(show(strong))")
            }
        }
    }

    /// A blink that falls on a single frame at 10–12 fps is a blink when its dip and recovery are clear.
    @Test(arguments: [10.0, 12.0])
    func aOneFrameBlinkAtLowRatesIsABlink(fps: Double) {
        var hits = 0
        for k in 0..<6 {
            var s = SynthStream.noisy(fps: fps, seed: 40 + UInt64(k))
            s.dropRate = 0
            // a quick 120 ms blink: fully closed for ~40 ms, so at most one frame sees it dipped below 70 %
            let start = 2.0 + Double(k) / (6 * fps)
            s.motions.append(SynthMotion(channel: .eye, keys: [(0, 0), (0.04, 1), (0.08, 1), (0.12, 0)], start: start))
            var dipped = 0
            for i in 0..<Int(4 * fps) {
                let t = s.time(ofFrame: i)
                if t > start && t < start + 0.12, s.state(at: t).eye >= 0.34 { dipped += 1 }
            }
            let got = activeEngineActions(&s, seconds: 4).filter { $0.type == .blink }
            #expect(dipped <= 1)
            if dipped == 1 {
                hits += 1
                #expect(got.count == 1, "\(fps) fps, phase \(k): a clear one-frame blink was missed")
            }
        }
        #expect(hits >= 2, "the generator must produce one-frame blinks")
    }

    /// The talking-head blink of issue 14: EAR 0.27 → 0.11 → 0.24 over 160 ms at 12 fps, head steady. The eyes were
    /// calibrated wider (0.30) than they rest while talking (0.26–0.27), so the old rule (reopened at 90 % of the
    /// calibrated EAR, 0.27) never saw them reopen.
    @Test func aBlinkThatReopensBelowNinetyPercentIsABlink() {
        let fps = 12.0
        var cal = BaselineCalibrator()
        var engine: ActionEngine? = nil
        var seen: [DetectedAction] = []
        var ears = [Double](repeating: 0.0, count: 60)
        for i in ears.indices { ears[i] = i < 12 ? [0.30, 0.31, 0.29][i % 3] : [0.26, 0.255, 0.265][i % 3] }
        ears[40] = 0.27; ears[41] = 0.11; ears[42] = 0.24
        for (i, ear) in ears.enumerated() {
            let s = FaceSignal(stamp: FrameStamp(index: i, timestamp: Double(i) / fps), yaw: 3, pitch: -2, roll: 1,
                               ear: ear, mar: 0.05, interocular: 60)
            if var e = engine { seen += e.step(s); engine = e } else if let b = cal.add(s) { engine = ActionEngine(baseline: b) }
        }
        #expect(seen.map(\.type) == [.blink])
    }

    /// Eyes that settle lower than calibrated before the detector first arms (LivePortrait d0: calibrated on a
    /// neutral face at EAR 0.356, then a smile at 0.24–0.29, 70–82 %) must still arm: the reference learns from the
    /// frames that are not closed. Before session 10 it learnt only from frames already ≥ 90 % of it, so it stayed at
    /// the calibrated value and the clear blink that followed was never counted. A closure held 1 s is still no blink.
    @Test(arguments: [12.0, 30.0])
    func aBlinkAfterTheEyesSettleLowerThanCalibratedIsABlink(fps: Double) {
        func run(_ dip: [Double]) -> [ChallengeType] {
            var cal = BaselineCalibrator()
            var engine: ActionEngine? = nil
            var seen: [DetectedAction] = []
            let blinkAt = Int(2.5 * fps)
            for i in 0..<Int(5 * fps) {
                var ear = engine == nil ? [0.355, 0.36, 0.35][i % 3] : [0.27, 0.26, 0.28, 0.265][i % 4]
                if i >= blinkAt && i < blinkAt + dip.count { ear = dip[i - blinkAt] }
                let s = FaceSignal(stamp: FrameStamp(index: i, timestamp: Double(i) / fps), yaw: 3, pitch: -2, roll: 1,
                                   ear: ear, mar: 0.05, interocular: 90)
                if var e = engine { seen += e.step(s); engine = e } else if let b = cal.add(s) { engine = ActionEngine(baseline: b) }
            }
            return seen.map(\.type)
        }
        let blink = fps < 20 ? [0.18, 0.10] : [0.21, 0.14, 0.10, 0.12, 0.19]
        #expect(run(blink) == [.blink], "\(fps) fps: the blink after the eyes settled at 75 % of the calibrated EAR was missed")
        #expect(run((0..<Int(fps)).map { [0.08, 0.085, 0.075][$0 % 3] }).isEmpty, "\(fps) fps: a 1 s closure is not a blink")
    }

    /// A fast blink seen on two distinct pictures at 30 fps (LivePortrait d14 at 12.37 s: 0.31 → 0.09 → 0.20 → 0.30,
    /// a 100 ms bracket) is a blink, as the same two pictures at 25 fps (120 ms) already were; one dipped picture at
    /// 30 fps, and the same picture delivered twice, are still not.
    @Test(arguments: [25.0, 30.0])
    func aTwoPictureBlinkIsABlinkAt25And30Fps(fps: Double) {
        func run(_ dip: [Double], repeatFirst: Bool = false) -> [ChallengeType] {
            var cal = BaselineCalibrator()
            var engine: ActionEngine? = nil
            var seen: [DetectedAction] = []
            let at = Int(2.0 * fps)
            var frames: [FaceSignal] = []
            for i in 0..<Int(4 * fps) {
                var ear = [0.31, 0.30, 0.32, 0.305][i % 4]
                if i >= at && i < at + dip.count { ear = dip[i - at] }
                frames.append(FaceSignal(stamp: FrameStamp(index: i, timestamp: Double(i) / fps), yaw: 3, pitch: -2, roll: 1,
                                         ear: ear, mar: 0.05, interocular: 90))
            }
            if repeatFirst {
                // the dipped picture delivered again in the next frame's slot (same landmarks, its own timestamp)
                var again = frames[at]; again.stamp = frames[at + 1].stamp; frames[at + 1] = again
            }
            for s in frames {
                if var e = engine { seen += e.step(s); engine = e } else if let b = cal.add(s) { engine = ActionEngine(baseline: b) }
            }
            return seen.map(\.type)
        }
        #expect(run([0.09, 0.17]) == [.blink], "\(fps) fps: a blink on two pictures was missed")
        #expect(run([0.09]).isEmpty, "\(fps) fps: one dipped picture is a glitch")
        if fps == 30 {   // (at 25 fps the same picture twice already bracketed 120 ms before session 10)
            #expect(run([0.09, 0.09], repeatFirst: true).isEmpty, "30 fps: one dipped picture delivered twice is a glitch")
        }
    }

    /// A person who settles 13° away from the pose they calibrated in (LivePortrait d19: calibrated at yaw −1°, then
    /// rests at −11…−15°) still gets the prompt: the neutral pose moves to where the head rests still during the
    /// hold-still (`LivenessSession.reanchored`). Before session 10 the pause never ended (`no_return_to_neutral`). A
    /// head held 25° away (a turn, beyond the turn's 18°) is not a new neutral.
    @Test(arguments: [12.0, 30.0])
    func aPostureThatSettlesAwayFromCalibrationGetsThePrompt(fps: Double) {
        for (shift, live) in [(13.0, true), (-13.0, true), (25.0, false)] {
            for seed in UInt64(0)..<3 {
                var session = LivenessSession(plan: try! ChallengePlan(explicit: [.blink]), holdFractions: [0.5])
                var stream = SynthStream.noisy(fps: fps, seed: 77 + seed)
                stream.motions.append(SynthMotion(channel: .yaw, keys: [(0, 0), (0.4, shift)], start: 0.9))
                let r = SynthActor(reaction: 0.6).run(&session, stream: &stream, seconds: 12)
                #expect(r.live == live, "\(fps) fps, head settled \(shift)° off the calibrated pose, seed \(seed): \(r.reason ?? "live")")
            }
        }
    }

    /// A single noisy frame is not a blink: a shallow dip, a dip with a landmark jump, a one-frame dip at 30 fps.
    @Test func aSingleNoisyFrameIsNotABlink() {
        func run(fps: Double, _ edit: (Int, inout FaceSignal) -> Void) -> [ChallengeType] {
            var cal = BaselineCalibrator()
            var engine: ActionEngine? = nil
            var seen: [DetectedAction] = []
            for i in 0..<Int(4 * fps) {
                var s = FaceSignal(stamp: FrameStamp(index: i, timestamp: Double(i) / fps), yaw: 3, pitch: -2, roll: 1,
                                   ear: [0.30, 0.29, 0.31, 0.30][i % 4], mar: 0.05, interocular: 60)
                edit(i, &s)
                if var e = engine { seen += e.step(s); engine = e } else if let b = cal.add(s) { engine = ActionEngine(baseline: b) }
            }
            return seen.map(\.type)
        }
        let at = 2.0
        // a clear one-frame dip at 12 fps is a blink (the control) …
        #expect(run(fps: 12) { i, s in if i == Int(at * 12) { s.ear = 0.12 } } == [.blink])
        // … but not when the whole eye region jumped with it (landmark-fit glitch: eye distance +15 %)
        #expect(run(fps: 12) { i, s in if i == Int(at * 12) { s.ear = 0.12; s.interocular = 69 } }.isEmpty)
        // … nor when it is shallow (80 % of the open EAR: squint, speech)
        #expect(run(fps: 12) { i, s in if i == Int(at * 12) { s.ear = 0.24 } }.isEmpty)
        // a one-frame dip at 30 fps (and the same frame repeated) lasted ≤ 67–100 ms: a glitch
        #expect(run(fps: 30) { i, s in if i == Int(at * 30) { s.ear = 0.10 } }.isEmpty)
        #expect(run(fps: 30) { i, s in if i == Int(at * 30) || i == Int(at * 30) + 1 { s.ear = 0.10 } }.isEmpty)
    }

    /// Blink gates on landmarks (session 11): dlib fits a closed eye with its corners pulled in towards the nose, so
    /// the eye-centre distance shrinks with the lids (LivePortrait d10's blink at 10.97 s: −16 %) while the upper jaw
    /// and the nose keep their scale (−4 %). The fit-jump gate judges that rigid scale; a dip of one eye only (a fit
    /// glitch on a small photo face) is no blink. 12 fps, one dipped frame, landmarks of the synthetic head.
    @Test func blinkGatesJudgeTheRigidFaceAndBothEyes() {
        let fps = 12.0
        /// Landmarks of frame i; on the dip frame `edit` changes them. Closure per eye: (subject's right, left).
        func run(_ dip: (right: Double, left: Double), _ edit: (inout [Point2]) -> Void = { _ in }) -> [ChallengeType] {
            var cal = BaselineCalibrator()
            var engine: ActionEngine? = nil
            var seen: [DetectedAction] = []
            let at = Int(2 * fps)
            for i in 0..<Int(4 * fps) {
                let wobble = [0.0, 0.3, -0.2, 0.1][i % 4]        // a little landmark jitter so noise is not zero
                var pts = ActiveSynthFace.landmarks(yaw: 2 + wobble, pitch: -1, roll: 0.5, interocular: 70)
                if i == at {
                    let r = ActiveSynthFace.landmarks(yaw: 2 + wobble, pitch: -1, roll: 0.5, eyeClosure: dip.right, interocular: 70)
                    let l = ActiveSynthFace.landmarks(yaw: 2 + wobble, pitch: -1, roll: 0.5, eyeClosure: dip.left, interocular: 70)
                    for j in 36...41 { pts[j] = r[j] }
                    for j in 42...47 { pts[j] = l[j] }
                    edit(&pts)
                }
                pts = pts.map { Point2($0.x + wobble, $0.y - wobble) }
                let lm = Landmarks68(points: pts)
                let face = FaceObservation(box: lm.boundingBox, score: 1, landmarks: lm,
                                           pose: HeadPose(yaw: 2 + wobble, pitch: -1, roll: 0.5))
                let s = FaceSignal(face: face, stamp: FrameStamp(index: i, timestamp: Double(i) / fps))
                if var e = engine { seen += e.step(s); engine = e } else if let b = cal.add(s) { engine = ActionEngine(baseline: b) }
            }
            return seen.map(\.type)
        }
        // controls: a clear blink of both eyes, and nothing at all
        #expect(run((0.7, 0.7)) == [.blink])
        #expect(run((0, 0)).isEmpty)
        // the closed eyes' contours drawn 8 % of the eye distance towards the nose (eye centres −16 %): still a blink
        // (the eye-distance gate refused it before session 11)
        #expect(run((0.7, 0.7)) { p in
            for j in 36...41 { p[j].x += 0.08 * 70 }
            for j in 42...47 { p[j].x -= 0.08 * 70 }
        } == [.blink])
        // the rest of the face rescaled by 15 % on the dipped frame (a landmark-fit jump): no blink (the eye distance
        // did not move, so the old gate let it through)
        #expect(run((0.7, 0.7)) { p in
            let c = Point2.mean(p)
            for j in 0..<68 where !(36...47).contains(j) { p[j] = c + (p[j] - c) * 1.15 }
        }.isEmpty)
        // one eye 75 % closed, the other 20 %: the mean dips to 52 % of open, but it is not a blink
        #expect(run((0.75, 0.2)).isEmpty)
        #expect(run((0.2, 0.75)).isEmpty)
        // a slightly uneven blink still is one (depth share 0.5/0.65 = 0.77, the fixture blinks' lowest at 12 fps is 0.78)
        #expect(run((0.65, 0.5)) == [.blink])
    }

    /// Calibration survives a blink and a small glance inside its window: it completes on time, and neither the
    /// open-eye EAR nor its noise nor the neutral pose is corrupted.
    @Test(arguments: [12.0, 30.0])
    func calibrationSurvivesABlinkAndAGlance(fps: Double) throws {
        var clean = SynthStream.noisy(fps: fps, seed: 3)
        clean.dropRate = 0
        var disturbed = clean
        disturbed.add(.blink, at: 0.2)
        disturbed.motions.append(SynthMotion(channel: .pitch, keys: [(0, 0), (0.05, -12), (0.1, -12), (0.15, 0)], start: 0.45))
        func calibrate(_ s: inout SynthStream) -> ActiveBaseline? {
            var cal = BaselineCalibrator()
            for i in 0..<Int(3 * fps) {
                let f = s.frame(i)
                if let face = f.primary, let b = cal.add(FaceSignal(face: face, stamp: FrameStamp(index: i, timestamp: f.timestamp))) { return b }
            }
            return nil
        }
        let a = try #require(calibrate(&clean))
        let b = try #require(calibrate(&disturbed))
        #expect(b.frame.timestamp <= a.frame.timestamp + 0.01, "calibration restarted: \(a.frame.timestamp) → \(b.frame.timestamp)")
        #expect(abs(b.openEAR - a.openEAR) < 0.03 * a.openEAR)
        #expect(b.earNoise < 2 * max(a.earNoise, 0.005))
        #expect(abs(b.pitch - a.pitch) < 1.5)
    }

    /// Eyes held closed when the face first holds still (the Blink-Detector clip closes them for 2.5 s; the browser
    /// test looped into it) do not become the open-eye reference: calibration waits for open eyes, then a blink
    /// passes. Before, the session calibrated on closed eyes and every later blink was "not measurable".
    @Test(arguments: [12.0, 30.0])
    func calibrationWaitsForOpenEyes(fps: Double) {
        var stream = SynthStream.noisy(fps: fps, seed: 11)
        stream.dropRate = 0
        stream.motions.append(SynthMotion(channel: .eye, keys: [(0, 1), (1.2, 1), (1.4, 0)], start: 0))
        var session = LivenessSession(plan: try! ChallengePlan(explicit: [.blink]), holdFractions: [0.5])
        let r = SynthActor(reaction: 0.6).run(&session, stream: &stream, seconds: 8)
        #expect(r.live, "\(r.reason ?? "")")
        #expect((r.baseline?.openEAR ?? 0) >= SignalLimits.minOpenEAR)
        // a face whose eyes never open (dark glasses) still calibrates, after the wait, for the head challenges
        var shaded = SynthStream.noisy(fps: fps, seed: 12)
        shaded.dropRate = 0
        shaded.motions.append(SynthMotion(channel: .eye, keys: [(0, 1), (60, 1)], start: 0))
        var turn = LivenessSession(plan: try! ChallengePlan(explicit: [.turnLeft]), holdFractions: [0.5])
        let rt = SynthActor(reaction: 0.6).run(&turn, stream: &shaded, seconds: 10)
        #expect(rt.live, "\(rt.reason ?? "")")
    }

    /// A mouth held wide open when the face first holds still (LivePortrait d18 keeps it open for a second) does not
    /// become the resting mouth: calibration waits for it to close, then an open-mouth passes. Before, the resting
    /// MAR was the open mouth and no opening could reach rest + 0.25. A mouth that never closes is accepted after
    /// the wait, so the other challenges still run.
    @Test(arguments: [12.0, 30.0])
    func calibrationWaitsForAClosedMouth(fps: Double) {
        var stream = SynthStream.noisy(fps: fps, seed: 21)
        stream.dropRate = 0
        stream.motions.append(SynthMotion(channel: .mouth, keys: [(0, 1), (1.2, 1), (1.4, 0)], start: 0))
        var session = LivenessSession(plan: try! ChallengePlan(explicit: [.openMouth]), holdFractions: [0.5])
        let r = SynthActor(reaction: 0.6).run(&session, stream: &stream, seconds: 8)
        #expect(r.live, "\(r.reason ?? "")")
        #expect((r.baseline?.mar ?? 1) < BaselineCalibrator.maxRestingMAR)
        var gaping = SynthStream.noisy(fps: fps, seed: 22)
        gaping.dropRate = 0
        gaping.motions.append(SynthMotion(channel: .mouth, keys: [(0, 1), (60, 1)], start: 0))
        var blink = LivenessSession(plan: try! ChallengePlan(explicit: [.blink]), holdFractions: [0.5])
        let rb = SynthActor(reaction: 0.6).run(&blink, stream: &gaping, seconds: 10)
        #expect(rb.live, "\(rb.reason ?? "")")
    }

    /// Talking with ≈ 15° pitch swings while blinking is not a wrong action ("asked for 'blink' but saw 'nod'").
    @Test(arguments: [12.0, 30.0])
    func talkingWhileBlinkingIsNotAWrongAction(fps: Double) {
        for seed in UInt64(0)..<4 {
            var session = LivenessSession(plan: try! ChallengePlan(explicit: [.blink]), holdFractions: [0.5])
            var stream = SynthDelivery.talking.stream(fps: fps, seed: 900 + seed)
            stream.talkingPitch = 16
            let r = SynthActor(reaction: 1.2).run(&session, stream: &stream, seconds: 10)
            #expect(r.live, "\(fps) fps seed \(seed): \(r.reason ?? "")")
        }
    }

    /// … while a deliberate, completed different action still is.
    @Test func deliberateActionsAreStillWrongActions() {
        let pairs: [(ChallengeType, ChallengeType)] = [(.blink, .nod), (.blink, .turnLeft), (.blink, .lookDown),
                                                       (.openMouth, .tiltLeft), (.turnLeft, .turnRight), (.lookUp, .lookDown),
                                                       (.nod, .shake), (.shake, .nod), (.tiltRight, .tiltLeft)]
        for fps in [12.0, 30.0] {
            for (asked, done) in pairs {
                var session = LivenessSession(plan: try! ChallengePlan(explicit: [asked]), holdFractions: [0.5])
                var stream = SynthStream.noisy(fps: fps, seed: 14)
                // prompted, deliberate amplitudes: a 20° nod, 25° looks (the defaults elsewhere)
                let amplitude: Double? = done == .nod ? 20 : (done == .lookUp || done == .lookDown ? 25 : nil)
                let r = SynthActor(respond: { _ in done }, amplitude: amplitude).run(&session, stream: &stream)
                guard case .wrongAction(asked, _) = r.failure else {
                    Issue.record("\(asked) asked, \(done) done at \(fps) fps: \(r.reason ?? "live")"); continue
                }
            }
        }
    }
    /// Open-mouth while talking at the browser's rates (single attempts, everything a browser delivers at once,
    /// 100 seeds per rate): ≥ 97 %. Syllables sampled at 10–15 fps during calibration read as MAR noise, and 5 σ of
    /// it had asked for openings of +0.6…+0.9 MAR (4 of 100 failed at 12 fps); `MouthDetector.maxOpenDelta` caps
    /// that at +0.35.
    @Test(arguments: [12.0, 15.0])
    func openMouthWhileTalkingAtBrowserRates(fps: Double) {
        var failures: [String] = []
        for seed in UInt64(0)..<100 {
            let (ok, why) = synthSessionPasses(.openMouth, fps: fps, delivery: .browser, seed: 7000 + seed * 13 + UInt64(fps))
            if !ok { failures.append("seed \(seed): \(why ?? "")") }
        }
        #expect(failures.count <= 3, "\(fps) fps: \(failures.count) of 100 open-mouth sessions failed:\n\(failures.joined(separator: "\n"))")
    }

    /// Shakes at the browser's rates (single attempts under browser delivery, 100 seeds): the outer swings of a
    /// ±20° shake, from and back to rest, lose a quarter of their extent to talking sway and to the two-picture
    /// median; with the full 12° asked of them 80 of 100 passed at 12 fps, with 75 % of it (`SwingDetector
    /// .shakeOuterSwingFraction`) 88.
    @Test func shakesAtBrowserRates() {
        var failures: [String] = []
        for seed in UInt64(0)..<100 {
            let (ok, why) = synthSessionPasses(.shake, fps: 12, delivery: .browser, seed: 7000 + seed * 13 + 12)
            if !ok { failures.append("seed \(seed): \(why ?? "")") }
        }
        #expect(failures.count <= 14, "\(failures.count) of 100 shakes failed at 12 fps:\n\(failures.joined(separator: "\n"))")
    }

    /// … while a turn that overshoots neutral by 6° on its way back is a turn, not a shake (the relaxed outer swing
    /// is 9°, the overshoot's return 6°).
    @Test(arguments: [12.0, 30.0])
    func aTurnThatOvershootsItsReturnIsNoShake(fps: Double) {
        for seed in UInt64(0)..<4 {
            var s = SynthStream.noisy(fps: fps, seed: 60 + seed)
            s.dropRate = 0
            for dir in [1.0, -1.0] {
                s.motions.append(SynthMotion(channel: .yaw, keys: [(0, 0), (0.45, 30 * dir), (0.75, 30 * dir), (1.2, -6 * dir), (1.6, 0)],
                                             start: dir > 0 ? 2 : 5))
            }
            let got = activeEngineActions(&s, seconds: 8).map(\.type)
            #expect(!got.contains(.shake), "\(fps) fps seed \(seed): \(got)")
            #expect(got.filter { $0 == .turnLeft || $0 == .turnRight }.count == 2, "\(fps) fps seed \(seed): \(got)")
        }
    }

    // The all-actions replay loop: ActiveReplayLoopTests.
}
