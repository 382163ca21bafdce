import FaceGateCore
import Foundation
import Testing

/// The all-actions replay of issue 14: a recording that performs every challenge type in turn, looped, entered at a
/// random point, against a random plan. `order` is the order of the actions in the recording, `gap` the pause
/// between them, `amplitudes` the size of each movement (nil: the prompted sizes of `SynthMotion.perform`).
func runAllActionsLoop(plan: ChallengePlan, order: [ChallengeType], seed: UInt64, fps: Double, gap: Double = 0.5,
                       amplitudes: [ChallengeType: Double] = [:]) -> LivenessResult {
    var session = LivenessSession(plan: plan)
    var stream = SynthStream.noisy(fps: fps, seed: seed + 3000)
    var rng = Xoshiro256StarStar(seed: seed + 99)
    let k = rng.uniform(below: order.count)
    let order = Array(order[k...] + order[..<k])
    var t = 1.0 + Double(rng.uniform(below: 1000)) / 1000
    while t < 40 {
        for c in order {
            stream.add(c, at: t, amplitude: amplitudes[c])
            t += [.blink: 0.3, .openMouth: 1.0, .nod: 0.9, .shake: 1.05][c, default: 1.2] + gap
        }
    }
    var i = 0
    while session.result == nil, stream.time(ofFrame: i) <= 40 {
        for f in stream.deliver(i) where session.result == nil { _ = session.process(f) }
        i += 1
    }
    return session.endOfInput()
}

@Suite struct ActiveReplayLoopTests {
    /// Movements just strong enough for their own detector and below the deliberate strength of
    /// `ActionEngine.isDeliberate` as it was before the all-actions fix (turns 18–22.5°, tilts 15–18.75°, looks
    /// 12–18°, nod swings 10–15°, shake swings 12–15°): the loop an attacker who knows the rules would record.
    static let minimalAmplitudes: [ChallengeType: Double] = [.turnLeft: 21, .turnRight: 21, .tiltLeft: 17.5, .tiltRight: 17.5,
                                                             .lookUp: 16, .lookDown: 16, .nod: 13, .shake: 15]

    enum Loop: String, CaseIterable, CustomStringConvertible {
        /// The ten actions in the canonical order (left then right, up then down): the recording a person makes
        /// when asked to "do everything". Even seeds: prompted amplitudes; odd seeds: minimal amplitudes, 1 s apart.
        case canonical
        /// A different random order per plan (seeded), alternating prompted and minimal amplitudes.
        case shuffled
        var description: String { rawValue }
    }

    /// A recording that loops through all ten actions against 1,000 seeded random 3-challenge plans per loop kind
    /// (12/15/30 fps, the noisy synthetic webcam). It can pass only a plan whose steps it performs one after the
    /// other with nothing contradicting in between. Before the plan's motion rule and the cross-axis wrong actions
    /// it passed 15 (canonical) and 29 (shuffled) of 1,000; after: 3 and 8. What still passes is the replay floor of
    /// a fixed recording: its consecutive actions form the plan (a look-down and back is also a nod; blinks, mouth
    /// openings and movements below the deliberate strength contradict nothing). Counting cross-axis movements at
    /// their detector's minimum brought it to 1 and 5 but failed real people who look down while turning (fixture
    /// evaluation, docs/active-liveness.md). 0 needs prompt timing the recording cannot know. Session 13: the
    /// reaction floor from where the movement began: 2 and 1 (103: a prompt revealed during the loop's small nod;
    /// 657: the floor; 590 as 103).
    @Test(arguments: Loop.allCases)
    func aLoopOfAllTenActionsFailsRandomPlans(_ loop: Loop) throws {
        var passed: [String] = []
        var reasons: [String: Int] = [:]
        for seed in UInt64(0)..<1000 {
            let plan = try ChallengePlan(seed: seed, count: 3)
            var orng = Xoshiro256StarStar(seed: seed &* 7 + 5)
            let order = loop == .shuffled ? ChallengeType.allCases.shuffled(using: &orng) : ChallengeType.allCases
            let minimal = seed % 2 == 1
            let r = runAllActionsLoop(plan: plan, order: order, seed: seed, fps: [12.0, 15, 30][Int(seed % 3)],
                                      gap: loop == .canonical && minimal ? 1.0 : 0.5,
                                      amplitudes: minimal ? Self.minimalAmplitudes : [:])
            if r.live { passed.append("seed \(seed): plan \(plan.challenges) on loop \(order)") }
            reasons[r.failure?.code ?? "live", default: 0] += 1
        }
        // measured 2 (canonical) and 1 (shuffled) with the reaction floor judged from the movement's start and the
        // opposite direction at its detector's minimum (2 and 2 before); held-out seeds 1000–10999: 9 and 11 of 10,000
        let limit = loop == .shuffled ? 1 : 2
        #expect(passed.count <= limit, "the all-actions loop (\(loop)) passed \(passed.count) of 1,000 random plans:\n\(passed.joined(separator: "\n"))")
        print("all-actions loop (\(loop)): \(passed.count)/1000 plans passed; outcomes \(reasons.sorted { $0.key < $1.key })\n\(passed.joined(separator: "\n"))")
    }

