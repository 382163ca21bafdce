import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// How the frames of a resampled clip are delivered (what cameras and browsers do to a stream).
public enum FrameVariant: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every frame of the resampled clip at its own timestamp.
    case plain
    /// Resampled to the rate, then back up to 30 fps by repeating frames (a camera or browser that duplicates).
    case duplicated = "dup30"
    /// ±20 ms uniform timestamp jitter (seeded), kept in order: what browsers' capture clocks deliver.
    case jitter = "jitter20"
    /// 10 % of frames dropped at random (seeded): a congested link or a busy capture loop.
    case dropped = "drop10"

    /// ±20 ms: the timer granularity and capture jitter measured on browsers (the issue's target).
    public static let jitterSeconds = 0.020
    /// 10 % dropped: the loss the synthetic tracks in the core tests already use (8–12 %).
    public static let dropFraction = 0.10
    /// Duplicated streams are delivered at 30 fps, the most common camera rate.
    public static let duplicatedRate = 30.0
}

/// What `LivenessEvaluator` runs.
public struct LivenessEvaluationOptions: Sendable {
    /// 10–30 fps: the issue's range (10–15 fps browsers and slow webcams, 25/30 fps cameras).
    public static let defaultRates: [Double] = [10, 12, 15, 25, 30]
    /// With event times, each prompt is shown 0.5 s before the event's onset: people start a simple, expected
    /// movement 0.4–1 s after a one-word prompt appears, so 0.5 s is the quick end of a genuine reaction — it
    /// exercises the 150 ms reaction floor and the 5 s timeout without ever being unfair to the clip.
    public static let defaultPromptLead = 0.5

    /// Frame rates to resample to; nil = the clip as recorded.
    public var rates: [Double?] = defaultRates.map { Optional($0) }
    public var variants: [FrameVariant] = [.plain]
    public var promptLead = defaultPromptLead
    public var configuration = LivenessConfiguration()
    /// Embed the identity anchors (as `facegate liveness` does unless `--no-identity`).
    public var checkIdentity = true
    /// Where resampled and rendered clips go (default: a fresh temporary folder, removed afterwards).
    public var workDirectory: String?
    public var ffmpeg = "/usr/bin/ffmpeg"
    public init() {}
}

/// One run of the session on one clip at one rate: per challenge (plan and event rows, `all` attack rows) or per
/// session (random plans on attack rows, `challenge` nil).
public struct LivenessTrial: Sendable, Hashable, Codable {
    public var clip: String
    public var label: String
    public var rate: String
    public var variant: String
    /// `plan`, `event`, `every` (one challenge type per session on an attack) or `random`.
    public var mode: String
    public var challenge: String?
    public var plan: [String]
    /// This challenge passed (random-plan trials: the whole session was live).
    public var passed: Bool
    /// The session was live.
    public var live: Bool
    /// Failure code of the session when this trial failed (`timeout`, `wrong_action`, …), and its text.
    public var failure: String?
    public var reason: String?
    public var latencyMs: Int?
    /// Prompt time and (event rows) the event's hand-read onset, seconds on the clip's clock.
    public var promptAt: Double?
    public var eventAt: Double?
    public var frames: Int
    public var isBonaFide: Bool { label == PadSample.bonaFide }
}

/// One cell of the table: a challenge type (or `random:N`) at one rate and delivery.
public struct LivenessCell: Sendable, Hashable, Codable {
    public struct Species: Sendable, Hashable, Codable {
        public var species: String
        public var trials: Int
        public var passed: Int
        /// APCER of this species for this challenge and rate.
        public var passRate: Double
    }
    public var challenge: String
    public var rate: String
    public var variant: String
    public var genuineTrials: Int
    public var genuinePassed: Int
    /// 1 − BPCER; nil without genuine trials.
    public var genuinePassRate: Double?
    public var attacks: [Species]
    /// Failure codes of the genuine trials that failed, with counts.
    public var genuineFailures: [String: Int]
    /// Reaction latency (prompt → onset) of the genuine passes.
    public var latencyMedianMs: Int?
    public var latencyP90Ms: Int?
    public var attackTrials: Int { attacks.reduce(0) { $0 + $1.trials } }
    public var attackPassed: Int { attacks.reduce(0) { $0 + $1.passed } }
}

