import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateServer
import Foundation

/// Options shared by the API-key subcommands: where the server's database is.
struct APIKeyStoreOptions: ParsableArguments {
    @Option(help: "Database (same as `facegate serve --db`): SQLite path or postgres:// URL.") var db: String?
    @Option(help: "Configuration file.") var config: String?

    func open() async throws -> any ServerStore {
        let cfg = try? FaceGateConfig.load(explicit: config)
        return try await ServerStoreFactory.open(try ServerSetup.location(flag: db, config: cfg))
    }
}

struct KeysCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a server API key (printed once; only its SHA-256 is stored).",
        discussion: """
        Scopes: verify (sessions, verify, identify) < enroll (+ users, templates, enrollment links) < admin (+ delete users, seeded plans).
        Example: facegate keys create --scope verify --name kiosk-1
        """)
    @Option(help: "verify, enroll or admin.") var scope: String
    @Option(help: "A label for the key (who uses it).") var name: String = "default"
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var storeOptions: APIKeyStoreOptions

    struct Out: Encodable { var id: String; var key: String; var scope: String; var name: String }

    func run() async throws {
        try await reportingErrors {
            guard let s = APIScope(rawValue: scope.lowercased()) else {
                throw FaceGateError.badInput("--scope must be verify, enroll or admin, not '\(scope)'")
            }
            let store = try await storeOptions.open()
            defer { Task { await store.close() } }
            let made = try await APIKeys.create(in: store, name: name, scope: s)
            if json {
                print(jsonLine(Out(id: made.record.id, key: made.key, scope: s.rawValue, name: name)))
            } else {
                print(made.key)
                printError("created \(s.rawValue) key \(made.record.id) (\(name)) — store it now, it is not shown again")
            }
        }
    }
}

struct KeysListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List server API keys (ids and scopes, never secrets).")
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var storeOptions: APIKeyStoreOptions

    struct Out: Encodable { var id: String; var name: String; var scope: String; var created: String; var revoked: String? }

    func run() async throws {
        try await reportingErrors {
            let store = try await storeOptions.open()
            defer { Task { await store.close() } }
            let f = ISO8601DateFormatter()
            let rows = try await store.listKeys().map {
                Out(id: $0.id, name: $0.name, scope: $0.scope.rawValue, created: f.string(from: $0.created), revoked: $0.revoked.map(f.string))
            }
            if json { print(jsonLine(rows)); return }
            if rows.isEmpty { print("no API keys — create one with `facegate keys create --scope verify`"); return }
            for r in rows {
                print("\(r.id)  \(r.scope.padding(toLength: 6, withPad: " ", startingAt: 0))  \(r.name)  created \(r.created)\(r.revoked.map { "  REVOKED \($0)" } ?? "")")
            }
        }
    }
}

struct KeysRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a server API key by id (takes effect within 5 s on every instance).")
    @Argument(help: "Key id (the 12 hex digits after 'fgk.').") var id: String
    @OptionGroup var storeOptions: APIKeyStoreOptions

    func run() async throws {
        try await reportingErrors {
            let store = try await storeOptions.open()
            defer { Task { await store.close() } }
            let keyID = APIKeys.id(of: id) ?? id
            guard try await store.revokeKey(id: keyID, at: Date()) else {
                throw FaceGateError.badInput("no active API key '\(keyID)' — see `facegate keys list`")
            }
            print("revoked \(keyID)")
        }
    }
}
