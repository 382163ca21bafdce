import Foundation

/// How the distance between a probe and a user with several templates is computed.
public enum ScoreRule: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Smallest distance to any template.
    case best
    /// Mean of the `k` smallest distances (all templates when the user has fewer than `k`).
    case meanOfBest(Int)

    /// Default rule: the mean of a user's 2 nearest templates (the nearest alone when they have one). Measured over
    /// the calibrate distances of the 67 fixture images (docs/identity.md, "Score rule"): at the 0.55 threshold it
    /// lets 6 of 1,523 impostor probe–gallery comparisons through against 14 for `best`, with the same FNMR (0 of
    /// 25 leave-one-out genuine probes); at a fixed FMR of 2/1,523 both refuse 1 of 25.
    public static let `default` = ScoreRule.meanOfBest(2)

    public var description: String {
        switch self {
        case .best: return "best"
        case .meanOfBest(let k): return "mean-of-best-\(k)"
        }
    }

    /// Parses `best` or `mean-of-best-K` / `meanK`.
    public init?(parsing s: String) {
        let t = s.lowercased()
        if t == "best" { self = .best; return }
        for prefix in ["mean-of-best-", "mean"] where t.hasPrefix(prefix) {
            if let k = Int(t.dropFirst(prefix.count)), k >= 1 { self = .meanOfBest(k); return }
        }
        return nil
    }

    /// Combines per-template distances (any order) into one user score.
    public func combine(_ distances: [Double]) -> Double? {
        guard !distances.isEmpty else { return nil }
        switch self {
        case .best: return distances.min()
        case .meanOfBest(let k):
            let s = distances.sorted().prefix(max(1, k))
            return s.reduce(0, +) / Double(s.count)
        }
    }
}

/// Result of a 1:1 comparison.
public struct VerifyResult: Sendable, Hashable, Codable {
    public var match: Bool
    public var distance: Double
    public var threshold: Double
    /// Where `threshold` came from (flag, per-user, config, environment, default); nil from older callers.
    public var thresholdSource: ThresholdSource?
    public init(match: Bool, distance: Double, threshold: Double, thresholdSource: ThresholdSource? = nil) {
        self.match = match; self.distance = distance; self.threshold = threshold; self.thresholdSource = thresholdSource
    }
}

/// One ranked user in a 1:N search.
public struct IdentityCandidate: Sendable, Hashable, Codable {
    public var user: String
    public var distance: Double
    /// The threshold that applies to this user (per-user override or the global one).
    public var threshold: Double
    public init(user: String, distance: Double, threshold: Double) {
        self.user = user; self.distance = distance; self.threshold = threshold
    }
}

/// Result of a 1:N search: the accepted user (or nil when nobody is close enough) and the nearest candidates.
public struct IdentifyResult: Sendable, Hashable, Codable {
    public var user: String?
    /// Distance of the nearest candidate (nil only for an empty gallery).
    public var distance: Double?
    public var candidates: [IdentityCandidate]
    public init(user: String?, distance: Double?, candidates: [IdentityCandidate]) {
        self.user = user; self.distance = distance; self.candidates = candidates
    }
}

/// Identity decision policy: threshold (global + per user) and score rule.
public struct IdentityPolicy: Sendable, Hashable, Codable {
    /// Global same-person threshold on Euclidean distance.
    public var threshold: Double
    /// Where the global threshold came from.
    public var thresholdSource: ThresholdSource = .default
    /// A command's `--threshold`: wins over per-user thresholds (flag > per-user > config > environment > default).
    public var flagThreshold: Double?
    public var rule: ScoreRule
    /// How many candidates `identify` reports.
    public var candidateCount: Int

    /// Five candidates, as `facegate identify --json` reports.
    public static let defaultCandidateCount = 5

    public init(threshold: Double = IdentityThreshold.default, rule: ScoreRule = .default,
                candidateCount: Int = IdentityPolicy.defaultCandidateCount) {
        self.threshold = threshold; self.rule = rule; self.candidateCount = candidateCount
    }

    /// The policy of resolved settings (`ThresholdSettings`: flag > per-user > config > environment > default).
    public init(settings: ThresholdSettings, rule: ScoreRule = .default, candidateCount: Int = IdentityPolicy.defaultCandidateCount) {
        let g = settings.global
        self.init(threshold: g.value, rule: rule, candidateCount: candidateCount)
        thresholdSource = g.source
        flagThreshold = settings.flag
    }

