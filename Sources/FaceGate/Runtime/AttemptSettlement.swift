import FaceGateCore
import FaceGateStore
import Foundation

/// How an admitted attempt ends — the one settle path of every front-end: `AuthenticationSession.authenticate` (the CLI),
/// the face-unlock daemon, the server's WebSocket sessions (`FaceGateServer.finish`) and its verify/identify requests.
///
/// - `settle(with:)`: the attempt reached a typed decision. The lockout counts it by `Decision.lockoutEffect` (a failed
///   liveness or identity check counts; a cancel, a stalled stream, an error or a shutdown frees the try), then
///   `record` hands the same decision to the actions layer (audit, mail, webhooks). `record` runs even when the lockout
///   bookkeeping throws (its error is rethrown afterwards): a store failure never loses a decision from the audit.
/// - `release()`: the attempt ended without a decision (unreadable input, an internal error before one): the
///   reservation is freed at once, nothing is counted or recorded.
public struct AttemptSettlement: Sendable {
    public let lockout: LockoutGate
    public let ticket: LockoutGate.Ticket

    public init(lockout: LockoutGate, ticket: LockoutGate.Ticket) {
        self.lockout = lockout; self.ticket = ticket
    }

    public func settle(with decision: Decision, record: (Decision) -> Void = { _ in }) async throws {
        var failure: Error?
        do { try await lockout.settle(ticket, with: decision) } catch { failure = error }
        record(decision)
        if let failure { throw failure }
    }

    public func release() async throws {
        try await lockout.settle(ticket, effect: .none)
    }
}
