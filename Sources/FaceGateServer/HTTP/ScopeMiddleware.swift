import FaceGateStore
import Foundation
import Hummingbird

/// Guards a route group with an API-key scope: authenticates the request (API key, or key-less local mode), applies
/// the per-IP and per-key rate limits and the scope (`FaceGateServer.authorize`), and hands the caller to the route
/// as `context.principal`. Every `/v1` route that needs a key is registered in a group with one of these; a route
/// itself never checks keys.
struct ScopeMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let server: FaceGateServer
    let scope: APIScope

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = try await server.authorize(request, context, scope)
        return try await next(request, context)
    }
}

/// Guards a route group authorised by a capability in its URL (an enrollment-link token, a stream token) instead of
/// an API key: the per-IP rate limit only.
struct IPLimitMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let server: FaceGateServer

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        _ = try server.limitIP(request, context)
        return try await next(request, context)
    }
}

extension RouterMethods where Context == ServerContext {
    /// A group of routes under `path` that need `scope` (see `ScopeMiddleware`).
    func group(_ path: RouterPath = "", scope: APIScope, server: FaceGateServer) -> RouterGroup<ServerContext> {
        group(path).add(middleware: ScopeMiddleware(server: server, scope: scope))
    }

    /// A group of routes under `path` authorised by a capability token in the URL (see `IPLimitMiddleware`).
    func capabilityGroup(_ path: RouterPath = "", server: FaceGateServer) -> RouterGroup<ServerContext> {
        group(path).add(middleware: IPLimitMiddleware(server: server))
    }
}
