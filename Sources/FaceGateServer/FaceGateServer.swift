import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// Errors that stop the server from starting. Each says what to do.
public enum ServerStartError: Error, CustomStringConvertible, Sendable {
    case noKeysOffLoopback(host: String)
    case resourcesMissing(String)
    public var description: String {
        switch self {
        case .noKeysOffLoopback(let h):
            return "refusing to listen on \(h) without an API key — create one with `facegate keys create --scope admin` (same --db), or bind 127.0.0.1 behind a TLS reverse proxy"
        case .resourcesMissing(let d): return "browser page resources are missing (\(d)) — rebuild with `swift build`"
        }
    }
}

/// The FaceGate HTTP + WebSocket server: state shared by every route.
public final class FaceGateServer: Sendable {
    public let config: ServerConfiguration
    public let store: any ServerStore
    public let gallery: any Gallery
    public let index: IdentityIndexService
    public let keys: KeyVerifier
    public let pool: WorkerPool
    public let metrics: ServerMetrics
    /// Failed-attempt lockout on the gallery's database (the table the CLI and `facegate audit unlock` use).
    public let lockout: LockoutGate
    public let sessions: SessionRegistry
    /// Audit, webhooks and mail for the server's decisions (nil: no actions configured).
    public let actions: ServerActions?
    let sealer: BlobSealer
    /// True when the server re-reads its key file after a rotation (`keyLoader`).
    let reloadsKey: Bool
    let keyLimiter: RateLimiter
    let ipLimiter: RateLimiter
    let assets: Assets
    public let logger: Logger

    /// Opens the database, loads the gallery index and one face engine per worker.
    /// - Parameters:
    ///   - actions: the `facegate.toml` configuration whose audit/webhooks/mail sections apply to the server's
    ///     decisions (`facegate serve` always passes it); nil runs without actions.
    ///   - auditPath: where audit records go instead of the default (the gallery's SQLite file; with PostgreSQL,
    ///     `audit.sqlite` in the data directory).
    ///   - keyLoader: reads the gallery key again (the key file): after `facegate keys rotate` the running server adopts
    ///     the new key on the first request that meets it (that request answers 503 gallery_key_changed, Retry-After 1),
    ///     instead of refusing until a restart (#17). nil: no reload.
    public init(config: ServerConfiguration, galleryKey: GalleryKey, actions actionsConfig: FaceGateConfig? = nil,
                auditPath: String? = nil, keyLoader: (@Sendable () throws -> GalleryKey)? = nil,
                logger: Logger = Logger(label: "facegate.server")) async throws {
        self.config = config
        self.logger = logger
        assets = try Assets.load()
        // Gallery, identity index and lockout gate, opened the one way every front-end opens them.
        let env = try await RuntimeEnvironment.open(location: config.database, key: galleryKey,
                                                    policy: IdentityPolicy(settings: config.thresholds),
                                                    lockout: config.lockoutEnabled ? config.lockout : nil, indexThreads: 1,
                                                    models: config.models, detector: config.detector, logger: logger)
        gallery = env.gallery
        if let keyLoader { gallery.setKeyLoader(keyLoader) }
        reloadsKey = keyLoader != nil
        index = env.index
        lockout = env.lockout
        store = try await ServerStoreFactory.open(config.database)
        await index.startFollowing()
        keys = KeyVerifier(store: store)
        // Each worker's engine with the embedding models loaded up front (`RuntimeEnvironment.engine`).
        pool = try WorkerPool(count: max(1, config.workers)) { try env.engine() }
        metrics = ServerMetrics()
        sessions = SessionRegistry()
        sealer = BlobSealer(gallery: gallery)
        keyLimiter = RateLimiter(config.keyRate)
        ipLimiter = RateLimiter(config.ipRate)
        if let actionsConfig {
            let a = try ServerActions(config: actionsConfig, database: config.database, galleryKey: galleryKey, auditPath: auditPath,
                                      logger: Logger(label: "facegate.actions"))
            await a.start()
            actions = a
        } else {
            actions = nil
        }
    }

