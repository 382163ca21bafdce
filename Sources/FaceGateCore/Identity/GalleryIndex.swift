import Foundation

/// In-memory 1:N index over all templates of a gallery.
///
/// Storage: every template is quantised to 16 bits per component with a per-template scale (max |x| → 32767) and
/// split into three planes: the top 4 bits (a 64-byte nibble plane scanned by the pre-filter), the next 4 bits and
/// the low 8 bits. 256 bytes + 12 bytes of scale/norm/owner per template, i.e. 268 MB for 1,000,000 templates
/// (float32 would need 512 MB). Reconstruction error is ≤ max|x| / 65534 per component.
///
/// Search: (1) a SIMD scan of the nibble plane with a 7-bit quantised query (int16 multiply-accumulate; 64 bytes per
/// template) keeps the `prefilterCandidates` best approximate distances; (2) those are re-ranked with the full
/// 16-bit reconstruction in float32; (3) every template of each candidate user is scored exactly with the policy's
/// score rule and the threshold of the nearest user decides. The scan can be split over several threads.
///
/// Not thread-safe for mutation: own it from one actor (FaceGateStore's `IdentityIndexService` does).
public final class GalleryIndex {
    /// A user as the index knows them. `key` is the stable identifier from the gallery (survives renames).
    public struct User: Sendable, Hashable {
        public var key: UUID
        public var name: String
        public var threshold: Double?
        public init(key: UUID, name: String, threshold: Double? = nil) {
            self.key = key; self.name = name; self.threshold = threshold
        }
    }

    /// Approximate candidates kept by the nibble pre-filter before exact re-ranking. With 4-bit codes the
    /// approximate distance² error has σ ≈ 0.02 for unit vectors; on 1,000,000 random unit 128-d vectors 128
    /// candidates gave recall@1 = 1.000 vs exact float32 (see docs/identity.md), 32 gave 0.998.
    public static let prefilterCandidates = 128
    /// Below this many templates the scan is not split over threads (thread start-up costs more than the scan).
    public static let parallelMinimum = 50_000
    /// Compact (drop removed templates) when more than this fraction of stored templates is dead.
    public static let compactFraction = 0.25

    static let dim = Embedding.dimension
    static let planeBytes = 64       // nibble planes: 128 × 4 bits
    static let lowBytes = 128        // low byte plane

    private var hiPlane: UnsafeMutablePointer<UInt8>
    private var midPlane: UnsafeMutablePointer<UInt8>
    private var lowPlane: UnsafeMutablePointer<UInt8>
    private var scales: UnsafeMutablePointer<Float>
    private var norms: UnsafeMutablePointer<Float>
    private var owners: UnsafeMutablePointer<Int32>
    private var capacity: Int
    /// Stored entries, including removed ones not yet compacted.
    private(set) var stored = 0
    private var deadCount = 0

    private struct Slot { var user: User; var start: Int; var count: Int; var live: Bool }
    private var slots: [Slot] = []
    private var freeSlots: [Int32] = []
    private var slotByKey: [UUID: Int32] = [:]

    /// Byte position and shift of each dimension inside a nibble plane (layout chosen for SIMD unpacking:
    /// chunk c of 16 bytes = 8 little-endian words; nibble k of word i holds dimension c·32 + k·8 + i).
    private static let nibbleByte: [Int] = (0..<dim).map { d in let c = d / 32, r = d % 32, k = r / 8, i = r % 8; return c * 16 + 2 * i + k / 2 }
    private static let nibbleShift: [UInt8] = (0..<dim).map { d in UInt8(((d % 32) / 8 % 2) * 4) }

    public init(reserve: Int = 1024) {
        capacity = max(16, reserve)
        hiPlane = .allocate(capacity: capacity * Self.planeBytes)
        midPlane = .allocate(capacity: capacity * Self.planeBytes)
        lowPlane = .allocate(capacity: capacity * Self.lowBytes)
        scales = .allocate(capacity: capacity)
        norms = .allocate(capacity: capacity)
        owners = .allocate(capacity: capacity)
    }

