import FaceGateConfig
import FaceGateCore
import Foundation

/// One audited attempt, as stored and as printed (JSON lines, `facegate audit --json`).
public struct AuditRecord: Sendable, Codable, Hashable {
    public var id: String
    public var time: Date
    public var source: String
    public var claimedUser: String?
    public var matchedUser: String?
    public var decision: Decision.Outcome
    public var reason: DenialReason?
    public var distance: Double?
    public var threshold: Double?
    public var duration: Double?
    public var cues: [CueSummary]
    public var challenges: [ChallengeRecord]
    public var detail: String?
    /// "audit-snapshot:<id>" when an encrypted snapshot is stored (`facegate audit snapshot <id>` decrypts it).
    public var snapshot: String?
    /// The decision's references (server: session, api_key, client_ip, instance, route).
    public var context: [String: String]?

    public init(_ d: Decision, snapshotStored: Bool) {
        id = d.id.uuidString.lowercased(); time = d.time; source = d.source; claimedUser = d.claimedUser
        matchedUser = d.matchedUser; decision = d.outcome; reason = d.reason; distance = d.distance
        threshold = d.threshold; duration = d.duration; cues = d.cues; challenges = d.challenges; detail = d.detail
        snapshot = snapshotStored ? "audit-snapshot:\(id)" : nil
        context = d.context
    }

    enum CodingKeys: String, CodingKey {
        case id, time, source, decision, reason, distance, threshold, duration, cues, challenges, detail, snapshot, context
        case claimedUser = "claimed_user", matchedUser = "matched_user"
    }

    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .custom { date, enc in
            var c = enc.singleValueContainer()
            let f = ISO8601DateFormatter(); f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            try c.encode(f.string(from: date))
        }
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
    public static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { dec in
            let s = try dec.singleValueContainer().decode(String.self)
            let f = ISO8601DateFormatter(); f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let t = f.date(from: s) ?? ISO8601DateFormatter().date(from: s) { return t }
            throw DecodingError.dataCorrupted(.init(codingPath: dec.codingPath, debugDescription: "bad date \(s)"))
        }
        return d
    }()

    /// One JSON line (no trailing newline).
    public func jsonLine() -> String {
        // Encoding plain value types cannot fail.
        String(decoding: try! Self.encoder.encode(self), as: UTF8.self)
    }

    /// One human line: "2026-01-02 10:11:12  denied  spoof detected  user=alice  source=camera:0".
    public func humanLine(timeZone: TimeZone = .current) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = timeZone; f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var s = "\(f.string(from: time))  \(decision == .authorized ? "AUTHORIZED" : "DENIED    ")"
        s += "  \(reason?.text ?? "live match")"
        if let c = claimedUser { s += "  claimed=\(c)" }
        if let m = matchedUser { s += "  matched=\(m)" }
        if let d = distance { s += String(format: "  dist=%.3f", d) }
        s += "  source=\(source)"
        if snapshot != nil { s += "  [snapshot]" }
        s += "  id=\(id.prefix(8))"
        return s
    }
}

/// Filter for `facegate audit`.
public struct AuditQuery: Sendable {
    public var since: Date?
    public var until: Date?
    /// Matches the claimed or the matched user.
    public var user: String?
    public var source: String?
    public var decision: Decision.Outcome?
    public var limit: Int
    public init(since: Date? = nil, until: Date? = nil, user: String? = nil, source: String? = nil,
                decision: Decision.Outcome? = nil, limit: Int = 100) {
        self.since = since; self.until = until; self.user = user; self.source = source; self.decision = decision; self.limit = limit
    }

    /// "90s", "15m", "24h", "7d" ago, or an ISO-8601 date / date-time ("2026-01-31", "2026-01-31T08:00:00Z").
    public static func parseSince(_ s: String, now: Date = Date()) -> Date? {
        if let d = ConfigSchema.parseDuration(s), s.rangeOfCharacter(from: .letters) != nil { return now.addingTimeInterval(-d) }
        let iso = ISO8601DateFormatter()
        if let t = iso.date(from: s) { return t }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = .current
        for fmt in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            f.dateFormat = fmt
            if let t = f.date(from: s) { return t }
        }
        return nil
    }
}
