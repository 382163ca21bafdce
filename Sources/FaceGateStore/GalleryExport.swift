import FaceGateCore
import Foundation

/// Portable gallery export (`facegate users export FILE` / `import FILE`): JSON with every user, their metadata and
/// templates. By default templates and thumbnails stay AES-GCM sealed under the gallery key (bound to the user's
/// stable key), so importing needs the same key; `plaintext` writes raw embeddings for migration between keys.
public struct GalleryExportFile: Codable, Sendable {
    public static let formatName = "facegate-gallery-export"
    public static let currentVersion = 1

    public struct Template: Codable, Sendable {
        public var pose: PoseBucket
        public var quality: Double
        public var created: Date
        /// Base64 of the sealed box (encrypted exports).
        public var sealed: String?
        /// Raw values (plaintext exports).
        public var embedding: [Float]?
    }
    public struct User: Codable, Sendable {
        public var key: UUID
        public var name: String
        public var threshold: Double?
        public var created: Date
        public var thumbnailSealed: String?
        public var thumbnail: String?
        public var templates: [Template]
    }

    public var format: String
    public var version: Int
    /// Fingerprint of the key the sealed fields are encrypted with; nil for plaintext exports.
    public var keyFingerprint: String?
    public var users: [User]
}

public enum GalleryExport {
    public static func export(_ gallery: any Gallery, key: GalleryKey, plaintext: Bool = false) async throws -> Data {
        guard key.fingerprint == gallery.keyFingerprint else {
            throw GalleryError.wrongKey(expected: gallery.keyFingerprint, got: key.fingerprint, source: key.source)
        }
        var users: [GalleryExportFile.User] = []
        for u in try await gallery.allUsers() {
            let thumb = try await gallery.thumbnail(user: u.name)
            var ts: [GalleryExportFile.Template] = []
            for t in u.templates {
                let m = t.template.metadata
                ts.append(GalleryExportFile.Template(
                    pose: m.pose, quality: m.quality, created: m.created,
                    sealed: plaintext ? nil : try RecordCrypto.sealTemplate(t.template.embedding, user: u.key, key: key).base64EncodedString(),
                    embedding: plaintext ? t.template.embedding.values : nil))
            }
            users.append(GalleryExportFile.User(
                key: u.key, name: u.name, threshold: u.summary.threshold, created: u.summary.created,
                thumbnailSealed: plaintext ? nil : try thumb.map { try RecordCrypto.seal($0, aad: RecordCrypto.thumbnailAAD(u.key), key: key).base64EncodedString() },
                thumbnail: plaintext ? thumb?.base64EncodedString() : nil,
                templates: ts))
        }
        let file = GalleryExportFile(format: GalleryExportFile.formatName, version: GalleryExportFile.currentVersion,
                                     keyFingerprint: plaintext ? nil : key.fingerprint, users: users)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.dateEncodingStrategy = .iso8601
        return try enc.encode(file)
    }

    /// Imports every user in one transaction (all or nothing); names that already exist fail the import unless
    /// `replace`. Returns the number of users imported.
    @discardableResult
    public static func importUsers(_ data: Data, into gallery: any Gallery, key: GalleryKey, replace: Bool = false) async throws -> Int {
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        let file: GalleryExportFile
        do { file = try dec.decode(GalleryExportFile.self, from: data) }
        catch { throw GalleryError.badLocation("not a FaceGate gallery export (\(error))") }
        guard file.format == GalleryExportFile.formatName, file.version <= GalleryExportFile.currentVersion else {
            throw GalleryError.badLocation("unsupported export format \(file.format) v\(file.version)")
        }
        if let fp = file.keyFingerprint, fp != key.fingerprint {
            throw GalleryError.wrongKey(expected: fp, got: key.fingerprint, source: key.source)
        }
        // Decode everything first so a bad record aborts before any write.
        var enrollments: [Enrollment] = []
        for u in file.users {
            var ts: [FaceTemplate] = []
            for t in u.templates {
                let e: Embedding
                if let s = t.sealed {
                    guard let box = Data(base64Encoded: s) else { throw GalleryError.corruptRecord(user: u.name, detail: "bad base64 in export") }
                    e = try RecordCrypto.openTemplate(box, user: u.key, userName: u.name, key: key)
                } else if let v = t.embedding {
                    e = Embedding(v)
                } else {
                    throw GalleryError.corruptRecord(user: u.name, detail: "template without data in export")
                }
                ts.append(FaceTemplate(embedding: e, metadata: TemplateMetadata(pose: t.pose, quality: t.quality, created: t.created)))
            }
            var thumb: Data?
            if let s = u.thumbnailSealed {
                guard let box = Data(base64Encoded: s), let j = RecordCrypto.open(box, aad: RecordCrypto.thumbnailAAD(u.key), key: key) else {
                    throw GalleryError.corruptRecord(user: u.name, detail: "thumbnail fails authentication")
                }
                thumb = j
            } else if let s = u.thumbnail { thumb = Data(base64Encoded: s) }
            enrollments.append(Enrollment(name: u.name, templates: ts, thumbnailJPEG: thumb, threshold: u.threshold,
                                          mode: replace ? .replace : .create, key: u.key, created: u.created))
        }
        if !replace {
            let existing = Set(try await gallery.listUsers().map(\.name))
            if let clash = enrollments.first(where: { existing.contains($0.name) }) { throw GalleryError.userExists(clash.name) }
        }
        try await gallery.enroll(batch: enrollments)
        return enrollments.count
    }
}