/// The result of an evaluation.
public struct LivenessEvaluation: Sendable, Codable {
    public var trials: [LivenessTrial]
    public var cells: [LivenessCell]
    /// ISO/IEC 30107-3 over sessions, per rate and delivery (`rate/variant`): APCER per species, BPCER.
    public var metrics: [String: PadMetrics]
    public var rates: [String]
    public var variants: [String]
    public var promptLead: Double
    /// Rows that ran no session (`none`) and events too close to the previous one, by clip name.
    public var skipped: [String]

    public static func rateName(_ r: Double?) -> String { r.map { String(format: "%g", $0) } ?? "native" }

    /// Aggregates trials into cells (challenge × rate × variant) and per-rate session metrics.
    public init(trials: [LivenessTrial], sessions: [(key: String, sample: PadSample)], rates: [String], variants: [String],
                promptLead: Double, skipped: [String]) {
        self.trials = trials
        self.rates = rates
        self.variants = variants
        self.promptLead = promptLead
        self.skipped = skipped
        let order = ChallengeType.allCases.map(\.rawValue)
        var keys: [String] = []
        for t in trials {
            let c = t.challenge ?? "random:\(t.plan.count)"
            if !keys.contains(c) { keys.append(c) }
        }
        keys.sort { (order.firstIndex(of: $0) ?? 99, $0) < (order.firstIndex(of: $1) ?? 99, $1) }
        var cells: [LivenessCell] = []
        for c in keys {
            for r in rates {
                for v in variants {
                    let ts = trials.filter { ($0.challenge ?? "random:\($0.plan.count)") == c && $0.rate == r && $0.variant == v }
                    if ts.isEmpty { continue }
                    let g = ts.filter(\.isBonaFide)
                    let species = Array(Set(ts.filter { !$0.isBonaFide }.map(\.label))).sorted()
                    let attacks = species.map { s -> LivenessCell.Species in
                        let a = ts.filter { $0.label == s }
                        let p = a.filter(\.passed).count
                        return .init(species: s, trials: a.count, passed: p, passRate: Double(p) / Double(a.count))
                    }
                    var failures: [String: Int] = [:]
                    for t in g where !t.passed { failures[t.failure ?? "unknown", default: 0] += 1 }
                    let lat = g.filter(\.passed).compactMap(\.latencyMs).sorted()
                    func q(_ p: Double) -> Int? { lat.isEmpty ? nil : lat[min(lat.count - 1, Int((Double(lat.count - 1) * p).rounded()))] }
                    let gp = g.filter(\.passed).count
                    cells.append(LivenessCell(challenge: c, rate: r, variant: v, genuineTrials: g.count, genuinePassed: gp,
                                              genuinePassRate: g.isEmpty ? nil : Double(gp) / Double(g.count), attacks: attacks,
                                              genuineFailures: failures, latencyMedianMs: q(0.5), latencyP90Ms: q(0.9)))
                }
            }
        }
        self.cells = cells
        var metrics: [String: PadMetrics] = [:]
        for k in Set(sessions.map(\.key)) { metrics[k] = PadMetrics(sessions.filter { $0.key == k }.map(\.sample)) }
        self.metrics = metrics
    }

    public func cell(_ challenge: String, rate: String, variant: String = FrameVariant.plain.rawValue) -> LivenessCell? {
        cells.first { $0.challenge == challenge && $0.rate == rate && $0.variant == variant }
    }

