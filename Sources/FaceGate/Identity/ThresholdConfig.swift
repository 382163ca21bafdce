import FaceGateActions
import FaceGateConfig
import FaceGateCore
import Foundation

extension ThresholdSettings {
    /// The environment variable of `identity.threshold`.
    public static let environmentName = "FACEGATE_IDENTITY_THRESHOLD"

    /// Settings from a command's `--threshold`, the loaded configuration and the environment, range-checked.
    ///
    /// The one resolution order of every setting: `--set identity.threshold=…` > `FACEGATE_IDENTITY_THRESHOLD` >
    /// the file's `identity.threshold` > default (and a command's `--threshold`, then a user's own threshold, over
    /// all of them). The file's value is kept as `config` only when the environment names none; a `--set` value is
    /// `config` and beats the environment.
    public init(flag: Double?, config c: FaceGateConfig?,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var env: Double?
        if let text = environment[Self.environmentName], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw IdentityError.badThreshold(value: .nan, source: "\(Self.environmentName)='\(text)'")
            }
            env = v
        }
        var cfg: Double?
        switch c?.loaded.origins["identity.threshold"] {
        case .flag?: cfg = c?.identity.threshold
        case .file?: cfg = env == nil ? c?.identity.threshold : nil
        case .environment?: if env == nil { env = c?.identity.threshold }  // the loader's environment, not `environment`
        default: break
        }
        self.init(flag: flag, config: cfg, environment: env)
        try validate()
    }
}
