import FaceGateActions
import FaceGateCore
import FaceGateStore
import Foundation
import Testing

@Suite struct LockoutLogicTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let alice: [LockoutSubject] = LockoutSubject.of(user: "alice", source: "camera:0")

    @Test func fiveFailuresInThreeMinutesLockForFifteen() {
        var l = Lockout()
        for i in 0..<4 {
            #expect(l.recordFailure(alice, now: t0.addingTimeInterval(Double(i) * 30)) == .open)
        }
        let s = l.recordFailure(alice, now: t0.addingTimeInterval(120))
        guard case .locked(_, let until, let remaining) = s else { Issue.record("expected lock, got \(s)"); return }
        #expect(until == t0.addingTimeInterval(120 + 900))
        #expect(remaining == 900)
        #expect(s.message == "user alice is locked out after too many failed attempts: try again in 15 min, "
                + "or an administrator can lift it with `facegate audit unlock --user alice`")
        #expect(l.check(alice, now: t0.addingTimeInterval(120 + 899)).isLocked)
        #expect(!l.check(alice, now: t0.addingTimeInterval(120 + 900)).isLocked)
        // After the lock the subject starts from zero.
        #expect(l.recordFailure(alice, now: t0.addingTimeInterval(1100)) == .open)
    }

    @Test func failuresOutsideTheWindowDoNotCount() {
        var l = Lockout()
        for i in 0..<10 {  // one failure every 50 s: never 5 inside 180 s
            #expect(l.recordFailure(alice, now: t0.addingTimeInterval(Double(i) * 50)) == .open)
        }
        #expect(l.failureCount(.user("alice"), now: t0.addingTimeInterval(450)) == 4)
    }

    @Test func sourceIsLockedAcrossUsers() {
        var l = Lockout(policy: LockoutPolicy(maxFailures: 3, window: 60, duration: 60))
        l.recordFailure(LockoutSubject.of(user: "a", source: "ws:10.0.0.9"), now: t0)
        l.recordFailure(LockoutSubject.of(user: "b", source: "ws:10.0.0.9"), now: t0)
        let s = l.recordFailure(LockoutSubject.of(user: "c", source: "ws:10.0.0.9"), now: t0)
        guard case .locked(let who, _, _) = s else { Issue.record("expected lock"); return }
        #expect(who == .source("ws:10.0.0.9"))
        #expect(l.check(LockoutSubject.of(user: "d", source: "ws:10.0.0.9"), now: t0).isLocked)
        #expect(!l.check(LockoutSubject.of(user: "a", source: "camera:0"), now: t0).isLocked)
    }

    @Test func successClearsCountNotLock() {
        var l = Lockout(policy: LockoutPolicy(maxFailures: 2, window: 60, duration: 60))
        l.recordFailure(alice, now: t0)
        l.recordSuccess(alice)
        #expect(l.recordFailure(alice, now: t0.addingTimeInterval(1)) == .open)
        l.recordFailure(alice, now: t0.addingTimeInterval(2))
        l.recordSuccess(alice)
        #expect(l.check(alice, now: t0.addingTimeInterval(3)).isLocked)
        l.clear(.user("alice")); l.clear(.source("camera:0"))
        #expect(!l.check(alice, now: t0.addingTimeInterval(3)).isLocked)
    }
}

@Suite struct AuditStoreTests {
    func store(_ dir: URL, key: GalleryKey? = .generate()) throws -> AuditStore {
        try AuditStore(path: dir.appendingPathComponent("facegate.sqlite").path, key: key)
    }

