import ArgumentParser
import FaceGate
import FaceGateActions
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation

/// `facegate keys rotate`: re-encrypts every template and thumbnail under a new key in one transaction.
struct KeysRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Re-encrypt the template gallery under a new key (one transaction).",
        discussion: """
        With a key file (store.key_file, FACEGATE_KEY_FILE or the default ~/.local/share/facegate/facegate.key) the new key is written \
        next to it first (KEYFILE.new), the gallery is re-encrypted, then the new key replaces the file and the old \
        one is kept as KEYFILE.old. With FACEGATE_KEY from the environment pass --new-key-file PATH and set \
        FACEGATE_KEY_FILE=PATH (or FACEGATE_KEY to its contents) afterwards.
        """)
    @Option(help: "Write the new key here instead of replacing the current key file.") var newKeyFile: String?
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions

    func run() async throws {
        try await usingGallery(gallery, config: configOptions) { env in
            let g = env.gallery, old = env.key
            // The same resolution that opened the gallery names the file to replace (a configured store.key_file
            // included), so the new key never lands beside a different key than the one in use.
            let currentFile = StoreAccess.keyFile(config: try configOptions.load())
            guard newKeyFile != nil || currentFile != nil else {
                throw FaceGateError.badInput("the current key is given as material (store.key, FACEGATE_KEY or FACEGATE_STORE_KEY): pass --new-key-file PATH for the new key")
            }
            let target = newKeyFile ?? (currentFile! + ".new")
            let new = GalleryKey.generate(source: "key file \(newKeyFile ?? currentFile!)")
            try new.write(to: target, exclusive: newKeyFile != nil)
            let n: Int
            do { n = try await g.rotateKey(to: new) } catch {
                if newKeyFile == nil { try? FileManager.default.removeItem(atPath: target) }
                throw error
            }
            if newKeyFile == nil, let cur = currentFile {
                try GalleryKey.install(target, over: cur)
                print("re-encrypted \(n) record\(n == 1 ? "" : "s") in \(g.location): key \(old.fingerprint) → \(new.fingerprint)")
                print("new key in \(cur); previous key kept in \(cur).old (delete it once backups are re-made)")
            } else {
                print("re-encrypted \(n) record\(n == 1 ? "" : "s") in \(g.location): key \(old.fingerprint) → \(new.fingerprint)")
                print("new key written to \(target) — use it from now on: export FACEGATE_KEY_FILE=\(target)")
            }
        }
    }
}
