import FaceGateCore
import Foundation

/// Builds the e-mail alert for a refused attempt: a MIME multipart/mixed message (RFC 5322 / 2045–2049) with a
/// plain-text report and the snapshot JPEG attached.
public struct AlertMessage: Sendable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var date: Date
    public var messageID: String
    public var text: String
    public var attachment: (name: String, data: Data)?

    /// Location of this computer, as configured (no network look-up).
    public struct Location: Sendable {
        public var text: String?
        public var latitude: Double?
        public var longitude: Double?
        public init(text: String?, latitude: Double?, longitude: Double?) {
            self.text = text; self.latitude = latitude; self.longitude = longitude
        }
        public var line: String {
            var parts: [String] = []
            if let t = text, !t.isEmpty { parts.append(t) }
            if let la = latitude, let lo = longitude {
                parts.append(String(format: "%.6f, %.6f (https://www.openstreetmap.org/?mlat=%.6f&mlon=%.6f)", la, lo, la, lo))
            }
            return parts.isEmpty ? "not configured (set mail.location / mail.latitude / mail.longitude)" : parts.joined(separator: " — ")
        }
    }

    public init(decision d: Decision, host: HostInfo, location: Location, from: String, to: [String],
                subjectTemplate: String, timeZone: TimeZone = .current) {
        self.from = from
        self.to = to
        self.date = d.time
        self.messageID = "<\(d.id.uuidString.lowercased()).facegate@\(host.hostname)>"
        let reason = d.reason?.text ?? "authorized"
        let user = d.subjectUser ?? "unknown"
        subject = subjectTemplate.replacingOccurrences(of: "{host}", with: host.hostname)
            .replacingOccurrences(of: "{reason}", with: reason).replacingOccurrences(of: "{user}", with: user)

        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX"); local.timeZone = timeZone
        local.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
        let iso = ISO8601DateFormatter()
        var t = ""
        t += "FaceGate refused an attempt on \(host.hostname).\n\n"
        t += "Time:          \(local.string(from: d.time)) (\(iso.string(from: d.time)))\n"
        t += "Computer:      \(host.hostname)\n"
        t += "IP addresses:  \(host.addressLine)\n"
        t += "Location:      \(location.line)\n"
        t += "Source:        \(d.source)\n"
        t += "Claimed user:  \(d.claimedUser ?? "none (identification)")\n"
        if let m = d.matchedUser { t += "Closest match: \(m)\n" }
        t += "Decision:      \(d.outcome.rawValue)\n"
        t += "Reason:        \(reason)\(d.reason.map { " (\($0.rawValue))" } ?? "")\n"
        if let dist = d.distance {
            t += String(format: "Distance:      %.3f", dist) + (d.threshold.map { String(format: " (threshold %.3f)", $0) } ?? "") + "\n"
        }
        if let dur = d.duration { t += String(format: "Duration:      %.1f s\n", dur) }
        if let det = d.detail, !det.isEmpty { t += "Detail:        \(det)\n" }
        t += "\nLiveness cues:\n"
        t += d.cues.isEmpty ? "  (none recorded)\n" : d.cues.map { "  - \($0.line)\n" }.joined()
        t += "\nChallenges:\n"
        t += d.challenges.isEmpty ? "  (none)\n" : d.challenges.map {
            String(format: "  - %@ (%@): %@ at %.1f s, took %.1f s\n", $0.prompt, $0.name, $0.result.rawValue, $0.startedAt, $0.duration)
        }.joined()
        let snapName = "snapshot-\(d.id.uuidString.lowercased()).jpg"
        if let jpeg = d.snapshotJPEG, !jpeg.isEmpty {
            t += "\nSnapshot:      attached (\(snapName), \(jpeg.count) bytes)\n"
            attachment = (snapName, jpeg)
        } else {
            t += "\nSnapshot:      none captured\n"
            attachment = nil
        }
        t += "Decision id:   \(d.id.uuidString.lowercased())\n"
        text = t
    }

    /// The full message, CRLF line endings, 7-bit clean (text and attachment base64-encoded).
    public func rendered() -> Data {
        let boundary = "=_facegate_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        var h: [String] = []
        h.append("From: FaceGate <\(from)>")
        h.append("To: " + to.map { "<\($0)>" }.joined(separator: ", "))
        h.append("Subject: \(Self.encodeHeader(subject))")
        h.append("Date: \(Self.rfc5322Date(date))")
        h.append("Message-ID: \(messageID)")
        h.append("MIME-Version: 1.0")
        h.append("X-Mailer: FaceGate")
        h.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
        var body: [String] = []
        body.append("This is a MIME multipart message.")
        body.append("--\(boundary)")
        body.append("Content-Type: text/plain; charset=utf-8")
        body.append("Content-Transfer-Encoding: base64")
        body.append("")
        body.append(Self.base64Lines(Data(text.utf8)))
        if let a = attachment {
            body.append("--\(boundary)")
            body.append("Content-Type: image/jpeg; name=\"\(a.name)\"")
            body.append("Content-Disposition: attachment; filename=\"\(a.name)\"")
            body.append("Content-Transfer-Encoding: base64")
            body.append("")
            body.append(Self.base64Lines(a.data))
        }
        body.append("--\(boundary)--")
        body.append("")
        return Data((h.joined(separator: "\r\n") + "\r\n\r\n" + body.joined(separator: "\r\n")).utf8)
    }

    /// Base64 in 76-character lines (RFC 2045).
    static func base64Lines(_ d: Data) -> String {
        d.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }

    /// RFC 2047 encoded-word when the header is not plain ASCII.
    static func encodeHeader(_ s: String) -> String {
        if s.allSatisfy({ $0.isASCII && !$0.isNewline }) { return s }
        return "=?UTF-8?B?\(Data(s.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: d)
    }
}
