import ArgumentParser
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation

/// Where the gallery is and which key opens it.
struct GalleryOptions: ParsableArguments {
    @Option(help: "Gallery: SQLite path, sqlite:PATH or postgres://user:pass@host:port/db (default: $FACEGATE_DB or ~/.local/share/facegate/facegate.sqlite).")
    var db: String?

    /// Opens the gallery the way `serve` does (`StoreAccess`): `--db`, else the configuration's `[store]`, else the
    /// environment and the data directory. Commands with `--config` pass their loaded configuration; the others
    /// read the default one (FACEGATE_CONFIG, ~/.config/facegate/facegate.toml, /etc/facegate/facegate.toml).
    func open(config: FaceGateConfig? = nil) async throws -> (any Gallery, GalleryKey) {
        let cfg = try config ?? FaceGateConfig.load()
        let location = try StoreAccess.location(flag: db, config: cfg)
        let key = try StoreAccess.key(config: cfg)
        return (try await GalleryFactory.open(location, key: key), key)
    }
}

/// Converts gallery and identity errors into `FaceGateError` so `reportingErrors` prints them with the documented
/// exit status (2 for the user's input, 3 for runtime failures).
func withGalleryErrors<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() }
    catch let e as GalleryError { throw e.exitCode == 2 ? FaceGateError.badInput(e.description) : FaceGateError.runtime(e.description) }
    catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
}

/// Opens the gallery, runs `body`, closes it; errors reported as the CLI expects.
func usingGallery(_ options: GalleryOptions, config: ConfigOptions? = nil,
                  _ body: (any Gallery, GalleryKey) async throws -> Void) async throws {
    try await reportingErrors {
        try await withGalleryErrors {
            let (g, key) = try await options.open(config: try config?.load())
            do { try await body(g, key) } catch { await g.close(); throw error }
            await g.close()
        }
    }
}

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "List, inspect, rename, remove, export and import enrolled users.",
        discussion: """
        Templates are stored AES-256-GCM encrypted; the key comes from FACEGATE_KEY_FILE, FACEGATE_KEY (base64) or \
        ~/.local/share/facegate/facegate.key (created with mode 0600 on first use).
        """,
        subcommands: [UsersList.self, UsersShow.self, UsersRemove.self, UsersRename.self, UsersThreshold.self,
                      UsersExport.self, UsersImport.self])
}

struct UserJSON: Encodable {
    var name: String
    var key: String
    var templates: Int
    var threshold: Double?
    var created: String
    var thumbnail: Bool
    init(_ s: UserSummary) {
        name = s.name; key = s.key.uuidString; templates = s.templateCount; threshold = s.threshold
        created = ISO8601DateFormatter().string(from: s.created); thumbnail = s.hasThumbnail
    }
}

struct UsersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List enrolled users.")
    @OptionGroup var gallery: GalleryOptions
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        try await usingGallery(gallery) { g, _ in
            let users = try await g.listUsers()
            if json { print(jsonLine(users.map(UserJSON.init))); return }
            if users.isEmpty { print("no users enrolled in \(g.location) — enroll with `facegate enroll --user NAME …`"); return }
            for u in users {
                let t = u.threshold.map { String(format: ", threshold %.3f", $0) } ?? ""
                print("\(u.name)\t\(u.templateCount) template\(u.templateCount == 1 ? "" : "s")\(t)")
            }
        }
    }
}

struct UsersShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one user and their templates' metadata.")
    @Argument(help: "User name.") var name: String
    @Option(help: "Write the decrypted reference thumbnail (JPEG) to this file.") var thumbnail: String?
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    @Flag(help: "JSON output.") var json = false

    struct TemplateJSON: Encodable { var id: Int64; var pose: String; var quality: Double; var created: String }
    struct Out: Encodable { var user: UserJSON; var effective_threshold: Double; var template_list: [TemplateJSON] }

    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { g, _ in
            let u = try await g.user(named: name)
            let f = ISO8601DateFormatter()
            let ts = u.templates.map { TemplateJSON(id: $0.id, pose: $0.template.metadata.pose.rawValue,
                                                    quality: r($0.template.metadata.quality), created: f.string(from: $0.template.metadata.created)) }
            if let path = thumbnail {
                guard let jpeg = try await g.thumbnail(user: name) else {
                    throw FaceGateError.badInput("user '\(name)' has no reference thumbnail")
                }
                try jpeg.write(to: URL(fileURLWithPath: path))
            }
            let eff = IdentityPolicy(settings: try thresholdSettings(flag: nil, configOptions)).threshold(override: u.summary.threshold)
            if json { print(jsonLine(Out(user: UserJSON(u.summary), effective_threshold: eff, template_list: ts))); return }
            print("user \(u.name)  (key \(u.key.uuidString))")
            print("  created    \(f.string(from: u.summary.created))")
            print("  threshold  \(u.summary.threshold.map { String(format: "%.3f (per-user)", $0) } ?? String(format: "%.3f (global)", eff))")
            print("  thumbnail  \(u.summary.hasThumbnail ? "yes (encrypted)" : "no")")
            print("  templates  \(u.templates.count)")
            for t in ts { print("    #\(t.id)  pose \(t.pose)  quality \(t.quality)  \(t.created)") }
        }
    }
}

