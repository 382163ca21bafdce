import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// One presentation of an evaluate-pad manifest: path, label (`bona-fide` or an attack species), optional depth
/// directory and gyroscope CSV, and its source (camera/person/session, kept whole in leave-one-source-out).
public struct PadManifestRow: Sendable, Hashable {
    public var path: String, label: String, depth: String?, imu: String?, source: String
}

public enum PadManifest {
    /// Reads a tab-separated manifest: path, label[, depth dir[, gyro csv[, source]]]. Relative paths are relative to
    /// the manifest; `#` lines, blank lines and a `label` header are skipped; `bonafide` is read as `bona-fide`.
    /// Source: the 5th column, else the path's `owner__repo` component, else its folder.
    public static func read(_ path: String) throws -> [PadManifestRow] {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        return try parse(try String(contentsOfFile: path, encoding: .utf8), manifestPath: path)
    }

    /// The rows of a manifest's text; `manifestPath` (as given on the command line) anchors relative row paths.
    public static func parse(_ text: String, manifestPath path: String) throws -> [PadManifestRow] {
        let base = (path as NSString).deletingLastPathComponent
        var rows: [PadManifestRow] = []
        for (n, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count >= 2, !f[0].isEmpty, !f[1].isEmpty else {
                throw FaceGateError.badInput("\(path) line \(n + 1): expected path<TAB>label, got '\(line)'")
            }
            if n == 0 && f[1].lowercased() == "label" { continue }  // header
            // A manifest named without a folder ("clips.tsv") has an empty base: its rows stay relative to the working directory.
            func resolve(_ p: String) -> String { p.hasPrefix("/") || base.isEmpty ? p : base + "/" + p }
            rows.append(PadManifestRow(path: resolve(f[0]), label: f[1].lowercased() == "bonafide" ? PadSample.bonaFide : f[1].lowercased(),
                                       depth: f.count > 2 && !f[2].isEmpty ? resolve(f[2]) : nil,
                                       imu: f.count > 3 && !f[3].isEmpty ? resolve(f[3]) : nil,
                                       source: f.count > 4 && !f[4].isEmpty ? f[4] : PadBySource.source(ofPath: f[0])))
        }
        guard !rows.isEmpty else { throw FaceGateError.badInput("\(path) has no rows (path<TAB>label)") }
        return rows
    }
}

/// `facegate evaluate-pad`: the passive cues run over every manifest row, then ISO/IEC 30107-3 metrics (APCER per
/// species, BPCER, ACER, DET per species), per source with leave-one-source-out thresholds and every cue's firing
/// rate per source and label. The report renders as one JSON object (`json`) or terminal lines (`lines`).
public struct PadEvaluationRun {
    public struct Sample: Encodable, Sendable {
        public var path: String, label: String, source: String, score: Double, live: Bool, decided_by: [String], error: String?
        /// Every cue's state (spoof / live / neutral / abstain).
        public var cues: [String: String]
    }
    public struct SpeciesJSON: Encodable, Sendable { var species: String; var presentations: Int; var accepted: Int; var apcer: Double }
    public struct SourceJSON: Encodable, Sendable {
        var source: String; var bona_fide: Int; var bpcer: Double; var species: [SpeciesJSON]
        var threshold: Double?; var held_out_bpcer: Double?; var held_out_apcer: [SpeciesJSON]?
        /// Bona fide presentations of the other sources the threshold was picked on; false `resolved`: too few for the
        /// target (`PadOperatingPoint`), the source was judged at the default operating point (`threshold` null).
        var other_bona_fide: Int?; var resolved: Bool?
    }
    /// How often a cue fired (deny reading) and confirmed (live reading) for one source and label.
    public struct CueRate: Encodable, Sendable { public var cue: String, source: String, label: String, presentations: Int, fired: Int, confirmed: Int }
    public struct Output: Encodable, Sendable {
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
        var samples: [Sample]
        var mode: String
        var by_source: [SourceJSON]?
        var cue_rates: [CueRate]?
    }

    public let rows: [PadManifestRow]
    public let mode: PassiveMode
    public let bySource: Bool
    public let targetBPCER: Double
    public private(set) var samples: [PadSample] = []
    public private(set) var out: [Sample] = []

