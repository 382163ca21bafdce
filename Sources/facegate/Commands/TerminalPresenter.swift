import FaceGate
import FaceGateCore
import Foundation

/// Prompts of a runtime session on the terminal, for a live camera only (a recording is not talked to). Under
/// `--json` the lines go to stderr so stdout stays one JSON document.
final class TerminalPresenter: SessionPresenter {
    let live: Bool
    let json: Bool

    init(live: Bool, json: Bool) { self.live = live; self.json = json }

    func say(_ text: String) { json ? printError(text) : print(text) }

    func notice(_ notice: SessionNotice) {
        guard live else { return }
        switch notice {
        case .plan(let plan, let passive):
            guard plan.count > 0 else { return }
            say("Plan: \(plan.challenges.map(\.rawValue).joined(separator: ", "))" + (plan.isRandom ? "" : " (explicit)")
                + (passive.map { " + passive cues (\($0.rawValue))" } ?? ""))
        case .ready: say("Ready. Hold still: each prompt appears after a short pause.")
        case .prompt(let i, let n, let text): say("→ [\(i + 1)/\(n)] \(text)")
        case .passed(let o): say("  ✓ \(o.type.rawValue)" + (o.latencyMs.map { " (\($0) ms)" } ?? ""))
        case .failed(let f): say("  ✗ \(f.description)")
        case .pose(let p): say("→ \(p)")
        }
    }

    /// Terminal prompts plus, with `--annotate`, the annotated video.
    static func make(live: Bool, json: Bool, annotate: String?, fps: Double) -> SessionPresenter {
        let t = TerminalPresenter(live: live, json: json)
        guard let annotate else { return t }
        return PresenterGroup([t, AnnotatedVideoPresenter(path: annotate, fps: fps)])
    }
}
