import Crypto
import FaceGateCore
import Foundation

/// A `GalleryIndex` built from one consistent snapshot of a gallery, with the change-log position it reflects
/// (changes after `changeSeq` are applied by `IdentityIndexService.refresh`).
public struct LoadedIndex: @unchecked Sendable {   // the index is freshly built and handed over whole, never shared
    public let index: GalleryIndex
    public let changeSeq: Int64
    public init(index: GalleryIndex, changeSeq: Int64) { self.index = index; self.changeSeq = changeSeq }
}

/// One user as the bulk loader sees them: database id, stable key, name, threshold and template count (all from
/// the same snapshot as the template rows).
struct IndexLoadUser {
    var dbID: Int64
    var uid: String
    var name: String
    var threshold: Double?
    var templateCount: Int
}

/// Builds a `GalleryIndex` from sealed template rows streamed by a backend, without per-row records.
///
/// The backend first declares every user with their template count, then hands over rows in any order
/// (`add(userID:row:box:)`, the sealed bytes are copied, so the caller may reuse its buffer). Each user's templates get a
/// contiguous range of index entries. Rows are buffered in batches; a full batch is opened (AES-GCM) and quantised
/// straight into the index's storage on `threads` cores while the backend keeps reading into a second batch.
final class SealedIndexBuilder: @unchecked Sendable {   // the backend's thread drives it; workers touch disjoint rows
    /// Rows per batch: 4096 × 541 bytes ≈ 2.2 MB per buffer, large enough that dispatching a batch costs nothing
    /// next to opening it (~1 ms of work per core), small enough to stay in the 2 MB-per-core L2/L3 share.
    static let defaultBatchRows = 4096
    static let boxBytes = RecordCrypto.sealedTemplateBytes


    private final class Batch: @unchecked Sendable {
        let boxes: UnsafeMutableRawPointer
        let entries: UnsafeMutablePointer<Int>
        let owners: UnsafeMutablePointer<Int32>
        /// Row id of each template (part of its associated data, `TemplateAAD`).
        let rowIDs: UnsafeMutablePointer<Int64>
        var count = 0
        init(rows: Int) {
            boxes = .allocate(byteCount: rows * SealedIndexBuilder.boxBytes, alignment: 16)
            entries = .allocate(capacity: rows)
            owners = .allocate(capacity: rows)
            rowIDs = .allocate(capacity: rows)
        }
        deinit { boxes.deallocate(); entries.deallocate(); owners.deallocate(); rowIDs.deallocate() }
    }

    private final class Failure: @unchecked Sendable {
        private let lock = NSLock()
        private var error: (any Error)?
        func record(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
        var first: (any Error)? { lock.withLock { error } }
    }

    let index: GalleryIndex
    private let key: SymmetricKey
    private let threads: Int
    // Read by the workers (never mutated after init): names and associated-data prefixes (`TemplateAAD.prefix`,
    // concatenated; user u's is aads[aadStarts[u]..<aadStarts[u + 1]]) of each user, in user order.
    private let names: [String]
    private let aads: [UInt8]
    private let aadStarts: [Int]
    private let maxAAD: Int
    // Used by the backend's thread only.
    private var starts: [Int] = [], counts: [Int] = [], filled: [Int] = []
    private var positionByID: [Int64: Int32] = [:]
    private let batchRows: Int
    private var filling: Batch, inFlight: Batch
    private let group = DispatchGroup()
    private let failure = Failure()
    private(set) var rows = 0

    init(users: [IndexLoadUser], key: GalleryKey, keyVersion: Int64, threads: Int,
         batchRows: Int = SealedIndexBuilder.defaultBatchRows) throws {
        self.key = key.key
        self.threads = max(1, threads)
        self.batchRows = max(1, batchRows)
        filling = Batch(rows: self.batchRows); inFlight = Batch(rows: self.batchRows)
        index = GalleryIndex()
        var indexUsers: [GalleryIndex.User] = [], names: [String] = [], aads: [UInt8] = []
        indexUsers.reserveCapacity(users.count); names.reserveCapacity(users.count); counts.reserveCapacity(users.count)
        var aadStarts = [0]
        aads.reserveCapacity(users.count * 100); aadStarts.reserveCapacity(users.count + 1); positionByID.reserveCapacity(users.count)
        for u in users {
            guard let uid = Self.parseUUID(u.uid) else {
                throw GalleryError.corruptRecord(user: u.name, detail: "the stored user key '\(u.uid)' is not a UUID")
            }
            positionByID[u.dbID] = Int32(names.count)
            indexUsers.append(GalleryIndex.User(key: uid, name: u.name, threshold: u.threshold))
            names.append(u.name)
            counts.append(u.templateCount)
            aads += TemplateAAD(user: uid, name: u.name, threshold: u.threshold, keyVersion: keyVersion).prefix
            aadStarts.append(aads.count)
        }
        self.names = names; self.aads = aads; self.aadStarts = aadStarts
        maxAAD = zip(aadStarts.dropFirst(), aadStarts).map { $0 - $1 }.max() ?? 0
        filled = [Int](repeating: 0, count: users.count)
        starts = index.reserveBulk(users: indexUsers, templateCounts: counts)
    }