    /// Refuses a non-loopback bind without any API key.
    public func checkBindPolicy() async throws {
        guard config.requireKeysOffLoopback, !ServerConfiguration.isLoopback(config.host) else { return }
        if try await keys.activeKeys() == 0 { throw ServerStartError.noKeysOffLoopback(host: config.host) }
    }

    /// Key-less mode: loopback bind and no API key was ever created (a local demo / `make run`); with
    /// `--insecure-local`, while no key is active. Revoking the last key never re-opens the server (#17 item 1).
    func localMode() async throws -> Bool {
        guard ServerConfiguration.isLoopback(config.host) else { return false }
        if config.insecureLocal { return try await keys.activeKeys() == 0 }
        return try await !keys.anyKeyEverCreated()
    }

    /// In key-less mode the request must be addressed to a loopback name (`Host: 127.0.0.1:8080`, `localhost`,
    /// `[::1]`): a page on another site that DNS-rebinds its own name to 127.0.0.1 sends its own name as Host.
    static func hostIsLoopback(_ authority: String?) -> Bool {
        guard let a = authority?.lowercased(), !a.isEmpty else { return false }
        var host = a
        if a.hasPrefix("[") { host = String(a.dropFirst().prefix { $0 != "]" }) }
        else if let colon = a.lastIndex(of: ":") { host = String(a[..<colon]) }
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    // MARK: application

    public func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: RequestLogMiddleware(server: self))
        router.add(middleware: CORSAllowListMiddleware(origins: config.corsOrigins))
        router.add(middleware: OriginCheckMiddleware(origins: config.corsOrigins, publicURL: config.publicURL))
        // Controllers on route groups: each group's `ScopeMiddleware` (API-key scope, rate limits) or
        // `IPLimitMiddleware` (capability tokens in the URL) guards its routes; handlers never check keys.
        OperationsController(server: self).addRoutes(to: router)
        let v1 = router.group("/v1")
        SessionsController(server: self).addRoutes(to: v1)
        UsersController(server: self).addRoutes(to: v1)
        EnrollmentLinksController(server: self).addRoutes(to: v1)
        RecognitionController(server: self).addRoutes(to: v1)
        PagesController(assets: assets).addRoutes(to: router)
        return router
    }

    func webSocketRouter() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        addStreamRoute(router)
        return router
    }

    /// The Hummingbird application (HTTP/1.1 with WebSocket upgrade), plus the janitor service.
    public func application(onRunning: (@Sendable (Int) async -> Void)? = nil) -> some ApplicationProtocol {
        let wsConfig = WebSocketServerConfiguration(maxFrameSize: config.maxFrameBytes * 2 + 64)
        // HTTP/1.1 with WebSocket upgrade, behind the first-request-head deadline (`HeaderDeadlineHandler`, #17).
        let wsResponder = webSocketRouter().buildResponder()
        let channelConfig = HTTP1WebSocketUpgradeChannel.Configuration(http1: .init(idleTimeout: .seconds(Int64(config.idleTimeout))), ws: wsConfig)
        let headerDeadline = TimeAmount.milliseconds(Int64(config.headerTimeout * 1000))
        var app = Application(
            router: router(),
            server: HTTPServerBuilder { responder in
                HeaderDeadlineChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: wsResponder,
                                                                          configuration: channelConfig),
                                      deadline: headerDeadline)
            },
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "FaceGate",
                                 availableConnectionsDelegate: MaximumAvailableConnections(config.maxConnections, logger: logger)),
            onServerRunning: { channel in await onRunning?(channel.localAddress?.port ?? 0) },
            logger: logger)
        app.addServices(Janitor(server: self))
        return app
    }

    /// Runs until SIGINT/SIGTERM; in-flight sessions are failed cleanly (close 1001) before the process exits.
    public func run() async throws {
        try await checkBindPolicy()
        let app = application()
        let local = try await localMode()
        logger.info("listening", metadata: ["address": "\(config.host):\(config.port)", "workers": "\(pool.count)",
                                            "db": "\(config.database)", "local_mode": "\(local)"])
        if local { logger.warning("no API key exists: loopback clients get admin rights without a key (create one with `facegate keys create`)") }
        try await app.runService()
        await shutdown()
    }

    /// Starts the server in the background (tests, benchmarks); returns the bound port and a stop function.
    public func start() async throws -> (port: Int, stop: @Sendable () async -> Void) {
        let (stream, cont) = AsyncStream.makeStream(of: Int.self)
        let app = application(onRunning: { port in cont.yield(port); cont.finish() })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await p in stream { port = p }
        let stopper: @Sendable () async -> Void = {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            await self.shutdown()
        }
        return (port, stopper)
    }

    public func shutdown() async {
        await sessions.shutdownAll()
        pool.shutdown()
        await index.stopFollowing()
        // The sessions failed above are audited before the delivery loops stop (undelivered items stay on disk).
        await actions?.stop()
        await lockout.store?.close()
    }

    // MARK: auth

    /// Authenticates a request: API key (Authorization: Bearer, or X-API-Key) or local mode; enforces the scope,
    /// the per-key and per-IP rate limits.
    func authorize(_ request: Request, _ context: ServerContext, _ needed: APIScope) async throws -> Principal {
        let ip = clientIP(request, context)
        if let wait = ipLimiter.take("ip:" + ip) { throw rateLimited(wait) }
        var presented: String?
        if let a = request.headers[.authorization] {
            let parts = a.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { presented = String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        if presented == nil, let x = request.headers[HTTPField.Name("X-API-Key")!] { presented = x }
        guard let presented, !presented.isEmpty else {
            if try await localMode() {
                guard Self.hostIsLoopback(request.head.authority) else {
                    throw APIError(.forbidden, "host_not_allowed",
                                   "without an API key this server only answers requests addressed to 127.0.0.1 or localhost — open http://127.0.0.1:\(config.port)/, or send an API key")
                }
                return Principal(id: "local", scope: .admin, ip: ip, key: nil)
            }
            throw APIError.unauthorized()
        }
        guard let rec = try await keys.verify(presented) else { throw APIError.unauthorized() }
        if let wait = keyLimiter.take("key:" + rec.id) { throw rateLimited(wait) }
        guard rec.scope.allows(needed) else { throw APIError.forbidden(needed) }
        return Principal(id: rec.id, scope: rec.scope, ip: ip, key: rec)
    }

    /// Per-IP limit only (routes authorised by a capability token, such as enrollment links).
    func limitIP(_ request: Request, _ context: ServerContext) throws -> String {
        let ip = clientIP(request, context)
        if let wait = ipLimiter.take("ip:" + ip) { throw rateLimited(wait) }
        return ip
    }

    func rateLimited(_ wait: Double) -> APIError {
        APIError(.tooManyRequests, "rate_limited", "too many requests — retry after \(Int(wait.rounded(.up))) s",
                 retryAfter: max(1, Int(wait.rounded(.up))))
    }

    func clientIP(_ request: Request, _ context: ServerContext) -> String { context.peerIP }

    /// Base URL for links and the websocket address: the configured public URL, else from the Host header.
    func baseURL(_ request: Request) -> (http: String, ws: String) {
        if let p = config.publicURL?.trimmingCharacters(in: CharacterSet(charactersIn: "/")) {
            let ws = p.hasPrefix("https://") ? "wss://" + p.dropFirst(8) : "ws://" + p.dropFirst(p.hasPrefix("http://") ? 7 : 0)
            return (p, String(ws))
        }
        let host = request.head.authority ?? "\(config.host):\(config.port)"
        return ("http://\(host)", "ws://\(host)")
    }
}

/// Expires sessions in the database and fails streaming sessions cleanly on shutdown.
struct Janitor: Service {
    let server: FaceGateServer
    /// Every 5 s: session expiry (2 min) is then visible within 5 s even on instances that did not run the stream.
    static let period: Duration = .seconds(5)

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                _ = try? await server.store.expireSessions(now: Date())
                _ = try? await server.store.purgeSessions(expiredBefore: Date().addingTimeInterval(-server.config.sessionRetention))
                server.metrics.queueDepth.set(Double(server.pool.queueDepth))
                try? await Task.sleep(for: Self.period)
            }
        } onGracefulShutdown: {
            Task { await server.sessions.shutdownAll() }
        }
    }
}
