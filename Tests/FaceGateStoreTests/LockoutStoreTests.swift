import FaceGateCore
import Foundation
import Testing
@testable import FaceGateStore

/// The one lockout table on SQLite and PostgreSQL: persistence, unlock, and atomic check-and-reserve under a
/// parallel burst from several connections (as from several processes / server instances).
@Suite struct LockoutStoreTests {
    static let policy = LockoutPolicy(maxFailures: 5, window: 180, duration: 900)

    @Test(arguments: [Backend.sqlite, .postgres])
    func persistsAndUnlocks(_ backend: Backend) async throws {
        try await withLocation(backend) { loc in
            let t0 = Date()
            let subjects = LockoutSubject.of(user: "alice", source: "client:phone")
            do {
                let s = try await LockoutStores.open(loc)
                for i in 0..<5 {
                    let now = t0.addingTimeInterval(Double(i))
                    #expect(try await s.checkAndReserve(subjects, attempt: "a\(i)", holdUntil: now.addingTimeInterval(60), policy: Self.policy, now: now) == .open)
                    try await s.settle(subjects, attempt: "a\(i)", effect: .failure, policy: Self.policy, now: now)
                }
                await s.close()
            }
            // A new store (another process) sees the lock; unlocking the user leaves the client locked.
            let s2 = try await LockoutStores.open(loc)
            let now = t0.addingTimeInterval(10)
            let st = try await s2.status(LockoutSubject.of(user: "alice", source: "client:other"), policy: Self.policy, now: now)
            guard case .locked(let who, _, _) = st else { Issue.record("expected a persisted lock, got \(st)"); return }
            #expect(who == .user("alice"))
            #expect(try await s2.activeLocks(now: now).map(\.subject).sorted { $0.key < $1.key } == [.source("client:phone"), .user("alice")])
            #expect(try await s2.clear(.user("alice")))
            #expect(try await !s2.clear(.user("alice")))
            #expect(try await s2.status([.user("alice")], policy: Self.policy, now: now) == .open)
            #expect(try await s2.status([.source("client:phone")], policy: Self.policy, now: now).isLocked)
            // Cancelled attempts only release their reservation.
            for i in 0..<6 {
                let bob = LockoutSubject.of(user: "bob", source: nil)
                #expect(try await s2.checkAndReserve(bob, attempt: "b\(i)", holdUntil: now.addingTimeInterval(60), policy: Self.policy, now: now) == .open)
                try await s2.settle(bob, attempt: "b\(i)", effect: .none, policy: Self.policy, now: now)
            }
            #expect(try await s2.status([.user("bob")], policy: Self.policy, now: now) == .open)
            await s2.close()
        }
    }

    /// 24 wrong attempts at once, spread over 3 connections: at most 5 are admitted, and alice ends locked.
    @Test(arguments: [Backend.sqlite, .postgres])
    func parallelBurstGetsAtMostTheAllowedTries(_ backend: Backend) async throws {
        try await withLocation(backend) { loc in
            var stores: [any LockoutStore] = []
            for _ in 0..<3 { stores.append(try await LockoutStores.open(loc)) }
            let gates = stores.map { LockoutGate(store: $0, policy: Self.policy) }
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<24 {
                    let gate = gates[i % gates.count]
                    group.addTask {
                        let ticket: LockoutGate.Ticket
                        do { ticket = try await gate.admit(user: "alice", source: .source("client:c\(i % 4)"), holdFor: 60) }
                        catch is LockoutGate.Refused { return false }
                        try await Task.sleep(for: .milliseconds(20))  // the work (embedding, matching)
                        try await gate.settle(ticket, with: .denied(.wrongUser, source: "http:test", claimedUser: "alice"))
                        return true
                    }
                }
                var n = 0
                for try await ok in group where ok { n += 1 }
                return n
            }
            #expect(admitted >= 1 && admitted <= Self.policy.maxFailures, "admitted \(admitted)")
            let st = try await gates[0].status(user: "alice", source: nil)
            #expect(admitted < Self.policy.maxFailures || st.isLocked, "\(admitted) failures but \(st)")
            for s in stores { await s.close() }
        }
    }
}