    /// Runs every row (its own depth/IMU on top of `base`); a row without a usable face counts as rejected (score 0),
    /// a missing file stops the run. `progress(i, sample)` after each row.
    public init(rows: [PadManifestRow], base: PassiveOptions, engine: FaceEngine, bySource: Bool, targetBPCER: Double,
                progress: ((Int, Sample) -> Void)? = nil) throws {
        self.rows = rows; self.mode = base.mode; self.bySource = bySource; self.targetBPCER = targetBPCER
        var base = base
        base.depth = nil; base.gyro = nil
        for (i, row) in rows.enumerated() {
            var o = base
            if let d = row.depth { o.depth = try DepthSequence(directory: d) }
            if let g = row.imu { o.gyro = try GyroCSV.read(g) }
            do {
                let src = try openSource(row.path)
                (src as? ImageFilesSource)?.orientation = .exif   // photos upright, as the reference reads them
                let rep = try PassiveRunner.run(src, engine: engine, options: o)
                samples.append(PadSample(label: row.label, score: rep.verdict.score, acceptedAsLive: rep.verdict.live, path: row.path))
                out.append(Sample(path: row.path, label: row.label, source: row.source, score: Self.r(rep.verdict.score), live: rep.verdict.live,
                                  decided_by: rep.verdict.decidedBy.map(\.name), error: nil,
                                  cues: Dictionary(rep.verdict.cues.map { ($0.name, $0.state.rawValue) }, uniquingKeysWith: { a, _ in a })))
            } catch let e as FaceGateError {
                if case .missingFile = e { throw e }
                samples.append(PadSample(label: row.label, score: 0, acceptedAsLive: false, path: row.path))
                out.append(Sample(path: row.path, label: row.label, source: row.source, score: 0, live: false, decided_by: [], error: e.description, cues: [:]))
            }
            progress?(i, out.last!)
        }
    }

    static func r(_ x: Double) -> Double { x.isFinite ? (x * 1e4).rounded() / 1e4 : 0 }

    /// One line per presentation (`--verbose`).
    public static func verboseLine(_ i: Int, of total: Int, _ s: Sample) -> String {
        String(format: "[%d/%d] %@ %@ score %.3f %@", i + 1, total, s.label as NSString, s.live ? "LIVE" : "ATTACK", s.score,
               ((s.path as NSString).lastPathComponent + (s.error.map { " (\($0))" } ?? " " + s.decided_by.joined(separator: ","))) as NSString)
    }

    public var metrics: PadMetrics { PadMetrics(samples) }
    public var perSource: [PadBySource.Row] {
        bySource ? PadBySource.evaluate(samples, sources: rows.map(\.source), targetBPCER: targetBPCER, onlyStricter: true) : []
    }

    /// Per cue, per source and label: how often it fired (deny reading) and confirmed (live reading).
    public var cueRates: [CueRate] {
        guard bySource else { return [] }
        var rates: [CueRate] = []
        for c in Set(out.flatMap { $0.cues.keys }).sorted() {
            for (src, group) in Dictionary(grouping: out, by: { "\($0.source)\t\($0.label)" }).sorted(by: { $0.key < $1.key }) {
                let k = src.split(separator: "\t").map(String.init)
                rates.append(CueRate(cue: c, source: k[0], label: k[1], presentations: group.count,
                                     fired: group.filter { $0.cues[c] == PadCueState.spoof.rawValue }.count,
                                     confirmed: group.filter { $0.cues[c] == PadCueState.live.rawValue }.count))
            }
        }
        return rates
    }

    /// DET per attack species (ISO/IEC 30107-3 reports each species), drawn with the worst-species curve.
    public func writePlot(to path: String, manifest: String) throws {
        let perSpecies = PadMetrics.bySpecies(samples)
        let curves = [(name: "worst species (\(mode.rawValue))", metrics: metrics)]
            + (perSpecies.count > 1 ? perSpecies.map { (name: $0.species, metrics: $0.metrics) } : [])
        try DETPlot.write(curves, to: path, title: "DET — \((manifest as NSString).lastPathComponent)")
    }

    static func speciesJSON(_ p: PadMetrics) -> [SpeciesJSON] {
        p.species.map { SpeciesJSON(species: $0.name, presentations: $0.presentations, accepted: $0.accepted, apcer: r($0.apcer)) }
    }

