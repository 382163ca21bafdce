import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateServer
import FaceGateVision
import Foundation
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP + WebSocket server (liveness sessions, enrollment, verification, browser page).",
        discussion: """
        Examples:
          facegate serve                                   # http://127.0.0.1:8080, SQLite in the data directory
          facegate serve --db postgres://fg:pw@db/facegate --host 0.0.0.0 --port 8080 --public-url https://face.example.com
        Binding a non-loopback address requires an API key (facegate keys create --scope admin). Without any key,
        loopback clients act as admin (local demo). SIGINT/SIGTERM shut down gracefully: streaming sessions are
        failed cleanly (close 1001) and recorded.
        Every finished session and every /v1/verify and /v1/identify decision is audited and sent to the configured
        webhooks (and mailed on a denial) per the configuration's [audit], [webhooks] and [mail] sections; the device
        lock and voice never run on a server. Read the audit log with `facegate audit` or GET /v1/audit (admin).
        See docs/server.md.
        """)

    @Option(help: "Address to listen on (default: config server.host, 127.0.0.1).") var host: String?
    @Option(help: "Port (default: config server.port, 8080; 0 = any free port).") var port: Int?
    @Option(help: "Gallery + server database: SQLite path or postgres:// URL (default: config store.database, $FACEGATE_DB, data directory).") var db: String?
    @Option(help: "Configuration file (default: $FACEGATE_CONFIG, ./facegate.toml, ~/.config/facegate/facegate.toml).") var config: String?
    @Option(help: "Face worker threads (default: one per core).") var workers: Int?
    @Option(name: .customLong("cors-origin"), help: "Browser origin allowed to call the API (repeatable, exact match).") var corsOrigins: [String] = []
    @Option(name: .customLong("public-url"), help: "External base URL (behind a TLS reverse proxy), used in session and link URLs.") var publicURL: String?
    @Option(name: .customLong("session-ttl"), help: "Session lifetime in seconds (default 120).") var sessionTTL: Double?
    @Option(name: .customLong("max-frame-bytes"), help: "Largest JPEG frame accepted on a stream (default 524288).") var maxFrameBytes: Int?
    @Option(name: .customLong("log-format"), help: "Log format: text or json.") var logFormat = "text"
    @Option(name: .customLong("session-proof-window"), help: "Seconds after a session succeeded during which its result may be used (once) by /v1/verify, /v1/identify or templates (default 120).") var sessionProofWindow: Double?
    @Flag(name: .customLong("insecure-local"), help: "Key-less local mode even after API keys were created (loopback only, while no key is active). Without it, key-less mode ends for good once a key exists.") var insecureLocal = false
    @Flag(help: "Debug logging.") var verbose = false
    @OptionGroup var modelOptions: ModelOptions

    func run() async throws {
        try await reportingErrors {
            guard logFormat == "text" || logFormat == "json" else { throw FaceGateError.badInput("--log-format must be text or json") }
            ServerSetup.bootstrapLogging(format: logFormat, level: verbose ? .debug : .info)
            let cfg: FaceGateConfig
            do { cfg = try FaceGateConfig.load(explicit: config) } catch let e as FaceGateConfigError {
                throw FaceGateError.badInput(e.description)
            }
            do { _ = try ThresholdSettings(flag: nil, config: cfg) } catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
            // Settings-backed values from the typed settings; the server's own limits at ServerConfiguration's defaults
            // unless a flag names them.
            var sc = ServerConfiguration(database: try ServerSetup.location(flag: db, config: cfg), settings: cfg)
            if let h = host { sc.host = h }
            if let p = port { sc.port = p }
            guard (0...65535).contains(sc.port) else { throw FaceGateError.badInput("--port must be 0…65535") }
            if let w = workers {
                guard w >= 1 else { throw FaceGateError.badInput("--workers must be ≥ 1") }
                sc.workers = w
            }
            if let t = sessionTTL {
                guard t >= 10 else { throw FaceGateError.badInput("--session-ttl must be ≥ 10 seconds") }
                sc.sessionTTL = t
            }
            if let b = maxFrameBytes {
                guard b >= 16 * 1024 else { throw FaceGateError.badInput("--max-frame-bytes must be ≥ 16384") }
                sc.maxFrameBytes = b
            }
            if let w = sessionProofWindow {
                guard w >= 1, w <= 600 else { throw FaceGateError.badInput("--session-proof-window must be 1…600 seconds") }
                sc.sessionProofWindow = w
            }
            sc.insecureLocal = insecureLocal
            sc.corsOrigins = corsOrigins
            sc.publicURL = publicURL
            sc.models = modelOptions.directory
            sc.detector = DetectorChoice(modelOptions.detector)
            // One OpenCV/BLAS thread per worker: the workers already use every core.
            NativeRuntime.setThreads(1)
            let server: FaceGateServer
            do {
                server = try await FaceGateServer(config: sc, galleryKey: try ServerSetup.galleryKey(config: cfg), actions: cfg,
                                                  // Re-read, never created: `keys rotate` briefly has no file at the path.
                                                  keyLoader: { try StoreAccess.key(config: cfg, createIfMissing: false) })
            } catch let e as ServerStartError { throw FaceGateError.runtime(e.description) }
            do { try await server.run() } catch let e as ServerStartError {
                await server.shutdown()
                throw FaceGateError.badInput(e.description)
            }
        }
    }
}
