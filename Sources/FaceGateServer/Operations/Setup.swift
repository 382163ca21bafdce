import FaceGateActions
import FaceGateStore
import Foundation
import Logging

/// Resolution of the database, key and configuration shared by `facegate serve` and `facegate keys`.
public enum ServerSetup {
    /// `--db`, else the configuration's store.database, else FaceGateStore's default (FACEGATE_DB, data dir).
    public static func location(flag: String?, config: FaceGateConfig?) throws -> GalleryLocation {
        try GalleryLocation.resolve(flag ?? config?.store.database)
    }

    /// The template key: config store.key, else store.key_file (created 0600 if missing), else FaceGateStore's
    /// default resolution (FACEGATE_KEY_FILE, FACEGATE_KEY, data directory).
    public static func galleryKey(config: FaceGateConfig?) throws -> GalleryKey {
        if let k = config?.store.key, !k.isEmpty { return try GalleryKey(material: Data(k.utf8), source: "configuration store.key") }
        if let f = config?.store.keyFile, !f.isEmpty {
            return FileManager.default.fileExists(atPath: f) ? try GalleryKey.load(file: f) : try GalleryKey.create(file: f)
        }
        return try GalleryKey.resolve()
    }

    /// Installs the log format once per process: `json` (one object per line) or `text`.
    public static func bootstrapLogging(format: String, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var h: any LogHandler = format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

/// Structured logs: one JSON object per line on standard error (time, level, label, message, metadata).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    static let lock = NSLock()

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var obj: [String: String] = ["time": ISO8601DateFormatter().string(from: Date()), "level": level.rawValue,
                                     "label": label, "message": message.description]
        for (k, v) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }) { obj[k] = "\(v)" }
        guard var data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        Self.lock.withLock { FileHandle.standardError.write(data) }
    }
}
