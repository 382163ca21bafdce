import ArgumentParser
import FaceGate
import FaceGateConfig
import FaceGateCore
import FaceGateVision
import Foundation

/// Options of challenge–response (active) liveness, used by `facegate liveness` when `--passive` is not given.
struct ActiveCLIOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Challenges to check, in order (a recording is checked against exactly this list): \(ChallengeType.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "LIST"))
    var challenges: String?

    @Option(help: ArgumentHelp("A random plan of N challenges (default liveness.challenges, \(ChallengePlan.defaultCount)), drawn from a fresh 32-byte nonce.", valueName: "N"))
    var random: Int?

    @Option(help: ArgumentHelp("Seed for a reproducible random plan (tests, demos).", valueName: "S"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Challenge types a random plan may use (default liveness.challenge_types: all ten).", valueName: "LIST"))
    var allow: String?

    @Option(help: ArgumentHelp("Seconds allowed per challenge (default liveness.challenge_timeout, \(Int(LivenessConfiguration.defaultChallengeTimeout)) s; the whole session: liveness.timeout, see LivenessTiming).", valueName: "SECONDS"))
    var timeout: Double?

    @Option(help: ArgumentHelp("Write an annotated video with the prompt, progress and verdict.", valueName: "OUT.mp4"))
    var annotate: String?

    @Flag(name: .customLong("no-identity"), help: "Skip the check that the same person is seen on the early and late frames.")
    var noIdentity = false

    /// True when any option asks for challenges (with `--passive`: both in one session).
    var requested: Bool { challenges != nil || random != nil || seed != nil || allow != nil }

    /// The plan from the flags; a random plan's count and pool default to `liveness.challenges` / `challenge_types`.
    func plan(settings: FaceGateConfig) throws -> ChallengePlan {
        if let list = challenges {
            guard random == nil, seed == nil, allow == nil else {
                throw FaceGateError.badInput("--challenges is an explicit list: do not combine it with --random, --seed or --allow")
            }
            return try ChallengePlan(explicit: ChallengeType.parseList(list))
        }
        let n = random ?? (settings.liveness.challenges > 0 ? settings.liveness.challenges : ChallengePlan.defaultCount)
        let pool = settings.liveness.challengeTypes.isEmpty ? ChallengeType.allCases : settings.liveness.challengeTypes
        let allowed = try allow.map { try ChallengeType.parseList($0) } ?? pool
        if let s = seed { return try ChallengePlan(seed: s, count: n, allowed: allowed) }
        return try ChallengePlan.random(count: n, allowed: allowed)
    }

    /// The settings' timing through the library's one rule (`LivenessTiming`), `--timeout` per challenge over it.
    func configuration(settings: FaceGateConfig) throws -> LivenessConfiguration {
        if let t = timeout {
            guard t > 0, t.isFinite else { throw FaceGateError.badInput("--timeout must be a positive number of seconds") }
        }
        return LivenessTiming.configuration(settings, challengeTimeout: timeout)
    }
}

extension ActiveCLIOptions {
    /// The liveness part of a session from the flags: the same for `liveness`, `authenticate` and `enroll --liveness`
    /// and the daemon (plan, timeouts from `settings` through `LivenessTiming`, identity continuity).
    func pipelineOptions(mode: LivenessMode, passive: PassiveOptions = PassiveOptions(), settings: FaceGateConfig) throws -> LivenessPipelineOptions {
        let plan: ChallengePlan
        do { plan = try self.plan(settings: settings) } catch let e as ActiveLivenessError { throw FaceGateError.badInput(e.description) }
        let configuration = try configuration(settings: settings)
        return LivenessPipelineOptions(mode: mode, plan: plan, configuration: configuration, passive: passive,
                                       captureTimeout: LivenessTiming.captureTimeout(configuration), checkIdentity: !noIdentity)
    }
}

/// The challenge path of `facegate liveness` (challenges alone, or with the passive cues in one session): the
/// liveness half of `AuthenticationSession`, the code `authenticate` runs.
enum ActiveLivenessCLI {
    struct Context {
        var video: String?
        var camera: String?
        var image: String?
        var json: Bool
        /// The loaded settings (`--config`, `--set`, environment): timeouts and plan defaults (`LivenessTiming`).
        var settings: FaceGateConfig = .defaults
        /// `--no-hold-still`: prompts at once (recordings only; see `LivenessConfiguration.holdStill`).
        var noHoldStill = false
    }

    /// Runs the session; returns whether the person was live. `passive`: mode both with these cue options.
    static func run(_ ctx: Context, options: ActiveCLIOptions, passive: PassiveCLIOptions?, models: ModelOptions) throws -> Bool {
        if ctx.image != nil {
            throw FaceGateError.badInput("challenges need motion: use --video F or --camera N (or --passive without --challenges for a still image)")
        }
        let passiveOptions = try passive?.options(models: models.directory) ?? PassiveOptions()
        var liveness = try options.pipelineOptions(mode: passive == nil ? .active : .both, passive: passiveOptions, settings: ctx.settings)
        if ctx.noHoldStill {
            guard ctx.video != nil else {
                throw FaceGateError.badInput("--no-hold-still is for recordings (--video F): a live camera keeps the random pause before each prompt, which a replayed recording cannot follow")
            }
            liveness.configuration.holdStill = nil
        }
        let source: FrameSource = try ctx.video.map { try VideoSource.file($0) } ?? VideoSource.camera(ctx.camera!)
        let engine = try models.engine()
        if !options.noIdentity { _ = try engine.embedder() }     // fail early on a missing model, before the person starts
        let session = try AuthenticationSession(
            engine: engine, settings: AuthenticationSettings(liveness: liveness, source: source.name), identify: false,
            presenter: TerminalPresenter.make(live: ctx.camera != nil, json: ctx.json, annotate: options.annotate, fps: source.fps))
        let result = try session.runLiveness(source)
        if result.session.frames == 0 {
            throw FaceGateError.unreadableMedia(path: ctx.video ?? ctx.camera ?? "input", detail: "no frame could be decoded")
        }
        if ctx.json {
            if passive == nil { print(jsonLine(result.session)) } else { print(jsonLine(CombinedJSON(result: result))) }
        } else {
            printHuman(result.session, identitySkipped: session.pipeline.identitySkipped)
            if passive != nil {
                print("  decided by: \(result.verdict.decidedBy.map(\.name).joined(separator: ", ")) (\(result.verdict.reason.rawValue))")
            }
            if let v = result.verdict.passive {
                print("  passive: \(v.live ? "live" : "not live"), score \(String(format: "%.3f", v.score)) (\(v.mode.rawValue) mode, \(v.reason.rawValue): \(v.decidedBy.isEmpty ? "no cue could see" : v.decidedBy.map(\.name).joined(separator: ", "))), \(result.passiveFrames) frame(s) analysed")
                LivenessCommand.printCues(v)
            }
        }
        return result.live
    }

    /// JSON of a combined session: the active result's keys (`live`, `challenges`, `reason`, `frames`, `failure`,
    /// `plan`, `evidence`, …) with the combined decision, plus `mode`, `decided_by`, `decision` and the `passive` block.
    struct CombinedJSON: Encodable {
        var result: CombinedLivenessResult
        enum K: String, CodingKey { case mode, decided_by, decision, passive }
        func encode(to encoder: Encoder) throws {
            try result.session.encode(to: encoder)
            var c = encoder.container(keyedBy: K.self)
            try c.encode(result.verdict.mode.rawValue, forKey: .mode)
            try c.encode(result.verdict.decidedBy.map(\.name), forKey: .decided_by)
            try c.encode(result.verdict.reason.rawValue, forKey: .decision)
            if let v = result.verdict.passive {
                try c.encode(LivenessCommand.output(v, frames: result.passiveFrames, framesWithFace: result.passiveFramesWithFace), forKey: .passive)
            }
        }
    }

    static func printHuman(_ r: LivenessResult, identitySkipped: Int) {
        let passed = r.challenges.filter(\.passed).count
        print("\(r.live ? "LIVE" : "NOT LIVE") — \(passed)/\(r.plan.count) challenge\(r.plan.count == 1 ? "" : "s") passed, \(r.frames) frames")
        if r.plan.isRandom { print("  plan nonce \(r.plan.nonceHex)") }
        for o in r.challenges {
            var s = "  " + (o.passed ? "✓" : (o.status == .failed ? "✗" : "·")) + " " + o.type.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            if let ms = o.latencyMs { s += "  latency \(ms) ms" }
            if let at = o.at { s += String(format: "  at %.2f s", at) }
            if !o.otherActions.isEmpty { s += "  (also: \(o.otherActions.map(\.rawValue).joined(separator: ", ")))" }
            print(s)
        }
        if let d = r.identityDistance { print(String(format: "  identity: max distance %.3f between anchor frames", d)) }
        if identitySkipped > 0 { print("  identity: \(identitySkipped) anchor frame(s) could not be embedded") }
        if let reason = r.reason { print("  reason: \(reason)") }
    }
}
