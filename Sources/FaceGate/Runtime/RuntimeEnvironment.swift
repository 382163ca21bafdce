import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import Logging

/// What a front-end opens before it runs runtime sessions, opened one way for all of them: the gallery on its
/// database with its key, the identity index with its threshold policy, and the lockout gate on the same database
/// (the table `facegate audit unlock` lifts). The CLI opens it from the configuration and its flags
/// (`open(config:databaseFlag:thresholdFlag:)`), the server from its resolved `ServerConfiguration`
/// (`open(location:key:policy:lockout:)`); `engine()` opens the models (detector, landmarks, embedder) the same way
/// for the CLI and each server worker.
///
/// Both resolve from the one typed `FaceGateConfig` (FaceGateConfig target: flags > environment > TOML > defaults);
/// the server first applies it to its `ServerConfiguration` (`apply(_:)`), which adds the server-only limits.
public struct RuntimeEnvironment: Sendable {
    public let location: GalleryLocation
    public let key: GalleryKey
    public let gallery: any Gallery
    public let index: IdentityIndexService
    public let lockout: LockoutGate
    /// Where the models are, and the face detector the engines use.
    public let models: ModelDirectory
    public let detector: DetectorChoice

    /// A face engine on this environment's models with the landmark and embedding models loaded up front (loading
    /// them lazily on a session's first anchor frame stalls it for ~1 s: the server measured frames skipped meanwhile
    /// reading as a lost face). Missing or corrupt models throw here, before any attempt starts.
    public func engine() throws -> FaceEngine {
        let e = try FaceEngine(models: models, detector: detector)
        _ = try e.aligner()
        _ = try e.embedder()
        return e
    }

    /// Opens the gallery at `location` with `key`, loads its identity index under `policy` and opens the lockout
    /// gate on the same database (`lockout` nil: disabled, nothing opened). Closes what it opened when a later step
    /// fails. `loadIndex: false` leaves the index unloaded for a 1:1 check that reads one user (`facegate verify`).
    public static func open(location: GalleryLocation, key: GalleryKey, policy: IdentityPolicy, lockout: LockoutPolicy?,
                            loadIndex: Bool = true,
                            indexThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
                            models: ModelDirectory = .resolve(), detector: DetectorChoice = .hog,
                            logger: Logger = Logger(label: "facegate.runtime")) async throws -> RuntimeEnvironment {
        let gallery = try await GalleryFactory.open(location, key: key)
        do {
            let index = IdentityIndexService(gallery: gallery, policy: policy, threads: indexThreads)
            if loadIndex { try await index.load() }
            var gate = LockoutGate.disabled
            if let lockout { gate = LockoutGate(store: try await LockoutStores.open(location, logger: logger), policy: lockout) }
            return RuntimeEnvironment(location: location, key: key, gallery: gallery, index: index, lockout: gate,
                                      models: models, detector: detector)
        } catch {
            await gallery.close()
            throw error
        }
    }

    /// The CLI's (and a face-unlock daemon's) environment: database `databaseFlag` > `[store] database` >
    /// environment > data directory and the key of `[store]` / environment (`StoreAccess`, as `serve` reads them);
    /// the threshold `thresholdFlag` > per-user > `--set` > `FACEGATE_IDENTITY_THRESHOLD` > file > default
    /// (`ThresholdSettings`) with the score `rule`; the lockout of `[lockout]` (`lockout: false` for a front-end that
    /// makes no attempt, e.g. `facegate identify`: nothing is opened for it).
    public static func open(config: FaceGateConfig, databaseFlag: String?, thresholdFlag: Double?,
                            rule: ScoreRule = .default, lockout: Bool = true, loadIndex: Bool = true,
                            models: ModelDirectory = .resolve(), detector: DetectorChoice = .hog,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger = Logger(label: "facegate.runtime")) async throws -> RuntimeEnvironment {
        let thresholds = try ThresholdSettings(flag: thresholdFlag, config: config, environment: environment)
        let location = try StoreAccess.location(flag: databaseFlag, config: config, environment: environment)
        let key = try StoreAccess.key(config: config, environment: environment)
        return try await open(location: location, key: key, policy: IdentityPolicy(settings: thresholds, rule: rule),
                              lockout: lockout && config.lockout.enabled ? config.lockout.policy : nil, loadIndex: loadIndex,
                              models: models, detector: detector, logger: logger)
    }

    /// The lockout table `open(config:…)` gates on (database `databaseFlag` > `[store] database` > environment > data
    /// directory), opened alone for `facegate audit lockouts/unlock`: it needs neither the gallery's key nor the
    /// index, and is opened even when `[lockout]` is disabled so that old locks can still be listed and lifted.
    public static func lockoutStore(config: FaceGateConfig, databaseFlag: String? = nil,
                                    environment: [String: String] = ProcessInfo.processInfo.environment,
                                    logger: Logger = Logger(label: "facegate.lockout")) async throws -> any LockoutStore {
        try await LockoutStores.open(StoreAccess.location(flag: databaseFlag, config: config, environment: environment), logger: logger)
    }

    /// Closes the gallery and the lockout store.
    public func close() async {
        await lockout.store?.close()
        await gallery.close()
    }
}
