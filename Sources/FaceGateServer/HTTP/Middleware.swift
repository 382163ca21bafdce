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
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
                "ms": "\(String(format: "%.1f", secs * 1000))", "ip": "\(context.peerIP)",
            ])
        }
        do {
            let r = try await next(request, context)
            done(Int(r.status.code))
            return r
        } catch let e as HTTPResponseError {
            done(Int(e.status.code))
            throw e
        } catch {
            done(500)
            server.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "internal", "internal error — see the server log")
        }
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
