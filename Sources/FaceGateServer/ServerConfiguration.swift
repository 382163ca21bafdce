import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation

/// Everything `facegate serve` can tune. Built from the typed settings (`init(database:settings:)`, `apply`): every value
/// the settings name (`[server]`, `[identity]`, `[liveness]`, `[lockout]`) defaults to the schema's default, read from
/// `FaceGateConfig.defaults` (one source of defaults, `ServerSettingsTests`); only the server's own limits (frame
/// sizes, rates, queue bounds, TTLs) are stated here, with their reasons.
public struct ServerConfiguration: Sendable {
    /// The schema's defaults, typed (no file, no environment).
    public static let schema = FaceGateConfig.defaults

    public var host = schema.server.host
    public var port = schema.server.port
    /// Gallery + server tables.
    public var database: GalleryLocation
    /// Face workers (threads with their own engine). Default: one per core.
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    public var models: ModelDirectory = .resolve()
    public var detector: DetectorChoice = .hog

    /// 120 s: the default; a 3-challenge session needs ~20 s, the rest covers permission prompts.
    public var sessionTTL: TimeInterval = 120
    /// Default challenges per session (config liveness.challenges).
    public var challenges = schema.liveness.challenges
    /// Challenge types sessions draw from (config liveness.challenge_types; empty = all).
    public var challengeTypes: [ChallengeType] = schema.liveness.challengeTypes
    /// Per-challenge and whole-session limits and the continuity threshold: `LivenessTiming`, the rule every front-end
    /// uses (config liveness.challenge_timeout, liveness.timeout; the continuity threshold follows `thresholds`, never below
    /// `LivenessTiming.continuityFloor`).
    public var liveness = LivenessTiming.configuration(schema, identity: ThresholdSettings())
    /// Mode of sessions whose creation does not name one (config liveness.mode; the API default is active).
    public var livenessMode: LivenessMode = schema.liveness.mode
    /// Passive fusion of passive/both sessions (config liveness.passive_mode).
    public var passiveMode: PassiveMode = schema.liveness.passiveMode
    /// A trained FaceGate liveness model (texture cue) for passive/both sessions (config liveness.model).
    public var livenessModel: String? = schema.liveness.model
    /// Anti-spoof models (catalog names or ONNX paths) for passive/both sessions (config liveness.pad_models).
    public var padModels: [String] = schema.liveness.padModels
    /// With `padModels` empty, use every installed anti-spoof model (config liveness.use_installed_models).
    public var useInstalledPadModels = schema.liveness.useInstalledModels
    /// Passive PAD operating point on the fused score (config liveness.pad_threshold, `facegate calibrate-pad`).
    public var padThreshold = schema.liveness.padThreshold
    /// One-face frames a passive-only session collects (config liveness.passive_frames).
    public var passiveFrames = schema.liveness.passiveFrames
    /// The identity threshold policy, resolved once in the CLI's order (`ThresholdSettings`, ThresholdResolutionOrderTests):
    /// `--set identity.threshold` > `FACEGATE_IDENTITY_THRESHOLD` > the file's `identity.threshold` > default; a user's
    /// own threshold applies over it (`IdentityPolicy.resolvedThreshold`). The only place the server keeps it: verify,
    /// identify, the per-user check and the sessions' continuity check all read it from here.
    public var thresholds = ThresholdSettings() {
        didSet { liveness.identityThreshold = LivenessTiming.continuityThreshold(thresholds) }
    }
    /// The global same-person threshold (`thresholds.global`).
    public var identityThreshold: Double { thresholds.global.value }
    /// Non-admin keys may send `/v1/verify` / `/v1/identify` an uploaded image (no liveness check saw it): config
    /// `server.allow_image_probes`, default false (they need a succeeded session; admin keys always may).
    public var allowImageProbes = schema.server.allowImageProbes
    /// The enrollment quality gate (`identity.quality`, as `facegate enroll` reads it): applied to session anchors.
    public var enrollmentQuality = schema.identity.quality

