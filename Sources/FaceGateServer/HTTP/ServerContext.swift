import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Per-request context: WebSocket upgrade support and the peer address (for per-IP limits and lockout).
public struct ServerContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<ServerContext>
    public let remoteAddress: SocketAddress?
    /// Who made the request: set by `ScopeMiddleware` on the routes it guards (nil on public and capability routes).
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }

    /// Peer IP as text ("unknown" if the transport has none).
    public var peerIP: String { remoteAddress?.ipAddress ?? "unknown" }

    /// The caller of a route behind `ScopeMiddleware`; a route registered outside one has no caller (401).
    func caller() throws -> Principal {
        guard let principal else { throw APIError.unauthorized() }
        return principal
    }
}

/// Who made a request.
public struct Principal: Sendable {
    /// API key id, or "local" for the key-less loopback mode, or "link" for an enrollment link.
    public var id: String
    public var scope: APIScope
    public var ip: String
    public var key: APIKeyRecord?
}