    /// Genuine pass rate against frame rate, one line per challenge type (first delivery variant), as a PNG.
    public func plot(to path: String, title: String) throws {
        let numeric = rates.compactMap(Double.init)
        guard !numeric.isEmpty else { throw FaceGateError.badInput("--plot needs numeric --fps rates") }
        var p = PlotRenderer(title: title, xLabel: "frames per second", yLabel: "genuine pass rate (1 - BPCER)")
        p.xRange = (numeric.min()! - 1)...(numeric.max()! + 1)
        p.yRange = 0...1.02
        p.xTicks = numeric
        p.yTicks = [0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.97, 1]
        p.guides = [(Point2(p.xRange!.lowerBound, 0.97), Point2(p.xRange!.upperBound, 0.97), Color(190, 190, 190))]
        let colors = [Color.blue, Color.red, Color(40, 160, 70), Color(160, 90, 200), Color(230, 140, 30),
                      Color(20, 20, 20), Color(0, 170, 170), Color(200, 60, 140), Color(120, 120, 0), Color(90, 60, 30)]
        let v = variants.first ?? FrameVariant.plain.rawValue
        var series: [PlotSeries] = []
        for (i, c) in Set(cells.map(\.challenge)).sorted().enumerated() {
            let pts = numeric.compactMap { r -> Point2? in
                guard let rate = cell(c, rate: EvaluationRate.name(r), variant: v)?.genuinePassRate else { return nil }
                return Point2(r, rate)
            }
            if !pts.isEmpty { series.append(PlotSeries(name: c, points: pts, color: colors[i % colors.count], markers: true)) }
        }
        guard !series.isEmpty else { throw FaceGateError.badInput("--plot: no genuine trials to draw") }
        try p.write(series, to: path)
    }
}

enum EvaluationRate {
    static func name(_ r: Double) -> String { String(format: "%g", r) }
}

/// Runs manifests through the real active-liveness path (`ActiveRunner`: tracker → `LivenessSession` → identity
/// anchors), each clip resampled with ffmpeg to each frame rate.
///
/// How a recorded clip meets prompts:
/// - **plan rows** (`blink,turn-left`): one session with that plan; challenge 1 is prompted when calibration
///   completes and challenge k when challenge k−1 completed — exactly `facegate liveness --video F --challenges …`.
///   A recording does not act on cue, so a long pause before an action can time out (as it would live).
/// - **event rows** (`blink@2.1,turn-left@4.0`): one one-challenge session per event, started on the clip so that
///   calibration completes — and the prompt appears — about `promptLead` (0.5 s) before the event's onset: the
///   session starts `promptLead + 0.8 s` before the event (calibration needs ≥ 0.6 s of still head), and if the
///   person was moving and calibration has not ended `minPromptLead` before the event (late or not at all), it
///   restarts earlier (1.6 s, then 3 s; `startsEarlier`). The reaction-time floor, the return-to-neutral rule,
///   the wrong-action rule and the timeout all apply as live. Each event is therefore one trial of its challenge type.
/// - **attack rows**: `all` runs each challenge type in its own one-challenge session over the whole clip (the
///   attacker's best case: one action to fake); `random:N:K` runs K seeded random N-challenge plans.
public final class LivenessEvaluator {
    /// Calibration windows tried before an event: 0.8 s = the 0.6 s still-head window plus a few frames' slack.
    public static let calibrationWindows = [0.8, 1.6, 3.0]
    /// The prompt must appear ≥ 0.35 s before the hand-read onset: the 150 ms reaction floor plus ~0.2 s for the
    /// error of reading an onset by hand; a later prompt restarts the session earlier.
    public static let minPromptLead = 0.35
    /// Events less than 0.75 s after the previous one are not run: with the prompt 0.5 s before the event, the
    /// previous action would fall just before or after the prompt and answer it (the two blinks 0.5 s apart on d14).
    public static let minEventGap = 0.75

    /// True when an event's session must restart earlier: at `t`, past `event − minPromptLead`, calibration had not
    /// completed by then — late, or not at all. Before session 10 only a late calibration restarted; a person still
    /// moving when the deadline passed (never calibrated before the event) ran on to the clip's end or the 5 s
    /// calibration timeout and counted as `input_ended` / `no_stable_face` without ever being prompted (fixture
    /// evaluation at 12 fps: the Thin-Plate-Spline talker's blink at 5.88 s, d6's blink at 14.97 s, the Krzysiek
    /// look-up at 4.15 s, both Hamilton turns), although a still moment 1.6 or 3 s before the event was there.
    public static func startsEarlier(calibratedAt: Double?, at t: Double, event: Double) -> Bool {
        guard t > event - minPromptLead else { return false }
        guard let c = calibratedAt else { return true }
        return c > event - minPromptLead
    }