    deinit { group.wait() }

    /// Parses canonical UUID text ("8-4-4-4-12" hex digits). Foundation's parser goes through sscanf and took a fifth
    /// of a 200,000-user load; anything non-canonical falls back to it.
    static func parseUUID(_ text: String) -> UUID? {
        var text = text
        let fast: UUID? = text.withUTF8 { b in
            guard b.count == 36 else { return nil }
            var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &u) { out -> Bool in
                var i = 0
                for k in 0..<16 {
                    if i == 8 || i == 13 || i == 18 || i == 23 { guard b[i] == UInt8(ascii: "-") else { return false }; i += 1 }
                    guard let h = hex(b[i]), let l = hex(b[i + 1]) else { return false }
                    out[k] = h << 4 | l
                    i += 2
                }
                return true
            }
            return ok ? UUID(uuid: u) : nil
        }
        return fast ?? UUID(uuidString: text)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Queues one sealed template (row `row`) of the user with database id `userID`.
    func add(userID: Int64, row: Int64, box: UnsafeRawBufferPointer) throws {
        guard let pos = positionByID[userID] else {
            throw GalleryError.database("a template row belongs to user id \(userID), which the same snapshot does not list")
        }
        let p = Int(pos)
        guard box.count == Self.boxBytes else {
            throw GalleryError.corruptRecord(user: names[p], detail: "a template has \(box.count) bytes, expected \(Self.boxBytes)")
        }
        guard filled[p] < counts[p] else {
            throw GalleryError.database("user '\(names[p])' has more template rows than the same snapshot counted")
        }
        let b = filling, r = b.count
        (b.boxes + r * Self.boxBytes).copyMemory(from: box.baseAddress!, byteCount: Self.boxBytes)
        b.entries[r] = starts[p] + filled[p]
        b.owners[r] = pos
        b.rowIDs[r] = row
        filled[p] += 1
        b.count += 1
        rows += 1
        if b.count == batchRows { try flush() }
    }

    /// Opens the remaining rows, checks that every counted template arrived and returns the index.
    func finish(changeSeq: Int64) throws -> LoadedIndex {
        try flush()
        group.wait()
        if let e = failure.first { throw e }
        if let k = filled.indices.first(where: { filled[$0] != counts[$0] }) {
            throw GalleryError.database("user '\(names[k])' has \(filled[k]) template rows, the same snapshot counted \(counts[k])")
        }
        return LoadedIndex(index: index, changeSeq: changeSeq)
    }

    /// Waits for the batch in flight, then starts opening the filled one (on `threads` workers, or inline for one).
    private func flush() throws {
        group.wait()
        if let e = failure.first { throw e }
        guard filling.count > 0 else { return }
        swap(&filling, &inFlight)
        filling.count = 0
        let batch = inFlight, n = batch.count
        if threads == 1 {
            open(batch, 0..<n)
            if let e = failure.first { throw e }
            return
        }
        let per = (n + threads - 1) / threads
        for t in 0..<threads {
            let range = (t * per)..<min(n, (t + 1) * per)
            if range.isEmpty { continue }
            DispatchQueue.global().async(group: group) { [self] in open(batch, range) }
        }
    }

    /// Opens and quantises rows `range` of a batch into their index entries.
    private func open(_ batch: Batch, _ range: Range<Int>) {
        let aadRoom = maxAAD + TemplateAAD.maxRowDigits
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Embedding.dimension) { buf in
          withUnsafeTemporaryAllocation(byteCount: aadRoom, alignment: 8) { aadBuf in
            let out = buf.baseAddress!
            aads.withUnsafeBytes { allAAD in
                for r in range {
                    let u = Int(batch.owners[r])
                    do {
                        // v2 associated data: the user's prefix + this row's id, written in place (no allocation).
                        let prefix = UnsafeRawBufferPointer(rebasing: allAAD[aadStarts[u]..<aadStarts[u + 1]])
                        let n = TemplateAAD.write(prefix: prefix, row: batch.rowIDs[r], to: aadBuf.baseAddress!)
                        try RecordCrypto.openTemplate(UnsafeRawBufferPointer(start: batch.boxes + r * Self.boxBytes, count: Self.boxBytes),
                                                      aad: UnsafeRawBufferPointer(start: aadBuf.baseAddress!, count: n),
                                                      userName: names[u], key: key, into: out)
                        guard index.setEntry(batch.entries[r], out) else {
                            throw GalleryError.corruptRecord(user: names[u], detail: "a template decrypts but is not a valid embedding")
                        }
                    } catch {
                        failure.record(error)
                        return
                    }
                }
            }
          }
        }
    }
}
