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
        Default liveness: one random challenge (plus the passive cues when an anti-spoof model is installed);
        --random 2 or --challenges LIST asks for more.
        Examples:
          facegate daemon                                   # /run/facegate/pam.sock, /dev/video0
          facegate daemon --camera /dev/video2 --user-map /etc/facegate/unlock-users --random 2
          facegate daemon --socket /tmp/fg.sock --test-video clip.mp4 --allow-uid 1000   # tests only
        """)

    static let productionSocket = "/run/facegate/pam.sock"
    /// One challenge: the ≤ 2.5 s decision target of #19 is for a cooperative user with one blink.
    static let defaultChallengeCount = 1

    @Option(help: "Unix socket the PAM module connects to.") var socket = Self.productionSocket
    @Option(help: "Camera device (/dev/videoN or N).") var camera = "/dev/video0"
    @Option(name: .customLong("test-video"), help: "Tests only: read every attempt from this video file instead of the camera (refused on \(Self.productionSocket)).") var testVideo: String?
    @Option(name: .customLong("user-map"), help: "File of 'linux-account gallery-user' lines; only listed accounts may use face unlock.") var userMap: String?
    @Option(name: .customLong("allow-uid"), help: "Also serve callers with this uid (tests; production serves root only). Repeatable.") var allowUIDs: [UInt32] = []
    @Option(name: .customLong("allow-device"), help: "Admit a camera without a USB/PCI parent by /dev path or VID:PID (never a virtual device). Repeatable.") var allowDevices: [String] = []
    @Option(name: .customLong("sysfs-root"), help: ArgumentHelp("sysfs to check the camera in (tests).", visibility: .hidden)) var sysfsRoot = "/sys"
    @Option(name: .customLong("max-waiting"), help: "Callers that may wait for the camera while an attempt runs; more get 'busy' at once.") var maxWaiting = 1
    @Option(help: "Match threshold (as authenticate's --threshold).") var threshold: Double?
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Active liveness") var activeOptions: ActiveCLIOptions
    @OptionGroup(title: "Passive liveness") var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions

    func run() async throws {
        try await reportingErrors {
            try await withGalleryErrors {
                if testVideo != nil && socket == Self.productionSocket {
                    throw FaceGateError.badInput("--test-video is for tests: it is refused on \(Self.productionSocket); give --socket")
                }
                guard maxWaiting >= 0 else { throw FaceGateError.badInput("--max-waiting must be ≥ 0") }
                // The daemon is no desktop session: no voice, no screen lock; audit, mail and webhooks as configured.
                let config = try configOptions.load(["voice.enabled": "off", "lock.enabled": "false"])
                let map: UnlockUserMap
                do { map = try userMap.map { try UnlockUserMap.load(path: $0) } ?? .sameNameMap }
                catch let e as UnlockUserMap.ParseError { throw FaceGateError.badInput("\(userMap!): \(e.description)") }
                catch { throw FaceGateError.badInput("cannot read --user-map \(userMap!): \(error.localizedDescription)") }
                // Gallery + key, threshold policy and lockout opened as `authenticate` opens them.
                let env: RuntimeEnvironment
                do {
                    env = try await RuntimeEnvironment.open(config: config, databaseFlag: gallery.db, thresholdFlag: threshold,
                                                            models: modelOptions.directory, detector: DetectorChoice(modelOptions.detector))
                } catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
                let mode = AuthenticationSettings.challengeMode(
                    passiveRequested: passiveOptions.passive || !passiveOptions.padModels.isEmpty || passiveOptions.model != nil,
                    useInstalledModels: !passiveOptions.noInstalledModels, models: modelOptions.directory)
                let liveness = try activeOptions.pipelineOptions(mode: mode, passive: passiveOptions.options(models: modelOptions.directory))
                let active = activeOptions
                let plan: () throws -> ChallengePlan = active.requested ? { try active.plan() }
                    : { try ChallengePlan.random(count: Self.defaultChallengeCount) }
                _ = try plan()
                let engine = try env.engine()
                _ = try engine.embedder()
                let dispatcher = try ActionDispatcher(config: config)
                await dispatcher.start()
                let source: UnlockFrameSource = testVideo.map { .testVideo($0) } ?? .camera(camera)
                let check = CameraDeviceCheck(sysfsRoot: sysfsRoot, allowedIDs: Set(allowDevices.filter { !$0.hasPrefix("/") }),
                                              allowedPaths: Set(allowDevices.filter { $0.hasPrefix("/") }))
                let logger = Logger(label: "facegate.unlock")
                let authenticator = SessionUnlockAuthenticator(
                    options: .init(liveness: liveness, plan: plan, source: source, deviceCheck: { check.check($0) }),
                    engine: engine, gallery: env.gallery, policy: await env.index.policy, lockout: env.lockout,
                    dispatcher: dispatcher, logger: logger)
                let daemon = UnlockDaemon(settings: .init(socketPath: socket, allowedUIDs: Set([0] + allowUIDs), userMap: map,
                                                          maxWaiting: maxWaiting),
                                          authenticator: authenticator, logger: logger)
                do { try daemon.bind() } catch let e as UnlockDaemon.SocketError { throw FaceGateError.runtime(e.description) }
                if case .testVideo(let p) = source {
                    logger.warning("TEST SOURCE: every attempt reads \(p), not a camera — never use this for real logins")
                }
                signal(SIGTERM, SIG_IGN); signal(SIGINT, SIG_IGN)
                let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
                for s in signals {
                    s.setEventHandler { daemon.stop(); Glibc.exit(0) }
                    s.resume()
                }
                printError("facegate daemon: listening on \(socket) (\(source.name), \(map.sameName ? "same-name users" : "\(map.entries.count) mapped users"))")
                let server = Thread { daemon.serve() }
                server.start()
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
        }
    }
}
