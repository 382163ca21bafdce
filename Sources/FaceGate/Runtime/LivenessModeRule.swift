import FaceGateCore
import FaceGateVision
import Foundation

/// What decides whether a session that runs challenges also runs the passive cues on the same frames.
public struct LivenessModeInputs: Sendable, Hashable {
    /// The front-end's configured mode: the server's `liveness.mode`; `.active` for the CLI (`liveness`,
    /// `authenticate`, `enroll --liveness`: the challenges are the floor); `.both` for the face-unlock daemon
    /// (`UnlockDaemon.livenessMode`). A configured `.passive` or `.both` is kept as it is.
    public var configured: LivenessMode
    /// The passive cues were asked for: CLI `--passive`, `--pad-model`, `--model`, `--depth`, `--imu`
    /// (`PassiveCLIOptions.requested`); server `liveness.pad_models` or `liveness.model` configured.
    public var passiveRequested: Bool
    /// Installed anti-spoof models are used automatically: not `--no-installed-models`, and
    /// `liveness.use_installed_models` (default true).
    public var useInstalledModels: Bool

    public init(configured: LivenessMode = .active, passiveRequested: Bool, useInstalledModels: Bool) {
        self.configured = configured; self.passiveRequested = passiveRequested; self.useInstalledModels = useInstalledModels
    }
}

/// The one rule of every front-end for "do the challenges run with the passive cues (mode both)?"
/// (docs/passive-liveness.md, *On by default*): a configured `passive`/`both` stays; a configured `active` runs as
/// `both` when the passive cues were asked for, or when an anti-spoof model is installed and installed models are used
/// automatically; else challenges alone. `facegate liveness`, `authenticate`, `enroll --liveness`, the unlock daemon
/// and the server's sessions without a `mode` all call it (`LivenessModeRuleTests`).
public enum LivenessModeRule {
    /// The mode for these inputs, given the catalog names of the installed anti-spoof models (pure; the table test).
    public static func mode(_ inputs: LivenessModeInputs, installedAntiSpoof: [String]) -> LivenessMode {
        guard inputs.configured == .active else { return inputs.configured }
        return inputs.passiveRequested || (inputs.useInstalledModels && !installedAntiSpoof.isEmpty) ? .both : .active
    }

    /// The mode for these inputs with the anti-spoof models installed in `models`.
    public static func mode(_ inputs: LivenessModeInputs, models: ModelDirectory) -> LivenessMode {
        mode(inputs, installedAntiSpoof: PadModelResolver.installedAntiSpoof(in: models))
    }
}

/// A liveness request a front-end cannot run, typed (rendered at the edge: the CLI exits 2 with the text).
public enum LivenessInputError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Challenges asked of a still image.
    case challengesNeedMotion
    /// `--no-hold-still` with a live camera.
    case holdStillNeedsRecording

    public var description: String {
        switch self {
        case .challengesNeedMotion:
            return "challenges need motion: use --video F or --camera N (or --passive without --challenges for a still image)"
        case .holdStillNeedsRecording:
            return "--no-hold-still is for recordings (--video F): a live camera keeps the random pause before each prompt, which a replayed recording cannot follow"
        }
    }
}

extension LivenessPipelineOptions {
    /// A still image cannot answer challenges (checked before anything is loaded).
    public static func checkChallengeInput(stillImage: Bool) throws {
        if stillImage { throw LivenessInputError.challengesNeedMotion }
    }

    /// `noHoldStill`: prompt each challenge at once, without the random hold-still (`LivenessConfiguration.holdStill`),
    /// only for a pre-recorded clip (`recording`), which cannot follow a random pause; a live camera keeps it.
    public mutating func dropHoldStill(_ noHoldStill: Bool, recording: Bool) throws {
        guard noHoldStill else { return }
        guard recording else { throw LivenessInputError.holdStillNeedsRecording }
        configuration.holdStill = nil
    }
}
