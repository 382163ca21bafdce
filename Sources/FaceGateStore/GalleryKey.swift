import Crypto
import FaceGateCore
import Foundation

/// The AES-256-GCM key that encrypts templates and thumbnails at rest.
public struct GalleryKey: @unchecked Sendable {  // SymmetricKey is an immutable value
    public let key: SymmetricKey
    /// Where the key came from (for messages): a file path or an environment variable name.
    public let source: String

    public init(_ key: SymmetricKey, source: String) throws {
        guard key.bitCount == 256 else { throw GalleryError.badKey("key from \(source) has \(key.bitCount / 8) bytes, need 32") }
        self.key = key; self.source = source
    }

    /// A fresh random key.
    public static func generate(source: String = "generated") -> GalleryKey {
        // bitCount is 256 by construction.
        try! GalleryKey(SymmetricKey(size: .bits256), source: source)
    }

    /// Parses base64 text (surrounding whitespace ignored) or exactly 32 raw bytes.
    public init(material: Data, source: String) throws {
        if let text = String(data: material, encoding: .utf8),
           let d = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), d.count == 32 {
            try self.init(SymmetricKey(data: d), source: source)
        } else if material.count == 32 {
            try self.init(SymmetricKey(data: material), source: source)
        } else {
            throw GalleryError.badKey("\(source) is neither base64 of 32 bytes nor 32 raw bytes")
        }
    }

    /// Short public identifier of the key (safe to print): first 8 bytes of SHA-256 over a domain tag and the key.
    public var fingerprint: String {
        var h = SHA256()
        h.update(data: Data("facegate-key-id-v1".utf8))
        key.withUnsafeBytes { h.update(bufferPointer: $0) }
        return h.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Base64 of the key (to write a key file).
    public var base64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    /// `FACEGATE_KEY_FILE`, else `FACEGATE_KEY` (base64), else `<data dir>/facegate.key`, created with mode 0600
    /// on first use.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment,
                               createIfMissing: Bool = true) throws -> GalleryKey {
        if let f = environment["FACEGATE_KEY_FILE"], !f.isEmpty {
            return try load(file: GalleryLocation.expand(f))
        }
        if let k = environment["FACEGATE_KEY"], !k.isEmpty {
            return try GalleryKey(material: Data(k.utf8), source: "environment variable FACEGATE_KEY")
        }
        let path = defaultKeyPath(environment: environment)
        if !FileManager.default.fileExists(atPath: path) && createIfMissing {
            return try create(file: path)
        }
        return try load(file: path)
    }

    public static func defaultKeyPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        GalleryLocation.dataDirectory(environment: environment) + "/facegate.key"
    }

    public static func load(file path: String) throws -> GalleryKey {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GalleryError.badKey("key file \(path) does not exist")
        }
        guard let d = FileManager.default.contents(atPath: path) else {
            throw GalleryError.badKey("cannot read key file \(path) (permissions?)")
        }
        return try GalleryKey(material: d, source: "key file \(path)")
    }

    /// Writes a new random key to `path` (mode 0600, directory 0700); fails if the file exists.
    public static func create(file path: String) throws -> GalleryKey {
        let k = generate(source: "key file \(path)")
        try k.write(to: path, exclusive: true)
        return k
    }

    /// Writes this key (base64 + newline) with mode 0600. `exclusive` refuses to overwrite.
    public func write(to path: String, exclusive: Bool) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        let flags = O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            throw GalleryError.badKey("cannot create key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array((base64 + "\n").utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw GalleryError.badKey("cannot write key file \(path): \(String(cString: strerror(errno)))")
        }
        try Self.syncDirectory(of: path)
    }

    /// After `keys rotate` re-keyed the gallery: the current key file becomes `current.old` and `newPath` takes its
    /// place. The directory is fsync'd after each rename (#17), so after a crash the gallery's key is always on disk
    /// under one of the three names (`write` syncs the new file's entry before the gallery is re-keyed).
    public static func install(_ newPath: String, over current: String) throws {
        let old = current + ".old"
        if unlink(old) != 0 && errno != ENOENT {
            throw GalleryError.badKey("cannot remove \(old): \(String(cString: strerror(errno))) — the new key is in \(newPath)")
        }
        guard rename(current, old) == 0 else {
            throw GalleryError.badKey("cannot move \(current) to \(old): \(String(cString: strerror(errno))) — the new key is in \(newPath)")
        }
        try syncDirectory(of: current)
        guard rename(newPath, current) == 0 else {
            throw GalleryError.badKey("cannot move \(newPath) to \(current): \(String(cString: strerror(errno))) — the gallery now uses the key in \(newPath)")
        }
        try syncDirectory(of: current)
    }

    /// fsync of the directory holding `path`, so a rename or a new file's entry survives a crash.
    static func syncDirectory(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw GalleryError.badKey("cannot open directory \(dir): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw GalleryError.badKey("cannot sync directory \(dir): \(String(cString: strerror(errno)))") }
    }
}

