import FaceGate
import FaceGateConfig
import FaceGateCore
import Foundation
import Testing

/// The one rule "do the challenges run with the passive cues (mode both)?" of `liveness`, `authenticate`,
/// `enroll --liveness`, the unlock daemon and the server's sessions (docs/passive-liveness.md, *On by default*).
struct LivenessModeRuleTests {
    struct Case: CustomStringConvertible {
        var configured: LivenessMode
        var requested: Bool
        var useInstalled: Bool
        var installed: [String]
        var expected: LivenessMode
        var description: String { "\(configured) requested=\(requested) useInstalled=\(useInstalled) installed=\(installed)" }
    }

    /// Every combination: a configured passive/both stays; a configured active runs as both when the cues were asked
    /// for (CLI --passive/--pad-model/--model/--depth/--imu, server pad_models/model), or when a model is installed
    /// and installed models are used (not --no-installed-models, liveness.use_installed_models); else active.
    static let table: [Case] = {
        var out: [Case] = []
        for configured in LivenessMode.allCases {
            for requested in [false, true] {
                for useInstalled in [false, true] {
                    for installed in [[], ["minifasnet-v2"]] {
                        let both = requested || (useInstalled && !installed.isEmpty)
                        let expected: LivenessMode = configured == .active ? (both ? .both : .active) : configured
                        out.append(Case(configured: configured, requested: requested, useInstalled: useInstalled,
                                        installed: installed, expected: expected))
                    }
                }
            }
        }
        return out
    }()

    @Test(arguments: table)
    func rule(_ c: Case) {
        let inputs = LivenessModeInputs(configured: c.configured, passiveRequested: c.requested, useInstalledModels: c.useInstalled)
        #expect(LivenessModeRule.mode(inputs, installedAntiSpoof: c.installed) == c.expected, "\(c)")
    }

    /// The documented rows, spelled out (a wrong table above cannot hide them).
    @Test func documentedRows() {
        let model = ["minifasnet-v2"]
        // CLI default with a model installed: both; --no-installed-models (or use_installed_models = false): active.
        #expect(LivenessModeRule.mode(.init(passiveRequested: false, useInstalledModels: true), installedAntiSpoof: model) == .both)
        #expect(LivenessModeRule.mode(.init(passiveRequested: false, useInstalledModels: false), installedAntiSpoof: model) == .active)
        // ...unless the cues were asked for (--passive, --pad-model, --model, --depth, --imu).
        #expect(LivenessModeRule.mode(.init(passiveRequested: true, useInstalledModels: false), installedAntiSpoof: model) == .both)
        // No model installed: nothing changes.
        #expect(LivenessModeRule.mode(.init(passiveRequested: false, useInstalledModels: true), installedAntiSpoof: []) == .active)
        // The unlock daemon is configured both; a server configured passive stays passive.
        #expect(LivenessModeRule.mode(.init(configured: .both, passiveRequested: false, useInstalledModels: false), installedAntiSpoof: []) == .both)
        #expect(LivenessModeRule.mode(.init(configured: .passive, passiveRequested: false, useInstalledModels: true), installedAntiSpoof: model) == .passive)
    }

    /// The typed input errors of a challenge session (rendered by the CLI as exit 2).
    @Test func inputChecks() throws {
        #expect(throws: LivenessInputError.challengesNeedMotion) { try LivenessPipelineOptions.checkChallengeInput(stillImage: true) }
        try LivenessPipelineOptions.checkChallengeInput(stillImage: false)
        var o = LivenessPipelineOptions(mode: .active, plan: try ChallengePlan(explicit: [.blink]), configuration: LivenessConfiguration())
        #expect(o.configuration.holdStill != nil)
        #expect(throws: LivenessInputError.holdStillNeedsRecording) { try o.dropHoldStill(true, recording: false) }
        try o.dropHoldStill(false, recording: false)
        #expect(o.configuration.holdStill != nil)
        try o.dropHoldStill(true, recording: true)
        #expect(o.configuration.holdStill == nil)
    }
}
