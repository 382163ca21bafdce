import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

/// Outcome of `facegate authenticate`: liveness first, then identity on the frames that passed liveness.
public struct AuthenticationResult: Sendable, Codable {
    public var authorized: Bool
    public var user: String?
    public var live: Bool
    /// Worst (largest) distance between the accepted user and the identity frames.
    public var distance: Double?
    public var reason: String
    /// Frames whose identity was checked (liveness anchors: calibration and each passed challenge).
    public var identityFrames: Int
    public var liveness: LivenessResult?
    /// Which liveness checks ran (`active`, or `both` when passive cues ran too).
    public var livenessMode: LivenessMode?
    /// What decided liveness (`challenge`, passive cue names, `challenge:<type>`, a failure code).
    public var decidedBy: [String]?
    /// The passive verdict when passive cues ran (server-side/CLI only; the cues are left out of the JSON).
    public var passive: PassiveVerdict?
    /// The match threshold applied to the decided (or nearest/claimed) user, and where it came from.
    public var threshold: Double?
    public var thresholdSource: ThresholdSource?

    public init(authorized: Bool, user: String?, live: Bool, distance: Double?, reason: String, identityFrames: Int,
                liveness: LivenessResult?, livenessMode: LivenessMode? = nil, decidedBy: [String]? = nil, passive: PassiveVerdict? = nil) {
        self.authorized = authorized; self.user = user; self.live = live; self.distance = distance; self.reason = reason
        self.identityFrames = identityFrames; self.liveness = liveness; self.livenessMode = livenessMode
        self.decidedBy = decidedBy; self.passive = passive
    }

    /// The passive block of the JSON: no per-cue detail.
    struct PassiveJSON: Codable {
        var live: Bool
        var score: Double
        var mode: String
        var reason: String
        var decided_by: [String]
    }

    enum CodingKeys: String, CodingKey {
        case authorized, user, live, distance, reason, identityFrames = "identity_frames", liveness
        case livenessMode = "liveness_mode", decidedBy = "decided_by", passive
        case threshold, thresholdSource = "threshold_source"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        authorized = try c.decode(Bool.self, forKey: .authorized)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        live = try c.decode(Bool.self, forKey: .live)
        distance = try c.decodeIfPresent(Double.self, forKey: .distance)
        reason = try c.decode(String.self, forKey: .reason)
        identityFrames = try c.decode(Int.self, forKey: .identityFrames)
        liveness = try c.decodeIfPresent(LivenessResult.self, forKey: .liveness)
        livenessMode = try c.decodeIfPresent(LivenessMode.self, forKey: .livenessMode)
        decidedBy = try c.decodeIfPresent([String].self, forKey: .decidedBy)
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
        thresholdSource = try c.decodeIfPresent(ThresholdSource.self, forKey: .thresholdSource)
        passive = nil
    }

    /// `user` and `distance` are written as null, not left out.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(authorized, forKey: .authorized)
        try c.encode(user, forKey: .user)
        try c.encode(live, forKey: .live)
        try c.encode(distance, forKey: .distance)
        try c.encode(reason, forKey: .reason)
        try c.encode(identityFrames, forKey: .identityFrames)
        try c.encodeIfPresent(liveness, forKey: .liveness)
        try c.encodeIfPresent(livenessMode, forKey: .livenessMode)
        try c.encodeIfPresent(decidedBy, forKey: .decidedBy)
        try c.encodeIfPresent(threshold, forKey: .threshold)
        try c.encodeIfPresent(thresholdSource, forKey: .thresholdSource)
        if let v = passive {
            try c.encode(PassiveJSON(live: v.live, score: (v.score * 10000).rounded() / 10000, mode: v.mode.rawValue,
                                     reason: v.reason.rawValue, decided_by: v.decidedBy.map(\.name)), forKey: .passive)
        }
    }
}

/// Authentication = liveness session (challenges, plus passive cues on the same frames when available), then 1:N (or 1:1 with a claimed user) on the session's anchor frames.
/// Every anchor frame must identify the same user within threshold, so the identity is constant through the session.
/// Shared by the CLI and the server.
public enum Authenticator {
    /// Identity frames needed: the calibration frame plus at least one passed challenge.
    public static let minIdentityFrames = 2