/// Sealing of stored records. Each record is AES-256-GCM with associated data naming what it is and whose it is,
/// so a ciphertext moved to another user or column fails to open.
enum RecordCrypto {
    static let keyCheckPlaintext = Data("facegate key check v1".utf8)
    static let keyCheckAAD = Data("facegate.keycheck.v1".utf8)
    static let templateVersion: UInt8 = 1

    static func templateAAD(_ user: UUID) -> Data { Data("facegate.template.v1|\(user.uuidString)".utf8) }
    static func thumbnailAAD(_ user: UUID) -> Data { Data("facegate.thumbnail.v1|\(user.uuidString)".utf8) }

    static func seal(_ plain: Data, aad: Data, key: GalleryKey) throws -> Data {
        do {
            guard let c = try AES.GCM.seal(plain, using: key.key, authenticating: aad).combined else {
                throw GalleryError.database("AES-GCM produced no combined box")
            }
            return c
        } catch let e as GalleryError { throw e } catch { throw GalleryError.database("encryption failed: \(error)") }
    }

    /// nil when the box does not authenticate under this key and associated data.
    static func open(_ box: Data, aad: Data, key: GalleryKey) -> Data? {
        guard let b = try? AES.GCM.SealedBox(combined: box) else { return nil }
        return try? AES.GCM.open(b, using: key.key, authenticating: aad)
    }

    static func keyCheck(_ key: GalleryKey) throws -> Data { try seal(keyCheckPlaintext, aad: keyCheckAAD, key: key) }

    static func verifyKeyCheck(_ box: Data, key: GalleryKey) -> Bool {
        open(box, aad: keyCheckAAD, key: key) == keyCheckPlaintext
    }

    /// Version byte + 128 little-endian float32.
    static func encodeEmbedding(_ e: Embedding) throws -> Data {
        guard e.values.count == Embedding.dimension else {
            throw GalleryError.invalidTemplate("embedding has \(e.values.count) values, expected \(Embedding.dimension)")
        }
        guard e.values.allSatisfy({ $0.isFinite }) else { throw GalleryError.invalidTemplate("embedding has non-finite values") }
        var d = Data([templateVersion])
        d.reserveCapacity(1 + 4 * e.values.count)
        for v in e.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    static func decodeEmbedding(_ d: Data) -> Embedding? {
        var out = [Float](repeating: 0, count: Embedding.dimension)
        let ok = out.withUnsafeMutableBufferPointer { o in d.withUnsafeBytes { decodeEmbedding($0, into: o.baseAddress!) } }
        guard ok, out.allSatisfy({ $0.isFinite }) else { return nil }
        return Embedding(out)
    }

    /// Plaintext size of a sealed template: version byte + 128 little-endian float32.
    static let templatePlaintextBytes = 1 + 4 * Embedding.dimension
    /// Size of a sealed template: nonce + plaintext + tag.
    static let sealedTemplateBytes = 12 + templatePlaintextBytes + 16

    /// Decodes version byte + 128 little-endian floats into `out` (finiteness is left to the caller).
    static func decodeEmbedding(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>) -> Bool {
        guard raw.count == templatePlaintextBytes, raw.first == templateVersion else { return false }
        for i in 0..<Embedding.dimension {
            out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 1 + 4 * i, as: UInt32.self)))
        }
        return true
    }

    /// Associated data of a user's templates as bytes (the bulk loader keeps one per user).
    static func templateAADBytes(_ user: UUID) -> [UInt8] { Array("facegate.template.v1|\(user.uuidString)".utf8) }

    /// Opens a sealed template straight into `out` (128 floats), without an intermediate `Embedding`. Throws the same
    /// errors as `openTemplate`.
    static func openTemplate(_ box: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, userName: String, key: SymmetricKey,
                             into out: UnsafeMutablePointer<Float>) throws {
        let plain: Data
        do { plain = try AES.GCM.open(AES.GCM.SealedBox(combined: box), using: key, authenticating: aad) } catch {
            throw GalleryError.corruptRecord(user: userName, detail: "a template fails authentication (altered or damaged ciphertext)")
        }
        guard plain.withUnsafeBytes({ decodeEmbedding($0, into: out) }) else {
            throw GalleryError.corruptRecord(user: userName, detail: "a template decrypts but is not a valid embedding")
        }
    }

    /// v1 (user-bound only): the sealed export format and the migration of v1 galleries use it; stored rows use
    /// `TemplateAAD` (v2).
    static func sealTemplate(_ e: Embedding, user: UUID, key: GalleryKey) throws -> Data {
        try seal(encodeEmbedding(e), aad: templateAAD(user), key: key)
    }

    /// Seals a stored template row under the v2 associated data (`TemplateAAD`).
    static func sealTemplate(_ e: Embedding, _ aad: TemplateAAD, row: Int64, key: GalleryKey) throws -> Data {
        try seal(encodeEmbedding(e), aad: aad.bytes(row: row), key: key)
    }

    /// Opens a stored template row sealed under the v2 associated data; `corruptRecord` when it does not authenticate
    /// (altered, moved to another row or user, or the user's name/threshold changed behind the gallery's back).
    static func openTemplate(_ box: Data, _ aad: TemplateAAD, row: Int64, userName: String, key: GalleryKey) throws -> Embedding {
        guard let plain = open(box, aad: aad.bytes(row: row), key: key) else {
            throw GalleryError.corruptRecord(user: userName, detail: "a template fails authentication (altered, moved or damaged ciphertext)")
        }
        guard let e = decodeEmbedding(plain) else {
            throw GalleryError.corruptRecord(user: userName, detail: "a template decrypts but is not a valid embedding")
        }
        return e
    }

    /// Blobs other tables of the same database seal with the gallery key and no associated data (the server's
    /// session embeddings, `BlobSealer`): `keys rotate` re-seals them in its transaction.
    static func openUnbound(_ box: Data, key: GalleryKey) -> Data? {
        guard let b = try? AES.GCM.SealedBox(combined: box) else { return nil }
        return try? AES.GCM.open(b, using: key.key)
    }

    static func sealUnbound(_ plain: Data, key: GalleryKey) throws -> Data {
        do {
            guard let c = try AES.GCM.seal(plain, using: key.key).combined else { throw GalleryError.database("AES-GCM produced no combined box") }
            return c
        } catch let e as GalleryError { throw e } catch { throw GalleryError.database("encryption failed: \(error)") }
    }

    static func openTemplate(_ box: Data, user: UUID, userName: String, key: GalleryKey) throws -> Embedding {
        guard let plain = open(box, aad: templateAAD(user), key: key) else {
            throw GalleryError.corruptRecord(user: userName, detail: "a template fails authentication (altered or damaged ciphertext)")
        }
        guard let e = decodeEmbedding(plain) else {
            throw GalleryError.corruptRecord(user: userName, detail: "a template decrypts but is not a valid embedding")
        }
        return e
    }
}

