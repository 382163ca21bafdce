import FaceGateActions
import FaceGateCore
import FaceGateStore
import Foundation
import Logging

/// What a front-end opens before it runs runtime sessions, opened one way for all of them: the gallery on its
/// database with its key, the identity index with its threshold policy, and the lockout gate on the same database
/// (the table `facegate audit unlock` lifts). The CLI opens it from the configuration and its flags
/// (`open(config:databaseFlag:thresholdFlag:)`), the server from its resolved `ServerConfiguration`
/// (`open(location:key:policy:lockout:)`); models are opened by `FaceEngine(models:)` from the same settings.
///
/// Not yet: one typed settings value in the core that both front-ends resolve from TOML + environment + flags
/// (issue #18 item 4); until then the CLI passes its `FaceGateConfig` and the server its `ServerConfiguration`.
public struct RuntimeEnvironment: Sendable {
    public let location: GalleryLocation
    public let key: GalleryKey
    public let gallery: any Gallery
    public let index: IdentityIndexService
    public let lockout: LockoutGate

    /// Opens the gallery at `location` with `key`, loads its identity index under `policy` and opens the lockout
    /// gate on the same database (`lockout` nil: disabled, nothing opened). Closes what it opened when a later step
    /// fails.
    public static func open(location: GalleryLocation, key: GalleryKey, policy: IdentityPolicy, lockout: LockoutPolicy?,
                            indexThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
                            logger: Logger = Logger(label: "facegate.runtime")) async throws -> RuntimeEnvironment {
        let gallery = try await GalleryFactory.open(location, key: key)
        do {
            let index = IdentityIndexService(gallery: gallery, policy: policy, threads: indexThreads)
            try await index.load()
            var gate = LockoutGate.disabled
            if let lockout { gate = LockoutGate(store: try await LockoutStores.open(location, logger: logger), policy: lockout) }
            return RuntimeEnvironment(location: location, key: key, gallery: gallery, index: index, lockout: gate)
        } catch {
            await gallery.close()
            throw error
        }
    }

    /// The CLI's (and a face-unlock daemon's) environment: database `databaseFlag` > `[store] database` >
    /// environment > data directory and the key of `[store]` / environment (`StoreAccess`, as `serve` reads them);
    /// the threshold `thresholdFlag` > per-user > `identity.threshold` > `FACEGATE_IDENTITY_THRESHOLD` > default
    /// (`ThresholdSettings`); the lockout of `[lockout]`.
    public static func open(config: FaceGateConfig, databaseFlag: String?, thresholdFlag: Double?,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger = Logger(label: "facegate.runtime")) async throws -> RuntimeEnvironment {
        let thresholds = try ThresholdSettings(flag: thresholdFlag, config: config, environment: environment)
        let location = try StoreAccess.location(flag: databaseFlag, config: config, environment: environment)
        let key = try StoreAccess.key(config: config, environment: environment)
        return try await open(location: location, key: key, policy: IdentityPolicy(settings: thresholds),
                              lockout: config.lockout.enabled ? config.lockout.policy : nil, logger: logger)
    }

    /// Closes the gallery and the lockout store.
    public func close() async {
        await lockout.store?.close()
        await gallery.close()
    }
}