    /// The report as one JSON object (field names are the CLI's JSON contract).
    public var json: Output {
        let m = metrics
        let det = { (m: PadMetrics) in m.det.map { [Self.r($0.threshold), Self.r($0.apcer), Self.r($0.bpcer)] } }
        return Output(species: Self.speciesJSON(m), bona_fide: m.bonaFide, bpcer: Self.r(m.bpcer), apcer_max: Self.r(m.apcerMax), acer: Self.r(m.acer),
                      bpcer_at_apcer_1: m.bpcerAtApcer1.map(Self.r), bpcer_at_apcer_5: m.bpcerAtApcer5.map(Self.r), eer: m.eer.map(Self.r),
                      det: det(m), det_by_species: Dictionary(uniqueKeysWithValues: PadMetrics.bySpecies(samples).map { ($0.species, det($0.metrics)) }),
                      samples: out, mode: mode.rawValue,
                      by_source: bySource ? perSource.map { row in
                          SourceJSON(source: row.source, bona_fide: row.metrics.bonaFide, bpcer: Self.r(row.metrics.bpcer),
                                     species: Self.speciesJSON(row.metrics), threshold: row.threshold.map(Self.r),
                                     held_out_bpcer: row.heldOut.map { Self.r($0.bpcer) }, held_out_apcer: row.heldOut.map(Self.speciesJSON),
                                     other_bona_fide: row.operatingPoint?.samples, resolved: row.operatingPoint.map(\.resolved))
                      } : nil,
                      cue_rates: bySource ? cueRates : nil)
    }

    /// The terminal report, line by line (`plot`: the DET file written, named in the report).
    public func lines(plot: String?) -> [String] {
        let m = metrics
        var t = ["ISO/IEC 30107-3 — \(rows.count) presentations, mode \(mode.rawValue)", "species            n   accepted   APCER"]
        for s in m.species {
            t.append(String(format: "%-14@ %5d %10d  %6.2f%%", s.name as NSString, s.presentations, s.accepted, s.apcer * 100))
        }
        t.append(String(format: "bona fide      %5d %10d  BPCER %.2f%%", m.bonaFide, m.bonaFide - m.bonaFideRejected, m.bpcer * 100))
        t.append(String(format: "ACER %.2f%% (worst APCER %.2f%%)", m.acer * 100, m.apcerMax * 100))
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", $0 * 100) } ?? "n/a" }
        t.append("BPCER @ APCER 1%: \(pct(m.bpcerAtApcer1))   BPCER @ APCER 5%: \(pct(m.bpcerAtApcer5))   EER: \(pct(m.eer))")
        let failed = out.filter { $0.error != nil }
        if !failed.isEmpty { t.append("\(failed.count) presentation(s) without a usable face counted as rejected") }
        if let p = plot { t.append("DET curve: \(p)") }
        guard bySource else { return t }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s.padding(toLength: n, withPad: " ", startingAt: 0) }
        t.append("\nby source (threshold: picked on the other sources for an expected BPCER ≤ \(String(format: "%.0f%%", targetBPCER * 100)); accept when score ≥ it;"
                 + " 'default': fewer than \(PadOperatingPoint.minimumSamples(targetBPCER: targetBPCER).map(String.init) ?? "∞") other bona fide cannot resolve the target, judged at the built-in operating point)")
        t.append("source                                   bona fide  BPCER   attacks (APCER)            | threshold  held-out BPCER  held-out APCER")
        for row in perSource {
            let att = row.metrics.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ")
            let hb = row.heldOut.map { String(format: "%.2f", $0.bpcer) } ?? "n/a"
            let ha = row.heldOut.map { $0.species.map { "\($0.name) \($0.accepted)/\($0.presentations)" }.joined(separator: ", ") } ?? "n/a"
            t.append(pad(row.source, 40) + String(format: " %5d  %6.2f   ", row.metrics.bonaFide, row.metrics.bpcer) + pad(att.isEmpty ? "-" : att, 26)
                     + " | " + pad(row.threshold.map { String(format: "%.3f", $0) } ?? (row.operatingPoint == nil ? "n/a" : "default"), 9) + "  " + pad(hb, 14) + "  " + ha)
        }
        t.append("\nper cue: fired (deny) / confirmed (live) out of presentations, per source and label")
        for c in cueRates where c.fired + c.confirmed > 0 {
            t.append(c.cue.padding(toLength: 11, withPad: " ", startingAt: 0) + " " + pad(c.source, 40) + " "
                     + c.label.padding(toLength: 10, withPad: " ", startingAt: 0)
                     + String(format: " fired %3d  confirmed %3d  of %3d", c.fired, c.confirmed, c.presentations))
        }
        return t
    }
}