    @Test func recordsQueriesAndEncryptedSnapshots() throws {
        let dir = TestPaths.tempDir("audit")
        let key = GalleryKey.generate()
        let s = try store(dir, key: key)
        let t0 = Date().addingTimeInterval(-3600)
        let d1 = Decision.authorized(user: "bob", source: "camera:0", distance: 0.42, threshold: 0.6, time: t0)
        let jpeg = sampleJPEG()
        let d2 = Decision.denied(.spoof, source: "file:x.mp4", claimedUser: "alice", cues: [CueSummary(name: "moire", verdict: .spoof, score: 0.9)],
                                 challenges: [ChallengeRecord(name: "blink", prompt: "Blink", result: .timedOut, startedAt: 0, duration: 6)],
                                 snapshotJPEG: jpeg, time: t0.addingTimeInterval(60))
        try s.record(d1); try s.record(d2)
        #expect(try s.count() == 2)
        let all = try s.records(AuditQuery())
        #expect(all.map(\.id) == [d2.id.uuidString.lowercased(), d1.id.uuidString.lowercased()])
        #expect(all[0].snapshot == "audit-snapshot:\(d2.id.uuidString.lowercased())")
        #expect(all[0].challenges.first?.result == .timedOut && all[0].cues.first?.name == "moire")
        #expect(try s.records(AuditQuery(user: "alice")).count == 1)
        #expect(try s.records(AuditQuery(user: "bob")).count == 1)
        #expect(try s.records(AuditQuery(since: t0.addingTimeInterval(30))).count == 1)
        #expect(try s.records(AuditQuery(decision: .authorized)).first?.matchedUser == "bob")

        // Snapshot: encrypted at rest (the JPEG bytes are not in the file), decrypts with the key only.
        #expect(try s.snapshot(String(d2.id.uuidString.prefix(8))) == jpeg)
        let raw = try Data(contentsOf: dir.appendingPathComponent("facegate.sqlite"))
        let wal = (try? Data(contentsOf: dir.appendingPathComponent("facegate.sqlite-wal"))) ?? Data()
        #expect(raw.range(of: jpeg.prefix(64)) == nil && wal.range(of: jpeg.prefix(64)) == nil)
        let other = try store(dir, key: .generate())
        #expect(throws: ActionError.self) { try other.snapshot(d2.id.uuidString) }
    }

    @Test func retentionPrunes() throws {
        let s = try store(TestPaths.tempDir("audit-ret"))
        let now = Date()
        try s.record(.denied(.unknownFace, source: "camera:0", snapshotJPEG: sampleJPEG(), time: now.addingTimeInterval(-10 * 86400)))
        try s.record(.denied(.unknownFace, source: "camera:0", time: now.addingTimeInterval(-1 * 86400)))
        #expect(try s.prune(retentionDays: 7, now: now) == 1)
        #expect(try s.count() == 1)
    }

    @Test func sharesTheGalleryDatabaseFile() async throws {
        let dir = TestPaths.tempDir("audit-shared")
        let path = dir.appendingPathComponent("facegate.sqlite").path
        let key = GalleryKey.generate()
        let gallery = try SQLiteGallery(path: path, key: key)
        let audit = try AuditStore(path: path, key: key)
        try audit.record(.denied(.unknownFace, source: "camera:0"))
        #expect(try await gallery.listUsers().isEmpty)
        await gallery.close()
        // Reopen both in the other order: migrations of each side leave the other alone.
        let audit2 = try AuditStore(path: path, key: key)
        let gallery2 = try SQLiteGallery(path: path, key: key)
        #expect(try audit2.count() == 1)
        #expect(try await gallery2.listUsers().isEmpty)
        await gallery2.close()
    }

    @Test func jsonLinesFile() throws {
        let dir = TestPaths.tempDir("audit-jsonl")
        let f = dir.appendingPathComponent("audit.jsonl").path
        let w = AuditJSONLWriter(destination: f)
        let d = Decision.denied(.timeout, source: "camera:0", claimedUser: "eve")
        try w.write(AuditRecord(d, snapshotStored: false))
        try w.write(AuditRecord(.authorized(user: "bob", source: "camera:0"), snapshotStored: false))
        let lines = try String(contentsOfFile: f, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let r = try AuditRecord.decoder.decode(AuditRecord.self, from: Data(lines[0].utf8))
        #expect(r.id == d.id.uuidString.lowercased() && r.reason == .timeout && r.claimedUser == "eve")
        let obj = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(obj["claimed_user"] as? String == "eve" && obj["decision"] as? String == "denied")
    }

    @Test func sinceParsing() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(AuditQuery.parseSince("1h", now: now) == now.addingTimeInterval(-3600))
        #expect(AuditQuery.parseSince("2027-01-15T08:00:00Z") == ISO8601DateFormatter().date(from: "2027-01-15T08:00:00Z"))
        #expect(AuditQuery.parseSince("2027-01-15") != nil)
        #expect(AuditQuery.parseSince("yesterday") == nil)
    }
}
