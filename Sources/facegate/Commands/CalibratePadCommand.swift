import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateLab
import FaceGateCore
import Foundation

/// `facegate calibrate-pad DIR`: passive PAD operating point from your own genuine recordings.
struct CalibratePadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-pad",
        abstract: "Pick the passive PAD threshold for a target BPCER on your own genuine recordings (clips or photos) and write it to the configuration.",
        discussion: """
        Runs the passive cues (as `facegate liveness --passive`, with the installed anti-spoof models unless
        --no-installed-models) on every image and video under DIR — recordings of real people in front of the
        camera you deploy — and picks the highest fused-score threshold whose expected share of refused new genuine
        recordings stays within --target-bpcer: the k-th lowest score, k = floor(target x (n + 1)). Fewer than
        1/target - 1 recordings (19 for 5 %) cannot resolve the target: nothing is picked, the built-in operating point
        stays.
        The threshold is only ever stricter than the cues' own thresholds (0.5 … 0.95): a recording a cue already
        refuses is listed and cannot be bought back. With --write it is stored as liveness.pad_threshold in the
        configuration file (--config, else $FACEGATE_CONFIG, else ~/.config/facegate/facegate.toml).
        Exit status: 0 threshold picked, 1 target not reachable or not resolvable (nothing written), 2 bad input.
        Example:
          facegate calibrate-pad ~/my-genuine-clips --target-bpcer 0.05 --write
        """)

    @Argument(help: ArgumentHelp("Folder of your own genuine recordings (searched recursively).", valueName: "DIR"))
    var directory: String
    @Option(name: .customLong("target-bpcer"), help: "Share of genuine recordings the threshold may refuse (0–0.5).")
    var targetBPCER = 0.05
    @Flag(help: "Write the threshold to the configuration file (liveness.pad_threshold).")
    var write = false
    @Option(help: ArgumentHelp("Configuration file to write (default: $FACEGATE_CONFIG, else ~/.config/facegate/facegate.toml).", valueName: "FILE"))
    var config: String?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions

    struct RecordingJSON: Encodable { var path: String; var score: Double?; var refused_by: [String]; var refused_at_threshold: Bool; var error: String? }
    struct Output: Encodable {
        var recordings: [RecordingJSON]; var used: Int; var target_bpcer: Double; var threshold: Double; var bpcer: Double
        var rejected_at_default: Int; var reachable: Bool; var resolved: Bool; var minimum_recordings: Int?
        var enough_recordings: Bool; var recommended_recordings: Int
        var table: [PadCalibration.Row]; var config_written: String?
    }

    func run() async throws {
        try await reportingErrors {
            guard targetBPCER.isFinite, (0...0.5).contains(targetBPCER) else {
                throw FaceGateError.badInput("--target-bpcer must be between 0 and 0.5, not \(targetBPCER)")
            }
            let paths = try PadCalibrationRun.recordings(in: directory)
            let options = try passiveOptions.options(models: modelOptions.directory)
            let engine = try modelOptions.engine()
            let recs = try PadCalibrationRun.run(paths, engine: engine, options: options) { i, r in
                if !json {
                    printError(String(format: "[%d/%d] %@ %@", i + 1, paths.count, (r.path as NSString).lastPathComponent,
                                      r.score.map { String(format: "score %.3f", $0) } ?? "no usable face"))
                }
            }
            let scores = recs.compactMap(\.score)
            guard !scores.isEmpty else {
                throw FaceGateError.badInput("no recording in \(directory) had a usable face: record yourself in front of the camera and try again")
            }
            let cal = PadCalibration.calibrate(scores: scores, targetBPCER: targetBPCER)
            var written: String?
            if write && cal.picked {
                let env = ProcessInfo.processInfo.environment
                let path = ConfigLoader.writablePath(explicit: config, environment: env)
                let old = FileManager.default.fileExists(atPath: path) ? try String(contentsOfFile: path, encoding: .utf8) : nil
                // Validated before writing: the file must still load (and keep every other key as it was).
                guard try ConfigLoader.writeIfValid(PadCalibrationRun.settingThreshold(cal.threshold, in: old), to: path, environment: env) else {
                    throw FaceGateError.badInput("\(path) does not validate with liveness.pad_threshold added: run `facegate config check --config \(path)` and fix it first")
                }
                written = path
            }
            if json {
                print(jsonLine(Output(
                    recordings: recs.map { RecordingJSON(path: $0.path, score: $0.score.map { r($0, 4) }, refused_by: $0.decidedBy.map(\.name),
                                                         refused_at_threshold: ($0.score ?? 0) < cal.threshold, error: $0.error) },
                    used: scores.count, target_bpcer: cal.targetBPCER, threshold: cal.threshold, bpcer: r(cal.bpcer, 4),
                    rejected_at_default: cal.rejectedAtDefault, reachable: cal.reachable, resolved: cal.resolved,
                    minimum_recordings: PadOperatingPoint.minimumSamples(targetBPCER: cal.targetBPCER), enough_recordings: cal.enoughRecordings,
                    recommended_recordings: PadCalibration.recommendedRecordings(targetBPCER: cal.targetBPCER),
                    table: cal.table, config_written: written)))
            } else {
                print("recording                                   score   at 0.5     at \(String(format: "%.3f", cal.threshold))")
                for rec in recs {
                    let name = (rec.path as NSString).lastPathComponent
                    let n = name.count >= 42 ? String(name.prefix(42)) : name.padding(toLength: 42, withPad: " ", startingAt: 0)
                    if let s = rec.score {
                        print(n + String(format: "  %.3f   %@  %@", s, (s < 0.5 ? "refused" : "live   ") as NSString,
                                         (s < cal.threshold ? "refused" : "live") as NSString)
                              + (rec.decidedBy.isEmpty ? "" : "  (" + rec.decidedBy.map(\.name).joined(separator: ", ") + ")"))
                    } else {
                        print(n + "  -       not used: " + (rec.error ?? "no face"))
                    }
                }
                print("\nthreshold  refused  BPCER")
                for row in cal.table {
                    print(String(format: "%9.3f  %7d  %5.1f%%%@", row.threshold, row.rejected, row.bpcer * 100,
                                 (abs(row.threshold - cal.threshold) < 1e-9 ? "  <- chosen" : "") as NSString))
                }
                print(String(format: "\n%d recording(s) used; target BPCER %.1f%%", scores.count, cal.targetBPCER * 100))
                if !cal.reachable {
                    print("target not reachable: the cues' own thresholds already refuse \(cal.rejectedAtDefault) of \(scores.count) genuine recording(s) (listed above with the cues that refused them); calibration only tightens, so nothing was written. Check those recordings (lighting, distance, a screen or picture in view) or use more of them.")
                } else if !cal.resolved {
                    let need = PadOperatingPoint.minimumSamples(targetBPCER: cal.targetBPCER)
                    print("target not resolvable: \(scores.count) recording(s) cannot resolve a BPCER of \(String(format: "%.1f%%", cal.targetBPCER * 100))" + (need.map { " (at least \($0) are needed: with fewer, even the lowest score as threshold would refuse more than that share of new genuine recordings)" } ?? " (a target of 0 is never resolvable)") + "; nothing was written, the built-in operating point stays. Record more, or ask for a larger target.")
                } else {
                    print(String(format: "threshold %.3f (liveness.pad_threshold): refuses %d of %d here (BPCER %.1f%%)", cal.threshold, cal.rejected, scores.count, cal.bpcer * 100))
                    if !cal.enoughRecordings {
                        print("note: \(scores.count) recording(s) are fewer than the \(PadCalibration.recommendedRecordings(targetBPCER: cal.targetBPCER)) needed to know a BPCER of \(String(format: "%.0f%%", cal.targetBPCER * 100)) on new recordings; record more (other days, lighting, distances) for a firmer threshold")
                    }
                    print(written.map { "written to \($0)" } ?? "not written (add --write to store it in the configuration)")
                }
            }
            if !cal.picked { throw ExitCode(1) }
        }
    }
}
