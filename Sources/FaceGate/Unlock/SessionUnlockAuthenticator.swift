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
        /// Camera input: the driver's frame timestamps must look like a sensor (`FrameTimingCue`), else an authorized
        /// decision becomes a spoof denial. Off: `--no-frame-timing` (a camera with hardware timestamps, if ever needed).
        public var frameTiming: Bool
        public init(liveness: LivenessPipelineOptions, plan: @escaping () throws -> ChallengePlan, source: UnlockFrameSource,
                    deviceCheck: ((String) -> CameraDeviceCheck.Verdict)? = nil, frameTiming: Bool = true) {
            self.liveness = liveness; self.plan = plan; self.source = source; self.deviceCheck = deviceCheck
            self.frameTiming = frameTiming
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
        let started = Date()
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
        let presenter = PamPresenter(say: say, started: started)
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
        // The runtime's admission steps (as `AuthenticationSession.authenticate(opening:)`): lockout admit, the source
        // opened only once admitted, liveness, identity; then, for a camera, the frame-timing cue; the lockout settled
        // with the final decision (released when the attempt breaks).
        let boxed = UncheckedBox(session), index = self.index, lockout = self.lockout, source = options.source
        let timing = frameTimingRecorder()
        let outcome: AuthenticationOutcome
        do {
            outcome = try blocking {
                let session = boxed.value
                let ticket = try await session.admit(lockout, holdFor: LockoutGate.localAttemptHold)
                let end = AttemptSettlement(lockout: lockout, ticket: ticket)
                var outcome: AuthenticationOutcome
                do {
                    let frames: FrameSource
                    switch source {
                    case .camera(let d): frames = TimedCameraSource(try VideoSource.camera(d), recorder: timing.value)
                    case .testVideo(let p): frames = try VideoSource.file(p)
                    }
                    presenter.opened()
                    presenter.emit(.info("Look at the camera"))
                    let live = try session.runLiveness(frames)
                    if live.session.frames == 0 { throw FaceGateError.unreadableMedia(path: frames.name, detail: "no frame could be decoded") }
                    outcome = try await session.decide(live, index: index)
                } catch {
                    try? await end.release()
                    throw error
                }
                if outcome.decision.isAuthorized, let recorder = timing.value, case .deny(let why) = recorder.cue.verdict {
                    outcome.decision = .denied(.spoof, source: session.settings.source, claimedUser: galleryUser,
                                               detail: "frame timing: \(why)")
                }
                try await end.settle(with: outcome.decision)
                return outcome
            }
        } catch let refused as AuthenticationRefused {
            dispatcher.dispatch(refused.decision)
            say(.error("Face unlock is locked: \(refused.description)"))
            return .denied(DenialReason.lockedOut.rawValue)
        } catch {
            logger.error("unlock: attempt failed: \(error)")
            return .unavailable("camera unavailable")
        }
        logger.notice("unlock: timing user=\(galleryUser) \(presenter.timing.line)\(timing.value.map { " frame_timing=\"\($0.cue.verdict)\"" } ?? "")")
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

extension SessionUnlockAuthenticator {
    /// A recorder when this attempt reads a camera with the frame-timing cue on.
    func frameTimingRecorder() -> UncheckedBox<FrameTimingRecorder?> {
        if case .camera = options.source, options.frameTiming { return UncheckedBox(FrameTimingRecorder()) }
        return UncheckedBox(nil)
    }
}

/// Session notices as PAM prompts; a keep-alive line when nothing was said for `keepAlive` seconds (the module gives
/// up after its 5 s silence deadline). Also records when each phase of the attempt happened, on the wall clock and on
/// the frames' clock (`AttemptTiming`, one journal line per attempt).
final class PamPresenter: SessionPresenter, @unchecked Sendable {
    let say: (UnlockProtocol.Answer) -> Void
    var lastSaid = Date()
    /// Below the module's default 5 s silence deadline with room for one slow frame.
    static let keepAlive: TimeInterval = 3
    private(set) var timing: AttemptTiming
    private var lastFrameTime: Double?

