import FaceGateCore
import Foundation
import Testing

@Suite struct ActiveSessionTests {
    func session(_ list: [ChallengeType], _ config: LivenessConfiguration = LivenessConfiguration()) throws -> LivenessSession {
        LivenessSession(plan: try ChallengePlan(explicit: list), configuration: config, holdFractions: [0.5])
    }

    @Test(arguments: ChallengeType.allCases)
    func everyChallengePasses(_ c: ChallengeType) throws {
        for fps in [30.0, 12.0] {
            var s = try session([c])
            var stream = SynthStream.noisy(fps: fps, seed: 7)
            let r = SynthActor(reaction: 0.5).run(&s, stream: &stream)
            #expect(r.live, "\(c) at \(fps) fps: \(r.reason ?? "")")
            let o = r.challenges[0]
            #expect(o.passed)
            let latency = try #require(o.latency)
            #expect(latency >= 0.45 && latency < 1.0, "\(c) latency \(latency)")
            #expect(r.evidence.contains { $0.role == .calibration })
            #expect(r.evidence.contains { $0.role == .completion && $0.challenge == 0 })
        }
    }

    @Test func randomPlansPassWithNoiseAndDroppedFrames() throws {
        for fps in [10.0, 15.0, 30.0] {
            for seed in 0..<8 {
                let plan = try ChallengePlan(seed: UInt64(seed), count: 3)
                var s = LivenessSession(plan: plan)
                var stream = SynthStream.noisy(fps: fps, seed: UInt64(seed) + 1000)
                stream.dropRate = 0.12
                let r = SynthActor(reaction: 0.6).run(&s, stream: &stream)
                #expect(r.live, "plan \(plan.challenges) at \(fps) fps: \(r.reason ?? "")")
                #expect(r.challenges.allSatisfy { $0.passed })
                #expect(r.identityAnchors.count == 4)
            }
        }
    }

    @Test(arguments: ChallengeType.allCases)
    func aStaticFacePassesNothing(_ c: ChallengeType) throws {
        var s = try session([c])
        var stream = SynthStream.noisy(fps: 15, seed: 21)
        let r = SynthActor(respond: { _ in nil }).run(&s, stream: &stream)
        #expect(!r.live)
        #expect(r.failure == .challengeTimeout(challenge: c, seconds: 5))
        #expect(r.challenges[0].status == .failed)
    }

    @Test func wrongActionFails() throws {
        let pairs: [(ChallengeType, ChallengeType)] = [(.turnLeft, .turnRight), (.tiltRight, .tiltLeft), (.lookUp, .lookDown),
                                                       (.nod, .shake), (.blink, .turnLeft)]
        for (asked, done) in pairs {
            var s = try session([asked])
            var stream = SynthStream.noisy(fps: 15, seed: 4)
            let r = SynthActor(respond: { _ in done }).run(&s, stream: &stream)
            // a shake contains turns; whichever completes first is the contradicting action
            let ok: Set<ChallengeType> = done == .shake ? [.shake, .turnLeft, .turnRight] : [done]
            guard case .wrongAction(asked, let seen) = r.failure, ok.contains(seen) else {
                Issue.record("\(asked)/\(done): \(r.reason ?? "")"); continue
            }
        }
    }

