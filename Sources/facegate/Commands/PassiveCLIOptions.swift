import ArgumentParser
import FaceGate
import FaceGateConfig
import FaceGateLab
import FaceGateActions
import FaceGateCore
import FaceGateVision
import Foundation

/// Options of the passive cues (texture, screen, 3-D, depth, IMU, anti-spoof models).
struct PassiveCLIOptions: ParsableArguments {
    @Flag(help: "Run the passive cues (texture, moiré, glare, bezel, flat-3-D, nose depth, depth, IMU, anti-spoof models).")
    var passive = false

    @Option(name: .customLong("pad-model"), help: ArgumentHelp(
        "Anti-spoof model: a catalog name (facegate models list) or an ONNX path (with a .json sidecar or a Silent-Face file name). Repeatable; default: every installed anti-spoof model.",
        valueName: "NAME|FILE"))
    var padModels: [String] = []

    @Flag(name: .customLong("no-installed-models"), help: "Do not use installed anti-spoof models automatically.")
    var noInstalledModels = false

    @Option(help: ArgumentHelp("Your own liveness model from `facegate train` (LivenessNet or texture); feeds the texture cue.", valueName: "FILE"))
    var model: String?

    @Option(help: ArgumentHelp("Directory of 16-bit PNG depth frames (millimetres) aligned with the colour frames.", valueName: "DIR"))
    var depth: String?

    @Option(help: ArgumentHelp("Gyroscope CSV: t,gx,gy,gz (seconds on the frames' clock, rad/s).", valueName: "CSV"))
    var imu: String?

    @Option(help: "Fusion mode: light (deny cues only) or strict (also needs a confirm cue).")
    var mode: String = "light"

    @Option(name: .customLong("max-frames"), help: "Frames analysed at most.")
    var maxFrames = 300

    @Option(name: .customLong("pad-threshold"), help: ArgumentHelp(
        "Operating point on the fused passive score, 0.5–0.95: refused below it (default: config liveness.pad_threshold, set by `facegate calibrate-pad`; 0.5 = the cues' own thresholds).",
        valueName: "T"))
    var padThreshold: Double?

    /// The passive cues were asked for: `--passive`, `--pad-model`, `--model`, `--depth` or `--imu`.
    var requested: Bool { passive || !padModels.isEmpty || model != nil || depth != nil || imu != nil }

    /// Installed anti-spoof models are used automatically: not `--no-installed-models`, and not
    /// `liveness.use_installed_models = false` in the loaded settings (nil: none loaded).
    func usesInstalledModels(_ settings: FaceGateConfig?) -> Bool {
        !noInstalledModels && settings?.liveness.useInstalledModels != false
    }

    /// The mode of a session that runs challenges, by the library's one rule (`LivenessModeRule`): both when asked
    /// for or an anti-spoof model is installed and used (not `--no-installed-models`, `liveness.use_installed_models`).
    func challengeMode(settings: FaceGateConfig, models: ModelDirectory, configured: LivenessMode = .active) -> LivenessMode {
        LivenessModeRule.mode(LivenessModeInputs(configured: configured, passiveRequested: requested,
                                                 useInstalledModels: usesInstalledModels(settings)),
                              models: models)
    }

    /// The cue options; `settings` (when the command loaded them): `liveness.use_installed_models = false` leaves the
    /// installed models out, as it does for the mode (`challengeMode`) and on the server.
    func options(models: ModelDirectory, settings: FaceGateConfig? = nil) throws -> PassiveOptions {
        var o = PassiveOptions()
        guard let m = PassiveMode(rawValue: mode.lowercased()) else {
            throw FaceGateError.badInput("--mode must be light or strict, not '\(mode)'")
        }
        guard maxFrames > 0 else { throw FaceGateError.badInput("--max-frames must be positive") }
        o.mode = m
        o.maxFrames = maxFrames
        if let t = padThreshold {
            guard t.isFinite, t >= PassiveFusion.defaultScoreThreshold, t <= PassiveFusion.maximumScoreThreshold else {
                throw FaceGateError.badInput("--pad-threshold must be between 0.5 and 0.95, not \(t)")
            }
            o.scoreThreshold = t
        } else if let cfg = try? FaceGateConfig.load() {
            // The calibrated operating point (an unreadable configuration leaves the cues' own thresholds).
            o.scoreThreshold = cfg.liveness.padThreshold
        }
        o.models = try PadModelResolver.resolve(padModels, directory: models, includeInstalled: padModels.isEmpty && usesInstalledModels(settings))
        if let m = model { o.texture = try LivenessModel(path: m) }
        if let d = depth { o.depth = try DepthSequence(directory: d) }
        if let i = imu { o.gyro = try GyroCSV.read(i) }
        return o
    }
}