    public let engine: FaceEngine
    public let options: LivenessEvaluationOptions
    /// Passive cues with the challenges in one session (`LivenessPipeline`, mode both: live only if the plan passes
    /// and no deny cue fires), as `facegate liveness --passive --challenges` and `authenticate` run them; nil: the
    /// challenges alone (`ActiveRunner`).
    public var passive: PassiveOptions? = nil
    private var work: String = ""
    private var ownsWork = false
    private var prepared: [String: String] = [:]

    public init(engine: FaceEngine, options: LivenessEvaluationOptions) {
        self.engine = engine
        self.options = options
    }

    /// Runs every row at every rate and variant. `progress(done, total, text)` after each clip × rate × variant.
    public func run(_ manifest: LivenessManifest, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> LivenessEvaluation {
        guard FileManager.default.isExecutableFile(atPath: options.ffmpeg) else {
            throw FaceGateError.runtime("ffmpeg not found at \(options.ffmpeg) — install it (apt-get install ffmpeg)")
        }
        for row in manifest.rows where !FileManager.default.fileExists(atPath: row.path) {
            throw FaceGateError.badInput("\(manifest.path) line \(row.line): no such file \(row.path)")
        }
        if let w = options.workDirectory {
            work = w
            try FileManager.default.createDirectory(atPath: w, withIntermediateDirectories: true)
        } else {
            work = NSTemporaryDirectory() + "/facegate-evaluate-liveness-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            ownsWork = true
        }
        defer { if ownsWork { try? FileManager.default.removeItem(atPath: work) } }

        var trials: [LivenessTrial] = []
        var sessions: [(key: String, sample: PadSample)] = []
        var skipped: [String] = []
        let active = manifest.rows.filter { if case .none = $0.script { return false }; return true }
        for r in manifest.rows where !active.contains(r) { skipped.append(r.name) }
        let total = active.count * options.rates.count * options.variants.count
        var done = 0
        for row in active {
            let source = try prepare(row)
            for rate in options.rates {
                for variant in options.variants {
                    let file = try resample(source, rate: rate, variant: variant)
                    let out = try evaluate(row, file: file, rate: rate, variant: variant)
                    if rate == options.rates.first!, variant == options.variants.first!, out.closeEvents > 0 {
                        skipped.append("\(row.name) (\(out.closeEvents) event(s) < \(Self.minEventGap) s after the previous one)")
                    }
                    trials += out.trials
                    let key = "\(LivenessEvaluation.rateName(rate))/\(variant.rawValue)"
                    sessions += out.sessions.map { (key, PadSample(label: row.label, score: $0 ? 1 : 0, acceptedAsLive: $0, path: row.path)) }
                    done += 1
                    let passed = out.trials.filter(\.passed).count
                    progress(done, total, "\(row.name) @ \(LivenessEvaluation.rateName(rate)) \(variant.rawValue): \(passed)/\(out.trials.count) passed")
                }
            }
        }
        return LivenessEvaluation(trials: trials, sessions: sessions, rates: options.rates.map(LivenessEvaluation.rateName),
                                  variants: options.variants.map(\.rawValue), promptLead: options.promptLead, skipped: skipped)
    }

    // MARK: media

    /// The row's clip after rendering (attacks), cutting and looping, as a lossless file in the work folder.
    func prepare(_ row: LivenessManifest.Row) throws -> String {
        let key = "\(row.path)|\(row.render?.rawValue ?? "")|\(row.seed)|\(row.renderDuration)|\(row.loop)|\(row.start ?? -1)|\(row.end ?? -1)"
        if let p = prepared[key] { return p }
        let id = String(fnv1a(key), radix: 16)
        var input = row.path
        if let kind = row.render {
            var sim = AttackSimulator(kind: kind, seed: row.seed)
            sim.duration = row.renderDuration
            sim.fps = 30
            let out = "\(work)/attack-\(id).mp4"
            // Rendering is deterministic for (photo, kind, seed, duration): a kept --work-dir reuses it.
            if ownsWork || !FileManager.default.fileExists(atPath: out) { try sim.render(input: row.path, output: out + ".tmp.mp4") }
            if FileManager.default.fileExists(atPath: out + ".tmp.mp4") {
                try? FileManager.default.removeItem(atPath: out)
                try FileManager.default.moveItem(atPath: out + ".tmp.mp4", toPath: out)
            }
            input = out
        }
        guard row.loop > 1 || row.start != nil || row.end != nil else { prepared[key] = input; return input }
        var args = ["-hide_banner", "-loglevel", "error", "-y"]
        if row.loop > 1 { args += ["-stream_loop", "\(row.loop - 1)"] }
        args += ["-i", input, "-an"]
        var filters: [String] = []
        if row.start != nil || row.end != nil {
            var trim = "trim=start=\(row.start ?? 0)"
            if let e = row.end { trim += ":end=\(e)" }
            filters += [trim, "setpts=PTS-STARTPTS"]
        }
        if !filters.isEmpty { args += ["-vf", filters.joined(separator: ",")] }
        let out = "\(work)/clip-\(id).mkv"
        try ffmpeg(args + ["-c:v", "ffv1", out])     // cheap next to tracking: always redone
        prepared[key] = out
        return out
    }

    /// The clip at `rate` (ffmpeg `fps=N`), and for `dup30` back up to 30 fps with repeated frames. Lossless (FFV1),
    /// so the only change is the timing.
    func resample(_ path: String, rate: Double?, variant: FrameVariant) throws -> String {
        var filters: [String] = []
        if let r = rate { filters.append("fps=\(r)") }
        if variant == .duplicated { filters.append("fps=\(FrameVariant.duplicatedRate)") }
        if filters.isEmpty { return path }
        let key = "\(path)|\(filters.joined(separator: ","))"
        if let p = prepared[key] { return p }
        let out = "\(work)/rate-\(String(fnv1a(key), radix: 16)).mkv"
        try ffmpeg(["-hide_banner", "-loglevel", "error", "-y", "-i", path, "-an", "-vf", filters.joined(separator: ","), "-c:v", "ffv1", out])
        prepared[key] = out
        return out
    }

    private func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: options.ffmpeg)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let msg = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw FaceGateError.runtime("ffmpeg failed (\(String(decoding: msg, as: UTF8.self).split(separator: "\n").last ?? "")) on \(args.joined(separator: " "))")
        }
    }

    /// Frames of `path` as delivered by `variant` (jitter / drops seeded by the clip and rate, so runs repeat).
    func open(_ path: String, variant: FrameVariant, seed: UInt64) throws -> FrameSource {
        let src = try VideoSource.file(path)
        switch variant {
        case .plain, .duplicated: return src
        case .jitter, .dropped: return DeliveredFrames(base: src, variant: variant, seed: seed)
        }
    }

    // MARK: sessions

    struct RowOutcome { var trials: [LivenessTrial]; var sessions: [Bool]; var closeEvents = 0 }

    func evaluate(_ row: LivenessManifest.Row, file: String, rate: Double?, variant: FrameVariant) throws -> RowOutcome {
        let seed = fnv1a("\(row.name)|\(rate ?? 0)")
        let base = LivenessTrial(clip: row.name, label: row.label, rate: LivenessEvaluation.rateName(rate), variant: variant.rawValue,
                                 mode: "", challenge: nil, plan: [], passed: false, live: false, failure: nil, reason: nil,
                                 latencyMs: nil, promptAt: nil, eventAt: nil, frames: 0)
        var out = RowOutcome(trials: [], sessions: [])
        switch row.script {
        case .none:
            break
        case .plan(let list):
            let plan = try ChallengePlan(explicit: list)
            let r = try session(plan, file: file, variant: variant, seed: seed, from: 0)
            out.sessions.append(r.live)
            out.trials += Self.perChallenge(r, base: base, mode: "plan")
        case .events(let events):
            for (k, e) in events.enumerated() {
                // An event right after another cannot get its own prompt: the previous action would answer it
                // (too soon after the prompt, or before it). Listed for completeness, not run.
                if k > 0, e.time - events[k - 1].time < Self.minEventGap { out.closeEvents += 1; continue }
                let r = try eventSession(e, file: file, variant: variant, seed: seed)
                out.sessions.append(r.live)
                var t = Self.perChallenge(r, base: base, mode: "event").first!
                t.eventAt = e.time
                out.trials.append(t)
            }
        case .everyType:
            let tracked = try track(file, variant: variant, seed: seed)
            for type in ChallengeType.allCases {
                let plan = try ChallengePlan(explicit: [type])
                let r = try tracked.map { try session(plan, tracked: $0) } ?? session(plan, file: file, variant: variant, seed: seed, from: 0)
                out.sessions.append(r.live)
                out.trials += Self.perChallenge(r, base: base, mode: "every")
            }
        case .random(let n, let k):
            let tracked = try track(file, variant: variant, seed: seed)
            for s in 1...k {
                let plan = try ChallengePlan(seed: UInt64(s), count: n, allowed: ChallengeType.allCases)
                let r = try tracked.map { try session(plan, tracked: $0) } ?? session(plan, file: file, variant: variant, seed: seed, from: 0)
                out.sessions.append(r.live)
                var t = base
                t.mode = "random"; t.plan = plan.challenges.map(\.rawValue); t.passed = r.live; t.live = r.live
                t.failure = r.failure?.code; t.reason = r.reason; t.frames = r.frames
                t.promptAt = r.challenges.first?.promptAt?.timestamp
                out.trials.append(t)
            }
        }
        return out
    }

    /// One trial per challenge reached: challenges before the first failing one passed, the failing one carries the
    /// session's failure, later ones were not reached (not counted). A session that failed after every challenge
    /// passed (identity changed, a second face) charges its last challenge.
    static func perChallenge(_ r: LivenessResult, base: LivenessTrial, mode: String) -> [LivenessTrial] {
        let n = r.challenges.count
        let failIndex = r.live ? n : (r.challenges.firstIndex { !$0.passed } ?? max(0, n - 1))
        var trials: [LivenessTrial] = []
        for (i, o) in r.challenges.enumerated() where i <= failIndex && i < n {
            var t = base
            t.mode = mode
            t.challenge = o.type.rawValue
            t.plan = r.plan.challenges.map(\.rawValue)
            t.passed = i < failIndex
            t.live = r.live
            if !t.passed { t.failure = r.failure?.code ?? "input_ended"; t.reason = r.reason }
            t.latencyMs = o.latencyMs
            t.promptAt = o.promptAt?.timestamp
            t.frames = r.frames
            trials.append(t)
        }
        return trials
    }

    /// Frames and their tracking for rows that run many sessions over the same whole clip (`all`, `random:N:K`):
    /// `FaceTracker` depends only on the frames, so every session sees exactly what a fresh tracker would give it,
    /// tracked once. nil (track per session) when the decoded frames would exceed `maxCachedBytes`.
    func track(_ file: String, variant: FrameVariant, seed: UInt64) throws -> [(FrameAnalysis, Image)]? {
        let src = try open(file, variant: variant, seed: seed)
        let tracker = FaceTracker(engine: engine)
        var out: [(FrameAnalysis, Image)] = []
        var bytes = 0
        while let f = try src.next() {
            bytes += f.image.width * f.image.height * 3
            if bytes > Self.maxCachedBytes { return nil }
            out.append((tracker.process(f), f.image))
        }
        return out
    }

    /// 600 MB of decoded frames: a rendered 8 s attack at 30 fps is ≈ 220 MB; longer or 1080p clips track per session.
    public static let maxCachedBytes = 600 << 20

    func session(_ plan: ChallengePlan, tracked: [(FrameAnalysis, Image)]) throws -> LivenessResult {
        let runner = try EvaluationSession(self, plan: plan, configuration: options.configuration)
        for (a, image) in tracked {
            _ = try runner.process(a, image: image)
            if runner.isFinished { break }
        }
        return runner.result()
    }

    /// A session over the clip from `from` seconds on (frames before are not read into it).
    func session(_ plan: ChallengePlan, file: String, variant: FrameVariant, seed: UInt64, from: Double) throws -> LivenessResult {
        let src = try open(file, variant: variant, seed: seed)
        let runner = try EvaluationSession(self, plan: plan, configuration: options.configuration)
        while let f = try src.next() {
            if f.timestamp < from - 1e-6 { continue }
            _ = try runner.process(f)
            if runner.isFinished { break }
        }
        return runner.result()
    }

    /// One event: a one-challenge session that calibrates just before it (see the type's documentation).
    func eventSession(_ e: LivenessManifest.Event, file: String, variant: FrameVariant, seed: UInt64) throws -> LivenessResult {
        let plan = try ChallengePlan(explicit: [e.type])
        let target = e.time - options.promptLead
        // The prompt is placed by the hand-read event time, so no hold-still before it: a recording cannot wait
        // for a prompt (plan and attack rows keep the hold-still, as live sessions do).
        var configuration = options.configuration
        configuration.holdStill = nil
        var last: LivenessResult?
        for (k, w) in Self.calibrationWindows.enumerated() {
            let start = max(0, target - w)
            let src = try open(file, variant: variant, seed: seed)
            let runner = try EvaluationSession(self, plan: plan, configuration: configuration)
            var restart = false
            var calibratedAt: Double? = nil
            while let f = try src.next() {
                if f.timestamp < start - 1e-6 { continue }
                let u = try runner.process(f)
                let calibrated = u?.events.contains { if case .calibrated = $0 { return true }; return false } ?? false
                if calibrated { calibratedAt = f.timestamp }
                if Self.startsEarlier(calibratedAt: calibratedAt, at: f.timestamp, event: e.time), start > 0,
                   k + 1 < Self.calibrationWindows.count {
                    restart = true
                    break
                }
                if runner.isFinished { break }
            }
            last = runner.result()
            if !restart { break }
        }
        return last!
    }
}

