import FaceGateStore
import Foundation

/// Where the gallery is and which key opens it: one resolution for every front-end (CLI commands, `serve`,
/// `keys`, the audit log), so a configured `[store]` section means the same database and key everywhere.
///
/// Order, database: `--db` flag > `store.database` > `FACEGATE_DB` > `$XDG_DATA_HOME/facegate/facegate.sqlite`.
/// Order, key: `store.key` > `store.key_file` (created 0600 when missing) > `FACEGATE_KEY_FILE` > `FACEGATE_KEY`
/// (or `FACEGATE_STORE_KEY`) > the data directory's `facegate.key` (created on first use).
public enum StoreAccess {
    public static func location(flag: String?, config: FaceGateConfig?,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GalleryLocation {
        if let f = flag, !f.isEmpty { return try GalleryLocation.resolve(f, environment: environment) }
        return try GalleryLocation.resolve(config?.store.database, environment: environment)
    }

    /// `createIfMissing: false` for readers that must not invent a key (the audit log decrypting old snapshots).
    public static func key(config: FaceGateConfig?, environment: [String: String] = ProcessInfo.processInfo.environment,
                           createIfMissing: Bool = true) throws -> GalleryKey {
        if let k = config?.store.key, !k.isEmpty { return try GalleryKey(material: Data(k.utf8), source: "configuration store.key") }
        if let f = config?.store.keyFile, !f.isEmpty {
            if createIfMissing && !FileManager.default.fileExists(atPath: f) { return try GalleryKey.create(file: f) }
            return try GalleryKey.load(file: f)
        }
        var env = environment
        if let k = env["FACEGATE_STORE_KEY"], !k.isEmpty, (env["FACEGATE_KEY"] ?? "").isEmpty { env["FACEGATE_KEY"] = k }
        return try GalleryKey.resolve(environment: env, createIfMissing: createIfMissing)
    }

    /// The file the key of `key(config:environment:)` is read from, or nil when it is given as material
    /// (`store.key`, `FACEGATE_KEY`, `FACEGATE_STORE_KEY`). `keys rotate` replaces exactly this file.
    public static func keyFile(config: FaceGateConfig?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let k = config?.store.key, !k.isEmpty { return nil }
        if let f = config?.store.keyFile, !f.isEmpty { return f }
        if let f = environment["FACEGATE_KEY_FILE"], !f.isEmpty { return f }
        if !(environment["FACEGATE_KEY"] ?? "").isEmpty || !(environment["FACEGATE_STORE_KEY"] ?? "").isEmpty { return nil }
        return GalleryKey.defaultKeyPath(environment: environment)
    }
}
