import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Logging

extension LockoutGate {
    /// The configured gate (`[lockout]`) on the gallery's database: the same table the server and `facegate audit
    /// unlock` use. Disabled (`lockout.enabled = false`): admits everything, opens nothing.
    public static func open(config: FaceGateConfig, location: GalleryLocation,
                            logger: Logger = Logger(label: "facegate.lockout")) async throws -> LockoutGate {
        guard config.lockout.enabled else { return .disabled }
        return LockoutGate(store: try await LockoutStores.open(location, logger: logger), policy: config.lockout.policy)
    }

    /// How long a CLI attempt holds one try of its subjects when the process dies before settling it (a killed
    /// `authenticate` frees its try by itself after this). Not measured: longer than a camera attempt with the
    /// default plan (≈ 30 s), short enough that a crashed run never blocks the next one for long.
    public static let localAttemptHold: TimeInterval = 120
}

extension LockoutSubject {
    /// The source name of a video file: its full resolved path (symlinks and `..` resolved), so two different
    /// `fake.mp4` files never share a counter and one file reached by two paths always does.
    public static func videoSourceName(path: String) -> String {
        "video:" + URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