/// One evaluated session: the challenges alone (`ActiveRunner`) or with the passive cues (`LivenessPipeline`, mode
/// both; its result is the active-result shape with the combined decision written in).
final class EvaluationSession {
    private let active: ActiveRunner?
    private let both: LivenessPipeline?

    init(_ ev: LivenessEvaluator, plan: ChallengePlan, configuration: LivenessConfiguration) throws {
        if let p = ev.passive {
            both = try LivenessPipeline(engine: ev.engine, options: LivenessPipelineOptions(
                mode: .both, plan: plan, configuration: configuration, passive: p, checkIdentity: ev.options.checkIdentity))
            active = nil
        } else {
            active = ActiveRunner(engine: ev.engine, plan: plan, configuration: configuration, checkIdentity: ev.options.checkIdentity)
            both = nil
        }
    }

    var isFinished: Bool { active?.session.isFinished ?? both?.isFinished ?? true }

    func process(_ f: Frame) throws -> LivenessUpdate? {
        if let a = active { return a.process(f) }
        return try both?.process(f).update
    }

    func process(_ analysis: FrameAnalysis, image: Image) throws -> LivenessUpdate? {
        if let a = active { return a.process(analysis, image: image) }
        return try both?.process(analysis, image: image).update
    }

    func result() -> LivenessResult {
        if let a = active { return a.result ?? a.finish() }
        let b = both!
        return (b.result ?? b.finish()).session
    }
}