    /// 512 KiB per JPEG frame: a 1280x720 webcam JPEG at quality 0.9 is ~150–250 KB; 640x480 at 0.7 ~30–60 KB.
    public var maxFrameBytes = 512 * 1024
    /// 8 MiB per HTTP body: a few base64 photos for enrollment.
    public var maxBodyBytes = 8 * 1024 * 1024
    /// 60 frames/s per session: twice a webcam's 30 fps; more is a flood, not a camera.
    public var maxFPS = 60.0
    /// 5 s without a frame closes the stream (too slow): the liveness engine fails a 0.7 s face gap anyway.
    public var frameTimeout: TimeInterval = 5
    /// Capture timestamps may run ahead of the server's clock by at most 1.5 s (network jitter and buffering);
    /// more means frames are pushed faster than real time (a replayed recording).
    public var clockSlack: TimeInterval = 1.5
    /// Capture timestamps may run behind the server's clock by at most 3 s (#17: a slow renderer producing frames for
    /// a replay takes seconds per frame but stamps them 1/15 s apart). A live camera's stream lags only by network
    /// stalls, and a stall over 5 s closes the stream anyway (`frameTimeout`).
    public var maxClockLag: TimeInterval = 3
    /// Bytes of frames one session may have queued for its worker: 4 MiB ≈ 100 frames of a 640 px page frame (30–60 KB),
    /// 8 frames at the 512 KiB limit (#17: 30 queued frames of 512 KiB were 15 MiB per session).
    public var maxQueuedBytesPerSession = 4 * 1024 * 1024
    /// Frames one session may have queued; more are skipped (answered `dropped`) so latency stays bounded.
    public var maxInFlightPerSession = 2
    /// While a challenge is pending, frames are never skipped until this many are queued: 30 ≈ 2 s at 15 fps. A blink
    /// is 2–4 frames at 15 fps, so skipping to keep latency low would lose exactly the frames the challenge needs;
    /// the backlog is worked off at tracking speed (≈ 5 ms/frame release, measured in docs/server.md) well inside the
    /// 5 s challenge window. Only calibration frames (and frames past this bound: an overloaded server) are skipped.
    public var maxInFlightDuringChallenge = 30
    /// Streaming sessions per worker before new sessions are shed with 503. 12 sessions × 15 fps = 180 frames/s per
    /// worker, above what one core sustains (≈ 5 ms/frame ⇒ 200/s) only with headroom for embeddings.
    public var sessionsPerWorker = 12
    /// Queued jobs per worker above which new sessions are shed with 503.
    public var maxQueuePerWorker = 24

    /// A succeeded session's result may be used for one decision (verify, identify, add templates) within this many
    /// seconds after it succeeded (#17 item 2): 120 s covers the backend's round trip after the browser's result
    /// with a wide margin; a later use is a replay. `--session-proof-window`.
    public var sessionProofWindow: TimeInterval = 120
    /// Session rows (and their sealed embeddings) are deleted this long after they expire; the audit log keeps the
    /// decision. 24 h leaves time to read a session's status the next day.
    public var sessionRetention: TimeInterval = 24 * 3600

    /// An HTTP connection idle (no request in progress) this long is closed: 30 s outlasts a browser's keep-alive
    /// reuse between a page's calls, and bounds connections a client opens and leaves. WebSocket streams have their
    /// own 5 s frame timeout.
    public var idleTimeout: TimeInterval = 30
    /// A new connection must deliver its first request head within this (slow-loris bound, #17): 10 s is far above a
    /// real client's head (one packet, sent at once; a phone on a poor link needs well under a second) and frees a
    /// trickling connection 3× sooner than the idle timeout would.
    public var headerTimeout: TimeInterval = 10
    /// Open connections (HTTP and WebSocket) per instance; at the cap new connections wait in the listen backlog.
    /// 512 ≫ the 24 streaming sessions per worker pair plus their backends' calls, and bounds file descriptors.
    public var maxConnections = 512

