import ArgumentParser
import FaceGate
import FaceGateConfig
import FaceGateCore
import FaceGateVision
import Foundation

/// Options of challenge–response (active) liveness: `facegate liveness`, `authenticate`, `enroll` and the daemon.
struct ActiveCLIOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Challenges to check, in order (a recording is checked against exactly this list): \(ChallengeType.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "LIST"))
    var challenges: String?

    @Option(help: ArgumentHelp("A random plan of N challenges (default liveness.challenges, \(ChallengePlan.defaultCount)), drawn from a fresh 32-byte nonce.", valueName: "N"))
    var random: Int?

    @Option(help: ArgumentHelp("Seed for a reproducible random plan (tests, demos).", valueName: "S"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Challenge types a random plan may use (default liveness.challenge_types: all ten).", valueName: "LIST"))
    var allow: String?

    @Option(help: ArgumentHelp("Seconds allowed per challenge (default liveness.challenge_timeout, \(Int(LivenessConfiguration.defaultChallengeTimeout)) s; the whole session: liveness.timeout, see LivenessTiming).", valueName: "SECONDS"))
    var timeout: Double?

    @Option(help: ArgumentHelp("Write an annotated video with the prompt, progress and verdict.", valueName: "OUT.mp4"))
    var annotate: String?

    @Flag(name: .customLong("no-identity"), help: "Skip the check that the same person is seen on the early and late frames.")
    var noIdentity = false

    /// True when any option asks for challenges (with `--passive`: both in one session).
    var requested: Bool { challenges != nil || random != nil || seed != nil || allow != nil }

    /// The plan from the flags; a random plan's count and pool default to `liveness.challenges` / `challenge_types`.
    func plan(settings: FaceGateConfig) throws -> ChallengePlan {
        if let list = challenges {
            guard random == nil, seed == nil, allow == nil else {
                throw FaceGateError.badInput("--challenges is an explicit list: do not combine it with --random, --seed or --allow")
            }
            return try ChallengePlan(explicit: ChallengeType.parseList(list))
        }
        let n = random ?? (settings.liveness.challenges > 0 ? settings.liveness.challenges : ChallengePlan.defaultCount)
        let pool = settings.liveness.challengeTypes.isEmpty ? ChallengeType.allCases : settings.liveness.challengeTypes
        let allowed = try allow.map { try ChallengeType.parseList($0) } ?? pool
        if let s = seed { return try ChallengePlan(seed: s, count: n, allowed: allowed) }
        return try ChallengePlan.random(count: n, allowed: allowed)
    }

    /// The settings' timing through the library's one rule (`LivenessTiming`), `--timeout` per challenge over it.
    func configuration(settings: FaceGateConfig) throws -> LivenessConfiguration {
        if let t = timeout {
            guard t > 0, t.isFinite else { throw FaceGateError.badInput("--timeout must be a positive number of seconds") }
        }
        return LivenessTiming.configuration(settings, challengeTimeout: timeout)
    }
}

extension ActiveCLIOptions {
    /// The liveness part of a session from the flags: the same for `liveness`, `authenticate` and `enroll --liveness`
    /// and the daemon (plan, timeouts from `settings` through `LivenessTiming`, identity continuity).
    func pipelineOptions(mode: LivenessMode, passive: PassiveOptions = PassiveOptions(), settings: FaceGateConfig) throws -> LivenessPipelineOptions {
        let plan: ChallengePlan
        do { plan = try self.plan(settings: settings) } catch let e as ActiveLivenessError { throw FaceGateError.badInput(e.description) }
        let configuration = try configuration(settings: settings)
        return LivenessPipelineOptions(mode: mode, plan: plan, configuration: configuration, passive: passive,
                                       captureTimeout: LivenessTiming.captureTimeout(configuration), checkIdentity: !noIdentity)
    }
}