/// Associated data of a stored template, version 2 (#17). v1 bound only the user's key, so a ciphertext could be moved
/// to another row of the same user and the user row's name and threshold (plain columns) could be swapped or raised
/// without any template failing to open. v2 binds
///
///     facegate.template.v2|<user UUID>|<name byte count>:<name>|t<threshold bits, 16 hex, or ->|k<key version>|r<row id>
///
/// — the user, their name and threshold (so renaming a row to another user's name, or raising its threshold in the
/// database, makes every template of the row fail to open), the gallery's key version (`meta.key_version`, raised by
/// every rotation, so a row sealed before a rotation cannot be replayed after rotating back to an old key) and the
/// template's row id (row ids are never reused: AUTOINCREMENT / BIGSERIAL). `renameUser`, `setThreshold` and an
/// enrollment that changes the threshold re-seal the user's templates in the same transaction.
struct TemplateAAD: Sendable {
    /// Everything but the row id (which ends the associated data as decimal digits).
    let prefix: [UInt8]

    init(user: UUID, name: String, threshold: Double?, keyVersion: Int64) {
        let n = Array(name.utf8)
        let t = threshold.map { String($0.bitPattern, radix: 16).leftPadded(to: 16) } ?? "-"
        prefix = Array("facegate.template.v2|\(user.uuidString)|\(n.count):".utf8) + n + Array("|t\(t)|k\(keyVersion)|r".utf8)
    }

    func bytes(row: Int64) -> Data {
        var d = Data(prefix)
        d.append(contentsOf: Array(String(row).utf8))
        return d
    }

    /// Longest row suffix: an Int64 in decimal with its sign.
    static let maxRowDigits = 20

    /// Writes `prefix` + the decimal row id to `out` (room for `prefix.count + maxRowDigits` bytes); returns the length.
    /// The bulk loader's hot loop: no String, no allocation.
    static func write(prefix: UnsafeRawBufferPointer, row: Int64, to out: UnsafeMutableRawPointer) -> Int {
        out.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count)
        var n = prefix.count
        var v = row.magnitude
        if row < 0 { out.storeBytes(of: UInt8(ascii: "-"), toByteOffset: n, as: UInt8.self); n += 1 }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes of scratch, reversed digits
        let count = withUnsafeMutableBytes(of: &digits) { d -> Int in
            var k = 0
            repeat { d[k] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; k += 1 } while v > 0
            return k
        }
        withUnsafeBytes(of: &digits) { d in
            for i in 0..<count { out.storeBytes(of: d[count - 1 - i], toByteOffset: n + i, as: UInt8.self) }
        }
        return n + count
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
