import FaceGateActions
import FaceGateCore
import Foundation
import HTTPTypes
import Hummingbird

/// Static files of the browser page and the OpenAPI document, read once from the module's resources.
struct Assets: Sendable {
    struct File: Sendable { var data: Data; var type: String }
    var files: [String: File]

    static let served: [(name: String, type: String)] = [
        ("index.html", "text/html; charset=utf-8"),
        ("enroll.html", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("openapi.yaml", "application/yaml; charset=utf-8"),
    ]

    static func directory() throws -> URL {
        if let u = Bundle.module.url(forResource: "Public", withExtension: nil) { return u }
        throw ServerStartError.resourcesMissing("Public directory not in the FaceGateServer bundle")
    }

    static func load() throws -> Assets {
        let dir = try directory()
        var files: [String: File] = [:]
        for (name, type) in served {
            guard var d = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else {
                throw ServerStartError.resourcesMissing(name)
            }
            if name.hasSuffix(".html") {
                d = Data(try PageIncludes.expand(String(decoding: d, as: UTF8.self), name: name) { fragment in
                    FileManager.default.contents(atPath: dir.appendingPathComponent(fragment).path).map { String(decoding: $0, as: UTF8.self) }
                }.utf8)
            }
            files[name] = File(data: d, type: type)
        }
        return Assets(files: files)
    }

    /// The OpenAPI document (the same bytes served at /openapi.yaml).
    public static func openAPIText() throws -> String {
        let d = try Data(contentsOf: directory().appendingPathComponent("openapi.yaml"))
        return String(decoding: d, as: UTF8.self)
    }

    func response(_ name: String) -> Response {
        guard let f = files[name] else { return Response(status: .notFound) }
        var headers: HTTPFields = [.contentType: f.type, .cacheControl: "no-cache"]
        if f.type.hasPrefix("text/html") {
            // The page loads only its own script and style; camera frames go only to this origin.
            headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'"
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: f.data)))
    }
}

/// The browser pages and the OpenAPI document (public).
struct PagesController {
    let assets: Assets

    func addRoutes(to router: Router<ServerContext>) {
        let assets = self.assets
        router.get("/") { _, _ in assets.response("index.html") }
        router.get("/enroll") { _, _ in assets.response("enroll.html") }
        router.get("/app.js") { _, _ in assets.response("app.js") }
        router.get("/style.css") { _, _ in assets.response("style.css") }
        router.get("/openapi.yaml") { _, _ in assets.response("openapi.yaml") }
    }
}

/// Health, readiness and metrics (public; `/readyz` adds the gallery size for an authorised caller) and the audit
/// log (admin key).
struct OperationsController {
    let server: FaceGateServer

    func addRoutes(to router: Router<ServerContext>) {
        router.get("/healthz") { _, _ in try JSON.response(FaceGateServer.Health(status: "ok")) }
        router.get("/readyz", use: ready)
        router.get("/metrics", use: metrics)
        router.group("/v1", scope: .admin, server: server)
            .get("audit", use: audit)
    }

    @Sendable func ready(_ request: Request, context: ServerContext) async throws -> Response {
        var db = "ok"
        do { try await server.store.ping() } catch { db = "unreachable" }
        let active = await server.sessions.count
        let depth = server.pool.queueDepth
        let saturated = active >= server.config.maxSessions || depth > server.config.maxQueue
        let shutting = await server.sessions.isShuttingDown
        let ok = db == "ok" && !shutting
        var r = FaceGateServer.Ready(status: shutting ? "shutting_down" : (ok ? "ready" : "not_ready"), database: db,
                                     workers: server.pool.count, queueDepth: depth, activeSessions: active, users: nil, saturated: saturated)
        // Optional authorisation: a caller with a key (or key-less local mode) also learns the gallery size.
        let presented = request.headers[.authorization] != nil || request.headers[HTTPField.Name("X-API-Key")!] != nil
        let local = (try? await server.localMode()) == true
        if presented || local, (try? await server.authorize(request, context, .verify)) != nil {
            r.users = await server.index.userCount
        }
        return try JSON.response(r, status: ok ? .ok : .serviceUnavailable)
    }

    @Sendable func metrics(_ request: Request, context: ServerContext) async throws -> Response {
        server.metrics.queueDepth.set(Double(server.pool.queueDepth))
        server.metrics.activeSessions.set(Double(await server.sessions.count))
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: server.metrics.render())))
    }

    @Sendable func audit(_ request: Request, context: ServerContext) async throws -> Response {
        try server.auditResponse(request)
    }
}

extension FaceGateServer {
    struct Health: Encodable { var status: String }
    struct Ready: Encodable {
        var status: String
        var database: String
        var workers: Int
        var queueDepth: Int
        var activeSessions: Int
        /// Only for an authorised caller (an API key, or key-less local mode): the gallery size is not public.
        var users: Int?
        var saturated: Bool
    }

    /// Largest `limit` of `GET /v1/audit` (one page; narrow with `since`/`user`/`decision`).
    static let maxAuditLimit = 1000

    /// `GET /v1/audit?limit=N[&user=U][&decision=authorized|denied][&since=24h|ISO-8601]`: audit records of this
    /// instance, newest first, as `{"records":[…]}` (the `facegate audit --json` fields; snapshots stay encrypted and
    /// are referenced, never sent).
    func auditResponse(_ request: Request) throws -> Response {
        guard let actions, actions.dispatcher.audit != nil else {
            throw APIError(.notFound, "audit_disabled", "the audit log is off on this server — set [audit] enabled = true in the configuration passed with `facegate serve --config`")
        }
        let qp = request.uri.queryParameters
        var q = AuditQuery(limit: 100)
        if let l = qp["limit"] {
            guard let n = Int(String(l)), (1...Self.maxAuditLimit).contains(n) else {
                throw APIError.badRequest("'limit' must be 1…\(Self.maxAuditLimit)")
            }
            q.limit = n
        }
        if let u = qp["user"], !u.isEmpty { q.user = String(u) }
        if let d = qp["decision"] {
            guard let o = Decision.Outcome(rawValue: String(d)) else { throw APIError.badRequest("'decision' must be authorized or denied") }
            q.decision = o
        }
        if let since = qp["since"] {
            guard let t = AuditQuery.parseSince(String(since)) else {
                throw APIError.badRequest("'since' must be a duration such as 24h or an ISO-8601 date")
            }
            q.since = t
        }
        let records = try actions.records(q) ?? []
        // {"records":[<AuditRecord JSON>…]} with the audit log's own encoding (snake_case, fractional-second times).
        var body = Data(#"{"records":["#.utf8)
        for (i, r) in records.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body.append(try AuditRecord.encoder.encode(r))
        }
        body.append(contentsOf: Array("]}".utf8))
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