    /// One head action scheduled `offset` seconds after the prompt that a still face gets (nil: none), on the noisy
    /// synthetic webcam; the prompt time is that of the run without the action (the stream is deterministic).
    static func movement(_ c: ChallengeType, fps: Double, seed: UInt64, at offset: Double?,
                         amplitude: Double? = nil) throws -> LivenessResult {
        func run(_ at: Double?) throws -> LivenessResult {
            var session = LivenessSession(plan: try ChallengePlan(explicit: [c]), holdFractions: [0.5])
            var stream = SynthStream.noisy(fps: fps, seed: seed)
            if let at { stream.add(c, at: at, amplitude: amplitude) }
            var i = 0
            while session.result == nil, stream.time(ofFrame: i) <= 12 {
                for f in stream.deliver(i) where session.result == nil { _ = session.process(f) }
                i += 1
            }
            return session.endOfInput()
        }
        guard let offset else { return try run(nil) }
        let prompt = try #require(try run(nil).challenges[0].promptAt).timestamp
        return try run(prompt + offset)
    }

    /// A head movement begun 0.1–0.16 s before its prompt is no reaction to it (`reaction_too_fast`, or not seen at
    /// all when the detector re-arms only back at neutral), although the detectors, re-armed at the prompt, can report
    /// its onset after it (the all-actions loop passed plan 673 so: a look-down begun 0.16 s
    /// before a nod prompt, onset read 0.2 s after it). The reaction floor is judged from where the movement began
    /// (`ActionEngine.movementStart`). The same movement 0.35 s after the prompt passes.
    @Test(arguments: [12.0, 15.0, 30.0])
    func aMovementBegunBeforeItsPromptIsTooFast(fps: Double) throws {
        for c in [ChallengeType.lookDown, .lookUp, .nod, .turnLeft, .tiltRight, .shake] {
            for seed: UInt64 in [1, 2] {
                for lead in [0.1, 0.16] {
                    // too fast, or (re-armed only back at neutral) not seen at all: never counted
                    let r = try Self.movement(c, fps: fps, seed: seed, at: -lead, amplitude: c == .nod ? 13 : nil)
                    #expect(!r.live, "\(c) begun \(lead) s before its prompt at \(fps) fps, seed \(seed) passed")
                    if case .reactionTooFast(_, let ms) = r.failure { #expect(ms < 150) }
                }
                let ok = try Self.movement(c, fps: fps, seed: seed, at: 0.35, amplitude: c == .nod ? 13 : nil)
                #expect(ok.live, "\(c) 0.35 s after its prompt at \(fps) fps, seed \(seed): \(ok.reason ?? "")")
            }
        }
    }

    /// One asked challenge on a noisy synthetic webcam (up to 12 s): `atPrompt` adds the person's movements once the
    /// prompt is shown (its timestamp).
    func runAsked(_ asked: ChallengeType, fps: Double, seed: UInt64,
                  atPrompt: (inout SynthStream, Double) -> Void) throws -> LivenessResult {
        var s = LivenessSession(plan: try ChallengePlan(explicit: [asked]), holdFractions: [0.5])
        var st = SynthStream.noisy(fps: fps, seed: seed)
        var i = 0
        while s.result == nil, st.time(ofFrame: i) < 12 {
            for f in st.deliver(i) where s.result == nil {
                for e in s.process(f).events {
                    if case .prompt(_, _, _, let at) = e { atPrompt(&st, at.timestamp) }
                }
            }
            i += 1
        }
        return s.endOfInput()
    }

    /// A look-up or look-down done together with a turn (a diagonal look) passes the look: the person did what was
    /// asked. A turn made first and the look after it is still the wrong action. Fails on 2a99d1d (a 35° turn that
    /// completes while a 20° look is under way: `wrong_action` at 12 and 30 fps).
    @Test func aDiagonalLookPassesATurnThenALookDoesNot() throws {
        func run(_ asked: ChallengeType, _ turn: ChallengeType, fps: Double, seed: UInt64, turnAt: Double, lookAt: Double,
                 turnAmplitude: Double) throws -> LivenessResult {
            try runAsked(asked, fps: fps, seed: seed) { st, prompt in
                st.add(turn, at: prompt + turnAt, amplitude: turnAmplitude)
                st.add(asked, at: prompt + lookAt, amplitude: 20)
            }
        }
        for fps in [10.0, 12.0, 30.0] {
            for (asked, turn) in [(ChallengeType.lookDown, ChallengeType.turnLeft), (.lookUp, .turnRight), (.lookDown, .turnRight)] {
                for seed: UInt64 in [1, 2] {
                    for (lookAt, amplitude) in [(0.6, 30.0), (0.7, 35.0), (0.5, 25.0)] {
                        let r = try run(asked, turn, fps: fps, seed: seed, turnAt: 0.6, lookAt: lookAt, turnAmplitude: amplitude)
                        #expect(r.live, "\(asked) with a \(amplitude)° \(turn) at \(fps) fps, seed \(seed): \(r.reason ?? "")")
                    }
                    let r = try run(asked, turn, fps: fps, seed: seed, turnAt: 0.5, lookAt: 1.9, turnAmplitude: 30)
                    #expect(r.failure == .wrongAction(expected: asked, performed: turn),
                            "\(turn) then \(asked) at \(fps) fps, seed \(seed): \(r.reason ?? "live")")
                }
            }
        }
    }

