import FaceGate
import FaceGateCore
import Foundation

/// Builds the actions layer's `Decision` for what the server decided: a finished session, a `/v1/verify` or a
/// `/v1/identify`. Plain mapping (no I/O), so it is tested directly. Scores go to the audit log and webhooks
/// (server-side consumers), never to the browser.
public enum ServerDecisions {
    /// References of a server attempt, stored in `Decision.context` (audit record and webhook `context`).
    public struct Context: Sendable, Hashable {
        public var session: String?
        public var apiKey: String?
        public var clientIP: String
        public var instance: String
        public var route: String

        public init(session: String? = nil, apiKey: String?, clientIP: String, instance: String, route: String) {
            self.session = session; self.apiKey = apiKey; self.clientIP = clientIP; self.instance = instance; self.route = route
        }

        public var dictionary: [String: String] {
            var d = ["client_ip": clientIP, "instance": instance, "route": route]
            if let session { d["session"] = session }
            if let apiKey { d["api_key"] = apiKey }
            return d
        }
    }

    /// The challenges of a session as the action layer records them: from its typed liveness result (none when the
    /// session ended without one: a protocol failure, cancel, disconnect, expiry).
    static func challengeRecords(result: LivenessResult?) -> [ChallengeRecord] {
        result.map(ChallengeRecord.records) ?? []
    }

    /// A finished session (succeeded, failed or expired). The decision id is the session id, so the audit record
    /// and the webhook's `decision_id` are found by session. The denial reason is the outcome's typed `denial`, set
    /// where the session ended (`LivenessResult.denialReason`, the identity step, `StreamCloseCode.denialReason`,
    /// lifecycle) — never parsed back from the client-facing `reason` code; `.error` when a row has none.
    public static func session(id: String, spec: SessionSpec, mode: SessionMode, status: SessionStatus, outcome: SessionOutcome,
                               result: LivenessResult?, context: Context, started: Date, time: Date = Date(),
                               snapshotJPEG: Data?) -> Decision {
        var cues: [CueSummary] = []
        if let d = outcome.identityDistance {
            var changed = false
            if case .identityChanged = result?.failure { changed = true }
            cues.append(CueSummary(name: "identity-continuity", verdict: changed ? .spoof : .live, score: d,
                                   note: "largest distance between the session's anchor frames"))
        }
        var d = Decision(id: UUID(uuidString: id) ?? UUID(), time: time,
                         outcome: status == .succeeded && outcome.passed ? .authorized : .denied,
                         reason: status == .succeeded && outcome.passed ? nil : (outcome.denial ?? .error),
                         source: "ws:" + context.clientIP,
                         claimedUser: mode == .liveness ? spec.user : nil,
                         matchedUser: (outcome.verified == true || (mode == .enroll && outcome.passed)) ? spec.user : nil,
                         distance: outcome.distance, threshold: outcome.threshold, cues: cues,
                         challenges: challengeRecords(result: result),
                         duration: max(0, time.timeIntervalSince(started)), snapshotJPEG: snapshotJPEG,
                         detail: detail(mode: mode, status: status, outcome: outcome))
        d.context = context.dictionary
        return d
    }

    static func detail(mode: SessionMode, status: SessionStatus, outcome: SessionOutcome) -> String {
        var parts = ["\(mode == .enroll ? "enrollment" : "liveness") session \(status.rawValue)"]
        if let r = outcome.reason { parts.append(r) }
        if let t = outcome.detail, !t.isEmpty { parts.append(t) }
        if let n = outcome.enrolledTemplates { parts.append("\(n) template(s) enrolled") }
        parts.append("\(outcome.frames) frames")
        return parts.joined(separator: " — ")
    }

    /// `/v1/verify`: authorized when the probe(s) match the claimed user.
    public static func verify(user: String, match: Bool, distance: Double, threshold: Double, probes: Int, context: Context,
                              snapshotJPEG: Data?, livenessChecked: Bool = true, time: Date = Date()) -> Decision {
        var d = Decision(time: time, outcome: match ? .authorized : .denied, reason: match ? nil : .wrongUser,
                         source: "http:" + context.clientIP, claimedUser: user, matchedUser: match ? user : nil,
                         distance: distance, threshold: threshold, snapshotJPEG: snapshotJPEG,
                         detail: "1:1 verify on \(probes) probe(s)" + probeDetail(context, livenessChecked: livenessChecked))
        d.context = context.dictionary
        return d
    }

    /// `/v1/identify`: authorized when the probe(s) agree on one enrolled user; unknown faces are denied.
    public static func identify(user: String?, distance: Double?, threshold: Double?, probes: Int, context: Context,
                                snapshotJPEG: Data?, livenessChecked: Bool = true, time: Date = Date()) -> Decision {
        var d = Decision(time: time, outcome: user != nil ? .authorized : .denied, reason: user != nil ? nil : .unknownFace,
                         source: "http:" + context.clientIP, matchedUser: user, distance: distance, threshold: threshold,
                         snapshotJPEG: snapshotJPEG,
                         detail: "1:N identify on \(probes) probe(s)" + probeDetail(context, livenessChecked: livenessChecked))
        d.context = context.dictionary
        return d
    }

    /// " of session ID", or the mark of an uploaded image that no liveness check saw (audit detail).
    static func probeDetail(_ context: Context, livenessChecked: Bool) -> String {
        (context.session.map { " of session \($0)" } ?? "") + (livenessChecked ? "" : " (uploaded image, not liveness-checked)")
    }

    /// A verify/identify refused because the user or client is locked out (audited, not counted).
    public static func lockedOut(user: String?, message: String, context: Context, time: Date = Date()) -> Decision {
        var d = Decision.denied(.lockedOut, source: "http:" + context.clientIP, claimedUser: user, detail: message, time: time)
        d.context = context.dictionary
        return d
    }

    /// Uploaded probe bytes kept as the audit snapshot: JPEG only (stored sealed as is), at most `maxSnapshotBytes`.
    public static func snapshot(fromUpload data: Data) -> Data? {
        guard data.count >= 4, data.count <= maxSnapshotBytes, data[data.startIndex] == 0xFF, data[data.startIndex + 1] == 0xD8 else { return nil }
        return data
    }
    /// 1 MiB: a 1280x720 JPEG at quality 0.9 is ~250 KB; larger uploads are not kept (the record still is).
    public static let maxSnapshotBytes = 1 << 20
}