/// Applies a delivery variant's timestamp jitter or frame drops to a source.
final class DeliveredFrames: FrameSource {
    let base: FrameSource
    let variant: FrameVariant
    /// The simulator's seeded SplitMix64 (one generator for the evaluation's random variants and attacks).
    private var rng: AttackSimulator.Rng
    private var previous = -Double.infinity
    private var first = true
    var name: String { base.name }
    var fps: Double { base.fps }

    init(base: FrameSource, variant: FrameVariant, seed: UInt64) {
        self.base = base; self.variant = variant; self.rng = AttackSimulator.Rng(state: seed | 1)
    }

    private func uniform() -> Double { rng.next() }

    func next() throws -> Frame? {
        while let f = try base.next() {
            defer { first = false }
            switch variant {
            case .dropped:
                if !first && uniform() < FrameVariant.dropFraction { continue }
                return f
            case .jitter:
                var t = f.timestamp + (uniform() * 2 - 1) * FrameVariant.jitterSeconds
                t = max(t, previous + 0.001, 0)
                previous = t
                return Frame(image: f.image, index: f.index, timestamp: t)
            case .plain, .duplicated:
                return f
            }
        }
        return nil
    }
}

/// FNV-1a: a stable hash for seeds (Swift's `hashValue` changes per process).
func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
