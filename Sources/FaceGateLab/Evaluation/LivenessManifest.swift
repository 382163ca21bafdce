import FaceGate
import FaceGateCore
import Foundation

/// The manifest of `facegate evaluate-liveness`: clips, what really happens in them, and how to treat them.
///
/// One row per clip, tab-separated (lines starting with `#` and blank lines are ignored; an optional header row
/// starting with `path` is skipped):
///
///     path <TAB> label <TAB> actions [<TAB> options [<TAB> note …]]
///
/// - `path`: a video (or, with `render=…`, the photo/video an attack is rendered from); relative to the manifest's
///   folder, or absolute.
/// - `label`: `bona-fide` (or `bonafide`), or an attack species (`print`, `moving-print`, `screen`, `replay`,
///   `all-actions-loop`, …: any word).
/// - `actions`: what the person really does, in order:
///   - a plan `blink,turn-left`: one session with exactly that plan, the prompt of challenge k shown when
///     challenge k−1 completed (the path of `facegate liveness --video F --challenges …`);
///   - event times `blink@2.1,turn-left@4.0` (seconds from the clip's start, at the **onset** of the movement):
///     one session per event, its prompt placed shortly before the event (see `LivenessEvaluator`);
///   - `all`: (attacks) each of the ten challenge types in its own one-challenge session over the whole clip;
///   - `random:N:K`: (attacks) K sessions with seeded random plans of N challenges (seeds 1…K) over the clip;
///   - `none` / `-`: nothing usable (the row is listed but runs no session).
/// - `options` (space-separated `key=value`, or `-`): `render=print|print-moving|screen|replay` renders the attack
///   from `path` with `AttackSimulator` first (`seed=S`, `duration=SECONDS`, default 8); `loop=N` plays the clip
///   N times in a row (a recording that repeats its actions); `start=S` / `end=S` cut the clip first.
public struct LivenessManifest: Sendable {
    public struct Event: Sendable, Hashable, Codable {
        public var type: ChallengeType
        /// Seconds from the clip's start (after any `start=` cut) at which the movement begins.
        public var time: Double
        public init(type: ChallengeType, time: Double) { self.type = type; self.time = time }
    }

    public enum Script: Sendable, Hashable {
        case plan([ChallengeType])
        case events([Event])
        case everyType
        case random(count: Int, sessions: Int)
        case none
    }

    public struct Row: Sendable, Hashable {
        public var path: String
        public var label: String
        public var script: Script
        public var render: AttackKind?
        public var seed: UInt64 = 1
        public var renderDuration = 8.0
        public var loop = 1
        public var start: Double?
        public var end: Double?
        /// 1-based line in the manifest (for messages).
        public var line: Int
        public var isBonaFide: Bool { label == PadSample.bonaFide }
        /// Short name for tables: the clip's last two path components (+ the rendered attack).
        public var name: String {
            let comps = path.split(separator: "/").suffix(2).joined(separator: "/")
            return render.map { "\(comps) [\($0.rawValue)#\(seed)]" } ?? (loop > 1 ? "\(comps) [x\(loop)]" : comps)
        }
    }

    public var rows: [Row]
    public var path: String

