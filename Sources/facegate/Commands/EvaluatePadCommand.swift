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

    func options(models: ModelDirectory) throws -> PassiveOptions {
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
        o.models = try PadModelResolver.resolve(padModels, directory: models, includeInstalled: !noInstalledModels && padModels.isEmpty)
        if let m = model { o.texture = try LivenessModel(path: m) }
        if let d = depth { o.depth = try DepthSequence(directory: d) }
        if let i = imu { o.gyro = try GyroCSV.read(i) }
        return o
    }
}

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

    struct Row { var path: String; var label: String; var depth: String?; var imu: String?; var source: String }
    struct SampleJSON: Encodable {
        var path: String; var label: String; var source: String; var score: Double; var live: Bool; var decided_by: [String]; var error: String?
        /// Every cue's state (spoof / live / neutral / abstain).
        var cues: [String: String]
    }
    struct SourceJSON: Encodable {
        var source: String; var bona_fide: Int; var bpcer: Double; var species: [SpeciesJSON]
        var threshold: Double?; var held_out_bpcer: Double?; var held_out_apcer: [SpeciesJSON]?
    }
    struct CueJSON: Encodable { var cue: String; var source: String; var label: String; var presentations: Int; var fired: Int; var confirmed: Int }
    struct SpeciesJSON: Encodable { var species: String; var presentations: Int; var accepted: Int; var apcer: Double }
    struct Output: Encodable {
        var species: [SpeciesJSON]
        var bona_fide: Int
        var bpcer: Double
        var apcer_max: Double
        var acer: Double
        var bpcer_at_apcer_1: Double?
        var bpcer_at_apcer_5: Double?
        var eer: Double?
        var det: [[Double]]
        /// Per attack species: that species' APCER vs BPCER over the thresholds ([threshold, apcer, bpcer]).
        var det_by_species: [String: [[Double]]]
        var samples: [SampleJSON]
        var mode: String
        var by_source: [SourceJSON]?
        var cue_rates: [CueJSON]?
    }

    static func readManifest(_ path: String) throws -> [Row] {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        let base = (path as NSString).deletingLastPathComponent
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var rows: [Row] = []
        for (n, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count >= 2, !f[0].isEmpty, !f[1].isEmpty else {
                throw FaceGateError.badInput("\(path) line \(n + 1): expected path<TAB>label, got '\(line)'")
            }
            if n == 0 && f[1].lowercased() == "label" { continue }  // header
            func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base + "/" + p }
            rows.append(Row(path: resolve(f[0]), label: f[1].lowercased() == "bonafide" ? PadSample.bonaFide : f[1].lowercased(),
                            depth: f.count > 2 && !f[2].isEmpty ? resolve(f[2]) : nil,
                            imu: f.count > 3 && !f[3].isEmpty ? resolve(f[3]) : nil,
                            source: f.count > 4 && !f[4].isEmpty ? f[4] : PadBySource.source(ofPath: f[0])))
        }
        guard !rows.isEmpty else { throw FaceGateError.badInput("\(path) has no rows (path<TAB>label)") }
        return rows
    }

    func run() async throws {
        try await reportingErrors {
            let rows = try Self.readManifest(manifest)
            var base = try passiveOptions.options(models: modelOptions.directory)
            base.depth = nil; base.gyro = nil
            let engine = try modelOptions.engine()
            var samples: [PadSample] = []
            var out: [SampleJSON] = []
            for (i, row) in rows.enumerated() {
                var o = base
                if let d = row.depth { o.depth = try DepthSequence(directory: d) }
                if let g = row.imu { o.gyro = try GyroCSV.read(g) }
                do {
                    let src = try openSource(row.path)
                    (src as? ImageFilesSource)?.orientation = .exif   // photos upright, as the reference reads them
                    let rep = try PassiveRunner.run(src, engine: engine, options: o)
                    samples.append(PadSample(label: row.label, score: rep.verdict.score, acceptedAsLive: rep.verdict.live, path: row.path))
                    out.append(SampleJSON(path: row.path, label: row.label, source: row.source, score: r(rep.verdict.score, 4), live: rep.verdict.live,
                                          decided_by: rep.verdict.decidedBy.map(\.name), error: nil,
                                          cues: Dictionary(rep.verdict.cues.map { ($0.name, $0.state.rawValue) }, uniquingKeysWith: { a, _ in a })))
                } catch let e as FaceGateError {
                    if case .missingFile = e { throw e }
                    samples.append(PadSample(label: row.label, score: 0, acceptedAsLive: false, path: row.path))
                    out.append(SampleJSON(path: row.path, label: row.label, source: row.source, score: 0, live: false, decided_by: [], error: e.description, cues: [:]))
                }
                if verbose && !json {
                    let s = out.last!
                    print(String(format: "[%d/%d] %@ %@ score %.3f %@", i + 1, rows.count, s.label as NSString, s.live ? "LIVE" : "ATTACK",
                                 s.score, ((s.path as NSString).lastPathComponent + (s.error.map { " (\($0))" } ?? " " + s.decided_by.joined(separator: ","))) as NSString))
                }
            }
            let m = PadMetrics(samples)
            let sources = rows.map(\.source)
            let perSource = bySource ? PadBySource.evaluate(samples, sources: sources, targetBPCER: targetBPCER) : []
            func speciesJSON(_ p: PadMetrics) -> [SpeciesJSON] {
                p.species.map { SpeciesJSON(species: $0.name, presentations: $0.presentations, accepted: $0.accepted, apcer: r($0.apcer, 4)) }
            }
            // Per cue, per source and label: how often it fired (deny reading) and confirmed (live reading).
            var cueRates: [CueJSON] = []
            if bySource {
                let cueNames = Set(out.flatMap { $0.cues.keys }).sorted()
                for c in cueNames {
                    for (src, group) in Dictionary(grouping: out, by: { "\($0.source)\t\($0.label)" }).sorted(by: { $0.key < $1.key }) {
                        let k = src.split(separator: "\t").map(String.init)
                        cueRates.append(CueJSON(cue: c, source: k[0], label: k[1], presentations: group.count,
                                                fired: group.filter { $0.cues[c] == PadCueState.spoof.rawValue }.count,
                                                confirmed: group.filter { $0.cues[c] == PadCueState.live.rawValue }.count))
                    }
                }
            }
            // DET per attack species (ISO/IEC 30107-3 reports each species), drawn with the worst-species curve.
            let perSpecies = PadMetrics.bySpecies(samples)
            if let p = plot {
                let curves = [(name: "worst species (\(base.mode.rawValue))", metrics: m)]
                    + (perSpecies.count > 1 ? perSpecies.map { (name: $0.species, metrics: $0.metrics) } : [])
                try DETPlot.write(curves, to: p, title: "DET — \((manifest as NSString).lastPathComponent)")
            }
            if json {
                print(jsonLine(Output(species: m.species.map { SpeciesJSON(species: $0.name, presentations: $0.presentations, accepted: $0.accepted, apcer: r($0.apcer, 4)) },
                                      bona_fide: m.bonaFide, bpcer: r(m.bpcer, 4), apcer_max: r(m.apcerMax, 4), acer: r(m.acer, 4),
                                      bpcer_at_apcer_1: m.bpcerAtApcer1.map { r($0, 4) }, bpcer_at_apcer_5: m.bpcerAtApcer5.map { r($0, 4) },
                                      eer: m.eer.map { r($0, 4) }, det: m.det.map { [r($0.threshold, 4), r($0.apcer, 4), r($0.bpcer, 4)] },
                                      det_by_species: Dictionary(uniqueKeysWithValues: perSpecies.map { s in
                                          (s.species, s.metrics.det.map { [r($0.threshold, 4), r($0.apcer, 4), r($0.bpcer, 4)] })
                                      }),
                                      samples: out, mode: base.mode.rawValue,
                                      by_source: bySource ? perSource.map { row in
                                          SourceJSON(source: row.source, bona_fide: row.metrics.bonaFide, bpcer: r(row.metrics.bpcer, 4),
                                                     species: speciesJSON(row.metrics), threshold: row.threshold.map { r($0, 4) },
                                                     held_out_bpcer: row.heldOut.map { r($0.bpcer, 4) }, held_out_apcer: row.heldOut.map(speciesJSON))
                                      } : nil,
                                      cue_rates: bySource ? cueRates : nil)))
            } else {
                print("ISO/IEC 30107-3 — \(rows.count) presentations, mode \(base.mode.rawValue)")
                print("species            n   accepted   APCER")
                for s in m.species {
                    print(String(format: "%-14@ %5d %10d  %6.2f%%", s.name as NSString, s.presentations, s.accepted, s.apcer * 100))
                }
                print(String(format: "bona fide      %5d %10d  BPCER %.2f%%", m.bonaFide, m.bonaFide - m.bonaFideRejected, m.bpcer * 100))
                print(String(format: "ACER %.2f%% (worst APCER %.2f%%)", m.acer * 100, m.apcerMax * 100))
                func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", $0 * 100) } ?? "n/a" }
                print("BPCER @ APCER 1%: \(pct(m.bpcerAtApcer1))   BPCER @ APCER 5%: \(pct(m.bpcerAtApcer5))   EER: \(pct(m.eer))")
                let failed = out.filter { $0.error != nil }
                if !failed.isEmpty { print("\(failed.count) presentation(s) without a usable face counted as rejected") }
                if let p = plot { print("DET curve: \(p)") }
                if bySource {
                    print("\nby source (threshold: picked on the other sources for BPCER ≤ \(String(format: "%.0f%%", targetBPCER * 100)); accept when score ≥ it)")
                    print("source                                   bona fide  BPCER   attacks (APCER)            | threshold  held-out BPCER  held-out APCER")
                    for row in perSource {
                        let att = row.metrics.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ")
                        let hb = row.heldOut.map { String(format: "%.2f", $0.bpcer) } ?? "n/a"
                        let ha = row.heldOut.map { $0.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ") } ?? "n/a"
                        func pad(_ t: String, _ n: Int) -> String { t.count >= n ? t : t.padding(toLength: n, withPad: " ", startingAt: 0) }
                        print(pad(row.source, 40) + String(format: " %5d  %6.2f   ", row.metrics.bonaFide, row.metrics.bpcer) + pad(att.isEmpty ? "-" : att, 26)
                              + " | " + pad(row.threshold.map { String(format: "%.3f", $0) } ?? "n/a", 9) + "  " + pad(hb, 14) + "  " + ha)
                    }
                    print("\nper cue: fired (deny) / confirmed (live) out of presentations, per source and label")
                    for c in cueRates where c.fired + c.confirmed > 0 {
                        let name = c.cue.padding(toLength: 11, withPad: " ", startingAt: 0)
                        let src = c.source.count >= 40 ? c.source : c.source.padding(toLength: 40, withPad: " ", startingAt: 0)
                        print(name + " " + src + " " + c.label.padding(toLength: 10, withPad: " ", startingAt: 0)
                              + String(format: " fired %3d  confirmed %3d  of %3d", c.fired, c.confirmed, c.presentations))
                    }
                }
            }
        }
    }
}