    /// Runs liveness on `source`; the anchors are the runner's identity anchors (`IdentityContinuity`, embedded once),
    /// so the runner must embed them (`checkIdentity` or `keepAnchors`). Front-ends use `AuthenticationSession`.
    public static func runLiveness(_ runner: ActiveRunner, source: FrameSource,
                                   onFrame: (Frame, FrameAnalysis, LivenessUpdate) throws -> Void = { _, _, _ in })
        throws -> (LivenessResult, [Embedding]) {
        precondition(runner.identity.enabled, "Authenticator.runLiveness needs a runner that embeds its anchors (keepAnchors: true)")
        let result = try runner.run(source, onFrame: onFrame)
        return (result, runner.identity.embeddings)
    }

    /// The decision for a combined session: `decide(liveness:…)` on the merged result, annotated with the mode, what
    /// decided liveness and the passive verdict.
    public static func decide(_ combined: CombinedLivenessResult, anchors: [Embedding], claimedUser: String?,
                              index: IdentityIndexService) async throws -> AuthenticationResult {
        var r = try await decide(liveness: combined.session, anchors: anchors, claimedUser: claimedUser, index: index)
        r.livenessMode = combined.verdict.mode
        r.decidedBy = combined.verdict.decidedBy.map(\.name)
        r.passive = combined.verdict.passive
        return r
    }

    /// The decision, given the liveness result and the anchor embeddings.
    public static func decide(liveness: LivenessResult, anchors: [Embedding], claimedUser: String?,
                              index: IdentityIndexService) async throws -> AuthenticationResult {
        func deny(_ reason: String, user: String? = nil, distance: Double? = nil) -> AuthenticationResult {
            AuthenticationResult(authorized: false, user: user, live: liveness.live, distance: distance, reason: reason,
                                 identityFrames: anchors.count, liveness: liveness)
        }
        guard liveness.live else { return deny("liveness failed: \(liveness.reason.map { "\($0)" } ?? "not live")") }
        guard anchors.count >= minIdentityFrames else {
            return deny("only \(anchors.count) frame(s) that passed liveness could be embedded (need \(minIdentityFrames))")
        }
        var worst = 0.0
        var user: String?
        let policy = await index.policy
        var applied: (value: Double, source: ThresholdSource)?
        func withThreshold(_ r: AuthenticationResult) -> AuthenticationResult {
            var r = r; r.threshold = applied?.value; r.thresholdSource = applied?.source; return r
        }
        /// Where a candidate's threshold came from: the flag, the user's own, else the global one.
        func source(of t: Double) -> ThresholdSource {
            if policy.flagThreshold != nil { return .flag }
            return abs(t - policy.threshold) < 1e-12 ? policy.thresholdSource : .user
        }
        for (k, e) in anchors.enumerated() {
            if let claimed = claimedUser {
                let v = try await index.verify(user: claimed, probe: e)
                applied = (v.threshold, v.thresholdSource ?? source(of: v.threshold))
                worst = max(worst, v.distance)
                if !v.match { return withThreshold(deny(String(format: "frame %d does not match %@ (distance %.3f > %.3f)", k + 1, claimed, v.distance, v.threshold), distance: worst)) }
                user = claimed
            } else {
                let r = try await index.identify(e)
                if let t = r.candidates.first?.threshold { applied = (t, source(of: t)) }
                guard let u = r.user, let d = r.distance else {
                    return withThreshold(deny(String(format: "unknown face on frame %d (nearest %@ at %.3f)", k + 1, r.candidates.first?.user ?? "-", r.distance ?? 0), distance: r.distance))
                }
                if let prev = user, prev != u { return withThreshold(deny("identity changed during the session (\(prev) → \(u))", distance: d)) }
                user = u
                worst = max(worst, d)
            }
        }
        return withThreshold(AuthenticationResult(authorized: true, user: user, live: true, distance: worst,
                                    reason: "live, and all \(anchors.count) identity frames match \(user ?? "")",
                                    identityFrames: anchors.count, liveness: liveness))
    }
}
