import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): used only to expand seeds into generator state.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman & Vigna 2018): a small, fast, deterministic generator. The plan is drawn with it
/// from a 32-byte nonce, so the same nonce always gives the same plan. Not a cryptographic generator: the
/// unpredictability comes from the nonce, which `ChallengePlan.random` takes from the system's CSPRNG.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds from 32 bytes (little-endian words), each word passed through SplitMix64 so that no nonce (not even
    /// all zeros) gives the forbidden all-zero state.
    public init(nonce: [UInt8]) {
        precondition(nonce.count == 32, "nonce must be 32 bytes")
        var w = [UInt64](repeating: 0, count: 4)
        for i in 0..<4 {
            var v: UInt64 = 0
            for b in 0..<8 { v |= UInt64(nonce[i * 8 + b]) << (8 * UInt64(b)) }
            var sm = SplitMix64(seed: v ^ (UInt64(i) &* 0xD1B5_4A32_D192_ED03))
            w[i] = sm.next()
        }
        if w.allSatisfy({ $0 == 0 }) { w[0] = 1 }
        s = (w[0], w[1], w[2], w[3])
    }

    /// Seeds from one 64-bit value (tests, reproducible demos).
    public init(seed: UInt64) { self.init(nonce: ChallengePlan.nonce(fromSeed: seed)) }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }

    /// Uniform integer in 0..<bound without modulo bias (rejection sampling), for bounds beyond `Int`.
    public mutating func uniform64(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let v = next()
            if v < limit { return v % bound }
        }
    }

    /// Uniform integer in 0..<bound without modulo bias (rejection sampling).
    public mutating func uniform(below bound: Int) -> Int {
        precondition(bound > 0)
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b   // values >= limit would bias the low residues
        while true {
            let v = next()
            if v < limit { return Int(v % b) }
        }
    }
}

/// An ordered list of challenges for one session, reproducible from `(nonce, count, allowed)`.
///
/// Drawing rule: the plan is uniform over the valid sequences of the allowed set (`ChallengePlan.mayFollow`): no
/// immediate repeats, and two consecutive challenges move different parts of the face (`ChallengeType.Motion`:
/// yaw, pitch, roll, eyes, mouth) whenever the allowed set spans more than one. Every valid sequence is equally
/// likely, which is what `ReplayOdds` assumes; all ten types, N = 3: 584 sequences (810 without the motion rule).
/// Why the motion rule (issue 14, the all-actions replay loop): a recording that performs every action in turn
/// groups them by axis (left then right, up then down), and on one axis the actions overlap (a look-down and
/// back is a nod to the detector, a shake contains two turns), so plans with a same-axis neighbour were the ones
/// such a loop passed (synthetic loop, 1,000 seeded plans: 19 passes before, see `ActiveReplayLoopTests`).
public struct ChallengePlan: Sendable, Hashable, Codable {
    /// 32 bytes the plan was drawn from; empty for an explicit list (`--challenges`).
    public let nonce: [UInt8]
    public let challenges: [ChallengeType]
    /// The set the plan was drawn from, in canonical (`ChallengeType.allCases`) order.
    public let allowed: [ChallengeType]

    public static let defaultCount = 3
    public static let nonceLength = 32

    public var count: Int { challenges.count }
    public var nonceHex: String { nonce.map { String(format: "%02x", $0) }.joined() }
    /// True when the plan was drawn at random (not given explicitly).
    public var isRandom: Bool { !nonce.isEmpty }

    /// Draws `count` challenges from `nonce` (32 bytes). Same inputs → same plan.
    public init(nonce: [UInt8], count: Int = ChallengePlan.defaultCount,
                allowed: some Collection<ChallengeType> = ChallengeType.allCases) throws {
        guard nonce.count == Self.nonceLength else { throw ActiveLivenessError.badNonce("got \(nonce.count) bytes") }
        let set = Set(allowed)
        let canon = ChallengeType.allCases.filter { set.contains($0) }
        let maxCount = 20
        guard count >= 1, count <= maxCount else { throw ActiveLivenessError.countOutOfRange(count: count, maximum: maxCount) }
        guard !canon.isEmpty, count == 1 || canon.count >= 2 else {
            throw ActiveLivenessError.setTooSmall(size: canon.count, count: count)
        }
        var rng = Xoshiro256StarStar(nonce: nonce)
        // Uniform over the valid sequences: w[r][c] = number of valid sequences of length r + 1 starting with c;
        // each challenge is drawn with the weight of the sequences it leaves open. Counts fit in UInt64
        // (at most 10·9^19 ≈ 1.4e19 for N = 20).
        let w = Self.completionCounts(allowed: canon, count: count)
        var out: [ChallengeType] = []
        for i in 0..<count {
            let options = canon.filter { c in out.last.map { Self.mayFollow($0, with: c, in: canon) } ?? true }
            let weights = options.map { w[count - 1 - i][$0] ?? 0 }
            var pick = rng.uniform64(below: weights.reduce(0, +))
            for (c, wt) in zip(options, weights) {
                if pick < wt { out.append(c); break }
                pick -= wt
            }
        }
        self.nonce = nonce
        self.challenges = out
        self.allowed = canon
    }

