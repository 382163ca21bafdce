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
    @Option(help: "Match threshold for this run, over every user's own (order: --threshold > per-user > identity.threshold in the config > FACEGATE_IDENTITY_THRESHOLD > \(IdentityThreshold.default)).") var threshold: Double?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Active liveness") var activeOptions: ActiveCLIOptions
    @OptionGroup(title: "Passive liveness") var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    @OptionGroup(title: "Actions") var actionOptions: ActionOptions
    @Option(name: .customLong("decision-image"), help: "Write the decisive frame with the green/red decision overlay (png or jpg).") var decisionImage: String?

    func run() async throws {
        let ok: Bool = try await reportingErrors {
            try await withGalleryErrors {
                guard (video == nil) != (camera == nil) else { throw FaceGateError.badInput("give exactly one of --video F or --camera N") }
                let config = try configOptions.load(actionOptions.overrides)
                let settings: ThresholdSettings
                do { settings = try ThresholdSettings(flag: threshold, config: config) } catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
                let policy = IdentityPolicy(settings: settings)
                let (g, _) = try await gallery.open(config: config)
                defer { Task { await g.close() } }
                var claimedOverride: Double?
                if let u = user { claimedOverride = try await g.user(named: u).summary.threshold } else { _ = try await g.requireUsers() }
                let index = IdentityIndexService(gallery: g, policy: policy)
                try await index.load()
                let plan: ChallengePlan
                do { plan = try activeOptions.plan() } catch let e as ActiveLivenessError { throw FaceGateError.badInput(e.description) }
                let engine = try modelOptions.engine()
                _ = try engine.embedder()
                // Passive cues when available: asked for, or an anti-spoof model installed (unless --no-installed-models).
                let passive = try passiveOptions.options(models: modelOptions.directory)
                let usePassive = passiveOptions.passive || !passiveOptions.padModels.isEmpty || passiveOptions.model != nil
                    || passiveOptions.depth != nil || passiveOptions.imu != nil || !passive.models.isEmpty
                let pipeline = try LivenessPipeline(engine: engine, options: LivenessPipelineOptions(
                    mode: usePassive ? .both : .active, plan: plan, configuration: try activeOptions.configuration(),
                    passive: passive, checkIdentity: !activeOptions.noIdentity))
                let dispatcher = try ActionDispatcher(config: config)
                await dispatcher.start()
                let sourceName = video.map { "video:\(($0 as NSString).lastPathComponent)" } ?? "camera:\(camera ?? "")"
                if case .locked = dispatcher.lockoutStatus(user: user, source: sourceName) {
                    let status = dispatcher.lockoutStatus(user: user, source: sourceName)
                    throw FaceGateError.badInput("refused: \(status) — wait for the lockout to expire or run `facegate audit unlock`")
                }
                let source: FrameSource = try video.map { try VideoSource.file($0) } ?? VideoSource.camera(camera!)
                let say: (String) -> Void = { json ? printError($0) : print($0) }
                if camera != nil {
                    say("Plan: \(plan.challenges.map(\.rawValue).joined(separator: ", "))" + (usePassive ? " + passive cues (\(passive.mode.rawValue))" : ""))
                }
                var decisive: (Image, Rect)? = nil
                let (live, anchors, combined) = try Authenticator.runLiveness(pipeline, source: source) { frame, step in
                    if step.analysis.faces.count == 1, let f = step.analysis.primary { decisive = (frame.image, f.box) }
                    guard camera != nil, let update = step.update else { return }
                    for e in update.events {
                        if case .prompt(let i, _, let text, _) = e { say("→ [\(i + 1)/\(plan.count)] \(text)") }
                    }
                }
                if live.frames == 0 { throw FaceGateError.unreadableMedia(path: video ?? camera ?? "input", detail: "no frame could be decoded") }
                let r = try await Authenticator.decide(combined, anchors: anchors, claimedUser: user, index: index)
                let applied = r.threshold ?? policy.resolvedThreshold(override: claimedOverride).value
                let decision = Self.decision(r, source: sourceName, claimedUser: user, threshold: applied)
                try DecisionActions(dispatcher: dispatcher).complete(decision, frame: decisive?.0, faceBox: decisive?.1, annotatedOutput: decisionImage)
                _ = await dispatcher.finish(timeout: 10)
                if json {
                    var out = r; out.liveness = nil
                    out.distance = out.distance.map { (($0 * 10000).rounded()) / 10000 }
                    print(jsonLine(out))
                } else {
                    print((r.authorized ? "AUTHORIZED \(r.user ?? "")" : "DENIED") + " — \(r.reason)")
                    print("  live: \(r.live ? "yes" : "no") (\(combined.verdict.mode.rawValue): \(combined.verdict.decidedBy.joined(separator: ", "))), identity frames: \(r.identityFrames)" + (r.distance.map { String(format: ", distance %.3f", $0) } ?? "")
                          + String(format: " (threshold %.3f, %@)", applied, r.thresholdSource?.rawValue ?? policy.resolvedThreshold(override: claimedOverride).source.rawValue))
                    if let v = combined.verdict.passive {
                        print("  passive: \(v.live ? "live" : "not live"), score \(String(format: "%.3f", v.score)) (\(v.mode.rawValue) mode, \(v.reason.rawValue))")
                    }
                }
                return r.authorized
            }
        }
        if !ok { throw ExitCode(1) }
    }

    /// The action-layer decision for an authentication result.
    static func decision(_ r: AuthenticationResult, source: String, claimedUser: String?, threshold: Double) -> Decision {
        let challenges = r.liveness?.challenges.map { c in
            ChallengeRecord(name: c.type.rawValue, prompt: c.type.prompt,
                            result: c.passed ? .passed : (c.status == .notReached ? .skipped : .failed),
                            startedAt: c.promptAt?.timestamp ?? 0,
                            duration: max(0, (c.at ?? c.promptAt?.timestamp ?? 0) - (c.promptAt?.timestamp ?? 0)))
        } ?? []
        if r.authorized, let u = r.user {
            return .authorized(user: u, source: source, distance: r.distance, threshold: threshold, challenges: challenges)
        }
        let reason: DenialReason
        if !r.live {
            // the core's one table (LivenessFailure.denialReason); not live without a recorded failure = the cues said so
            reason = r.liveness?.failure?.denialReason ?? .spoof
        } else {
            reason = claimedUser == nil ? .unknownFace : .wrongUser
        }
        return .denied(reason, source: source, claimedUser: claimedUser, matchedUser: r.user, distance: r.distance,
                       threshold: threshold, challenges: challenges, detail: r.reason)
    }
}
