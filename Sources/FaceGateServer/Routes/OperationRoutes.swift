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
            guard let d = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else {
                throw ServerStartError.resourcesMissing(name)
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

extension FaceGateServer {
    func addPageRoutes(_ router: Router<ServerContext>) {
        let assets = self.assets
        router.get("/") { _, _ in assets.response("index.html") }
        router.get("/enroll") { _, _ in assets.response("enroll.html") }
        router.get("/app.js") { _, _ in assets.response("app.js") }
        router.get("/style.css") { _, _ in assets.response("style.css") }
        router.get("/openapi.yaml") { _, _ in assets.response("openapi.yaml") }
    }

    struct Health: Encodable { var status: String }
    struct Ready: Encodable {
        var status: String
        var database: String
        var workers: Int
        var queueDepth: Int
        var activeSessions: Int
        var users: Int
        var saturated: Bool
    }

    func addOperationRoutes(_ router: Router<ServerContext>) {
        router.get("/healthz") { _, _ in try JSON.response(Health(status: "ok")) }
        router.get("/readyz") { _, _ in
            var db = "ok"
            do { try await self.store.ping() } catch { db = "unreachable" }
            let active = await self.sessions.count
            let depth = self.pool.queueDepth
            let saturated = active >= self.config.maxSessions || depth > self.config.maxQueue
            let shutting = await self.sessions.isShuttingDown
            let ok = db == "ok" && !shutting
            let r = Ready(status: shutting ? "shutting_down" : (ok ? "ready" : "not_ready"), database: db, workers: self.pool.count,
                          queueDepth: depth, activeSessions: active, users: await self.index.userCount, saturated: saturated)
            return try JSON.response(r, status: ok ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            self.metrics.queueDepth.set(Double(self.pool.queueDepth))
            self.metrics.activeSessions.set(Double(await self.sessions.count))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.render())))
        }
    }
}
