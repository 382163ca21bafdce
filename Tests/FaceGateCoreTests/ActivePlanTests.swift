import FaceGateCore
import Foundation
import Testing

@Suite struct ActivePlanTests {
    @Test func rawValuesAreTheCLINames() throws {
        #expect(ChallengeType.allCases.map(\.rawValue) == ["blink", "nod", "turn-left", "turn-right", "tilt-left",
                                                           "tilt-right", "shake", "look-up", "look-down", "open-mouth"])
        #expect(try ChallengeType.parseList("blink, turn-left,open-mouth") == [.blink, .turnLeft, .openMouth])
        #expect(throws: ActiveLivenessError.unknownChallenge("smile")) { try ChallengeType.parseList("blink,smile") }
        #expect(throws: ActiveLivenessError.emptyChallengeList) { try ChallengeType.parseList("") }
        for c in ChallengeType.allCases { #expect(!c.prompt.isEmpty); #expect(!c.conflicts.contains(c)) }
        #expect(ChallengeType.turnLeft.prompt == "Turn your head to your left")
        #expect(ChallengeType.turnLeft.conflicts.contains(.turnRight))
    }

    @Test func sameNonceSamePlanAndSeedIsDeterministic() throws {
        let nonce = (0..<32).map { UInt8($0 * 7 & 0xff) }
        let a = try ChallengePlan(nonce: nonce, count: 5)
        let b = try ChallengePlan(nonce: nonce, count: 5)
        #expect(a == b)
        // the allowed set's order does not matter
        let c = try ChallengePlan(nonce: nonce, count: 5, allowed: ChallengeType.allCases.reversed())
        #expect(a.challenges == c.challenges)
        #expect(try ChallengePlan(seed: 42, count: 4).challenges == ChallengePlan(seed: 42, count: 4).challenges)
        // different seeds give different plans (over a handful of seeds, not all equal)
        let plans = Set(try (0..<20).map { try ChallengePlan(seed: UInt64($0), count: 3).challenges })
        #expect(plans.count > 15)
        // round trip through hex
        #expect(try ChallengePlan.nonce(hex: a.nonceHex) == nonce)
        #expect(throws: ActiveLivenessError.self) { try ChallengePlan.nonce(hex: "abc") }
        #expect(throws: ActiveLivenessError.self) { try ChallengePlan(nonce: [1, 2, 3]) }
    }

    @Test func randomPlansComeFromTheSystemGenerator() throws {
        let a = try ChallengePlan.random(), b = try ChallengePlan.random()
        #expect(a.nonce.count == 32 && b.nonce.count == 32)
        #expect(a.nonce != b.nonce)
        #expect(a.count == ChallengePlan.defaultCount)
        // reproducible from its own nonce
        #expect(try ChallengePlan(nonce: a.nonce, count: a.count, allowed: a.allowed) == a)
    }

    @Test func noImmediateRepeatsAndOnlyAllowedTypes() throws {
        let allowed: [ChallengeType] = [.blink, .turnLeft, .turnRight]
        for s in 0..<500 {
            let p = try ChallengePlan(seed: UInt64(s), count: 6, allowed: allowed)
            #expect(p.count == 6)
            for (x, y) in zip(p.challenges, p.challenges.dropFirst()) { #expect(x != y) }
            #expect(p.challenges.allSatisfy { allowed.contains($0) })
        }
        #expect(throws: ActiveLivenessError.setTooSmall(size: 1, count: 2)) { try ChallengePlan(seed: 1, count: 2, allowed: [.blink]) }
        #expect(try ChallengePlan(seed: 1, count: 1, allowed: [.blink]).challenges == [.blink])
        #expect(throws: ActiveLivenessError.self) { try ChallengePlan(seed: 1, count: 0) }
        #expect(throws: ActiveLivenessError.immediateRepeat(.blink)) { try ChallengePlan(explicit: [.blink, .blink]) }
    }

    @Test func drawsAreUniform() throws {
        // 10 types, 3000 plans of 2: every one of the 76 valid ordered pairs (no repeat, different moving part)
        // should appear ~39.5 times, and no other pair.
        var pairs = [String: Int]()
        let n = 3000
        for s in 0..<n {
            let p = try ChallengePlan(seed: UInt64(s) &* 0x9E37_79B9, count: 2)
            pairs["\(p.challenges[0])>\(p.challenges[1])", default: 0] += 1
        }
        #expect(pairs.count == 76)                              // all valid ordered pairs occur
        // chi-square over the 76 pairs (75 dof): 99.9th percentile ≈ 118.7
        let e = Double(n) / 76
        let chi = pairs.values.reduce(0.0) { $0 + pow(Double($1) - e, 2) / e }
        #expect(chi < 118.7)
    }

    @Test func replayOddsFormulaAndExactComputation() throws {
        #expect(abs(ReplayOdds.fixedRecordingPassProbability(setSize: 10, count: 3) - 1.0 / 810) < 1e-15)
        #expect(abs(ReplayOdds.fixedRecordingPassProbability(setSize: 10, count: 1) - 0.1) < 1e-15)
        #expect(ReplayOdds.fixedRecordingPassProbability(setSize: 1, count: 2) == 0)
        #expect(ReplayOdds.planCount(setSize: 10, count: 3) == 810)
        let all = ChallengeType.allCases
        // a recording of one action per step = the formula
        let exact = ReplayOdds.passProbability(allowed: all, satisfied: [[.blink], [.turnLeft], [.blink]])
        #expect(abs(exact - 1.0 / 584) < 1e-12)
        // two actions that move the same part are never drawn next to each other
        #expect(ReplayOdds.passProbability(allowed: all, satisfied: [[.lookDown], [.nod]]) == 0)
        // a recording that satisfies everything always passes
        #expect(abs(ReplayOdds.passProbability(allowed: all, satisfied: Array(repeating: Set(all), count: 4)) - 1) < 1e-12)
        // a recording asking the same action twice in a row can never pass (no immediate repeats)
        #expect(ReplayOdds.passProbability(allowed: all, satisfied: [[.blink], [.blink]]) == 0)
    }

    @Test func replayOddsMatchThePlanGenerator() throws {
        // Monte Carlo against the real generator: allowed 3 types, N = 2, recording does [blink, turn-left].
        let allowed: [ChallengeType] = [.blink, .turnLeft, .nod]
        let expected = ReplayOdds.passProbability(allowed: allowed, satisfied: [[.blink], [.turnLeft]])
        #expect(abs(expected - 1.0 / 6) < 1e-12)
        let n = 6000
        var hits = 0
        for s in 0..<n where try ChallengePlan(seed: UInt64(s) + 77, count: 2, allowed: allowed).challenges == [.blink, .turnLeft] {
            hits += 1
        }
        let sigma = (Double(n) * expected * (1 - expected)).squareRoot()
        #expect(abs(Double(hits) - Double(n) * expected) < 4 * sigma)
    }
}