    /// Issue 14 item 3: an expression that the generic 3-D head model reads as yaw is not a wrong action, while a
    /// real turn of the same reported size still is. LivePortrait d6 pulls faces with a frontal head; the mouth and
    /// nose move sideways and the pose solver reads a 20–26° "turn-left" whose nose-tip parallax is 0.0029–0.0045 per
    /// degree (rigid heads ≥ 0.0061); its blink at 14.97 s failed as `wrong_action` at 12 and 30 fps. Here the reported
    /// yaw rises by 24° for 0.6 s while a blink is asked: with the face frontal and the nose and mouth pulled 9 % of
    /// the jaw width sideways (d6-like, enough for the turn detector's own 3-D check), or with the head really turned.
    @Test(arguments: [10.0, 12.0, 30.0])
    func anExpressionReadAsYawIsNoWrongAction(fps: Double) throws {
        func run(expression: Bool) throws -> LivenessResult {
            var s = LivenessSession(plan: try ChallengePlan(explicit: [.blink]), configuration: LivenessConfiguration(holdStill: nil))
            var noise = SynthStream(fps: fps, seed: 11)
            let swing = SynthMotion(channel: .yaw, keys: [(0, 0), (0.3, 1), (0.6, 1), (0.9, 0)], start: 1.5)
            var blink = SynthMotion.perform(.blink)[0]
            blink.start = 3.5
            var i = 0
            while s.result == nil, Double(i) / fps <= 8 {
                let t = Double(i) / fps, w = swing.value(at: t)
                var pts = ActiveSynthFace.landmarks(yaw: 6 + (expression ? 0 : 24 * w), pitch: -4, roll: 2,
                                                    eyeClosure: blink.value(at: t))
                if expression {
                    let shift = 0.09 * (pts[15].x - pts[1].x) * w
                    for j in Array(30...35) + Array(48...67) { pts[j].x += shift }
                }
                for j in pts.indices { pts[j].x += 0.3 * noise.gaussian(); pts[j].y += 0.3 * noise.gaussian() }
                let lm = Landmarks68(points: pts)
                let pose = HeadPose(yaw: 6 + 24 * w + noise.gaussian(), pitch: -4 + noise.gaussian(), roll: 2 + noise.gaussian())
                let face = FaceObservation(box: lm.boundingBox.expanded(by: 0.1), score: 1, landmarks: lm, pose: pose)
                _ = s.process(FrameAnalysis(index: i, timestamp: t, width: 640, height: 480, faces: [face]))
                i += 1
            }
            return s.endOfInput()
        }
        let expression = try run(expression: true)
        #expect(expression.live, "expression read as yaw at \(fps) fps: \(expression.reason ?? "")")
        #expect(expression.challenges[0].otherActions.contains(.turnLeft), "the turn detector must still see it (its own 3-D check)")
        let turn = try run(expression: false)
        #expect(turn.failure == .wrongAction(expected: .blink, performed: .turnLeft), "a real 24° turn at \(fps) fps: \(turn.reason ?? "live")")
    }

    @Test func nearMissesFail() throws {
        // too small an angle
        var s = try session([.turnLeft])
        var st = SynthStream.noisy(fps: 15, seed: 5)
        #expect(SynthActor(amplitude: 12).run(&s, stream: &st).failure == .challengeTimeout(challenge: .turnLeft, seconds: 5))
        // too slow: the movement does not finish within the challenge timeout
        s = try session([.tiltLeft])
        st = SynthStream.noisy(fps: 15, seed: 5)
        #expect(!SynthActor(reaction: 4.2).run(&s, stream: &st).live)
        // too slow a drift (reaches the angle after > 2 s)
        s = try session([.turnRight])
        st = SynthStream.noisy(fps: 15, seed: 5)
        #expect(!SynthActor(speed: 0.17).run(&s, stream: &st).live)
        // no return to neutral
        s = try session([.turnLeft])
        st = SynthStream.noisy(fps: 15, seed: 5)
        st.motions.append(SynthMotion(channel: .yaw, keys: [(0, 0), (0.45, 30)], start: 1.3))
        #expect(SynthActor(respond: { _ in nil }).run(&s, stream: &st).failure == .noReturnToNeutral(challenge: .turnLeft))
    }

    @Test func thePersonMustReturnToNeutralBetweenChallenges() throws {
        // turns left (45°), comes back only to 20° (enough to complete the turn) and blinks there: the blink does not
        // count. (A head that rests less far off than the smallest turn, 18°, is a settled posture and becomes the
        // new neutral: `ActiveFrameRateTests.aPostureThatSettlesAwayFromCalibrationGetsThePrompt`.)
        var s = try session([.turnLeft, .blink])
        var st = SynthStream.noisy(fps: 30, seed: 8)
        var i = 0
        var turnScheduled = false, blinkScheduled = false
        while s.result == nil, st.time(ofFrame: i) < 20 {
            let u = s.process(st.frame(i))
            for e in u.events {
                if case .prompt(0, _, _, let at) = e, !turnScheduled {
                    turnScheduled = true
                    st.motions.append(SynthMotion(channel: .yaw, keys: [(0, 0), (0.45, 45), (0.75, 45), (1.2, 20)], start: at.timestamp + 0.5))
                }
                // the blink prompt never comes (the hold-still needs the head back near neutral); blink anyway
                if case .holding(1, let at) = e, !blinkScheduled { blinkScheduled = true; st.add(.blink, at: at.timestamp + 1.0) }
                if case .prompt(1, _, _, let at) = e, !blinkScheduled { blinkScheduled = true; st.add(.blink, at: at.timestamp + 0.5) }
            }
            i += 1
        }
        let r = try #require(s.result)
        #expect(r.challenges[0].passed)
        #expect(r.failure == .noReturnToNeutral(challenge: .blink))
    }