    init(say: @escaping (UnlockProtocol.Answer) -> Void, started: Date = Date()) {
        self.say = say
        self.timing = AttemptTiming(started: started)
    }

    func opened() { timing.openedMs = timing.ms() }

    func notice(_ notice: SessionNotice) {
        switch notice {
        case .ready: timing.ready = timing.point(video: lastFrameTime)
        case .prompt(let i, _, let text):
            if i == 0 { timing.prompt = timing.point(video: lastFrameTime) }
            emit(.info(text))
        case .passed, .failed: if timing.settled == nil { timing.settled = timing.point(video: lastFrameTime) }
        default: break
        }
    }

    func frame(_ frame: Frame, step: LivenessStep, pipeline: LivenessPipeline) throws {
        if timing.firstFrameMs == nil { timing.firstFrameMs = timing.ms(); timing.firstVideo = frame.timestamp }
        lastFrameTime = frame.timestamp
        timing.frames += 1
        timing.lastVideo = frame.timestamp
        if Date().timeIntervalSince(lastSaid) > Self.keepAlive { emit(.info("Keep looking at the camera")) }
    }

    func emit(_ a: UnlockProtocol.Answer) {
        lastSaid = Date()
        say(a)
    }
}

/// Where an attempt's time went: wall milliseconds since the request was read (`ms`), and the frames' own clock
/// (seconds of video / camera time since the first frame) for the calibration, the unannounced hold-still before the
/// prompt (#14: 0.5–1.5 s), and the person's reaction up to the challenge's result.
struct AttemptTiming {
    let started: Date
    var openedMs: Int?
    var firstFrameMs: Int?
    var firstVideo: Double?
    var lastVideo: Double?
    var frames = 0
    /// (wall ms, video s since the first frame) of: calibrated (`ready`), first prompt shown, first challenge settled.
    var ready: (ms: Int, video: Double)?
    var prompt: (ms: Int, video: Double)?
    var settled: (ms: Int, video: Double)?

    init(started: Date) { self.started = started }
    func ms() -> Int { Int(Date().timeIntervalSince(started) * 1000) }
    func point(video: Double?) -> (ms: Int, video: Double) { (ms(), (video ?? 0) - (firstVideo ?? video ?? 0)) }

    /// `opened_ms=12 frames=57 video_s=2.31 calibrated=0.63@580ms prompt=1.71@1190ms settled=2.29@1580ms total_ms=1630`
    var line: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "-" }
        func at(_ p: (ms: Int, video: Double)?) -> String { p.map { "\(f($0.video))@\($0.ms)ms" } ?? "-" }
        let video = (lastVideo ?? 0) - (firstVideo ?? lastVideo ?? 0)
        return "opened_ms=\(openedMs.map(String.init) ?? "-") first_frame_ms=\(firstFrameMs.map(String.init) ?? "-") frames=\(frames) "
            + "video_s=\(f(video)) calibrated=\(at(ready)) prompt=\(at(prompt)) settled=\(at(settled)) total_ms=\(ms())"
    }
}

/// A camera source that also records the driver's buffer timestamp of every frame for `FrameTimingCue`.
final class TimedCameraSource: FrameSource {
    let inner: VideoSource
    let recorder: FrameTimingRecorder?
    init(_ inner: VideoSource, recorder: FrameTimingRecorder?) { self.inner = inner; self.recorder = recorder }
    var name: String { inner.name }
    var fps: Double { inner.fps }
    func next() throws -> Frame? {
        guard let f = try inner.next() else { return nil }
        recorder?.add(inner.reader.sensorTimestamp)
        return f
    }
}

/// The sensor timestamps of one attempt (frames without one are skipped: the cue then abstains on too few frames).
final class FrameTimingRecorder: @unchecked Sendable {
    private(set) var timestamps: [Double] = []
    func add(_ t: Double?) { if let t { timestamps.append(t) } }
    var cue: FrameTimingCue { FrameTimingCue(timestamps: timestamps) }
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
