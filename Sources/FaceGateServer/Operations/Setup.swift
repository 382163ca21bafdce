import FaceGateActions
import FaceGateConfig
import FaceGateStore
import Foundation
import Logging

/// Resolution of the database, key and configuration shared by `facegate serve` and `facegate keys`.
public enum ServerSetup {
    /// The gallery's database: `StoreAccess.location` (flag > store.database > FACEGATE_DB > data directory).
    public static func location(flag: String?, config: FaceGateConfig?) throws -> GalleryLocation {
        try StoreAccess.location(flag: flag, config: config)
    }

    /// The template key: `StoreAccess.key` (store.key > store.key_file > FACEGATE_KEY_FILE/FACEGATE_KEY > data dir).
    public static func galleryKey(config: FaceGateConfig?) throws -> GalleryKey {
        try StoreAccess.key(config: config)
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
