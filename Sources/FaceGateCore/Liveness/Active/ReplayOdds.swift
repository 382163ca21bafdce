import Foundation

/// How likely a fixed recording is to pass a random plan.
///
/// Model: the attacker replays one recording; whatever it shows at step i satisfies some set S_i of challenge
/// types (a clean recording of one action per step: |S_i| = 1). The session fails on a contradicting action, on a
/// timeout, or on a reaction faster than a human's, so the recording passes only when every drawn challenge is in
/// its step's set. Plans are uniform over the valid sequences of `ChallengePlan` (no immediate repeats, and no two
/// consecutive challenges moving the same part of the face when the allowed set spans more than one): 584 for all
/// ten types and N = 3 (`ChallengePlan.sequenceCount`).
public enum ReplayOdds {
    /// Probability that a recording of one fixed action sequence passes a plan drawn from `allowed`:
    /// 1 / (number of valid plans). All ten types, N = 3: 1/584.
    public static func fixedRecordingPassProbability(allowed: some Collection<ChallengeType>, count n: Int) -> Double {
        let plans = ChallengePlan.sequenceCount(allowed: allowed, count: n)
        return plans > 0 ? 1 / plans : 0
    }

    /// Number of distinct plans of `count` challenges drawn from `allowed` (`ChallengePlan.sequenceCount`).
    public static func planCount(allowed: some Collection<ChallengeType>, count n: Int) -> Double {
        ChallengePlan.sequenceCount(allowed: allowed, count: n)
    }

    /// The no-immediate-repeat rule alone: 1 / (k·(k−1)^(N−1)). This is the plan rule when all allowed types move
    /// one part of the face (e.g. only turns); otherwise use `fixedRecordingPassProbability(allowed:count:)`.
    /// `setSize` k ≥ 1, `count` N ≥ 1 (N > 1 needs k ≥ 2). Returns 0 for impossible inputs.
    public static func fixedRecordingPassProbability(setSize k: Int, count n: Int) -> Double {
        guard k >= 1, n >= 1 else { return 0 }
        if n == 1 { return 1 / Double(k) }
        guard k >= 2 else { return 0 }
        return 1 / (Double(k) * pow(Double(k - 1), Double(n - 1)))
    }

    /// Exact probability that a plan drawn from `allowed` (`ChallengePlan`'s rule, every valid plan equally
    /// likely) has its i-th challenge in `satisfied[i]` for every i, i.e. that a recording satisfying those sets at
    /// each step passes. Counts the satisfying plans by dynamic programming over the last challenge drawn.
    public static func passProbability(allowed: [ChallengeType], satisfied: [Set<ChallengeType>]) -> Double {
        let set = ChallengeType.allCases.filter { Set(allowed).contains($0) }
        guard !set.isEmpty, !satisfied.isEmpty else { return 0 }
        let total = ChallengePlan.sequenceCount(allowed: set, count: satisfied.count)
        guard total > 0 else { return 0 }
        // n[c] = number of valid plan prefixes, all satisfied so far, ending in c
        var n = [ChallengeType: Double]()
        for c in set where satisfied[0].contains(c) { n[c] = 1 }
        for step in satisfied.dropFirst() {
            var q = [ChallengeType: Double]()
            for (last, count) in n {
                for c in set where step.contains(c) && ChallengePlan.mayFollow(last, with: c, in: set) {
                    q[c, default: 0] += count
                }
            }
            n = q
        }
        return n.values.reduce(0, +) / total
    }

    /// The no-immediate-repeat rule alone: k·(k−1)^(N−1) (see `planCount(allowed:count:)` for the plan rule).
    public static func planCount(setSize k: Int, count n: Int) -> Double {
        guard k >= 1, n >= 1 else { return 0 }
        return Double(k) * pow(Double(max(k - 1, 0)), Double(n - 1))
    }
}