    /// The hold-still before each prompt (issue 14, the all-actions replay loop): the challenge is revealed only
    /// after the face was still for the drawn pause; a deliberate action during the pause fails as too fast; a head
    /// kept away from neutral never gets its prompt.
    @Test func eachPromptFollowsAHoldStill() throws {
        let config = LivenessConfiguration()
        let hold = try #require(config.holdStill)
        // 1. a cooperative person: every prompt comes ≥ the drawn pause after its hold began, never shown before
        for fraction in [0.0, 0.5, 1.0] {
            var s = LivenessSession(plan: try ChallengePlan(explicit: [.turnLeft, .blink]), holdFractions: [fraction])
            var st = SynthStream.noisy(fps: 15, seed: 31)
            st.dropRate = 0
            var holdAt: [Int: Double] = [:], promptAt: [Int: Double] = [:]
            var i = 0
            while s.result == nil, st.time(ofFrame: i) < 20 {
                for e in s.process(st.frame(i)).events {
                    if case .holding(let k, let at) = e { holdAt[k] = at.timestamp }
                    if case .prompt(let k, let t, _, let at) = e { promptAt[k] = at.timestamp; st.add(t, at: at.timestamp + 0.5) }
                }
                if case .holding = s.phase { #expect(s.prompt == LivenessSession.holdPrompt && s.currentChallenge == nil) }
                i += 1
            }
            #expect(s.result?.live == true, "\(s.result?.reason ?? "")")
            let want = hold.lowerBound + fraction * (hold.upperBound - hold.lowerBound)
            for k in 0..<2 {
                let (h, p) = (try #require(holdAt[k]), try #require(promptAt[k]))
                #expect(p - h >= want - 1e-9 && p - h <= want + 0.5, "challenge \(k): pause \(p - h) s, drawn \(want) s")
            }
        }
        // 2. a deliberate turn during the pause (before any prompt) fails: it started before its prompt
        var early = LivenessSession(plan: try ChallengePlan(explicit: [.turnLeft]), holdFractions: [1])
        var st2 = SynthStream.noisy(fps: 15, seed: 32)
        st2.dropRate = 0
        var i = 0
        while early.result == nil, st2.time(ofFrame: i) < 10 {
            for e in early.process(st2.frame(i)).events { if case .holding(_, let at) = e { st2.add(.turnLeft, at: at.timestamp + 0.2) } }
            i += 1
        }
        guard case .reactionTooFast(.turnLeft, let ms) = early.result?.failure else {
            Issue.record("a turn during the pause: \(early.result?.reason ?? "no result")"); return
        }
        #expect(ms < 0)
        #expect(early.result?.challenges[0].promptAt == nil, "the prompt must not have been shown")
        // 3. a head that stays 20° off neutral after calibration (a held turn: beyond the turn's 18°, so not a posture
        //    to re-anchor on) never gets its prompt
        var away = LivenessSession(plan: try ChallengePlan(explicit: [.blink]), holdFractions: [0])
        var st3 = SynthStream.noisy(fps: 15, seed: 33)
        st3.dropRate = 0
        i = 0
        var prompted = false
        while away.result == nil, st3.time(ofFrame: i) < 15 {
            for e in away.process(st3.frame(i)).events {
                if case .holding(_, let at) = e { st3.motions.append(SynthMotion(channel: .yaw, keys: [(0, 0), (0.3, 20)], start: at.timestamp)) }
                if case .prompt = e { prompted = true }
            }
            i += 1
        }
        #expect(!prompted)
        #expect(away.result?.failure == .noReturnToNeutral(challenge: .blink))
    }

    @Test func spontaneousBlinksDuringATurnAreFine() throws {
        var s = try session([.turnLeft])
        var st = SynthStream.noisy(fps: 30, seed: 12)
        var i = 0
        while s.result == nil, st.time(ofFrame: i) < 20 {
            for e in s.process(st.frame(i)).events {
                // a blink 0.15 s after the prompt, the turn 0.5 s after it: the blink falls inside the turn's reaction
                if case .prompt(_, _, _, let at) = e { st.add(.blink, at: at.timestamp + 0.15); st.add(.turnLeft, at: at.timestamp + 0.5) }
            }
            i += 1
        }
        let r = try #require(s.result)
        #expect(r.live, "\(r.reason ?? "")")
        #expect(r.challenges[0].otherActions.contains(.blink))
    }

    @Test func reactionFasterThanHumanIsFlagged() throws {
        // a turn made before its prompt (during the hold-still) is faster than any reaction to it
        var s = try session([.turnLeft])
        var st = SynthStream(fps: 30, seed: 2)
        var k = 0
        while s.result == nil, st.time(ofFrame: k) < 12 {
            for e in s.process(st.frame(k)).events { if case .holding(_, let at) = e { st.add(.turnLeft, at: at.timestamp + 0.2) } }
            k += 1
        }
        guard case .reactionTooFast(.turnLeft, let ms) = s.result?.failure else {
            Issue.record("expected reactionTooFast, got \(String(describing: s.result?.failure))"); return
        }
        #expect(ms < 150)
        // a normal reaction passes the same check
        var s2 = try session([.turnLeft])
        var st2 = SynthStream(fps: 30, seed: 2)
        #expect(SynthActor(reaction: 0.3).run(&s2, stream: &st2).live)
        // a blink that starts < 150 ms after the prompt is a spontaneous one: not counted, not failed; the next counts
        var s3 = try session([.blink])
        var st3 = SynthStream(fps: 30, seed: 2)
        var i = 0
        while s3.result == nil, st3.time(ofFrame: i) < 12 {
            for e in s3.process(st3.frame(i)).events {
                if case .prompt(_, _, _, let at) = e { st3.add(.blink, at: at.timestamp + 0.05); st3.add(.blink, at: at.timestamp + 1.0) }
            }
            i += 1
        }
        #expect(s3.result?.live == true, "\(s3.result?.reason ?? "no result")")
        #expect((s3.result?.challenges[0].latency ?? 0) > 0.9)
        #expect(s3.result?.challenges[0].otherActions == [.blink])
    }

    @Test func aSecondFaceFails() throws {
        var s = try session([.turnLeft, .blink])
        var st = SynthStream.noisy(fps: 15, seed: 6)
        st.dropRate = 0
        st.secondFaceFrom = 1.5
        let r = SynthActor(reaction: 0.5).run(&s, stream: &st)
        #expect(r.failure == .multipleFaces(count: 2))
    }

    @Test func losingTheFaceFails() throws {
        var s = try session([.turnLeft, .blink])
        var st = SynthStream(fps: 15, seed: 6)
        st.absent = 1.2...2.4
        let r = SynthActor(reaction: 0.5).run(&s, stream: &st)
        guard case .faceLost(let gap) = r.failure else { Issue.record("got \(String(describing: r.failure))"); return }
        #expect(gap > 0.7)
        // short gaps (a few dropped frames) are tolerated
        var s2 = try session([.turnLeft, .blink])
        var st2 = SynthStream(fps: 15, seed: 6)
        st2.absent = 1.2...1.6
        #expect(SynthActor(reaction: 0.5).run(&s2, stream: &st2).live)
    }

    @Test func identityChangeFails() throws {
        var s = try session([.blink])
        var st = SynthStream(fps: 30, seed: 3)
        var r = SynthActor(reaction: 0.4).run(&s, stream: &st)
        #expect(r.live)
        s.reportIdentityDistance(0.35)
        #expect(s.result?.live == true)
        let a = Embedding([Float](repeating: 0, count: 128))
        var v = [Float](repeating: 0, count: 128); v[0] = 0.9
        s.reportEmbedding(a)
        s.reportEmbedding(Embedding(v))
        r = try #require(s.result)
        #expect(!r.live)
        #expect(r.failure == .identityChanged(distance: 0.9000000357627869, threshold: 0.6) || r.failure?.code == "identity_changed")
        #expect(abs((r.identityDistance ?? 0) - 0.9) < 1e-5)
    }

    @Test func insufficientSignalIsReportedNotGuessed() throws {
        // eyes too small to measure: blink cannot be judged
        var s = try session([.blink])
        var st = SynthStream(fps: 30, seed: 3)
        st.interocular = 24
        let r = SynthActor(reaction: 0.5).run(&s, stream: &st)
        guard case .insufficientSignal(.blink, let why) = r.failure else { Issue.record("got \(String(describing: r.failure))"); return }
        #expect(why.contains("too small"))
        // a face too small for anything never starts
        var s2 = try session([.turnLeft])
        var st2 = SynthStream(fps: 30, seed: 3)
        st2.interocular = 14
        let r2 = SynthActor(reaction: 0.5).run(&s2, stream: &st2)
        guard case .insufficientSignal(nil, _) = r2.failure else { Issue.record("got \(String(describing: r2.failure))"); return }
    }

    @Test func timeoutsAreConfigurable() throws {
        var s = try session([.turnLeft, .blink], LivenessConfiguration(challengeTimeout: 2))
        var st = SynthStream(fps: 15, seed: 3)
        let r = SynthActor(reaction: 2.5).run(&s, stream: &st)
        #expect(r.failure == .challengeTimeout(challenge: .turnLeft, seconds: 2))
        var s2 = try session([.turnLeft, .blink], LivenessConfiguration(sessionTimeout: 2.5))
        var st2 = SynthStream(fps: 15, seed: 3)
        let r2 = SynthActor(reaction: 1.0).run(&s2, stream: &st2)
        #expect(r2.failure == .sessionTimeout(seconds: 2.5))
        // the recording ends before the plan is done
        var s3 = try session([.turnLeft, .blink])
        var st3 = SynthStream(fps: 15, seed: 3)
        let r3 = SynthActor(reaction: 0.5).run(&s3, stream: &st3, seconds: 1.5)
        #expect(r3.failure == .inputEnded(challenge: .turnLeft))
    }

    @Test func promptsAndProgressForUIs() throws {
        var s = try session([.turnLeft, .blink])
        #expect(s.prompt?.hasPrefix("Look at the camera") == true)
        var st = SynthStream(fps: 30, seed: 3)
        var prompts: [String] = []
        var maxProgress = 0.0
        var i = 0
        var scheduled = Set<Int>()
        while s.result == nil, i < 600 {
            let u = s.process(st.frame(i))
            maxProgress = max(maxProgress, u.progress)
            for e in u.events {
                if case .prompt(let k, let t, let text, let at) = e, !scheduled.contains(k) {
                    scheduled.insert(k); prompts.append(text); st.add(t, at: at.timestamp + 0.5)
                }
            }
            i += 1
        }
        #expect(prompts == ["Turn your head to your left", "Blink"])
        #expect(s.result?.live == true, "\(s.result?.reason ?? "")")
        #expect(maxProgress == 1)
    }

    @Test func resultJSONHasTheIssueShape() throws {
        var s = try LivenessSession(plan: ChallengePlan(seed: 5, count: 2, allowed: [.blink, .turnLeft, .openMouth]))
        var st = SynthStream(fps: 30, seed: 3)
        let r = SynthActor(reaction: 0.5).run(&s, stream: &st)
        #expect(r.live)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let data = try enc.encode(r)
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(obj["live"] as? Bool == true)
        #expect(obj["reason"] is NSNull)
        #expect(obj["frames"] as? Int == r.frames)
        let ch = try #require(obj["challenges"] as? [[String: Any]])
        #expect(ch.count == 2)
        #expect(ch[0]["type"] as? String == r.plan.challenges[0].rawValue)
        #expect(ch[0]["passed"] as? Bool == true)
        #expect(ch[0]["latency_ms"] as? Int != nil)
        #expect(ch[0]["at"] as? Double != nil)
        // round trip, including the plan reproduced from its nonce
        let back = try JSONDecoder().decode(LivenessResult.self, from: data)
        #expect(back.live == r.live && back.plan == r.plan && back.frames == r.frames)
        #expect(back.challenges.map(\.type) == r.challenges.map(\.type))
        #expect(back.evidence == r.evidence)
        // a failed session has a reason string and a typed failure
        var f = try session([.blink])
        var st2 = SynthStream(fps: 30, seed: 3)
        let rf = SynthActor(respond: { _ in nil }).run(&f, stream: &st2)
        let o2 = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(rf)) as? [String: Any])
        #expect(o2["live"] as? Bool == false)
        #expect((o2["reason"] as? String)?.contains("blink") == true)
        #expect(try JSONDecoder().decode(LivenessResult.self, from: JSONEncoder().encode(rf)).failure == rf.failure)
    }
}
