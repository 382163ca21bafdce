import FaceGateConfig
import FaceGateCore
import Foundation

/// The one rule that turns the settings into a liveness session's timing and continuity configuration. Every
/// front-end takes its `LivenessConfiguration` from here: `facegate liveness`, `authenticate`, `enroll --liveness`, the
/// face-unlock daemon and the server's sessions (`ServerConfiguration.apply`), so the same clip under the same
/// settings meets the same limits everywhere (#18: the CLI used the core's computed total, the server 20 s).
///
/// - per challenge: a front-end's own flag (`--timeout`) > `liveness.challenge_timeout` (default the core's
///   `LivenessConfiguration.defaultChallengeTimeout`, 5 s);
/// - whole session: `liveness.timeout` when set (> 0); else (default 0) the core's total for the plan:
///   calibration + per challenge its timeout and the longest hold-still (`LivenessConfiguration.totalTimeout`,
///   5 + 3 × (5 + 1.5) = 24.5 s for the default 3 challenges), so a 5-challenge session is not cut at a fixed time;
/// - a passive-only capture: `liveness.timeout` when set, else `PassiveCapture.defaultTimeout` (10 s);
/// - the early/late-frames identity check: the global identity threshold (`ThresholdSettings`, no flag).
public enum LivenessTiming {
    /// The session configuration of these settings; `challengeTimeout` is a front-end's own per-challenge flag.
    /// `environment` is read only for `FACEGATE_IDENTITY_THRESHOLD` (the identity threshold policy's own order).
    public static func configuration(_ settings: FaceGateConfig, challengeTimeout flag: Double? = nil,
                                     environment: [String: String] = ProcessInfo.processInfo.environment) -> LivenessConfiguration {
        configuration(settings, challengeTimeout: flag,
                      identity: (try? ThresholdSettings(flag: nil, config: settings, environment: environment)) ?? ThresholdSettings())
    }

    /// The same with the identity threshold policy already resolved (the server resolves it once, `ServerConfiguration`):
    /// the continuity check uses its global threshold (a command's `--threshold` and per-user values do not apply), never
    /// below `continuityFloor`.
    public static func configuration(_ settings: FaceGateConfig, challengeTimeout flag: Double? = nil,
                                     identity: ThresholdSettings) -> LivenessConfiguration {
        var c = LivenessConfiguration()
        if let flag { c.challengeTimeout = flag } else if settings.liveness.challengeTimeout > 0 {
            c.challengeTimeout = settings.liveness.challengeTimeout
        }
        c.sessionTimeout = settings.liveness.timeout > 0 ? settings.liveness.timeout : nil
        c.identityThreshold = continuityThreshold(identity)
        return c
    }

    /// The continuity check ("is it still the same person?") is never stricter than the default same-person threshold:
    /// one person's own frames in one session differ by up to 0.51 (d6 pulling faces, session 11), and with the
    /// open-eyed reference (63e9dbc) the Blink-Detector clip's frames differ by 0.14 — a stricter configured threshold
    /// (e.g. 0.11 in IdentityThresholdCLITests) would call the same person "a different face". A stricter threshold
    /// still applies where it belongs: every anchor's match against the enrolled template.
    public static let continuityFloor = IdentityThreshold.default

    /// The continuity check's threshold under an identity threshold policy: its global threshold, never below
    /// `continuityFloor` (the one rule; the CLI's configuration and the server's `ServerConfiguration` read it).
    public static func continuityThreshold(_ identity: ThresholdSettings) -> Double {
        max(identity.global.value, continuityFloor)
    }

    /// Seconds a passive-only session may take to collect its frames under `configuration`.
    public static func captureTimeout(_ configuration: LivenessConfiguration) -> Double {
        configuration.sessionTimeout ?? PassiveCapture.defaultTimeout
    }

    /// The whole-session limit a front-end states for a plan of `challenges` (0: a passive-only capture).
    public static func sessionLimit(_ configuration: LivenessConfiguration, challenges: Int) -> Double {
        challenges == 0 ? captureTimeout(configuration) : configuration.totalTimeout(challenges: challenges)
    }
}
