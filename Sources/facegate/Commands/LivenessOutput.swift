import FaceGate
import FaceGateCore
import Foundation

// What `facegate liveness` prints (human text and `--json`): the passive report, the challenge session and the
// combined session. Printing only; the decisions are the library's.

extension LivenessCommand {
    struct CueJSON: Encodable {
        var level: Double?
        var confidence: Double
        var state: String
        var note: String
    }
    struct Output: Encodable {
        var live: Bool
        var score: Double
        var decided_by: [String]
        var cues: [String: CueJSON]
        var mode: String
        var reason: String
        var frames: Int
        var frames_with_face: Int
    }

    static func output(_ report: PassiveReport) -> Output {
        output(report.verdict, frames: report.frames, framesWithFace: report.framesWithFace)
    }

    /// The passive JSON block: `{"live","score","decided_by","cues",…}`.
    static func output(_ v: PassiveVerdict, frames: Int, framesWithFace: Int) -> Output {
        var cues: [String: CueJSON] = [:]
        for c in v.cues {
            cues[c.name] = CueJSON(level: c.level.map { r($0) }, confidence: r(c.confidence), state: c.state.rawValue, note: c.note)
        }
        return Output(live: v.live, score: r(v.score, 4), decided_by: v.decidedBy.map(\.name), cues: cues, mode: v.mode.rawValue,
                      reason: v.reason.rawValue, frames: frames, frames_with_face: framesWithFace)
    }

    static func print(_ report: PassiveReport, json: Bool) {
        let v = report.verdict
        if json {
            Swift.print(jsonLine(output(report)))
            return
        }
        Swift.print("\(v.live ? "LIVE" : "NOT LIVE") — score \(String(format: "%.3f", v.score)) (\(v.mode.rawValue) mode, \(v.reason.rawValue): \(v.decidedBy.isEmpty ? "no cue could see" : v.decidedBy.map(\.name).joined(separator: ", ")))")
        Swift.print("  \(report.framesWithFace) of \(report.frames) frame(s) with a face, source \(report.source)")
        printCues(v)
    }

    static func printCues(_ v: PassiveVerdict) {
        for c in v.cues {
            let level = c.level.map { String(format: "%.2f", $0) } ?? "  - "
            Swift.print("  " + c.name.padding(toLength: 11, withPad: " ", startingAt: 0) + " "
                        + c.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                        + " level \(level) conf " + String(format: "%.2f", c.confidence) + "  \(c.note)")
        }
    }
}

extension ActiveLivenessCLI {
    /// JSON of a combined session: the active result's keys (`live`, `challenges`, `reason`, `frames`, `failure`,
    /// `plan`, `evidence`, …) with the combined decision, plus `mode`, `decided_by`, `decision` and the `passive` block.
    struct CombinedJSON: Encodable {
        var result: CombinedLivenessResult
        enum K: String, CodingKey { case mode, decided_by, decision, passive }
        func encode(to encoder: Encoder) throws {
            try result.session.encode(to: encoder)
            var c = encoder.container(keyedBy: K.self)
            try c.encode(result.verdict.mode.rawValue, forKey: .mode)
            try c.encode(result.verdict.decidedBy.map(\.name), forKey: .decided_by)
            try c.encode(result.verdict.reason.rawValue, forKey: .decision)
            if let v = result.verdict.passive {
                try c.encode(LivenessCommand.output(v, frames: result.passiveFrames, framesWithFace: result.passiveFramesWithFace), forKey: .passive)
            }
        }
    }

    static func printHuman(_ r: LivenessResult, identitySkipped: Int) {
        let passed = r.challenges.filter(\.passed).count
        print("\(r.live ? "LIVE" : "NOT LIVE") — \(passed)/\(r.plan.count) challenge\(r.plan.count == 1 ? "" : "s") passed, \(r.frames) frames")
        if r.plan.isRandom { print("  plan nonce \(r.plan.nonceHex)") }
        for o in r.challenges {
            var s = "  " + (o.passed ? "✓" : (o.status == .failed ? "✗" : "·")) + " " + o.type.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            if let ms = o.latencyMs { s += "  latency \(ms) ms" }
            if let at = o.at { s += String(format: "  at %.2f s", at) }
            if !o.otherActions.isEmpty { s += "  (also: \(o.otherActions.map(\.rawValue).joined(separator: ", ")))" }
            print(s)
        }
        if let d = r.identityDistance { print(String(format: "  identity: max distance %.3f between anchor frames", d)) }
        if identitySkipped > 0 { print("  identity: \(identitySkipped) anchor frame(s) could not be embedded") }
        if let reason = r.reason { print("  reason: \(reason)") }
    }
}
