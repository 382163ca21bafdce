import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Testing

/// The lockout as part of the authentication use case (#18): `AuthenticationSession.authenticate` admits, runs and
/// settles, so the CLI, the server and a face-unlock daemon get the lockout the same way. An attempt that fails after
/// admission releases its try at once (the CLI kept it for `localAttemptHold` = 120 s); a refused attempt never opens
/// its source and is the `.lockedOut` decision, counted by nobody; a denial counts once.
@Suite(.serialized, .enabled(if: TestPaths.hasModels, "needs the base models — run `make models`"))
struct AuthenticationLockoutTests {
    /// A source that ends before its first frame.
    final class EmptySource: FrameSource {
        let name = "empty-source"
        let fps = 0.0
        func next() throws -> Frame? { nil }
    }

    /// One failure locks: a single held try already refuses the next attempt (busy), so a kept reservation shows.
    static let strict = LockoutPolicy(maxFailures: 1)
    static let source = "video:/tmp/authentication-lockout-test.mp4"

    func fixture(_ tag: String) throws -> (dir: String, gate: LockoutGate, index: IdentityIndexService, store: SQLiteLockoutStore) {
        let dir = TestPaths.tempDir("facegate-auth-lockout-\(tag)")
        let store = try SQLiteLockoutStore(path: dir + "/g.sqlite")
        let gallery = try SQLiteGallery(path: dir + "/g.sqlite", key: .generate(source: "test"))
        return (dir, LockoutGate(store: store, policy: Self.strict), IdentityIndexService(gallery: gallery, threads: 1), store)
    }

    func session(_ engine: FaceEngine, plan: [ChallengeType] = [.blink], timeout: Double = 5) throws -> AuthenticationSession {
        let options = LivenessPipelineOptions(mode: .active, plan: try ChallengePlan(explicit: plan),
                                              configuration: LivenessConfiguration(challengeTimeout: timeout))
        return try AuthenticationSession(engine: engine, settings: AuthenticationSettings(liveness: options, claimedUser: "alice", source: Self.source))
    }

    @Test func failureAfterAdmissionReleasesTheTryAtOnce() async throws {
        let f = try fixture("release")
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        let engine = try FaceEngine()
        // A source that cannot be opened, and one without a single frame: both errors, neither a decision.
        await #expect(throws: FaceGateError.self) {
            _ = try await session(engine).authenticate(opening: { throw FaceGateError.unreadableMedia(path: "x.mp4", detail: "test") },
                                                        index: f.index, lockout: f.gate)
        }
        #expect(try await f.gate.status(user: "alice", source: .source(Self.source)) == .open, "the try is still held after an error")
        await #expect(throws: FaceGateError.self) {
            _ = try await session(engine).authenticate(EmptySource(), index: f.index, lockout: f.gate)
        }
        #expect(try await f.gate.status(user: "alice", source: .source(Self.source)) == .open, "the try is still held after no frame")
        await f.store.close()
    }

    @Test func refusedAttemptNeverOpensItsSourceAndIsALockedOutDecision() async throws {
        let f = try fixture("refused")
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        _ = try await f.store.settle([.user("alice")], attempt: "earlier", effect: .failure, policy: Self.strict)
        let before = try await f.gate.status(user: "alice", source: nil)
        #expect(before.isLocked)
        let engine = try FaceEngine()
        var opened = false
        do {
            _ = try await session(engine).authenticate(opening: { opened = true; return EmptySource() }, index: f.index, lockout: f.gate)
            Issue.record("a locked user was admitted")
        } catch let refused as AuthenticationRefused {
            #expect(refused.decision.reason == .lockedOut && refused.decision.claimedUser == "alice" && refused.decision.source == Self.source)
            #expect(refused.description.contains("user alice is locked out"), "\(refused.description)")
        }
        #expect(!opened, "a refused attempt opened its source")
        // Counted by nobody: the source subject has no failure (one would lock it with this policy).
        #expect(try await f.gate.status(user: nil, source: .source(Self.source)) == .open)
        await f.store.close()
    }

    @Test(.enabled(if: TestPaths.hasFixtures, "needs ../shared/fixtures"))
    func deniedAttemptCountsOnceAgainstUserAndSource() async throws {
        let f = try fixture("denied")
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        let engine = try FaceEngine()
        // turn-left is never done in this clip: the challenge fails, liveness denies, identity is not consulted.
        let s = try session(engine, plan: [.turnLeft], timeout: 4)
        let outcome = try await s.authenticate(try VideoSource.file(TestPaths.fixture(RuntimeSessionTests.blinkClip)), index: f.index, lockout: f.gate)
        #expect(!outcome.decision.isAuthorized && outcome.decision.reason?.countsAsFailure == true, "\(outcome.decision)")
        #expect(try await f.gate.status(user: "alice", source: nil).isLocked, "the denial was not counted against the user")
        #expect(try await f.gate.status(user: nil, source: .source(Self.source)).isLocked, "the denial was not counted against the source")
        await f.store.close()
    }
}
