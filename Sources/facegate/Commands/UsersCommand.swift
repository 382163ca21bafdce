import ArgumentParser
import FaceGate
import FaceGateCore
import Foundation

/// `facegate users …`: parses, calls `GalleryAdministration` on the environment every front-end opens, prints.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "List, inspect, rename, remove, export and import enrolled users.",
        discussion: """
        Templates are stored AES-256-GCM encrypted; the key comes from [store] key_file / key in the configuration, \
        FACEGATE_KEY_FILE, FACEGATE_KEY (base64) or ~/.local/share/facegate/facegate.key (created with mode 0600 on first use).
        """,
        subcommands: [UsersList.self, UsersShow.self, UsersRemove.self, UsersRename.self, UsersThreshold.self,
                      UsersExport.self, UsersImport.self])
}

typealias UserJSON = GalleryAdministration.UserInfo

struct UsersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List enrolled users.")
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            let users = try await env.gallery.listUsers()
            if json { print(jsonLine(users.map(UserJSON.init))); return }
            if users.isEmpty { print("no users enrolled in \(env.gallery.location) — enroll with `facegate enroll --user NAME …`"); return }
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

    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            let u = try await GalleryAdministration.detail(of: name, in: env.gallery, policy: await env.index.policy, thumbnailTo: thumbnail)
            if json { print(jsonLine(u)); return }
            print("user \(u.user.name)  (key \(u.user.key))")
            print("  created    \(u.user.created)")
            print("  threshold  \(u.perUserThreshold.map { String(format: "%.3f (per-user)", $0) } ?? String(format: "%.3f (global)", u.effective_threshold))")
            print("  thumbnail  \(u.user.thumbnail ? "yes (encrypted)" : "no")")
            print("  templates  \(u.template_list.count)")
            for t in u.template_list { print("    #\(t.id)  pose \(t.pose)  quality \(t.quality)  \(t.created)") }
        }
    }
}

struct UsersRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a user and all their templates.")
    @Argument(help: "User name.") var name: String
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            try await env.gallery.removeUser(named: name)
            print("removed \(name)")
        }
    }
}

struct UsersRename: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a user (templates are kept).")
    @Argument(help: "Current name.") var old: String
    @Argument(help: "New name.") var new: String
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            try await env.gallery.renameUser(old, to: new)
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
        global threshold (FACEGATE_IDENTITY_THRESHOLD, else identity.threshold in the config, else \(IdentityThreshold.default)) unless --force.
        """)
    @Argument(help: "User name.") var name: String
    @Argument(help: "Threshold (smaller is stricter).") var value: Double?
    @Flag(help: "Use the global threshold again.") var clear = false
    @Flag(help: "Allow a threshold looser than the global one.") var force = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            guard clear != (value != nil) else { throw FaceGateError.badInput("give either a threshold value or --clear") }
            try await GalleryAdministration.setThreshold(user: name, to: value, in: env.gallery, policy: await env.index.policy, force: force)
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
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            let (data, n) = try await GalleryAdministration.export(env.gallery, key: env.key, plaintext: plaintext)
            if file == "-" { FileHandle.standardOutput.write(data); return }
            try GalleryAdministration.writePrivate(data, to: file)
            print("exported \(n) user\(n == 1 ? "" : "s") to \(file)\(plaintext ? " (PLAINTEXT embeddings)" : " (encrypted, key \(env.key.fingerprint))")")
        }
    }
}

struct UsersImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import users from an export file.")
    @Argument(help: "Export file.") var file: String
    @Flag(help: "Replace users that already exist (default: refuse the whole import).") var replace = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            let n = try await GalleryAdministration.importUsers(from: file, into: env.gallery, key: env.key, replace: replace)
            print("imported \(n) user\(n == 1 ? "" : "s") into \(env.gallery.location)")
        }
    }
}
