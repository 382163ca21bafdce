import AsyncHTTPClient
import Crypto
import FaceGateCore
import Foundation
import Logging

/// What a webhook reports.
public enum WebhookEventKind: String, Sendable, Codable, CaseIterable {
    case authorized, denied, spoof, enrolled, removed

    /// The event a decision produces: a spoof has its own event, every other refusal is `denied`.
    public static func of(_ d: Decision) -> WebhookEventKind {
        switch d.outcome {
        case .authorized: return .authorized
        case .denied: return d.reason == .spoof ? .spoof : .denied
        }
    }
}

/// The JSON body of a webhook POST. Snapshots are never sent; `decision_id` finds one in the audit log.
public struct WebhookEvent: Sendable, Codable, Hashable {
    public var event: WebhookEventKind
    public var time: Date
    public var host: String
    public var decisionID: String?
    public var source: String?
    public var user: String?
    public var claimedUser: String?
    public var reason: String?
    public var distance: Double?
    public var threshold: Double?
    public var cues: [CueSummary]?
    public var challenges: [ChallengeRecord]?
    public var detail: String?
    /// The decision's references (server: session, api_key, client_ip, instance, route).
    public var context: [String: String]?

    public init(decision d: Decision, host: String) {
        event = .of(d); time = d.time; self.host = host; decisionID = d.id.uuidString.lowercased()
        source = d.source; user = d.matchedUser; claimedUser = d.claimedUser; reason = d.reason?.rawValue
        distance = d.distance; threshold = d.threshold; cues = d.cues; challenges = d.challenges; detail = d.detail
        context = d.context
    }

    /// Gallery changes: `.enrolled` / `.removed`.
    public init(galleryEvent: WebhookEventKind, user: String, host: String, time: Date = Date(), detail: String? = nil) {
        precondition(galleryEvent == .enrolled || galleryEvent == .removed, "use init(decision:) for decisions")
        event = galleryEvent; self.time = time; self.host = host; self.user = user; self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case event, time, host, source, user, reason, distance, threshold, cues, challenges, detail, context
        case decisionID = "decision_id", claimedUser = "claimed_user"
    }

    public func jsonBody() throws -> Data {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return try e.encode(self)
    }
}

/// HMAC-SHA256 request signing. The signed string is "<timestamp>.<body>" so a captured request cannot be
/// replayed later with a new timestamp; receivers should also reject timestamps older than a few minutes.
public struct WebhookSigner: Sendable {
    public static let signatureHeader = "X-FaceGate-Signature"
    public static let timestampHeader = "X-FaceGate-Timestamp"
    public static let eventHeader = "X-FaceGate-Event"
    public static let deliveryHeader = "X-FaceGate-Delivery"

    public var secret: String
    public init(secret: String) { self.secret = secret }

    /// "sha256=<hex>" over "<timestamp>.<body>".
    public func signature(body: Data, timestamp: Int) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Constant-time check of a received signature (for receivers written in Swift, and the tests).
    public func verify(body: Data, timestamp: Int, signature: String) -> Bool {
        let expected = Array(self.signature(body: body, timestamp: timestamp).utf8)
        let got = Array(signature.utf8)
        guard expected.count == got.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<got.count { diff |= expected[i] ^ got[i] }
        return diff == 0
    }
}

/// A spooled webhook delivery: one URL, one body.
struct WebhookPayload: Codable {
    var url: String
    var event: WebhookEventKind
    var body: Data
}

/// Posts spooled webhook events with AsyncHTTPClient. Any non-2xx answer or transport error is a failure (retried).
public struct WebhookDeliverer: SpoolDeliverer {
    public var secret: String?
    public var timeout: TimeInterval
    let client: HTTPClient

    public init(secret: String?, timeout: TimeInterval, client: HTTPClient = .shared) {
        self.secret = secret; self.timeout = timeout; self.client = client
    }

    public func deliver(_ item: SpoolItem) async throws {
        let p = try JSONDecoder().decode(WebhookPayload.self, from: item.payload)
        var req = HTTPClientRequest(url: p.url)
        req.method = .POST
        req.headers.add(name: "Content-Type", value: "application/json")
        req.headers.add(name: "User-Agent", value: "FaceGate-Webhook/1")
        req.headers.add(name: WebhookSigner.eventHeader, value: p.event.rawValue)
        req.headers.add(name: WebhookSigner.deliveryHeader, value: item.id)
        // Signed at send time: the timestamp is the time of this attempt.
        let ts = Int(Date().timeIntervalSince1970)
        req.headers.add(name: WebhookSigner.timestampHeader, value: String(ts))
        if let secret, !secret.isEmpty {
            req.headers.add(name: WebhookSigner.signatureHeader, value: WebhookSigner(secret: secret).signature(body: p.body, timestamp: ts))
        }
        req.body = .bytes(p.body)
        let resp: HTTPClientResponse
        do {
            resp = try await client.execute(req, timeout: .milliseconds(Int64(timeout * 1000)))
        } catch {
            throw ActionError.webhook(url: p.url, detail: "\(error)")
        }
        // Drain (bounded) so the connection can be reused.
        _ = try? await resp.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(Int(resp.status.code)) else {
            throw ActionError.webhook(url: p.url, detail: "HTTP \(resp.status.code) \(resp.status.reasonPhrase)")
        }
    }
}

/// Queues webhook events durably (one spool item per URL).
public struct WebhookQueue: Sendable {
    public let spool: Spool
    public var urls: [String]
    public var events: Set<WebhookEventKind>

    public init(spool: Spool, urls: [String], events: Set<WebhookEventKind>) {
        self.spool = spool; self.urls = urls; self.events = events
    }

    /// Returns how many deliveries were queued.
    @discardableResult
    public func enqueue(_ event: WebhookEvent) throws -> Int {
        guard events.contains(event.event), !urls.isEmpty else { return 0 }
        let body = try event.jsonBody()
        for u in urls {
            let payload = try JSONEncoder().encode(WebhookPayload(url: u, event: event.event, body: body))
            try spool.enqueue(kind: "webhook", label: "\(event.event.rawValue) → \(u)", payload: payload)
        }
        return urls.count
    }
}
