import FaceGate
import FaceGateCore
import FaceGateStore
import Foundation
import Testing

/// `AttemptSettlement`, the one end of an admitted attempt for the CLI, the unlock daemon and the server (#18): a
/// decision settles the lockout by its effect and is recorded; no decision frees the try and records nothing; a lockout
/// store failure never loses the decision from the audit.
@Suite struct AttemptSettlementTests {
    /// One failure locks, and one held try already refuses the next attempt: a kept reservation shows.
    static let policy = LockoutPolicy(maxFailures: 1)
    /// How long an admitted try is held: far longer than a test can stall. With 60 s, phase 1 of the suite (vision
    /// tests holding the cooperative pool) delayed the "held" check past the hold in session 10 (test 164 s long).
    static let hold: TimeInterval = 3600

    final class Recorded: @unchecked Sendable {
        var decisions: [Decision] = []
    }

    /// A store whose every transaction fails (a database gone away).
    final class BrokenStore: LockoutStore, @unchecked Sendable {
        struct Gone: Error {}
        func update<T: Sendable>(_ subjects: [LockoutSubject], policy: LockoutPolicy, now: Date,
                                 _ body: @Sendable (inout Lockout) -> T) async throws -> T { throw Gone() }
        func clear(_ subject: LockoutSubject) async throws -> Bool { throw Gone() }
        func activeLocks(now: Date) async throws -> [(subject: LockoutSubject, until: Date)] { throw Gone() }
        func close() async {}
    }

    func gate(_ tag: String) throws -> (gate: LockoutGate, store: SQLiteLockoutStore, dir: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("facegate-settle-\(tag)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try SQLiteLockoutStore(path: dir + "/l.sqlite")
        return (LockoutGate(store: store, policy: Self.policy), store, dir)
    }

    /// Whether another attempt for alice would be admitted now (its reservation is freed again at once).
    func admits(_ gate: LockoutGate) async throws -> Bool {
        do {
            let t = try await gate.admit(user: "alice", source: nil, holdFor: 60)
            _ = try await gate.settle(t, effect: .none)
            return true
        } catch is LockoutGate.Refused { return false }
    }

    @Test func aCountedDenialLocksAndIsRecorded() async throws {
        let f = try gate("denial")
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        let ticket = try await f.gate.admit(user: "alice", source: .source("camera:0"), attempt: "a1", holdFor: 60)
        let recorded = Recorded()
        let spoof = Decision.denied(.spoof, source: "camera:0", claimedUser: "alice")
        try await AttemptSettlement(lockout: f.gate, ticket: ticket).settle(with: spoof) { recorded.decisions.append($0) }
        #expect(recorded.decisions.map(\.reason) == [.spoof])
        #expect(try await f.gate.status(user: "alice", source: nil).isLocked)
        await f.store.close()
    }

    @Test func aCancelFreesTheTryAndIsRecorded() async throws {
        let f = try gate("cancel")
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        let ticket = try await f.gate.admit(user: "alice", source: nil, attempt: "a2", holdFor: Self.hold)
        #expect(try await !admits(f.gate), "the try is held while the attempt runs")
        let recorded = Recorded()
        try await AttemptSettlement(lockout: f.gate, ticket: ticket)
            .settle(with: .denied(.cancelled, source: "ws", claimedUser: "alice")) { recorded.decisions.append($0) }
        #expect(recorded.decisions.map(\.reason) == [.cancelled])
        #expect(try await admits(f.gate))
        await f.store.close()
    }

    @Test func noDecisionFreesTheTryAndRecordsNothing() async throws {
        let f = try gate("release")
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        let ticket = try await f.gate.admit(user: "alice", source: nil, attempt: "a3", holdFor: Self.hold)
        #expect(try await !admits(f.gate), "the try is held while the attempt runs")
        try await AttemptSettlement(lockout: f.gate, ticket: ticket).release()
        #expect(try await admits(f.gate))
        await f.store.close()
    }

    @Test func aLockoutStoreFailureStillRecordsTheDecision() async throws {
        let gate = LockoutGate(store: BrokenStore(), policy: Self.policy)
        let ticket = LockoutGate.Ticket(attempt: "a4", subjects: [.user("alice")])
        let recorded = Recorded()
        await #expect(throws: BrokenStore.Gone.self) {
            try await AttemptSettlement(lockout: gate, ticket: ticket)
                .settle(with: .denied(.wrongUser, source: "ws", claimedUser: "alice")) { recorded.decisions.append($0) }
        }
        #expect(recorded.decisions.map(\.reason) == [.wrongUser])
    }
}