    deinit {
        hiPlane.deallocate(); midPlane.deallocate(); lowPlane.deallocate()
        scales.deallocate(); norms.deallocate(); owners.deallocate()
    }

    /// Live templates.
    public var templateCount: Int { stored - deadCount }
    /// Users with at least one live template.
    public var userCount: Int { slotByKey.count }
    public var isEmpty: Bool { slotByKey.isEmpty }

    /// Bytes held by template storage plus an estimate of the user table.
    public var memoryBytes: Int {
        capacity * (2 * Self.planeBytes + Self.lowBytes + 12) + slots.capacity * MemoryLayout<Slot>.stride
            + slotByKey.capacity * (MemoryLayout<UUID>.stride + MemoryLayout<Int32>.stride + 1)
    }

    public func user(key: UUID) -> User? { slotByKey[key].map { slots[Int($0)].user } }
    public var users: [User] { slots.filter(\.live).map(\.user) }

    // MARK: mutation

    /// Adds or replaces all templates of one user.
    public func upsert(_ user: User, templates: [Embedding]) throws {
        for t in templates { try IdentityPolicy.check(t) }
        remove(key: user.key)
        guard !templates.isEmpty else { return }
        reserveCapacity(stored + templates.count)
        let slot: Int32
        let newSlot = Slot(user: user, start: stored, count: templates.count, live: true)
        if let f = freeSlots.popLast() { slot = f; slots[Int(f)] = newSlot } else { slot = Int32(slots.count); slots.append(newSlot) }
        slotByKey[user.key] = slot
        for t in templates { append(t.values, owner: slot) }
    }

    /// Changes a user's name or threshold without touching templates.
    public func update(_ user: User) {
        guard let s = slotByKey[user.key] else { return }
        slots[Int(s)].user = user
    }

    public func remove(key: UUID) {
        guard let s = slotByKey.removeValue(forKey: key) else { return }
        let slot = slots[Int(s)]
        for i in slot.start..<(slot.start + slot.count) { owners[i] = -1; norms[i] = .infinity }
        deadCount += slot.count
        slots[Int(s)].live = false
        freeSlots.append(s)
        if Double(deadCount) > Self.compactFraction * Double(stored) { compact() }
    }

    public func removeAll() {
        stored = 0; deadCount = 0; slots = []; freeSlots = []; slotByKey = [:]
    }

    /// Pre-allocates room for `n` templates in total.
    public func reserveCapacity(_ n: Int) {
        guard n > capacity else { return }
        let newCap = max(n, capacity * 2)
        func grow<T>(_ p: inout UnsafeMutablePointer<T>, _ per: Int) {
            let q = UnsafeMutablePointer<T>.allocate(capacity: newCap * per)
            q.moveInitialize(from: p, count: stored * per)
            p.deallocate(); p = q
        }
        grow(&hiPlane, Self.planeBytes); grow(&midPlane, Self.planeBytes); grow(&lowPlane, Self.lowBytes)
        grow(&scales, 1); grow(&norms, 1); grow(&owners, 1)
        capacity = newCap
    }

    private func append(_ x: [Float], owner: Int32) {
        x.withUnsafeBufferPointer { _ = store($0.baseAddress!, at: stored, owner: owner) }
        stored += 1
    }