    /// Reads and checks a manifest; any problem is one `FaceGateError.badInput` naming the line.
    public static func read(_ path: String) throws -> LivenessManifest {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FaceGateError.badInput("\(path) is not a UTF-8 text file — a manifest is tab-separated text")
        }
        return try parse(text, base: (path as NSString).deletingLastPathComponent, name: path)
    }

    public static func parse(_ text: String, base: String, name: String = "manifest") throws -> LivenessManifest {
        var rows: [Row] = []
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            func bad(_ why: String) -> FaceGateError {
                FaceGateError.badInput("\(name) line \(n + 1): \(why) (row: path<TAB>label<TAB>actions[<TAB>options])")
            }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if rows.isEmpty, f.first?.lowercased() == "path" { continue }   // header
            guard f.count >= 3, !f[0].isEmpty, !f[1].isEmpty, !f[2].isEmpty else {
                throw bad("expected at least 3 tab-separated fields, got \(f.count)")
            }
            let path = f[0].hasPrefix("/") ? f[0] : (base.isEmpty ? f[0] : base + "/" + f[0])
            var label = f[1].lowercased()
            if label == "bonafide" || label == "bona_fide" || label == "genuine" || label == "live" { label = PadSample.bonaFide }
            var row = Row(path: path, label: label, script: .none, line: n + 1)
            do { row.script = try parseScript(f[2]) } catch let e as FaceGateError {
                if case .badInput(let m) = e { throw bad(m) }
                throw e
            }
            if f.count > 3, !f[3].isEmpty, f[3] != "-" {
                for opt in f[3].split(whereSeparator: { $0 == " " || $0 == "," }) {
                    let kv = opt.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2 else { throw bad("option '\(opt)' is not key=value") }
                    switch kv[0] {
                    case "render":
                        guard let k = AttackKind(rawValue: kv[1]) else {
                            throw bad("render=\(kv[1]): use one of \(AttackKind.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        row.render = k
                    case "seed":
                        guard let s = UInt64(kv[1]) else { throw bad("seed=\(kv[1]) is not a whole number") }
                        row.seed = s
                    case "duration":
                        guard let d = Double(kv[1]), d > 0, d <= 60 else { throw bad("duration=\(kv[1]) must be 0–60 s") }
                        row.renderDuration = d
                    case "loop":
                        guard let l = Int(kv[1]), l >= 1, l <= 20 else { throw bad("loop=\(kv[1]) must be 1–20") }
                        row.loop = l
                    case "start", "end":
                        guard let v = Double(kv[1]), v >= 0 else { throw bad("\(kv[0])=\(kv[1]) must be seconds ≥ 0") }
                        if kv[0] == "start" { row.start = v } else { row.end = v }
                    default:
                        throw bad("unknown option '\(kv[0])' (render, seed, duration, loop, start, end)")
                    }
                }
            }
            if let s = row.start, let e = row.end, e <= s { throw bad("end=\(e) must be after start=\(s)") }
            if row.isBonaFide {
                switch row.script {
                case .everyType, .random: throw bad("'all' and 'random:N:K' are for attack rows; give a bona-fide clip its plan or event times")
                default: break
                }
                if row.render != nil { throw bad("render= makes an attack: label the row with its species, not bona-fide") }
            }
            rows.append(row)
        }
        guard !rows.isEmpty else { throw FaceGateError.badInput("\(name) has no rows (path<TAB>label<TAB>actions)") }
        return LivenessManifest(rows: rows, path: name)
    }

    /// `blink,turn-left` | `blink@2.1,turn-left@4.0` | `all` | `random:N:K` | `none` | `-`.
    public static func parseScript(_ text: String) throws -> Script {
        let s = text.lowercased()
        if s == "none" || s == "-" { return .none }
        if s == "all" { return .everyType }
        if s.hasPrefix("random:") {
            let p = s.split(separator: ":")
            guard p.count == 3, let n = Int(p[1]), let k = Int(p[2]), n >= 1, n <= 10, k >= 1, k <= 1000 else {
                throw FaceGateError.badInput("'\(text)': write random:N:K (N challenges 1–10, K sessions 1–1000)")
            }
            return .random(count: n, sessions: k)
        }
        let items = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var types: [ChallengeType] = []
        var events: [Event] = []
        for item in items {
            let parts = item.split(separator: "@", maxSplits: 1).map(String.init)
            guard let name = parts.first, let t = ChallengeType(rawValue: name) else {
                throw FaceGateError.badInput("unknown challenge '\(item)' (known: \(ChallengeType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            types.append(t)
            if parts.count == 2 {
                guard let at = Double(parts[1]), at >= 0, at.isFinite else {
                    throw FaceGateError.badInput("'\(item)': the time after @ must be seconds ≥ 0")
                }
                events.append(Event(type: t, time: at))
            }
        }
        if events.isEmpty {
            do { _ = try ChallengePlan(explicit: types) } catch {
                throw FaceGateError.badInput("'\(text)': \(error) — a plan cannot repeat a challenge back to back; give event times instead")
            }
            return .plan(types)
        }
        guard events.count == types.count else {
            throw FaceGateError.badInput("'\(text)': give a time for every action (blink@2.1,turn-left@4.0) or for none")
        }
        guard zip(events, events.dropFirst()).allSatisfy({ $0.time < $1.time }) else {
            throw FaceGateError.badInput("'\(text)': event times must increase")
        }
        return .events(events)
    }
}