    /// True when `next` may follow `previous` in a plan drawn from `allowed`: never the same challenge twice in a
    /// row, and never the same moving part (`ChallengeType.motion`) twice in a row unless the allowed set has only
    /// one (e.g. `--allow turn-left,turn-right`, where only the no-repeat rule can apply).
    public static func mayFollow(_ previous: ChallengeType, with next: ChallengeType,
                                 in allowed: some Collection<ChallengeType>) -> Bool {
        guard previous != next else { return false }
        let motions = Set(allowed.map(\.motion))
        return motions.count < 2 || previous.motion != next.motion
    }

    /// w[r][c]: the number of valid sequences of r + 1 challenges from `allowed` that start with c (r < count).
    static func completionCounts(allowed: [ChallengeType], count: Int) -> [[ChallengeType: UInt64]] {
        var w: [[ChallengeType: UInt64]] = [Dictionary(uniqueKeysWithValues: allowed.map { ($0, UInt64(1)) })]
        for r in 1..<max(count, 1) {
            var row: [ChallengeType: UInt64] = [:]
            for c in allowed {
                row[c] = allowed.filter { mayFollow(c, with: $0, in: allowed) }.reduce(UInt64(0)) { $0 + (w[r - 1][$1] ?? 0) }
            }
            w.append(row)
        }
        return w
    }

    /// The number of distinct plans of `count` challenges drawn from `allowed` (all equally likely).
    public static func sequenceCount(allowed: some Collection<ChallengeType>, count: Int) -> Double {
        let set = Set(allowed)
        let canon = ChallengeType.allCases.filter { set.contains($0) }
        guard count >= 1, !canon.isEmpty else { return 0 }
        let w = completionCounts(allowed: canon, count: count)
        return canon.reduce(0.0) { $0 + Double(w[count - 1][$1] ?? 0) }
    }

    /// One number in [0, 1) per challenge for the random hold-still before its prompt
    /// (`LivenessConfiguration.holdStill`): from a second generator stream of the nonce (the plan's own draws are
    /// unchanged, and the pauses are reproducible with it), or from the system CSPRNG for an explicit plan, which
    /// has no nonce.
    public func holdFractions() -> [Double] {
        func unit(_ v: UInt64) -> Double { Double(v >> 11) / Double(1 << 53) }
        guard nonce.count == Self.nonceLength else {
            var g = SystemRandomNumberGenerator()
            return challenges.map { _ in unit(g.next()) }
        }
        var rng = Xoshiro256StarStar(nonce: nonce.map { $0 ^ 0xA5 })
        return challenges.map { _ in unit(rng.next()) }
    }

    /// A plan drawn from a fresh 32-byte nonce taken from the system CSPRNG (`SystemRandomNumberGenerator`).
    public static func random(count: Int = defaultCount,
                              allowed: some Collection<ChallengeType> = ChallengeType.allCases) throws -> ChallengePlan {
        var sys = SystemRandomNumberGenerator()
        var nonce = [UInt8](repeating: 0, count: nonceLength)
        for i in stride(from: 0, to: nonceLength, by: 8) {
            let v = sys.next()
            for b in 0..<8 { nonce[i + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(b))) }
        }
        return try ChallengePlan(nonce: nonce, count: count, allowed: allowed)
    }

    /// A reproducible plan from a 64-bit seed (`--seed S`): the seed is expanded to a nonce with SplitMix64.
    public init(seed: UInt64, count: Int = ChallengePlan.defaultCount,
                allowed: some Collection<ChallengeType> = ChallengeType.allCases) throws {
        try self.init(nonce: Self.nonce(fromSeed: seed), count: count, allowed: allowed)
    }

    /// An explicit list (`--challenges blink,turn-left`): checked against a recording as given, not drawn.
    public init(explicit list: [ChallengeType]) throws {
        guard !list.isEmpty else { throw ActiveLivenessError.emptyChallengeList }
        for (a, b) in zip(list, list.dropFirst()) where a == b { throw ActiveLivenessError.immediateRepeat(a) }
        let set = Set(list)
        self.nonce = []
        self.challenges = list
        self.allowed = ChallengeType.allCases.filter { set.contains($0) }
    }

    /// Parses 64 hex digits into a nonce.
    public static func nonce(hex: String) throws -> [UInt8] {
        let h = Array(hex.lowercased().utf8)
        guard h.count == nonceLength * 2 else { throw ActiveLivenessError.badNonce("got \(h.count) hex digits") }
        func val(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            default: return nil
            }
        }
        var out = [UInt8]()
        for i in stride(from: 0, to: h.count, by: 2) {
            guard let a = val(h[i]), let b = val(h[i + 1]) else { throw ActiveLivenessError.badNonce("not hexadecimal") }
            out.append(a << 4 | b)
        }
        return out
    }

    /// The 32-byte nonce a 64-bit seed stands for.
    public static func nonce(fromSeed seed: UInt64) -> [UInt8] {
        var sm = SplitMix64(seed: seed)
        var out = [UInt8]()
        for _ in 0..<4 {
            let v = sm.next()
            for b in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(b)))) }
        }
        return out
    }
}
