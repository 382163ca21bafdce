import FaceGateCore
import Foundation
import Testing

/// Check-and-reserve (`Lockout.admit`) and settle: what counts, against whom, and how a parallel burst is bounded.
@Suite struct LockoutAdmissionTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = LockoutPolicy(maxFailures: 5, window: 180, duration: 900)

    func alice(_ client: String = "client:phone-1") -> [LockoutSubject] { LockoutSubject.of(user: "alice", source: client) }

    @Test func onlyGenuineFailuresCount() {
        // The one rule from a decision's reason: liveness failed or face did not match count; the rest never does.
        for r in DenialReason.allCases {
            let e = LockoutEffect(authorized: false, reason: r)
            switch r {
            case .spoof, .unknownFace, .wrongUser, .timeout, .challengeFailed, .multipleFaces: #expect(e == .failure, "\(r)")
            case .cancelled, .error, .lockedOut, .noFace: #expect(e == .none, "\(r)")
            }
        }
        #expect(LockoutEffect(authorized: true, reason: nil) == .success)
        #expect(Decision.denied(.cancelled, source: "x").lockoutEffect == .none)
    }

    @Test func fiveCancelledAttemptsDoNotLock() {
        var l = Lockout(policy: policy)
        for i in 0..<5 {
            let now = t0.addingTimeInterval(Double(i))
            #expect(l.admit(alice(), attempt: "a\(i)", holdUntil: now.addingTimeInterval(150), now: now) == .open)
            l.settle(alice(), attempt: "a\(i)", effect: .none, now: now.addingTimeInterval(0.5))
        }
        #expect(l.admit(alice(), attempt: "next", holdUntil: t0.addingTimeInterval(200), now: t0.addingTimeInterval(10)) == .open)
        #expect(l.failureCount(.user("alice"), now: t0.addingTimeInterval(10)) == 0)
    }

    @Test func failuresAgainstOneUserDoNotLockAnother() {
        var l = Lockout(policy: policy)
        // Five different end clients fail as alice: alice is locked, none of the clients is (1 failure each).
        for i in 0..<5 {
            let s = alice("client:c\(i)"), now = t0.addingTimeInterval(Double(i))
            #expect(l.admit(s, attempt: "a\(i)", holdUntil: now.addingTimeInterval(60), now: now) == .open)
            l.settle(s, attempt: "a\(i)", effect: .failure, now: now)
        }
        let later = t0.addingTimeInterval(10)
        guard case .locked(let who, _, _) = l.admit(alice("client:c9"), attempt: "x", holdUntil: later, now: later) else {
            Issue.record("alice should be locked"); return
        }
        #expect(who == .user("alice"))
        // bob from the same clients is not affected.
        #expect(l.admit(LockoutSubject.of(user: "bob", source: "client:c0"), attempt: "b", holdUntil: later.addingTimeInterval(60), now: later) == .open)
    }

    /// Concurrent attempts read the clock before the store's transaction, so they settle out of order: a failure
    /// stamped later than the settling attempt's `now` still counts (CI once ended a 5-failure burst unlocked).
    @Test func failuresSettledOutOfClockOrderAllCount() {
        var l = Lockout(policy: policy)
        let stamps = [4.0, 3.0, 2.0, 1.0, 0.5].map { t0.addingTimeInterval($0) }  // newest settles first
        for (i, now) in stamps.enumerated() {
            #expect(l.admit(alice("client:c\(i)"), attempt: "a\(i)", holdUntil: t0.addingTimeInterval(60), now: t0) == .open)
            l.settle(alice("client:c\(i)"), attempt: "a\(i)", effect: .failure, now: now)
        }
        #expect(l.check([.user("alice")], now: t0.addingTimeInterval(5)).isLocked)
    }

    @Test func aParallelBurstGetsAtMostTheTriesLeft() {
        var l = Lockout(policy: policy)
        // Two earlier failures: three tries left.
        for i in 0..<2 { l.recordFailure(alice(), now: t0.addingTimeInterval(Double(i))) }
        let now = t0.addingTimeInterval(5)
        let statuses = (0..<10).map { l.admit(alice(), attempt: "p\($0)", holdUntil: now.addingTimeInterval(60), now: now) }
        #expect(statuses.filter { $0 == .open }.count == 3)
        guard case .busy(let who, let retry) = statuses[3] else { Issue.record("expected busy, got \(statuses[3])"); return }
        #expect(who == .user("alice") && retry == 60)
        #expect(statuses[3].message?.contains("try again in 1 min") == true)
        // The three admitted fail: alice is locked; a success would have freed them instead.
        for i in 0..<3 { l.settle(alice(), attempt: "p\(i)", effect: .failure, now: now.addingTimeInterval(1)) }
        #expect(l.check(alice(), now: now.addingTimeInterval(2)).isLocked)
    }

    @Test func aHoldThatIsNeverSettledExpires() {
        var l = Lockout(policy: LockoutPolicy(maxFailures: 1, window: 60, duration: 60))
        #expect(l.admit(alice(), attempt: "crashed", holdUntil: t0.addingTimeInterval(30), now: t0) == .open)
        #expect(!(l.admit(alice(), attempt: "b", holdUntil: t0.addingTimeInterval(60), now: t0.addingTimeInterval(29)) == .open))
        #expect(l.admit(alice(), attempt: "b", holdUntil: t0.addingTimeInterval(90), now: t0.addingTimeInterval(31)) == .open)
    }

    @Test func refusalIsOneClearLine() {
        let locked = LockoutStatus.locked(subject: .source("video:/home/me/fake clip.mp4"), until: t0, remaining: 897.7365815639496)
        let m = try! #require(locked.message)
        #expect(m == "source video:/home/me/fake clip.mp4 is locked out after too many failed attempts: try again in 14 min 58 s, "
                + "or an administrator can lift it with `facegate audit unlock --source 'video:/home/me/fake clip.mp4'`")
        #expect(!m.contains("\n") && !m.contains("remaining") && !m.contains("897."))
        #expect(LockoutStatus.locked(subject: .user("bob"), until: t0, remaining: 41.2).message?.contains("try again in 42 s") == true)
        #expect(locked.retryAfterSeconds == 898)
        #expect(LockoutStatus.open.message == nil)
    }

    @Test func clientHints() throws {
        #expect(try LockoutSubject.client(hint: " 203.0.113.7 ") == .source("client:203.0.113.7"))
        #expect(try LockoutSubject.client(hint: "") == nil)
        #expect(try LockoutSubject.client(hint: nil) == nil)
        #expect(throws: LockoutHintError.self) { try LockoutSubject.client(hint: String(repeating: "x", count: 129)) }
        #expect(throws: LockoutHintError.self) { try LockoutSubject.client(hint: "a\nb") }
        #expect(LockoutSubject(key: LockoutSubject.source("client:x").key) == .source("client:x"))
    }
}