    /// A turn's pitch coupling: a 21° dip or lift that completes inside an asked 32° turn (as LivePortrait d3's turn
    /// at 8 s reads on the backlit variant: a 19° look-down and a nod, completed 0.3 s before the turn) is part of the
    /// turn. The same pitch movement before the turn starts, or inside a turn that falls back short of its angle,
    /// is still the wrong action. Fails on 9377031 (`wrong_action` "saw look-down"/"saw look-up" at once).
    @Test func aPitchMovementInsideAnAskedTurnIsPartOfIt() throws {
        func run(_ asked: ChallengeType, _ pitch: ChallengeType, fps: Double, seed: UInt64, turn: Double,
                 turnAt: Double = 0.6, pitchAt: Double) throws -> LivenessResult {
            try runAsked(asked, fps: fps, seed: seed) { st, prompt in
                st.add(asked, at: prompt + turnAt, amplitude: turn)
                st.add(pitch, at: prompt + pitchAt, amplitude: 21, speed: 1.25)
            }
        }
        for fps in [10.0, 12.0, 30.0] {
            for (asked, pitch) in [(ChallengeType.turnLeft, ChallengeType.lookDown), (.turnRight, .lookDown), (.turnLeft, .lookUp)] {
                for seed: UInt64 in [1, 2] {
                    let inside = try run(asked, pitch, fps: fps, seed: seed, turn: 32, pitchAt: 0.7)
                    #expect(inside.live, "\(pitch) inside a 32° \(asked) at \(fps) fps, seed \(seed): \(inside.reason ?? "")")
                    let before = try run(asked, pitch, fps: fps, seed: seed, turn: 32, turnAt: 1.7, pitchAt: 0.4)
                    // the dip completes as a look and, on the way back, as a nod: either is the wrong action
                    #expect([pitch, .nod].contains { before.failure == .wrongAction(expected: asked, performed: $0) },
                            "\(pitch) before the \(asked) at \(fps) fps, seed \(seed): \(before.reason ?? "live")")
                    let short = try run(asked, pitch, fps: fps, seed: seed, turn: 12, pitchAt: 0.7)
                    #expect([pitch, .nod].contains { short.failure == .wrongAction(expected: asked, performed: $0) },
                            "\(pitch) inside a 12° \(asked) at \(fps) fps, seed \(seed): \(short.reason ?? "live")")
                }
            }
        }
    }

    /// The plan never puts two challenges that move the same part of the face next to each other, and every valid
    /// plan is equally likely: 584 plans of 3 over all ten types (810 with the no-repeat rule alone).
    @Test func plansAlternateTheMovingPart() throws {
        #expect(ChallengePlan.sequenceCount(allowed: ChallengeType.allCases, count: 1) == 10)
        #expect(ChallengePlan.sequenceCount(allowed: ChallengeType.allCases, count: 2) == 76)
        #expect(ChallengePlan.sequenceCount(allowed: ChallengeType.allCases, count: 3) == 584)
        #expect(abs(ReplayOdds.fixedRecordingPassProbability(allowed: ChallengeType.allCases, count: 3) - 1.0 / 584) < 1e-15)
        var seen = Set<[ChallengeType]>()
        var sameMotion: [[ChallengeType]] = []
        for s in UInt64(0)..<8_000 {
            let p = try ChallengePlan(seed: s, count: 3)
            if zip(p.challenges, p.challenges.dropFirst()).contains(where: { $0.motion == $1.motion }) { sameMotion.append(p.challenges) }
            seen.insert(p.challenges)
        }
        #expect(sameMotion.isEmpty, "\(sameMotion.prefix(5))")
        #expect(seen.count == 584)     // 8,000 draws reach every one of the 584 plans (expected misses ≈ 6e-4)
        // an allowed set that moves one part only falls back to the no-repeat rule
        let turns = try ChallengePlan(seed: 3, count: 4, allowed: [.turnLeft, .turnRight])
        #expect(turns.challenges == [.turnLeft, .turnRight, .turnLeft, .turnRight] || turns.challenges == [.turnRight, .turnLeft, .turnRight, .turnLeft])
        #expect(ChallengePlan.sequenceCount(allowed: [.turnLeft, .turnRight, .shake], count: 3) == 12)
        // long plans are drawn without overflow
        #expect(try ChallengePlan(seed: 9, count: 20).count == 20)
    }

    /// Deliberate cross-axis head movements contradict a head challenge; within the asked axis only the opposite
    /// direction does.
    @Test func crossAxisMovementsAreWrongActions() {
        #expect(ChallengeType.turnLeft.conflicts == [.turnRight, .tiltLeft, .tiltRight, .nod, .lookUp, .lookDown])
        #expect(ChallengeType.nod.conflicts == [.turnLeft, .turnRight, .shake, .tiltLeft, .tiltRight])
        #expect(ChallengeType.blink.conflicts == Set(ChallengeType.allCases.filter { $0 != .blink && $0 != .openMouth }))
        for fps in [12.0, 30.0] {
            for (asked, done) in [(ChallengeType.turnLeft, ChallengeType.tiltRight), (.tiltLeft, .turnRight), (.shake, .lookUp),
                                  (.lookDown, .tiltLeft)] {
                var session = LivenessSession(plan: try! ChallengePlan(explicit: [asked]), holdFractions: [0.5])
                var stream = SynthStream.noisy(fps: fps, seed: 21)
                // prompted, deliberate amplitudes: 30° turns, 22° tilts, 25° looks
                let r = SynthActor(respond: { _ in done }, amplitude: done.motion == .pitch ? 25 : nil).run(&session, stream: &stream)
                // a look up or down and back is also two pitch swings, i.e. a nod: either reading is the wrong action
                let also: Set<ChallengeType> = done.motion == .pitch ? [done, .nod] : [done]
                guard case .wrongAction(asked, let seen) = r.failure, also.contains(seen) else {
                    Issue.record("\(asked) asked, \(done) done at \(fps) fps: \(r.reason ?? "live")"); continue
                }
            }
        }
    }
}
