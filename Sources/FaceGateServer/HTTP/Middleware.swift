import FaceGateStore
import Foundation
import Hummingbird
import Logging

/// One structured log line and metrics per request. Logs the path without the query string (stream tokens
/// travel in the query) and never a header value.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let server: FaceGateServer

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let route = context.endpointPath ?? "unmatched"
        func done(_ status: Int) {
            let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            server.metrics.request(route: route, method: request.method.rawValue, status: status)
            server.metrics.requestLatency.record(secs)
            if route == "/healthz" || route == "/metrics" || route == "/readyz" { return }
            server.logger.info("request", metadata: [
                // Enrollment-link tokens are capabilities: their routes are logged by pattern, not by path (#17).
                "method": "\(request.method.rawValue)", "path": "\(route.contains("{token}") ? route : request.uri.path)", "status": "\(status)",
                "ms": "\(String(format: "%.1f", secs * 1000))", "ip": "\(context.peerIP)",
            ])
        }
        do {
            let r = try await next(request, context)
            done(Int(r.status.code))
            return r
        } catch let e as HTTPResponseError {
            done(Int(e.status.code))
            // A typed error answered 5xx by its own mapping (`FaceGateError`: models, runtime) keeps its detail here.
            if e.status.code >= 500, !(e is APIError) {
                server.logger.error("request failed", metadata: ["path": "\(route.contains("{token}") ? route : request.uri.path)", "error": "\(e)"])
            }
            throw e
        } catch GalleryError.wrongKey {
            // `facegate keys rotate` ran while this server holds the old key (#17): the gallery refuses its writes and
            // reads (nothing is sealed under a key nobody has); say so instead of a bare 500.
            done(503)
            if server.reloadsKey {
                // The gallery re-read its key file on this refusal (`Gallery.reloadKey`): the next request uses the new key.
                server.logger.warning("the gallery key was rotated while the server runs — reloading it from the key file")
                throw APIError(.serviceUnavailable, "gallery_key_changed",
                               "the gallery's key was rotated while this server runs — it reloads the new key; retry", retryAfter: 1)
            }
            server.logger.error("the gallery key was rotated while the server runs — restart facegate serve so it reads the new key")
            throw APIError(.serviceUnavailable, "gallery_key_changed",
                           "the gallery's key was rotated while this server runs — the operator must restart it with the new key", retryAfter: 30)
        } catch {
            done(500)
            server.logger.error("request failed", metadata: ["path": "\(route.contains("{token}") ? route : request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "internal", "internal error — see the server log")
        }
    }
}

/// Refuses state-changing requests (POST, PUT, PATCH, DELETE) whose `Origin` is another site: not this server's own
/// origin (its Host, or `--public-url`) and not on the `--cors-origin` list. Browsers always send Origin on such
/// requests, so a page elsewhere cannot create users or sessions through a visitor's browser (#17 item 1); backends
/// send no Origin and are not affected. `Origin: null` (sandboxed frames, file://) is foreign.
struct OriginCheckMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let origins: Set<String>
    let publicOrigin: String?
    init(origins: [String], publicURL: String?) {
        self.origins = Set(origins)
        publicOrigin = publicURL.flatMap { u in
            guard let c = URLComponents(string: u), let s = c.scheme, let h = c.host else { return nil }
            return "\(s)://\(h)\(c.port.map { ":\($0)" } ?? "")".lowercased()
        }
    }
    static let stateChanging: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard Self.stateChanging.contains(request.method), let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        if origins.contains(origin) || origin.lowercased() == publicOrigin { return try await next(request, context) }
        // Same origin: the Origin's host[:port] is the Host the request was sent to.
        if let host = request.head.authority?.lowercased(), let c = URLComponents(string: origin.lowercased()), let oh = c.host,
           ["http", "https"].contains(c.scheme ?? "") {
            let ohost = oh.contains(":") && !oh.hasPrefix("[") ? "[\(oh)]" : oh
            let candidates = [ohost + (c.port.map { ":\($0)" } ?? ""),
                              c.port == nil ? ohost + (c.scheme == "https" ? ":443" : ":80") : nil].compactMap { $0 }
            if candidates.contains(host) { return try await next(request, context) }
        }
        throw APIError(.forbidden, "foreign_origin",
                       "requests from \(origin) are not allowed — call the API from your backend, or list the origin with --cors-origin")
    }
}

/// CORS with an exact-match allow-list. Unlisted origins get no CORS headers (the browser blocks them);
/// preflight requests from listed origins are answered here.
struct CORSAllowListMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let origins: Set<String>
    init(origins: [String]) { self.origins = Set(origins) }
    /// Preflight answers are cached 10 minutes by the browser.
    static let maxAge = "600"

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: origin, .vary: "Origin",
                .accessControlAllowMethods: "GET, POST, DELETE, OPTIONS",
                .accessControlAllowHeaders: "Authorization, Content-Type, X-API-Key",
                .accessControlMaxAge: Self.maxAge,
            ])
        }
        var r = try await next(request, context)
        r.headers[.accessControlAllowOrigin] = origin
        r.headers[.vary] = "Origin"
        return r
    }
}
