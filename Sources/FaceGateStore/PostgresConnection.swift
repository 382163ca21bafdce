import Foundation
import Logging
import PostgresNIO

/// Connection set-up shared by everything that talks to FaceGate's PostgreSQL database (the gallery and the
/// server's tables): one `PostgresClient` per URL, run by a task the owner cancels when it goes away.
extension PostgresURL {
    /// How long a connection attempt may take: a server that is down or unreachable is reported within seconds
    /// instead of hanging a command or a server start.
    public static let connectTimeout: Duration = .seconds(5)

    /// The postgres-nio configuration for this URL: host, port, credentials, database and TLS mode.
    public var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch self.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var config = PostgresClient.Configuration(host: host, port: port, username: user, password: password,
                                                  database: database, tls: tls)
        config.options.connectTimeout = Self.connectTimeout
        return config
    }

    /// A client for this URL and the task running it (cancel the task to close the client's connections).
    public func startClient(logger: Logger) -> (client: PostgresClient, runTask: Task<Void, Never>) {
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        return (client, Task { await client.run() })
    }
}
