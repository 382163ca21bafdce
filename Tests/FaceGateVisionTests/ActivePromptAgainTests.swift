@testable import FaceGate
@testable import FaceGateCore
import Testing

/// The "again" text of a challenge (`LivenessEvent.promptAgain`: "Blink again", "Nod again", "Shake your head
/// again") reaches every front-end that shows prompts through `SessionPresenter` — the CLI's live terminal lines
/// (`TerminalPresenter` prints each `.prompt` notice as "→ [i/n] text") and the face-unlock conversation — as a prompt
/// of the same challenge; the session's own timing of it is tested in `ActiveFrameRateTests`.
@Suite struct ActivePromptAgainTests {
    final class Recorder: SessionPresenter {
        var notices: [SessionNotice] = []
        func notice(_ notice: SessionNotice) { notices.append(notice) }
    }

    @Test func theAgainTextIsPresentedAsAPromptOfTheSameChallenge() throws {
        let plan = try ChallengePlan(explicit: [.turnLeft, .nod, .blink])
        let recorder = Recorder()
        func step(_ events: [LivenessEvent], at t: Double) -> LivenessStep {
            let update = LivenessUpdate(phase: .challenge(index: 1, type: .nod, status: .ready), events: events,
                                        prompt: nil, progress: 0.3)
            return LivenessStep(analysis: FrameAnalysis(index: Int(t * 12), timestamp: t, width: 640, height: 480, faces: []),
                                update: update, anchor: false, passed: [], prompt: update.prompt, progress: 0.3, finished: false)
        }
        recorder.present(step([.prompt(index: 1, type: .nod, text: ChallengeType.nod.prompt, at: FrameStamp(index: 30, timestamp: 2.5))], at: 2.5), plan: plan)
        recorder.present(step([], at: 3.5), plan: plan)
        let again = try #require(LivenessSession.againPrompt(.nod))
        recorder.present(step([.promptAgain(index: 1, type: .nod, text: again, at: FrameStamp(index: 54, timestamp: 4.5))], at: 4.5), plan: plan)
        let prompts: [String] = recorder.notices.compactMap {
            if case .prompt(let i, let n, let text) = $0 { return "\(i + 1)/\(n) \(text)" }
            return nil
        }
        #expect(prompts == ["2/3 \(ChallengeType.nod.prompt)", "2/3 Nod again"])
    }
}
