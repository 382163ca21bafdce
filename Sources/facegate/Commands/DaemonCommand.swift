import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Logging

/// `facegate daemon`: the face-unlock daemon `pam_facegate.so` talks to (docs/face-unlock.md). Parses flags, opens
/// what the attempts share (models, gallery, lockout, actions) and serves; the policy is in FaceGate/Unlock and the
/// runtime's `AuthenticationSession`.
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Face-unlock daemon for pam_facegate.so: owns the camera, runs one authentication at a time on a Unix socket.",
        discussion: """
        Runs as a dedicated account with the video group (installed unit: facegate-unlock.service). Only root PAM
        callers are served (SO_PEERCRED). A Linux account unlocks as the gallery user of the same name, or as the
        --user-map file says (then only the accounts it lists). Virtual cameras (v4l2loopback, OBS, devices without
        a USB/PCI parent) are refused; --allow-device admits a built-in platform camera by /dev path or VID:PID.
        Liveness: one random challenge with the passive cues on the same frames (mode both: the built-in screen/print
        cues, plus the anti-spoof models when installed); --random 2 or --challenges LIST asks for more. Camera
        frames whose driver timestamps look like a file or a generator (perfectly regular, or on a container time
        base) are denied (--no-frame-timing turns that cue off). Started by systemd (Type=notify) it reports READY=1
        once the models are loaded and the socket is bound.
        --status asks the running daemon (as root: its own report) or, when it is down, checks the same flags
        locally: the camera check, the user map and which mapped users are enrolled. Exit 0 up, 3 down.
        Examples:
          facegate daemon                                   # /run/facegate/pam.sock, /dev/video0
          facegate daemon --camera /dev/video2 --user-map /etc/facegate/unlock-users --random 2
          facegate daemon --socket /tmp/fg.sock --test-video clip.mp4 --allow-uid 1000   # tests only
          sudo facegate daemon --status --user-map /etc/facegate/unlock-users
        """)

    static let productionSocket = UnlockDaemonSetup.productionSocket

    @Option(help: "Unix socket the PAM module connects to.") var socket = Self.productionSocket
    @Option(help: "Camera device (/dev/videoN or N).") var camera = "/dev/video0"
    @Option(name: .customLong("test-video"), help: "Tests only: read every attempt from this video file instead of the camera (refused on \(Self.productionSocket)).") var testVideo: String?
    @Option(name: .customLong("user-map"), help: "File of 'linux-account gallery-user' lines; only listed accounts may use face unlock.") var userMap: String?
    @Option(name: .customLong("allow-uid"), help: "Also serve callers with this uid (tests; production serves root only). Repeatable.") var allowUIDs: [UInt32] = []
    @Option(name: .customLong("allow-device"), help: "Admit a camera without a USB/PCI parent by /dev path or VID:PID (never a virtual device). Repeatable.") var allowDevices: [String] = []
    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("sysfs to check the camera in (tests).", visibility: .hidden)) var sysfsRoot = "/sys"
    @Option(name: .customLong("max-waiting"), help: "Callers that may wait for the camera while an attempt runs; more get 'busy' at once.") var maxWaiting = 1
    @Option(help: "Match threshold (as authenticate's --threshold).") var threshold: Double?
    @Flag(name: .customLong("no-frame-timing"), help: "Do not deny camera frames whose timestamps look like a file or a generator.") var noFrameTiming = false
    @Flag(name: .customLong("allow-own-account"), help: "Also serve non-root callers (user-run lock screens) for their own account only; makes the socket 0666.") var allowOwnAccount = false
    @Flag(help: "Report whether the daemon is up, its camera check and user map (locally when it is down), then exit.") var status = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Active liveness") var activeOptions: ActiveCLIOptions
    @OptionGroup(title: "Passive liveness") var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions

    func run() async throws {
        try await reportingErrors {
            try await withGalleryErrors {
                try UnlockDaemonSetup.check(socket: socket, testVideo: testVideo, maxWaiting: maxWaiting)
                let config = try configOptions.load(UnlockDaemonSetup.configOverrides)
                let map = try UnlockDaemonSetup.userMap(path: userMap)
                let source: UnlockFrameSource = testVideo.map { .testVideo($0) } ?? .camera(camera)
                let check = UnlockDaemonSetup.cameraCheck(sysfsRoot: sysfsRoot, allowDevices: allowDevices)
                if status { return try await reportStatus(config: config, map: map, source: source, check: check) }
                // Gallery + key, threshold policy and lockout opened as `authenticate` opens them.
                let env = try await openEnvironment(config)
                // The library's mode rule with the daemon's configured mode (always both, `UnlockDaemon.livenessMode`).
                let mode = passiveOptions.challengeMode(settings: config, models: modelOptions.directory, configured: UnlockDaemon.livenessMode)
                let liveness = try activeOptions.pipelineOptions(mode: mode, passive: passiveOptions.options(models: modelOptions.directory, settings: config),
                                                                 settings: config)
                let active = activeOptions
                let plan = try UnlockDaemonSetup.plan(requested: active.requested ? { try active.plan(settings: config) } : nil)
                let engine = try env.engine()
                _ = try engine.embedder()
                let dispatcher = try ActionDispatcher(config: config)
                await dispatcher.start()
                let logger = Logger(label: "facegate.unlock")
                let authenticator = SessionUnlockAuthenticator(
                    options: .init(liveness: liveness, plan: plan, source: source, deviceCheck: { check.check($0) },
                                   frameTiming: !noFrameTiming),
                    engine: engine, gallery: env.gallery, policy: await env.index.policy, lockout: env.lockout,
                    dispatcher: dispatcher, logger: logger)
                let daemon = UnlockDaemon(settings: .init(socketPath: socket, allowedUIDs: Set([0] + allowUIDs), userMap: map,
                                                          maxWaiting: maxWaiting, socketMode: allowOwnAccount ? 0o666 : 0o600,
                                                          allowOwnAccount: allowOwnAccount),
                                          authenticator: authenticator, logger: logger)
                daemon.statusReport = UnlockDaemonSetup.statusProvider(
                    gallery: env.gallery, source: source, check: check, map: map,
                    liveness: UnlockDaemonSetup.livenessDescription(requested: activeOptions.requested), frameTiming: !noFrameTiming)
                do { try daemon.bind() } catch let e as UnlockDaemon.SocketError { throw FaceGateError.runtime(e.description) }
                if case .testVideo(let p) = source {
                    logger.warning("TEST SOURCE: every attempt reads \(p), not a camera — never use this for real logins")
                }
                signal(SIGTERM, SIG_IGN); signal(SIGINT, SIG_IGN)
                let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
                for s in signals {
                    s.setEventHandler { SystemdNotify.send("STOPPING=1"); daemon.stop(); Glibc.exit(0) }
                    s.resume()
                }
                printError("facegate daemon: listening on \(socket) (\(source.name), \(map.sameName ? "same-name users" : "\(map.entries.count) mapped users"))")
                let server = Thread { daemon.serve() }
                server.start()
                // Models loaded, gallery open, socket bound: systemd may now start what is ordered after the unit.
                SystemdNotify.send("READY=1\nSTATUS=listening on \(socket)")
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
        }
    }

    func openEnvironment(_ config: FaceGateConfig) async throws -> RuntimeEnvironment {
        do {
            return try await RuntimeEnvironment.open(config: config, databaseFlag: gallery.db, thresholdFlag: threshold,
                                                     models: modelOptions.directory, detector: DetectorChoice(modelOptions.detector))
        } catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
    }

    /// `--status`: the running daemon's own report, or the same checks made here when it is down (or will not tell
    /// this caller). Exit 0 when up, 3 when down (as `systemctl status` for an inactive unit).
    func reportStatus(config: FaceGateConfig, map: UnlockUserMap, source: UnlockFrameSource, check: CameraDeviceCheck) async throws {
        let answer = UnlockStatusClient.query(socket: socket)
        switch answer {
        case .up(let lines):
            print("daemon: up (\(socket))")
            for l in lines { print("  " + l) }
            return
        case .upNotAllowed:
            print("daemon: up (\(socket)); it reports only to root — run with sudo for its own view. Checked here:")
        case .down(let why):
            print("daemon: DOWN (\(why)) — start it: systemctl start facegate-unlock. Checked here:")
        }
        let report = await UnlockDaemonSetup.localStatus(source: source, check: check, map: map, frameTiming: !noFrameTiming) {
            try await openEnvironment(config)
        }
        for l in report.lines { print("  " + l) }
        if case .down = answer { throw ExitCode(3) }
    }
}