    /// Quantises 128 floats into entry `i` (planes, scale, norm, owner). A vector with a non-finite value is not
    /// stored: the entry is left dead (never a candidate) and false is returned.
    ///
    /// Vectorised: 16 groups of 8 consecutive dimensions are exactly the 8 lanes of one nibble-plane word vector
    /// (dimension c·32 + k·8 + i is nibble k of word i of chunk c), so each group becomes one SIMD shift-or.
    @inline(__always)
    private func store(_ x: UnsafePointer<Float>, at i: Int, owner: Int32) -> Bool {
        typealias F = SIMD8<Float>
        typealias U = SIMD8<UInt32>
        let raw = UnsafeRawPointer(x)
        // max |x| on the bit patterns (for non-negative floats they order like the values; generic SIMD min/max and
        // float→int conversions are not inlined and cost more than everything else here).
        let absMask = U(repeating: 0x7FFF_FFFF)
        var mx = U(), n2 = F()
        for g in 0..<16 {
            let v = raw.loadUnaligned(fromByteOffset: 32 * g, as: F.self)
            let a = unsafeBitCast(v, to: U.self) & absMask
            mx = mx.replacing(with: a, where: a .> mx)
            n2 += v * v
        }
        var mBits: UInt32 = 0
        for l in 0..<8 { mBits = max(mBits, mx[l]) }
        let m = Float(bitPattern: mBits)
        var norm2: Float = 0
        for l in 0..<8 { norm2 += n2[l] }
        guard norm2.isFinite, m.isFinite else { owners[i] = -1; norms[i] = .infinity; return false }
        let s = 32767 / m   // +inf for m = 0 or a subnormal maximum: such a vector is stored as zero
        let inv = F(repeating: s.isFinite ? s : 0)
        // Adding 1.5·2²³ to a float with |v| < 2²² rounds it to the nearest integer (ties to even) and leaves that
        // integer in the low mantissa bits: bits(v + magic) − bits(magic) = round(v). |x·inv| ≤ 32767 (+ float
        // rounding, < 32767.5), so codes stay within ±32767 without clamping.
        let magic = F(repeating: 12_582_912)
        let magicBits = SIMD8<Int32>(repeating: Int32(bitPattern: Float(12_582_912).bitPattern))
        let hi = UnsafeMutableRawPointer(hiPlane + i * Self.planeBytes)
        let mid = UnsafeMutableRawPointer(midPlane + i * Self.planeBytes)
        let low = UnsafeMutableRawPointer(lowPlane + i * Self.lowBytes)
        for c in 0..<4 {
            var wh = SIMD8<UInt16>(), wm = SIMD8<UInt16>()
            for k in 0..<4 {
                let d0 = c * 32 + k * 8
                let t = raw.loadUnaligned(fromByteOffset: 4 * d0, as: F.self) * inv + magic
                let code = unsafeBitCast(t, to: SIMD8<Int32>.self) &- magicBits
                let a = code &>> 12                 // -8…7
                let rem = code &- (a &<< 12)        // 0…4095
                let sh = SIMD8<UInt16>(repeating: UInt16(4 * k))
                wh |= SIMD8<UInt16>(truncatingIfNeeded: a &+ 8) &<< sh
                wm |= SIMD8<UInt16>(truncatingIfNeeded: rem &>> 8) &<< sh
                low.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: rem), toByteOffset: d0, as: SIMD8<UInt8>.self)
            }
            hi.storeBytes(of: wh, toByteOffset: 16 * c, as: SIMD8<UInt16>.self)
            mid.storeBytes(of: wm, toByteOffset: 16 * c, as: SIMD8<UInt16>.self)
        }
        scales[i] = m / 32767
        norms[i] = norm2
        owners[i] = owner
        return true
    }

    // MARK: bulk load

    /// Starts a bulk load (gallery load): replaces the contents with `users`, reserving `templateCounts[k]`
    /// contiguous entries for user k (users without templates are left out). Returns each user's first entry, -1
    /// for a user left out. Reserved entries are dead (never found) until `setEntry` fills them.
    public func reserveBulk(users: [User], templateCounts: [Int]) -> [Int] {
        precondition(users.count == templateCounts.count, "one template count per user")
        removeAll()
        reserveCapacity(templateCounts.reduce(0, +))
        var starts = [Int](repeating: -1, count: users.count)
        slots.reserveCapacity(users.count)
        slotByKey.reserveCapacity(users.count)
        for (k, u) in users.enumerated() where templateCounts[k] > 0 {
            let n = templateCounts[k], slot = Int32(slots.count)
            slots.append(Slot(user: u, start: stored, count: n, live: true))
            slotByKey[u.key] = slot
            (owners + stored).initialize(repeating: slot, count: n)
            (norms + stored).initialize(repeating: .infinity, count: n)
            starts[k] = stored
            stored += n
        }
        return starts
    }

    /// Fills one entry reserved by `reserveBulk` with 128 values. Entries are independent: different entries may be
    /// filled from different threads at the same time (no other call may run meanwhile). Returns false, leaving
    /// the entry dead, when a value is not finite.
    public func setEntry(_ entry: Int, _ values: UnsafePointer<Float>) -> Bool {
        precondition(entry >= 0 && entry < stored, "entry \(entry) was not reserved")
        return store(values, at: entry, owner: owners[entry])
    }

    /// Drops removed templates, keeping each user's templates contiguous.
    public func compact() {
        var w = 0
        // Move live regions down in storage order so a move never overwrites a region not yet moved.
        let order = slots.indices.filter { slots[$0].live }.sorted { slots[$0].start < slots[$1].start }
        func move<T>(_ p: UnsafeMutablePointer<T>, _ per: Int, _ from: Int, _ to: Int, _ n: Int) {
            memmove(p + to * per, p + from * per, n * per * MemoryLayout<T>.stride)
        }
        for s in order {
            let start = slots[s].start, n = slots[s].count
            if start != w {
                move(hiPlane, Self.planeBytes, start, w, n); move(midPlane, Self.planeBytes, start, w, n)
                move(lowPlane, Self.lowBytes, start, w, n)
                move(scales, 1, start, w, n); move(norms, 1, start, w, n); move(owners, 1, start, w, n)
            }
            slots[s].start = w
            w += n
        }
        stored = w; deadCount = 0
    }

    // MARK: reconstruction

    /// The stored (16-bit reconstructed) embedding of entry `i`.
    func reconstruct(_ i: Int) -> [Float] {
        var out = [Float](repeating: 0, count: Self.dim)
        let hi = hiPlane + i * Self.planeBytes, mid = midPlane + i * Self.planeBytes, low = lowPlane + i * Self.lowBytes
        let s = scales[i]
        for d in 0..<Self.dim {
            let b = Self.nibbleByte[d], sh = Self.nibbleShift[d]
            let a = Int32((hi[b] >> sh) & 0xF) - 8
            let c = (a << 12) | (Int32((mid[b] >> sh) & 0xF) << 8) | Int32(low[d])
            out[d] = Float(c) * s
        }
        return out
    }

    /// Exact (float32 over the reconstruction) distance between entry `i` and `q`.
    @inline(__always)
    private func exactDistance(_ i: Int, _ q: UnsafePointer<Float>) -> Double {
        let hi = hiPlane + i * Self.planeBytes, mid = midPlane + i * Self.planeBytes, low = lowPlane + i * Self.lowBytes
        let s = scales[i]
        var acc: Float = 0
        Self.nibbleByte.withUnsafeBufferPointer { nb in
            Self.nibbleShift.withUnsafeBufferPointer { ns in
                for d in 0..<Self.dim {
                    let b = nb[d], sh = ns[d]
                    let a = Int32((hi[b] >> sh) & 0xF) - 8
                    let c = (a << 12) | (Int32((mid[b] >> sh) & 0xF) << 8) | Int32(low[d])
                    let diff = Float(c) * s - q[d]
                    acc += diff * diff
                }
            }
        }
        return Double(acc.squareRoot())
    }

    // MARK: search

    /// The `k` nearest live templates to `probe` (pre-filter + exact re-rank), nearest first.
    public func nearestTemplates(_ probe: Embedding, k: Int = 1, threads: Int = 1,
                                 candidates: Int = GalleryIndex.prefilterCandidates) throws -> [(entry: Int, user: UUID, distance: Double)] {
        try IdentityPolicy.check(probe)
        let cand = prefilter(probe.values, keep: max(k, candidates), threads: threads)
        var ranked: [(Int, Double)] = probe.values.withUnsafeBufferPointer { q in cand.map { ($0, exactDistance($0, q.baseAddress!)) } }
        ranked.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        return ranked.prefix(k).map { (entry: $0.0, user: slots[Int(owners[$0.0])].user.key, distance: $0.1) }
    }

    /// 1:N: the nearest user within their threshold, or nil; plus the nearest candidates.
    public func identify(_ probe: Embedding, policy: IdentityPolicy = IdentityPolicy(), threads: Int = 1,
                         candidates: Int = GalleryIndex.prefilterCandidates) throws -> IdentifyResult {
        try IdentityPolicy.check(probe)
        guard !isEmpty else { throw IdentityError.emptyGallery }
        let cand = prefilter(probe.values, keep: candidates, threads: threads)
        var userSlots = Set<Int32>()
        for i in cand { userSlots.insert(owners[i]) }
        let scored: [IdentityCandidate] = probe.values.withUnsafeBufferPointer { q in
            userSlots.compactMap { s in
                let slot = slots[Int(s)]
                let d = (slot.start..<(slot.start + slot.count)).map { exactDistance($0, q.baseAddress!) }
                guard let score = policy.rule.combine(d) else { return nil }
                return IdentityCandidate(user: slot.user.name, distance: score, threshold: policy.threshold(override: slot.user.threshold))
            }
        }
        return policy.decide(scored: scored)
    }

    /// 1:1 against the stored templates of one user.
    public func verify(key: UUID, probe: Embedding, policy: IdentityPolicy = IdentityPolicy()) throws -> VerifyResult {
        try IdentityPolicy.check(probe)
        guard let s = slotByKey[key] else { throw IdentityError.unknownUser(key.uuidString) }
        let slot = slots[Int(s)]
        let d = probe.values.withUnsafeBufferPointer { q in
            (slot.start..<(slot.start + slot.count)).map { exactDistance($0, q.baseAddress!) }
        }
        guard let score = policy.rule.combine(d) else { throw IdentityError.noTemplates(user: slot.user.name) }
        let t = policy.threshold(override: slot.user.threshold)
        return VerifyResult(match: score <= t, distance: score, threshold: t)
    }

    /// Indices of the `keep` entries with the smallest approximate distance.
    private func prefilter(_ q: [Float], keep: Int, threads: Int) -> [Int] {
        let n = stored
        if n == 0 { return [] }
        let query = QuantizedQuery(q)
        let t = (threads > 1 && n >= Self.parallelMinimum) ? min(threads, 16) : 1
        if t == 1 {
            var heap = TopK(capacity: keep)
            scan(query, 0..<n, &heap)
            return heap.indices
        }
        let results = ResultBox(count: t)
        let chunk = (n + t - 1) / t
        let this = UncheckedBox(self)
        DispatchQueue.concurrentPerform(iterations: t) { part in
            let lo = part * chunk, hi = min(n, lo + chunk)
            var heap = TopK(capacity: keep)
            if lo < hi { this.value.scan(query, lo..<hi, &heap) }
            results.set(part, heap)
        }
        var merged = TopK(capacity: keep)
        for h in results.heaps { for (s, i) in zip(h.scores, h.indices) { merged.offer(s, i) } }
        return merged.indices
    }

    /// The pre-filter kernel over a range of entries: blocks of four entries share one horizontal reduction and one
    /// SIMD score computation (a per-entry reduction and scalar score cost a third of the instructions before).
    private func scan(_ query: QuantizedQuery, _ range: Range<Int>, _ heap: inout TopK) {
        let base = -30720.5 * Float(query.sum)
        let qs = query.scale
        // Hoisted out of the loop: reading a class property per entry costs an exclusivity check and a reload.
        let plane = UnsafeRawPointer(hiPlane), norms = UnsafePointer(self.norms), scales = UnsafePointer(self.scales)
        query.registers.withUnsafeBufferPointer { qb in
            let q = qb.baseAddress!
            var i = range.lowerBound
            let end = range.upperBound
            let half = SIMD4<Float>(repeating: 0.5), k4096 = SIMD4<Float>(repeating: 4096)
            let base4 = SIMD4<Float>(repeating: base), qs4 = SIMD4<Float>(repeating: qs)
            while i + 4 <= end {
                let p = plane + i * Self.planeBytes
                let d = Self.reduce4(Self.nibbleDot(p, q), Self.nibbleDot(p + 64, q),
                                     Self.nibbleDot(p + 128, q), Self.nibbleDot(p + 192, q))
                let n = UnsafeRawPointer(norms + i).loadUnaligned(as: SIMD4<Float>.self)
                let s = UnsafeRawPointer(scales + i).loadUnaligned(as: SIMD4<Float>.self)
                // 0.5·|x|² − q·x̂  (= (dist² − |q|²) / 2); removed entries have |x|² = +inf.
                let score = half * n - s * qs4 * (k4096 * SIMD4<Float>(d) + base4)
                let hit = score .< SIMD4<Float>(repeating: heap.worst)
                if any(hit) {
                    for l in 0..<4 where hit[l] { heap.offer(score[l], i + l) }
                }
                i += 4
            }
            while i < end {
                let dot = SIMD8<Int32>(truncatingIfNeeded: Self.nibbleDot(plane + i * Self.planeBytes, q)).wrappedSum()
                let score = 0.5 * norms[i] - scales[i] * qs * (4096 * Float(dot) + base)
                if score < heap.worst { heap.offer(score, i) }
                i += 1
            }
        }
    }

    /// Σ over 128 dimensions of nibble × query, as 8 int16 lanes (each lane sums 16 products of a 4-bit code and a
    /// 7-bit query value: |lane| ≤ 16 · 15 · 127 = 30480, no overflow).
    @inline(__always)
    private static func nibbleDot(_ p: UnsafeRawPointer, _ q: UnsafePointer<SIMD8<Int16>>) -> SIMD8<Int16> {
        typealias W = SIMD8<UInt16>
        typealias S = SIMD8<Int16>
        let m = W(repeating: 0xF)
        let w0 = p.loadUnaligned(fromByteOffset: 0, as: W.self)
        let w1 = p.loadUnaligned(fromByteOffset: 16, as: W.self)
        let w2 = p.loadUnaligned(fromByteOffset: 32, as: W.self)
        let w3 = p.loadUnaligned(fromByteOffset: 48, as: W.self)
        var a = S(truncatingIfNeeded: w0 & m) &* q[0]
        var b = S(truncatingIfNeeded: (w0 &>> 4) & m) &* q[1]
        a &+= S(truncatingIfNeeded: (w0 &>> 8) & m) &* q[2]
        b &+= S(truncatingIfNeeded: w0 &>> 12) &* q[3]
        a &+= S(truncatingIfNeeded: w1 & m) &* q[4]
        b &+= S(truncatingIfNeeded: (w1 &>> 4) & m) &* q[5]
        a &+= S(truncatingIfNeeded: (w1 &>> 8) & m) &* q[6]
        b &+= S(truncatingIfNeeded: w1 &>> 12) &* q[7]
        a &+= S(truncatingIfNeeded: w2 & m) &* q[8]
        b &+= S(truncatingIfNeeded: (w2 &>> 4) & m) &* q[9]
        a &+= S(truncatingIfNeeded: (w2 &>> 8) & m) &* q[10]
        b &+= S(truncatingIfNeeded: w2 &>> 12) &* q[11]
        a &+= S(truncatingIfNeeded: w3 & m) &* q[12]
        b &+= S(truncatingIfNeeded: (w3 &>> 4) & m) &* q[13]
        a &+= S(truncatingIfNeeded: (w3 &>> 8) & m) &* q[14]
        b &+= S(truncatingIfNeeded: w3 &>> 12) &* q[15]
        return a &+ b
    }

    /// The lane sums of four int16 accumulators, widened to int32: [Σa0, Σa1, Σa2, Σa3].
    @inline(__always)
    private static func reduce4(_ a0: SIMD8<Int16>, _ a1: SIMD8<Int16>, _ a2: SIMD8<Int16>, _ a3: SIMD8<Int16>) -> SIMD4<Int32> {
        @inline(__always) func fold(_ a: SIMD8<Int16>) -> SIMD4<Int32> {
            let w = SIMD8<Int32>(truncatingIfNeeded: a)
            return w.lowHalf &+ w.highHalf
        }
        let u01 = SIMD8<Int32>(lowHalf: fold(a0), highHalf: fold(a1))
        let u23 = SIMD8<Int32>(lowHalf: fold(a2), highHalf: fold(a3))
        let v01 = u01.evenHalf &+ u01.oddHalf     // [a0 pairs, a1 pairs]
        let v23 = u23.evenHalf &+ u23.oddHalf
        let w = SIMD8<Int32>(lowHalf: v01, highHalf: v23)
        return w.evenHalf &+ w.oddHalf
    }
}

