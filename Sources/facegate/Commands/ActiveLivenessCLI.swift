import ArgumentParser
import FaceGate
import FaceGateConfig
import FaceGateCore
import FaceGateVision
import Foundation

/// The challenge path of `facegate liveness` (challenges alone, or with the passive cues in one session): the
/// liveness half of `AuthenticationSession`, the code `authenticate` runs. Output: LivenessOutput.swift.
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

    /// Runs the session; returns whether the person was live. The mode (challenges alone, or both with the passive
    /// cues) is the library's one rule (`PassiveCLIOptions.challengeMode`), as for `authenticate`.
    static func run(_ ctx: Context, options: ActiveCLIOptions, passive: PassiveCLIOptions, models: ModelOptions) throws -> Bool {
        try LivenessPipelineOptions.checkChallengeInput(stillImage: ctx.image != nil)
        let mode = passive.challengeMode(settings: ctx.settings, models: models.directory)
        let passiveOptions = mode.runsPassive ? try passive.options(models: models.directory, settings: ctx.settings) : PassiveOptions()
        var liveness = try options.pipelineOptions(mode: mode, passive: passiveOptions, settings: ctx.settings)
        try liveness.dropHoldStill(ctx.noHoldStill, recording: ctx.video != nil)
        let source: FrameSource = try ctx.video.map { try VideoSource.file($0) } ?? VideoSource.camera(ctx.camera!)
        let engine = try models.engine()
        if !options.noIdentity { _ = try engine.embedder() }     // fail early on a missing model, before the person starts
        let session = try AuthenticationSession(
            engine: engine, settings: AuthenticationSettings(liveness: liveness, source: source.name), identify: false,
            presenter: TerminalPresenter.make(live: ctx.camera != nil, json: ctx.json, annotate: options.annotate, fps: source.fps))
        let result = try session.runLiveness(source, requireFrames: ctx.video ?? ctx.camera ?? "input")
        if ctx.json {
            if mode.runsPassive { print(jsonLine(CombinedJSON(result: result))) } else { print(jsonLine(result.session)) }
        } else {
            printHuman(result.session, identitySkipped: session.pipeline.identitySkipped)
            if mode.runsPassive {
                print("  decided by: \(result.verdict.decidedBy.map(\.name).joined(separator: ", ")) (\(result.verdict.reason.rawValue))")
            }
            if let v = result.verdict.passive {
                print("  passive: \(v.live ? "live" : "not live"), score \(String(format: "%.3f", v.score)) (\(v.mode.rawValue) mode, \(v.reason.rawValue): \(v.decidedBy.isEmpty ? "no cue could see" : v.decidedBy.map(\.name).joined(separator: ", "))), \(result.passiveFrames) frame(s) analysed")
                LivenessCommand.printCues(v)
            }
        }
        return result.live
    }
}
