import Foundation

/// A 128-d face descriptor from dlib's ResNet (`dlib_face_recognition_resnet_model_v1`), compared by Euclidean
/// distance.
public struct Embedding: Sendable, Hashable, Codable {
    public var values: [Float]
    public init(_ values: [Float]) { self.values = values }
    public static let dimension = 128

    public func distance(to o: Embedding) -> Double {
        precondition(values.count == o.values.count, "embedding sizes differ")
        var s: Float = 0
        for i in 0..<values.count { let d = values[i] - o.values[i]; s += d * d }
        return Double(s.squareRoot())
    }
}

public enum IdentityThreshold {
    /// Default same-person threshold on dlib ResNet Euclidean distance (docs/identity.md, "Choosing the default"):
    /// measured with `facegate calibrate` on 2,628 pairs of 73 images (30 labelled fixture photos, 7 people from the
    /// pinned insightface wheel via scripts/fetch-identity-eval.sh, 2 frames of each of 18 motion clips, liveness
    /// crops): 0 of 1,954 impostor pairs involving a photo match at 0.55 (closest 0.587) — FMR ≤ 1.5e-3 at 95 %
    /// confidence, all this data supports (1e-4 would need ≥ 30,000 clean impostor pairs) — at FNMR 0 of 60 genuine
    /// pairs (largest 0.531) and 0 of 44 on PAIRS.tsv. dlib's 0.6 let 38 of 2,568 impostor pairs through. Clip-to-clip
    /// pairs of East-Asian subjects reach 0.461 (10 of 480 match at 0.55) — calibrate on your own population.
    public static let `default` = 0.55
    /// Every threshold (flag, per-user, config, environment) must lie in this range. Stricter than 0.1 refuses even
    /// frames of one video (same-session distances ≈ 0.1–0.2); looser than 0.8 accepts a quarter of the fixture
    /// impostor pairs (27.5 % at 0.80; their median is ≈ 0.84).
    public static let allowedRange: ClosedRange<Double> = 0.1...0.8

    /// Is a stored per-user threshold used at match time? Any stricter value is (it can only refuse more); a value
    /// looser than the allowed maximum (e.g. a stored 7, which would match anyone) is ignored for the global one.
    public static func usable(perUser t: Double) -> Bool { t.isFinite && t > 0 && t <= allowedRange.upperBound }

    /// Checks one threshold value; `what` names where it came from (for the error).
    public static func check(_ t: Double, _ what: String) throws {
        guard t.isFinite, allowedRange.contains(t) else { throw IdentityError.badThreshold(value: t, source: what) }
    }

    /// Checks a per-user threshold about to be stored: in range, and no looser than the global one unless forced.
    public static func checkPerUser(_ t: Double, global: Double, force: Bool) throws {
        try check(t, "per-user threshold")
        if t > global && !force { throw IdentityError.looserPerUserThreshold(value: t, global: global) }
    }
}

/// Where the threshold in effect came from.
public enum ThresholdSource: String, Sendable, Hashable, Codable, CustomStringConvertible {
    case flag, user = "per-user", config, environment, `default`
    public var description: String { rawValue }
}

/// The one threshold resolution order used by every front-end (CLI commands, the server):
/// **flag > per-user > config > environment (`FACEGATE_IDENTITY_THRESHOLD`) > default**, where `config` is a `--set`
/// value, or the file's when the environment names none (`ThresholdSettings(flag:config:environment:)` in FaceGate).
public struct ThresholdSettings: Sendable, Hashable, Codable {
    /// `--threshold` of the command: applies to every user, over their own threshold.
    public var flag: Double?
    /// `identity.threshold` from the configuration file or `--set`.
    public var config: Double?
    /// `FACEGATE_IDENTITY_THRESHOLD`.
    public var environment: Double?

    public init(flag: Double? = nil, config: Double? = nil, environment: Double? = nil) {
        self.flag = flag; self.config = config; self.environment = environment
    }

    /// Range-checks every value given (errors name the source).
    public func validate() throws {
        if let f = flag { try IdentityThreshold.check(f, "--threshold") }
        if let c = config { try IdentityThreshold.check(c, "identity.threshold (configuration)") }
        if let e = environment { try IdentityThreshold.check(e, "FACEGATE_IDENTITY_THRESHOLD") }
    }

    /// The global threshold (no per-user override): config > environment > default.
    public var global: (value: Double, source: ThresholdSource) {
        if let c = config { return (c, .config) }
        if let e = environment { return (e, .environment) }
        return (IdentityThreshold.default, .default)
    }

    /// The threshold for one user: flag > per-user (if in range) > global.
    public func resolve(user: Double?) -> (value: Double, source: ThresholdSource) {
        if let f = flag { return (f, .flag) }
        if let u = user, IdentityThreshold.usable(perUser: u) { return (u, .user) }
        return global
    }
}