struct UsersRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a user and all their templates.")
    @Argument(help: "User name.") var name: String
    @OptionGroup var gallery: GalleryOptions
    func run() async throws {
        try await usingGallery(gallery) { g, _ in
            try await g.removeUser(named: name)
            print("removed \(name)")
        }
    }
}

struct UsersRename: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a user (templates are kept).")
    @Argument(help: "Current name.") var old: String
    @Argument(help: "New name.") var new: String
    @OptionGroup var gallery: GalleryOptions
    func run() async throws {
        try await usingGallery(gallery) { g, _ in
            try await g.renameUser(old, to: new)
            print("renamed \(old) → \(new)")
        }
    }
}

struct UsersThreshold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threshold", abstract: "Set or clear a user's own match threshold (Euclidean distance).",
        discussion: """
        Example: facegate users threshold alice 0.5   |   facegate users threshold alice --clear
        The value must lie in \(IdentityThreshold.allowedRange.lowerBound)…\(IdentityThreshold.allowedRange.upperBound) and may only be stricter (smaller) than the
        global threshold (identity.threshold in the config, else FACEGATE_IDENTITY_THRESHOLD, else \(IdentityThreshold.default)) unless --force.
        """)
    @Argument(help: "User name.") var name: String
    @Argument(help: "Threshold (smaller is stricter).") var value: Double?
    @Flag(help: "Use the global threshold again.") var clear = false
    @Flag(help: "Allow a threshold looser than the global one.") var force = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    func run() async throws {
        try await usingGallery(gallery) { g, _ in
            guard clear != (value != nil) else { throw FaceGateError.badInput("give either a threshold value or --clear") }
            if let v = value {
                try checkPerUserThreshold(v, global: try thresholdSettings(flag: nil, configOptions).global.value, force: force)
            }
            try await g.setThreshold(user: name, clear ? nil : value)
            print(clear ? "\(name): global threshold" : "\(name): threshold \(value!)")
        }
    }
}

struct UsersExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export all users to a JSON file (templates stay encrypted under the gallery key).")
    @Argument(help: "Output file (- for standard output).") var file: String
    @Flag(help: "Write raw embeddings instead (to move users to a gallery with another key). Protect the file!")
    var plaintext = false
    @OptionGroup var gallery: GalleryOptions
    func run() async throws {
        try await usingGallery(gallery) { g, key in
            let data = try await GalleryExport.export(g, key: key, plaintext: plaintext)
            if file == "-" { FileHandle.standardOutput.write(data); return }
            let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw FaceGateError.badInput("cannot write \(file): \(String(cString: strerror(errno)))") }
            let ok = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) } == data.count
            close(fd)
            guard ok else { throw FaceGateError.runtime("short write to \(file)") }
            let n = try await g.listUsers().count
            print("exported \(n) user\(n == 1 ? "" : "s") to \(file)\(plaintext ? " (PLAINTEXT embeddings)" : " (encrypted, key \(key.fingerprint))")")
        }
    }
}

struct UsersImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import users from an export file.")
    @Argument(help: "Export file.") var file: String
    @Flag(help: "Replace users that already exist (default: refuse the whole import).") var replace = false
    @OptionGroup var gallery: GalleryOptions
    func run() async throws {
        try await usingGallery(gallery) { g, key in
            guard let data = FileManager.default.contents(atPath: file) else { throw FaceGateError.missingFile(file) }
            let n = try await GalleryExport.importUsers(data, into: g, key: key, replace: replace)
            print("imported \(n) user\(n == 1 ? "" : "s") into \(g.location)")
        }
    }
}
