import FaceGateActions
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Logging

/// Where the daemon's frames come from.
public enum UnlockFrameSource: Sendable, Equatable {
    /// A V4L2 device (`/dev/video0`, or an index): production.
    case camera(String)
    /// A video file read from its start for every attempt: tests and measurements only (`--test-video`); refused on
    /// the production socket.
    case testVideo(String)

    public var name: String {
        switch self {
        case .camera(let d): return "camera:" + d
        case .testVideo(let p): return LockoutSubject.videoSourceName(path: p)
        }
    }
}

/// The real attempt: the same `AuthenticationSession` as `facegate authenticate` and the server (challenges, passive
/// cues and identity on the same frames), 1:1 against the mapped gallery user, with the shared lockout (`LockoutGate`
/// on the gallery's database, the table the CLI, the server and `facegate audit unlock` use) and the audit log and
/// actions of the configuration (`ActionDispatcher`). Prompts go to the PAM conversation as `INFO` lines.
public final class SessionUnlockAuthenticator: UnlockAuthenticator, @unchecked Sendable {
    public struct Options {
        /// The liveness part; its plan is drawn anew for each attempt by `plan`.
        public var liveness: LivenessPipelineOptions
        public var plan: () throws -> ChallengePlan
        public var source: UnlockFrameSource
        /// Checked before the camera is opened (virtual cameras are refused); nil: no check (test video).
        public var deviceCheck: ((String) -> CameraDeviceCheck.Verdict)?
        public init(liveness: LivenessPipelineOptions, plan: @escaping () throws -> ChallengePlan, source: UnlockFrameSource,
                    deviceCheck: ((String) -> CameraDeviceCheck.Verdict)? = nil) {
            self.liveness = liveness; self.plan = plan; self.source = source; self.deviceCheck = deviceCheck
        }
    }

    public let options: Options
    let engine: FaceEngine
    let gallery: any Gallery
    let index: IdentityIndexService
    let lockout: LockoutGate
    let dispatcher: ActionDispatcher
    let logger: Logger

    /// The engine (models) and the gallery are opened once, when the daemon starts: an attempt only runs frames.
    public init(options: Options, engine: FaceEngine, gallery: any Gallery, policy: IdentityPolicy, lockout: LockoutGate,
                dispatcher: ActionDispatcher, logger: Logger = Logger(label: "facegate.unlock")) {
        self.options = options; self.engine = engine; self.gallery = gallery
        self.index = IdentityIndexService(gallery: gallery, policy: policy)
        self.lockout = lockout; self.dispatcher = dispatcher; self.logger = logger
    }

    public func authenticate(_ request: UnlockProtocol.Request, galleryUser: String,
                             say: @escaping (UnlockProtocol.Answer) -> Void) -> UnlockProtocol.Answer {
        let sourceName = options.source.name
        // Not enrolled: the password follows at once, nothing is counted.
        let threshold: Double?
        do {
            threshold = try blocking { [gallery] in try await gallery.user(named: galleryUser).summary.threshold }
        } catch let e as GalleryError {
            if case .unknownUser = e { return .unknownUser }
            logger.error("unlock: gallery: \(e.description)")
            return .unavailable("gallery unavailable")
        } catch {
            logger.error("unlock: gallery: \(error)")
            return .unavailable("gallery unavailable")
        }
        if case .camera(let device) = options.source, let check = options.deviceCheck {
            if case .refused(let why) = check(device) {
                logger.warning("unlock: camera \(device) refused: \(why)")
                dispatcher.dispatch(.denied(.spoof, source: sourceName, claimedUser: galleryUser, detail: "virtual camera refused: \(why)"))
                return .unavailable("camera refused")
            }
        }
        let presenter = PamPresenter(say: say)
        let session: AuthenticationSession
        do {
            var liveness = options.liveness
            liveness.plan = try options.plan()
            session = try AuthenticationSession(
                engine: engine,
                settings: AuthenticationSettings(liveness: liveness, claimedUser: galleryUser, claimedUserThreshold: threshold,
                                                 source: sourceName),
                presenter: presenter)
            // Users enrolled (or removed) since the last attempt count at once.
            let index = self.index
            try blocking { try await index.load() }
        } catch {
            logger.error("unlock: cannot start an attempt: \(error)")
            return .unavailable("internal error")
        }
        // The runtime's one admission path: lockout admit, the source opened only once admitted, liveness, identity,
        // the lockout settled with the decision (released when the attempt breaks).
        let boxed = UncheckedBox(session), index = self.index, lockout = self.lockout, source = options.source
        let outcome: AuthenticationOutcome
        do {
            outcome = try blocking {
                try await boxed.value.authenticate(opening: {
                    let frames: FrameSource
                    switch source {
                    case .camera(let d): frames = try VideoSource.camera(d)
                    case .testVideo(let p): frames = try VideoSource.file(p)
                    }
                    presenter.emit(.info("Look at the camera"))
                    return frames
                }, index: index, lockout: lockout)
            }
        } catch let refused as AuthenticationRefused {
            dispatcher.dispatch(refused.decision)
            say(.error("Face unlock is locked: \(refused.description)"))
            return .denied(DenialReason.lockedOut.rawValue)
        } catch {
            logger.error("unlock: attempt failed: \(error)")
            return .unavailable("camera unavailable")
        }
        do {
            try DecisionActions(dispatcher: dispatcher).complete(outcome.decision, frame: session.decisiveFrame?.image,
                                                                 faceBox: session.decisiveFrame?.face)
        } catch {
            logger.error("unlock: decision actions: \(error)")
        }
        if outcome.decision.isAuthorized { return .ok }
        let reason = outcome.decision.reason ?? .unknownFace
        say(.error("Face not accepted (\(reason.text))"))
        return .denied(reason.rawValue)
    }
}

/// Session notices as PAM prompts; a keep-alive line when nothing was said for `keepAlive` seconds (the module gives
/// up after its 5 s silence deadline).
final class PamPresenter: SessionPresenter, @unchecked Sendable {
    let say: (UnlockProtocol.Answer) -> Void
    var lastSaid = Date()
    /// Below the module's default 5 s silence deadline with room for one slow frame.
    static let keepAlive: TimeInterval = 3

    init(say: @escaping (UnlockProtocol.Answer) -> Void) { self.say = say }

    func notice(_ notice: SessionNotice) {
        if case .prompt(_, _, let text) = notice { emit(.info(text)) }
    }

    func frame(_ frame: Frame, step: LivenessStep, pipeline: LivenessPipeline) throws {
        if Date().timeIntervalSince(lastSaid) > Self.keepAlive { emit(.info("Keep looking at the camera")) }
    }

    func emit(_ a: UnlockProtocol.Answer) {
        lastSaid = Date()
        say(a)
    }
}

/// A value handed to the task `blocking` starts while its thread waits (so never used by two threads at once).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The result `blocking` waits for (written by the task, read after the semaphore).
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    init() {}
}

/// Runs async work from a plain thread (the daemon's connection threads are not in the concurrency pool).
func blocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}
