import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import Foundation

struct EvaluateLivenessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-liveness",
        abstract: "Active liveness over a manifest of clips at several frame rates: genuine pass rate (1 − BPCER) and attack pass rate (APCER) per challenge.",
        discussion: """
        Manifest (tab-separated, # comments): path, label, actions[, options]. Label: bona-fide or an attack species.
        Actions: a plan `blink,turn-left` (prompts as in `facegate liveness --video F --challenges …`), event times
        `blink@2.1,turn-left@4.0` (onset in seconds; one session per event, prompted --prompt-lead s before it),
        `all` (attacks: each challenge type alone), `random:N:K` (attacks: K seeded random plans of N), or `none`.
        Options: render=print|print-moving|screen|replay [seed=S duration=D] renders the attack from the photo;
        loop=N, start=S, end=S. Each clip is resampled with ffmpeg (fps=N) and run through the real session
        (tracker → LivenessSession → identity anchors). See docs/active-liveness.md.
        Examples:
          facegate evaluate-liveness --manifest Tests/Fixtures/liveness-manifest.tsv
          facegate evaluate-liveness --manifest m.tsv --fps 12 --variants plain,dup30,jitter20 --json --plot rates.png
        """)

    @Option(help: "Manifest TSV: path<TAB>label<TAB>actions[<TAB>options].") var manifest: String
    @Option(help: ArgumentHelp("Frame rates to resample to, comma-separated, or `native` (default 10,12,15,25,30).", valueName: "LIST"))
    var fps: String?
    @Option(help: ArgumentHelp("Frame delivery: plain, dup30 (duplicated up to 30 fps), jitter20 (±20 ms timestamps), drop10 (10 % dropped); comma-separated.", valueName: "LIST"))
    var variants = "plain"
    @Option(name: .customLong("prompt-lead"), help: ArgumentHelp("Seconds between a prompt and the event it asks for (event rows).", valueName: "SECONDS"))
    var promptLead = LivenessEvaluationOptions.defaultPromptLead
    @Option(help: ArgumentHelp("Seconds allowed per challenge (default \(Int(LivenessConfiguration.defaultChallengeTimeout))).", valueName: "SECONDS"))
    var timeout: Double?
    @Flag(name: .customLong("no-identity"), help: "Skip the identity check on the anchor frames.") var noIdentity = false
    @Option(name: .customLong("work-dir"), help: ArgumentHelp("Keep resampled and rendered clips here (default: a temporary folder, removed).", valueName: "DIR"))
    var workDir: String?
    @Option(help: ArgumentHelp("Which rows to run: all, genuine (bona-fide rows) or attacks (e.g. to run them as two processes).", valueName: "SET"))
    var rows = "all"
    @Flag(help: "JSON output (cells, per-rate ISO/IEC 30107-3 metrics, every trial).") var json = false
    @Option(help: ArgumentHelp("Write genuine pass rate against frame rate to this PNG.", valueName: "OUT.png")) var plot: String?
    @Flag(help: "Print one line per trial, and progress to standard error.") var verbose = false
    @OptionGroup(title: "Passive cues with the challenges (--passive: mode both, as `liveness --passive --challenges`)")
    var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions

    func options() throws -> LivenessEvaluationOptions {
        var o = LivenessEvaluationOptions()
        if let fps {
            o.rates = try fps.split(separator: ",").map { s in
                let t = s.trimmingCharacters(in: .whitespaces)
                if t == "native" { return nil }
                guard let v = Double(t), v >= 1, v <= 120 else { throw FaceGateError.badInput("--fps: '\(t)' is not a rate in 1–120 (or native)") }
                return v
            }
            guard !o.rates.isEmpty else { throw FaceGateError.badInput("--fps needs at least one rate") }
        }
        o.variants = try variants.split(separator: ",").map { s in
            guard let v = FrameVariant(rawValue: s.trimmingCharacters(in: .whitespaces)) else {
                throw FaceGateError.badInput("--variants: '\(s)' is not one of \(FrameVariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return v
        }
        guard !o.variants.isEmpty else { throw FaceGateError.badInput("--variants needs at least one of plain, dup30, jitter20, drop10") }
        guard promptLead >= 0, promptLead <= 5 else { throw FaceGateError.badInput("--prompt-lead must be 0–5 s") }
        o.promptLead = promptLead
        if let t = timeout {
            guard t > 0, t.isFinite else { throw FaceGateError.badInput("--timeout must be a positive number of seconds") }
            o.configuration.challengeTimeout = t
        }
        o.checkIdentity = !noIdentity
        o.workDirectory = workDir
        return o
    }

    func run() async throws {
        try await reportingErrors {
            var m = try LivenessManifest.read(manifest)
            switch rows {
            case "all": break
            case "genuine": m.rows = m.rows.filter(\.isBonaFide)
            case "attacks": m.rows = m.rows.filter { !$0.isBonaFide }
            default: throw FaceGateError.badInput("--rows must be all, genuine or attacks, not '\(rows)'")
            }
            guard !m.rows.isEmpty else { throw FaceGateError.badInput("\(manifest) has no \(rows) rows") }
            let o = try options()
            if let p = plot, !p.lowercased().hasSuffix(".png") { throw FaceGateError.badInput("--plot must end in .png") }
            let engine = try modelOptions.engine()
            if o.checkIdentity { _ = try engine.embedder() }
            let evaluator = LivenessEvaluator(engine: engine, options: o)
            if passiveOptions.passive { evaluator.passive = try passiveOptions.options(models: modelOptions.directory) }
            let ev = try evaluator.run(m) { done, total, text in
                if verbose { printError("[\(done)/\(total)] \(text)") }
            }
            if let p = plot { try ev.plot(to: p, title: "Active liveness: genuine pass rate — \((manifest as NSString).lastPathComponent)") }
            if json {
                print(jsonLine(ev))
                return
            }
            if verbose {
                for t in ev.trials {
                    var s = "\(t.isBonaFide ? "genuine" : t.label) \(t.clip) @\(t.rate) \(t.variant) \(t.challenge ?? t.plan.joined(separator: ",")): "
                    s += t.passed ? "pass" : "FAIL \(t.failure ?? "")"
                    if let l = t.latencyMs { s += " latency \(l) ms" }
                    if let p = t.promptAt { s += String(format: " prompt %.2f s", p) }
                    if let e = t.eventAt { s += String(format: " event %.2f s", e) }
                    print(s)
                }
            }
            Self.printTable(ev)
        }
    }

    static func pct(_ n: Int, _ d: Int) -> String { d == 0 ? "–" : String(format: "%d/%d %5.1f%%", n, d, 100 * Double(n) / Double(d)) }

    static func printTable(_ ev: LivenessEvaluation) {
        print("challenge     rate    variant   genuine pass          attack pass       latency med/p90   genuine failures")
        for c in ev.cells {
            let lat = c.latencyMedianMs.map { "\($0)/\(c.latencyP90Ms ?? $0) ms" } ?? "–"
            let fails = c.genuineFailures.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            print(c.challenge.padding(toLength: 13, withPad: " ", startingAt: 0) + " "
                  + c.rate.padding(toLength: 7, withPad: " ", startingAt: 0) + " "
                  + c.variant.padding(toLength: 9, withPad: " ", startingAt: 0) + " "
                  + pct(c.genuinePassed, c.genuineTrials).padding(toLength: 21, withPad: " ", startingAt: 0) + " "
                  + pct(c.attackPassed, c.attackTrials).padding(toLength: 17, withPad: " ", startingAt: 0) + " "
                  + lat.padding(toLength: 17, withPad: " ", startingAt: 0) + " " + fails)
        }
        print("sessions (ISO/IEC 30107-3, each session one presentation):")
        for key in ev.metrics.keys.sorted(by: { a, b in
            let (ra, rb) = (Double(a.split(separator: "/")[0]) ?? 0, Double(b.split(separator: "/")[0]) ?? 0)
            return (ra, a) < (rb, b)
        }) {
            let m = ev.metrics[key]!
            let sp = m.species.map { String(format: "%@ %d/%d", $0.name as NSString, $0.accepted, $0.presentations) }.joined(separator: ", ")
            print(String(format: "  %-16@ BPCER %5.1f%% (%d bona fide)   APCER per species: %@", key as NSString, m.bpcer * 100, m.bonaFide,
                         (sp.isEmpty ? "no attacks" : sp) as NSString))
        }
        if !ev.skipped.isEmpty { print("not run (no actions, or events too close together): \(ev.skipped.joined(separator: ", "))") }
        print(String(format: "event rows: each prompt %.2f s before the event's onset; plan rows: prompts as in `facegate liveness --video F --challenges`", ev.promptLead))
    }
}