    public var keyRate = RateLimiter.Limit(rate: 20, burst: 60)
    public var ipRate = RateLimiter.Limit(rate: 10, burst: 40)
    /// Origins allowed to call the API from a browser (exact match); empty = same-origin only.
    public var corsOrigins: [String] = []
    /// Public base URL (behind a reverse proxy) used in `websocket` and link URLs; nil = from the Host header.
    public var publicURL: String?
    /// 24 h for enrollment links.
    public var enrollLinkTTL: TimeInterval = 24 * 3600
    public var lockoutEnabled = schema.lockout.enabled
    public var lockout = schema.lockout.policy
    /// Key-less local mode also after keys were created (`--insecure-local`), while no key is active; by default it
    /// ends for good with the first key, so revoking the last key never opens the server (#17 item 1).
    public var insecureLocal = false
    /// Refuse to start on a non-loopback address when no API key exists.
    public var requireKeysOffLoopback = true
    /// Name of this instance (logs, session records).
    public var instance = ProcessInfo.processInfo.hostName + ":" + String(ProcessInfo.processInfo.processIdentifier)

    /// The schema's defaults (tests, benchmarks); `facegate serve` uses `init(database:settings:)`.
    public init(database: GalleryLocation) { self.database = database }

    /// The server's configuration from the loaded settings (file, environment, `--set`): the settings-backed values
    /// as `apply` takes them, the server's own limits at their defaults.
    public init(database: GalleryLocation, settings: FaceGateConfig) {
        self.database = database
        apply(settings)
    }

    /// Takes what the settings say about the server, identity, liveness and lockout, as they are (typed, validated by
    /// the loader); an empty host or a zero count keeps the default.
    public mutating func apply(_ c: FaceGateConfig) {
        if !c.server.host.isEmpty { host = c.server.host }
        if c.server.port > 0 { port = c.server.port }
        allowImageProbes = c.server.allowImageProbes
        // The identity threshold policy (--set > FACEGATE_IDENTITY_THRESHOLD > file > default, range-checked; `facegate serve`
        // refuses an out-of-range value before this), resolved once: the sessions' continuity check takes it from here.
        if let t = try? ThresholdSettings(flag: nil, config: c) { thresholds = t }
        if c.liveness.challenges > 0 { challenges = c.liveness.challenges }
        if !c.liveness.challengeTypes.isEmpty { challengeTypes = c.liveness.challengeTypes }
        // Per-challenge and whole-session limits: the one rule of every front-end.
        liveness = LivenessTiming.configuration(c, identity: thresholds)
        livenessMode = c.liveness.mode
        passiveMode = c.liveness.passiveMode
        livenessModel = c.liveness.model
        enrollmentQuality = c.identity.quality
        padModels = c.liveness.padModels
        useInstalledPadModels = c.liveness.useInstalledModels
        padThreshold = c.liveness.padThreshold
        if c.liveness.passiveFrames > 0 { passiveFrames = c.liveness.passiveFrames }
        lockoutEnabled = c.lockout.enabled
        lockout = c.lockout.policy
    }

    /// Loads the passive cues' models (one set per face worker: native networks are not shared between threads).
    /// Throws a typed error naming the configuration key to fix.
    public func passiveOptions() throws -> PassiveOptions {
        var o = PassiveOptions()
        o.mode = passiveMode
        o.scoreThreshold = padThreshold
        o.models = try PadModelResolver.resolve(padModels, directory: models, includeInstalled: useInstalledPadModels && padModels.isEmpty)
        if let m = livenessModel { o.texture = try LivenessModel(path: m) }
        return o
    }

    public var maxSessions: Int { workers * sessionsPerWorker }
    public var maxQueue: Int { workers * maxQueuePerWorker }

    /// True for 127.0.0.0/8, ::1 and localhost.
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }
}