    /// The threshold for a user and where it came from: the flag, else their own (when in the allowed range;
    /// a stored value above the allowed maximum, such as 7, is ignored), else the global one.
    public func resolvedThreshold(override: Double?) -> (value: Double, source: ThresholdSource) {
        if let f = flagThreshold { return (f, .flag) }
        if let u = override, IdentityThreshold.usable(perUser: u) { return (u, .user) }
        return (threshold, thresholdSource)
    }

    /// The threshold for a user (see `resolvedThreshold`).
    public func threshold(override: Double?) -> Double { resolvedThreshold(override: override).value }

    /// 1:1: is `probe` the person whose templates are given?
    public func verify(templates: [Embedding], probe: Embedding, thresholdOverride: Double? = nil) throws -> VerifyResult {
        try IdentityPolicy.check(probe)
        let d = templates.map { $0.distance(to: probe) }
        guard let score = rule.combine(d) else {
            throw IdentityError.noTemplates(user: nil)
        }
        let t = resolvedThreshold(override: thresholdOverride)
        return VerifyResult(match: score <= t.value, distance: score, threshold: t.value, thresholdSource: t.source)
    }

    /// Ranks already-scored users and applies the threshold of the nearest one only: an unknown face is rejected
    /// rather than matched to the next-best user.
    public func decide(scored: [IdentityCandidate]) -> IdentifyResult {
        let ranked = scored.sorted { $0.distance < $1.distance || ($0.distance == $1.distance && $0.user < $1.user) }
        let top = Array(ranked.prefix(max(1, candidateCount)))
        guard let best = ranked.first else { return IdentifyResult(user: nil, distance: nil, candidates: []) }
        return IdentifyResult(user: best.distance <= best.threshold ? best.user : nil, distance: best.distance,
                              candidates: top)
    }

    /// Exhaustive 1:N over small in-memory lists (the index does the same at scale).
    public func identify(users: [(name: String, templates: [Embedding], threshold: Double?)], probe: Embedding) throws -> IdentifyResult {
        try IdentityPolicy.check(probe)
        guard !users.isEmpty else { throw IdentityError.emptyGallery }
        var scored: [IdentityCandidate] = []
        for u in users {
            guard let s = rule.combine(u.templates.map { $0.distance(to: probe) }) else { continue }
            scored.append(IdentityCandidate(user: u.name, distance: s, threshold: threshold(override: u.threshold)))
        }
        return decide(scored: scored)
    }

    /// A probe must have the embedding dimension and finite values.
    public static func check(_ e: Embedding) throws {
        guard e.values.count == Embedding.dimension else {
            throw IdentityError.badEmbedding("probe has \(e.values.count) values, expected \(Embedding.dimension)")
        }
        guard e.values.allSatisfy({ $0.isFinite }) else { throw IdentityError.badEmbedding("probe has non-finite values") }
    }
}

/// Errors from identity matching. Each says what to do next.
public enum IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyGallery
    case unknownUser(String)
    case noTemplates(user: String?)
    case badEmbedding(String)
    case badThreshold(value: Double, source: String)
    case looserPerUserThreshold(value: Double, global: Double)

    public var description: String {
        switch self {
        case .emptyGallery:
            return "the gallery is empty: nobody is enrolled — enroll someone first (`facegate enroll --user NAME --images FILE…`)"
        case .unknownUser(let n):
            return "no enrolled user named '\(n)' — see `facegate users list`"
        case .noTemplates(let u):
            return "user \(u.map { "'\($0)' " } ?? "")has no templates — re-enroll (`facegate enroll --user NAME …`)"
        case .badThreshold(let v, let src):
            return String(format: "%@ %g is out of range: thresholds must lie in %.2f…%.2f (smaller is stricter; the default is %.2f)",
                          src, v, IdentityThreshold.allowedRange.lowerBound, IdentityThreshold.allowedRange.upperBound, IdentityThreshold.default)
        case .looserPerUserThreshold(let v, let g):
            return String(format: "per-user threshold %.3f is looser than the global %.3f: a user's own threshold may only be stricter — pass --force to allow it", v, g)
        case .badEmbedding(let d):
            return "invalid face embedding: \(d) — embeddings are \(Embedding.dimension) finite floats from `facegate embed`"
        }
    }
}
