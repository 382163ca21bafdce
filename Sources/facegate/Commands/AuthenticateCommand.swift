import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

struct AuthenticateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authenticate",
        abstract: "Liveness first (challenges + passive cues when available), then identity on the frames that passed liveness. Exit 0 authorized, 1 denied.",
        discussion: """
        Passive cues run on the same frames as the challenges when an anti-spoof model is installed
        (facegate models install minifasnet-v2) or when --passive, --pad-model or --model is given;
        --no-installed-models without those runs challenges only.
        Examples:
          facegate authenticate --camera 0
          facegate authenticate --video clip.mp4 --challenges blink --user alice --json
          facegate authenticate --camera 0 --model my-liveness.fgm --mode strict
        """)
    @Option(help: "Video file.") var video: String?
    @Option(help: "Camera index or device.") var camera: String?
    @Option(help: "Claimed user (1:1); default: identify among all users.") var user: String?
    @Option(help: "Match threshold for this run, over every user's own (order: --threshold > per-user > FACEGATE_IDENTITY_THRESHOLD > identity.threshold in the config > \(IdentityThreshold.default)).") var threshold: Double?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Active liveness") var activeOptions: ActiveCLIOptions
    @OptionGroup(title: "Passive liveness") var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    @OptionGroup(title: "Actions") var actionOptions: ActionOptions
    @Option(name: .customLong("decision-image"), help: "Write the decisive frame with the green/red decision overlay (png or jpg).") var decisionImage: String?

    /// `--json` output of an attempt refused by the lockout.
    struct LockedOut: Encodable { var authorized = false; var reason = "locked_out"; var message: String }

    func run() async throws {
        let ok: Bool = try await reportingErrors {
            try await withGalleryErrors {
                guard (video == nil) != (camera == nil) else { throw FaceGateError.badInput("give exactly one of --video F or --camera N") }
                let config = try configOptions.load(actionOptions.overrides)
                // Gallery, key, identity index and lockout, opened the one way every front-end opens them.
                let env = try await RuntimeEnvironment.open(config: config, databaseFlag: gallery.db, thresholdFlag: threshold,
                                                            models: modelOptions.directory, detector: DetectorChoice(modelOptions.detector))
                defer { Task { await env.close() } }
                var claimedOverride: Double?
                if let u = user { claimedOverride = try await env.gallery.user(named: u).summary.threshold } else { _ = try await env.gallery.requireUsers() }
                // The library's one rule: passive cues with the challenges when asked for or an anti-spoof model is installed.
                let mode = passiveOptions.challengeMode(settings: config, models: modelOptions.directory)
                let liveness = try activeOptions.pipelineOptions(mode: mode, passive: passiveOptions.options(models: modelOptions.directory, settings: config),
                                                                 settings: config)
                let engine = try env.engine()
                let dispatcher = try ActionDispatcher(config: config)
                await dispatcher.start()
                let sourceName = video.map(LockoutSubject.videoSourceName(path:)) ?? "camera:\(camera ?? "")"
                let session = try AuthenticationSession(
                    engine: engine, settings: AuthenticationSettings(liveness: liveness, claimedUser: user, claimedUserThreshold: claimedOverride, source: sourceName),
                    presenter: TerminalPresenter.make(live: camera != nil, json: json, annotate: activeOptions.annotate, fps: 0))
                // Admission, then the source, liveness, identity and the lockout settled with the decision (released at
                // once when anything fails after admission).
                let outcome: AuthenticationOutcome
                do {
                    outcome = try await session.authenticate(opening: { try video.map { try VideoSource.file($0) } ?? VideoSource.camera(camera!) },
                                                             index: env.index, lockout: env.lockout)
                }
                catch let refused as AuthenticationRefused {
                    // A negative decision (exit 1), audited like every other and counted by nobody.
                    dispatcher.dispatch(refused.decision)
                    _ = await dispatcher.finish(timeout: 10)
                    printError("facegate: refused: \(refused.description)")
                    if json { print(jsonLine(LockedOut(message: refused.description))) }
                    return false
                }
                let r = outcome.result, combined = outcome.liveness
                try DecisionActions(dispatcher: dispatcher).complete(outcome.decision, frame: session.decisiveFrame?.image,
                                                                     faceBox: session.decisiveFrame?.face, annotatedOutput: decisionImage)
                _ = await dispatcher.finish(timeout: 10)
                if json {
                    var out = r; out.liveness = nil
                    out.distance = out.distance.map { (($0 * 10000).rounded()) / 10000 }
                    print(jsonLine(out))
                } else {
                    print((r.authorized ? "AUTHORIZED \(r.user ?? "")" : "DENIED") + " — \(r.reason)")
                    print("  live: \(r.live ? "yes" : "no") (\(combined.verdict.mode.rawValue): \(combined.verdict.decidedBy.map(\.name).joined(separator: ", "))), identity frames: \(r.identityFrames)" + (r.distance.map { String(format: ", distance %.3f", $0) } ?? "")
                          + String(format: " (threshold %.3f, %@)", outcome.threshold.value, outcome.threshold.source.rawValue))
                    if let v = combined.verdict.passive {
                        print("  passive: \(v.live ? "live" : "not live"), score \(String(format: "%.3f", v.score)) (\(v.mode.rawValue) mode, \(v.reason.rawValue))")
                    }
                }
                return r.authorized
            }
        }
        if !ok { throw ExitCode(1) }
    }
}
