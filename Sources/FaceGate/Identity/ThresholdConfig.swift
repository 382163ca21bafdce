import FaceGateActions
import FaceGateConfig
import FaceGateCore
import Foundation

extension ThresholdSettings {
    /// The environment variable of `identity.threshold`.
    public static let environmentName = "FACEGATE_IDENTITY_THRESHOLD"

    /// Settings from a command's `--threshold`, the loaded configuration and the environment, range-checked.
    ///
    /// Order for this key (the identity threshold policy): the configuration file or `--set` beats the environment,
    /// so `config` is the file's (or `--set`'s) value even when `FACEGATE_IDENTITY_THRESHOLD` is also set (the generic
    /// loader would let the environment win).
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
        if let c {
            switch c.loaded.origins["identity.threshold"] {
            case .flag?, .file?:
                cfg = c.identity.threshold
            case .environment?:
                // The environment won in the generic loader; the file may still name a value, which wins here.
                if let path = c.loaded.path, let text = try? String(contentsOfFile: path, encoding: .utf8) {
                    let fileOnly = ConfigLoader.resolve(text: text, path: path, environment: [:], overrides: [:])
                    if case .file? = fileOnly.origins["identity.threshold"] {
                        cfg = fileOnly.value("identity.threshold").doubleValue
                    }
                }
            default:
                cfg = nil
            }
        }
        self.init(flag: flag, config: cfg, environment: env)
        try validate()
    }
}