/// A probe quantised to 7 bits (|q| ≤ 127 so that 16 products of 4-bit codes fit in an int16 lane), laid out in
/// the nibble-plane order.
struct QuantizedQuery: @unchecked Sendable {
    var registers: [SIMD8<Int16>]
    var sum: Int32
    var scale: Float
    init(_ q: [Float]) {
        var m: Float = 0
        for v in q { m = max(m, abs(v)) }
        scale = m > 0 ? m / 127 : 1
        var regs = [SIMD8<Int16>](repeating: .zero, count: 16)
        var s: Int32 = 0
        for d in 0..<q.count {
            let v = Int16(max(-127, min(127, (q[d] / scale).rounded())))
            let c = d / 32, r = d % 32, k = r / 8, i = r % 8
            regs[c * 4 + k][i] = v
            s += Int32(v)
        }
        registers = regs; sum = s
    }
}

/// Bounded max-heap keeping the smallest scores.
struct TopK: Sendable {
    private(set) var scores: [Float] = []
    private(set) var indices: [Int] = []
    let capacity: Int
    /// Current admission bound: a score must be below this to enter.
    private(set) var worst: Float = .infinity
    init(capacity: Int) { self.capacity = max(1, capacity); scores.reserveCapacity(self.capacity); indices.reserveCapacity(self.capacity) }

    mutating func offer(_ s: Float, _ i: Int) {
        guard s < worst || scores.count < capacity else { return }
        guard s.isFinite else { return }
        if scores.count < capacity {
            scores.append(s); indices.append(i)
            var c = scores.count - 1
            while c > 0 { let p = (c - 1) / 2; if scores[p] >= scores[c] { break }; scores.swapAt(p, c); indices.swapAt(p, c); c = p }
            if scores.count == capacity { worst = scores[0] }
            return
        }
        scores[0] = s; indices[0] = i
        var c = 0
        while true {
            let l = 2 * c + 1, r = l + 1
            var m = c
            if l < scores.count && scores[l] > scores[m] { m = l }
            if r < scores.count && scores[r] > scores[m] { m = r }
            if m == c { break }
            scores.swapAt(m, c); indices.swapAt(m, c); c = m
        }
        worst = scores[0]
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var heaps: [TopK]
    init(count: Int) { heaps = Array(repeating: TopK(capacity: 1), count: count) }
    func set(_ i: Int, _ h: TopK) { lock.lock(); heaps[i] = h; lock.unlock() }
}

private struct UncheckedBox<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }
