import FaceGateCore
import Foundation

/// A spooled e-mail: envelope and the rendered message.
struct MailPayload: Codable {
    var from: String
    var to: [String]
    var message: Data
}

/// Delivers spooled mail through `SMTPClient` (blocking libcurl call, run off the cooperative pool).
public struct MailDeliverer: SpoolDeliverer {
    public var client: SMTPClient
    public init(client: SMTPClient) { self.client = client }

    public func deliver(_ item: SpoolItem) async throws {
        let p = try JSONDecoder().decode(MailPayload.self, from: item.payload)
        let client = self.client
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            Thread.detachNewThread {
                do { try client.send(from: p.from, to: p.to, message: p.message); c.resume() }
                catch { c.resume(throwing: error) }
            }
        }
    }
}

/// Renders and queues alert mails durably.
public struct MailQueue: Sendable {
    public let spool: Spool
    public var from: String
    public var to: [String]
    public var subject: String
    public var location: AlertMessage.Location

    public init(spool: Spool, from: String, to: [String], subject: String, location: AlertMessage.Location) {
        self.spool = spool; self.from = from; self.to = to; self.subject = subject; self.location = location
    }

    @discardableResult
    public func enqueue(_ d: Decision, host: HostInfo) throws -> SpoolItem {
        let msg = AlertMessage(decision: d, host: host, location: location, from: from, to: to, subjectTemplate: subject)
        let payload = try JSONEncoder().encode(MailPayload(from: from, to: to, message: msg.rendered()))
        return try spool.enqueue(kind: "mail", label: "alert \(d.id.uuidString.prefix(8).lowercased()) to \(to.joined(separator: ","))",
                                 payload: payload)
    }
}
