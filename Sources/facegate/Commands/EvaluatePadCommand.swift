import ArgumentParser
import FaceGate
import FaceGateLab
import Foundation

struct EvaluatePadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-pad",
        abstract: "ISO/IEC 30107-3 metrics of passive liveness over a labelled manifest (APCER per species, BPCER, ACER, DET).",
        discussion: """
        Manifest: one row per presentation, tab-separated: path, label[, depth dir[, gyro csv[, source]]]. Label is
        `bona-fide` or an attack species (print, screen, replay, mask, ...). Relative paths are relative to the
        manifest. Lines starting with # are ignored. A presentation without a detectable face counts as rejected
        (score 0). Source (camera/person/session, kept whole): the 5th column, else the path's `owner__repo`
        component, else its folder. --by-source reports every source, every cue's firing rate per source, and judges
        each source at the threshold picked on all other sources for --target-bpcer (leave-one-source-out).
        Example:
          facegate evaluate-pad --manifest pad.tsv --plot det.png --json
          facegate evaluate-pad --manifest pad.tsv --by-source --target-bpcer 0.05
        """)

    @Option(help: "Manifest TSV: path<TAB>label.") var manifest: String
    @Flag(help: "JSON output.") var json = false
    @Option(help: ArgumentHelp("Write the DET curve to this PNG.", valueName: "DET.png")) var plot: String?
    @Flag(help: "Print one line per presentation.") var verbose = false
    @Flag(name: .customLong("by-source"), help: "Per-source metrics, per-cue firing rates per source, leave-one-source-out thresholds.") var bySource = false
    @Option(name: .customLong("target-bpcer"), help: "Target BPCER of the leave-one-source-out operating point.") var targetBPCER = 0.05
    @OptionGroup var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions

    func run() async throws {
        try await reportingErrors {
            let rows = try PadManifest.read(manifest)
            let base = try passiveOptions.options(models: modelOptions.directory)
            let verbose = self.verbose && !json
            let run = try PadEvaluationRun(rows: rows, base: base, engine: try modelOptions.engine(), bySource: bySource,
                                           targetBPCER: targetBPCER) { i, s in
                if verbose { print(PadEvaluationRun.verboseLine(i, of: rows.count, s)) }
            }
            if let p = plot { try run.writePlot(to: p, manifest: manifest) }
            if json {
                print(jsonLine(run.json))
            } else {
                run.lines(plot: plot).forEach { print($0) }
            }
        }
    }
}
