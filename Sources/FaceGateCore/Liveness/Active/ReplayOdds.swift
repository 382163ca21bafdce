import Foundation

/// How likely a fixed recording is to pass a random plan.
///
/// Model: the attacker replays one recording; whatever it shows at step i satisfies some set S_i of challenge
/// types (a clean recording of one action per step: |S_i| = 1). The session fails on a contradicting action, on a
/// timeout, or on a reaction faster than a human's, so the recording passes only when every drawn challenge is in
/// its step's set. Plans are uniform over the k·(k−1)^(N−1) no-immediate-repeat sequences (`ChallengePlan`).
public enum ReplayOdds {
    /// Probability that a recording of one fixed action sequence passes: 1 / (k·(k−1)^(N−1)).
    /// `setSize` k ≥ 1, `count` N ≥ 1 (N > 1 needs k ≥ 2). Returns 0 for impossible inputs.
    public static func fixedRecordingPassProbability(setSize k: Int, count n: Int) -> Double {
        guard k >= 1, n >= 1 else { return 0 }
        if n == 1 { return 1 / Double(k) }
        guard k >= 2 else { return 0 }
        return 1 / (Double(k) * pow(Double(k - 1), Double(n - 1)))
    }

    /// Exact probability that a plan drawn from `allowed` (no immediate repeats) has its i-th challenge in
    /// `satisfied[i]` for every i, i.e. that a recording satisfying those sets at each step passes.
    /// Dynamic programming over the last challenge drawn.
    public static func passProbability(allowed: [ChallengeType], satisfied: [Set<ChallengeType>]) -> Double {
        let set = Array(Set(allowed))
        let k = set.count
        guard k >= 1, !satisfied.isEmpty else { return 0 }
        if satisfied.count > 1 && k < 2 { return 0 }
        // p[c] = probability that the plan so far is all-satisfied and its last element is c
        var p = [ChallengeType: Double]()
        for c in set where satisfied[0].contains(c) { p[c] = 1 / Double(k) }
        for step in satisfied.dropFirst() {
            var q = [ChallengeType: Double]()
            for (last, prob) in p {
                for c in set where c != last && step.contains(c) {
                    q[c, default: 0] += prob / Double(k - 1)
                }
            }
            p = q
        }
        return p.values.reduce(0, +)
    }

    /// Number of distinct plans: k·(k−1)^(N−1).
    public static func planCount(setSize k: Int, count n: Int) -> Double {
        guard k >= 1, n >= 1 else { return 0 }
        return Double(k) * pow(Double(max(k - 1, 0)), Double(n - 1))
    }
}
