import FaceGate
import FaceGateCore
import Foundation

/// One crop of a dataset.
public struct DatasetSample: Sendable, Hashable {
    /// Absolute path.
    public var path: String
    /// Path relative to the dataset folder (as in groups.tsv).
    public var relativePath: String
    /// Index into `Dataset.labels`.
    public var label: Int
    /// Source video / person / session; crops of one group are near-duplicates and must stay on one side of a split.
    public var group: String?
}

/// A folder of face crops, one sub-folder per class:
///
///     DIR/real/*.png           genuine faces (also: live/, genuine/, bonafide/)
///     DIR/fake/*.png           attacks; several attack classes are fine (print/, replay/, mask/ …)
///     DIR/groups.tsv           optional: "<relative path>\t<group>" per line
///
/// The group of a crop (its source clip or person) comes from, in order: `groups.tsv`; a sub-folder inside the
/// class folder (`DIR/real/alice/*.png` → group `alice`); a file-name prefix before `__`
/// (`alice-session1__f000120.png` → group `alice-session1`, as `facegate gather` writes them).
public struct Dataset: Sendable {
    public var directory: String
    /// Class names (sorted), e.g. ["fake", "real"].
    public var labels: [String]
    /// Index of the genuine-face class in `labels`.
    public var realLabel: Int
    public var samples: [DatasetSample]
    /// Files that were not images (skipped), relative paths.
    public var skippedFiles: [String]

    /// Folder names accepted as the genuine-face class.
    public static let realNames: Set<String> = ["real", "live", "genuine", "bonafide", "bona_fide", "bona-fide"]
    /// Smallest crop side accepted: below 16 px a face has no usable texture (LivenessNet's smallest input is 32).
    public static let minimumCropSide = 16
    /// Fewest crops a training run accepts: two mini-batches of the smallest useful size.
    public static let minimumCrops = 8

    /// Number of crops per class.
    public var counts: [String: Int] {
        var c: [String: Int] = [:]
        for s in samples { c[labels[s.label], default: 0] += 1 }
        return c
    }
    public var groups: Set<String> { Set(samples.compactMap(\.group)) }
    public var isReal: [Bool] { samples.map { $0.label == realLabel } }

    /// Scans a dataset folder. Throws `TrainingError` for missing folders, a single class, empty classes, no real
    /// class and a malformed groups.tsv. Image contents are checked when loaded (`CropLoader`).
    public static func scan(_ directory: String) throws -> Dataset {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir) else { throw FaceGateError.missingFile(directory) }
        guard isDir.boolValue else { throw TrainingError.notADirectory(directory) }
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        let entries = try fm.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted()
        let classDirs = entries.filter { e in
            var d: ObjCBool = false
            return fm.fileExists(atPath: root + "/" + e, isDirectory: &d) && d.boolValue
        }
        guard !classDirs.isEmpty else { throw TrainingError.noClassFolders(directory) }
        guard classDirs.count >= 2 else { throw TrainingError.oneClassOnly(directory: directory, label: classDirs[0]) }
        guard let realName = classDirs.first(where: { realNames.contains($0.lowercased()) }) else {
            throw TrainingError.noRealClass(directory: directory, labels: classDirs)
        }
        let groupsFile = try readGroups(root + "/groups.tsv")
        var samples: [DatasetSample] = []
        var skipped: [String] = []
        for (label, cls) in classDirs.enumerated() {
            let base = root + "/" + cls
            var images: [String] = []
            var others: [String] = []
            guard let walker = fm.enumerator(atPath: base) else { continue }
            while let rel = walker.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                if name.hasPrefix(".") { continue }
                var d: ObjCBool = false
                fm.fileExists(atPath: base + "/" + rel, isDirectory: &d)
                if d.boolValue { continue }
                if MediaKind.isImage(rel) { images.append(rel) } else { others.append(cls + "/" + rel) }
            }
            guard !images.isEmpty else { throw TrainingError.emptyClass(folder: base, otherFiles: others) }
            skipped += others
            for rel in images.sorted() {
                let relative = cls + "/" + rel
                let comps = rel.split(separator: "/").map(String.init)
                let group: String? = groupsFile[relative]
                    ?? (comps.count > 1 ? comps[0] : nil)
                    ?? prefixGroup(comps.last ?? rel)
                samples.append(DatasetSample(path: base + "/" + rel, relativePath: relative, label: label, group: group))
            }
        }
        let realLabel = classDirs.firstIndex(of: realName)!
        return Dataset(directory: root, labels: classDirs, realLabel: realLabel, samples: samples, skippedFiles: skipped)
    }

    /// `name__rest.png` → `name`.
    static func prefixGroup(_ fileName: String) -> String? {
        guard let r = fileName.range(of: "__"), r.lowerBound > fileName.startIndex else { return nil }
        return String(fileName[..<r.lowerBound])
    }

    static func readGroups(_ path: String) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [String: String] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TrainingError.badGroupsFile(path: path, line: i + 1, detail: "expected two tab-separated fields")
            }
            out[parts[0]] = parts[1]
        }
        return out
    }
}

/// How a dataset was divided into training and validation crops.
public struct DatasetSplit: Sendable {
    public enum Kind: String, Sendable, Codable {
        /// Whole groups (sources) on one side: the honest estimate.
        case bySource = "by-source"
        /// Too few groups to hold every class on both sides: the last part of each group (in file-name order,
        /// i.e. later frames) is held out. Near-duplicates still leak across the cut; numbers are optimistic.
        case byTime = "by-time"
        /// No validation set (`--val 0`).
        case none
    }
    /// The group name given to crops without one.
    public static let ungroupedName = "(ungrouped)"
    public var kind: Kind
    public var train: [Int]
    public var validation: [Int]
    public var validationGroups: [String]
    public var warning: String?

    /// Splits about `fraction` of the crops into validation, keeping groups whole when the dataset has enough
    /// groups for every class to appear on both sides; otherwise splits every group by time.
    public static func make(_ ds: Dataset, fraction: Double, seed: UInt64) -> DatasetSplit {
        let n = ds.samples.count
        guard fraction > 0, n > 1 else {
            return DatasetSplit(kind: .none, train: Array(0..<n), validation: [], validationGroups: [], warning: nil)
        }
        // Ungrouped crops (no groups.tsv entry, sub-folder or prefix) are taken to be one source: splitting them
        // frame by frame would put near-duplicates on both sides.
        let keys = ds.samples.map { $0.group ?? Self.ungroupedName }
        var members: [String: [Int]] = [:]
        for (i, k) in keys.enumerated() { members[k, default: []].append(i) }
        let groupNames = members.keys.sorted()
        let classes = Set(ds.samples.map(\.label))
        let ungrouped = ds.samples.contains { $0.group == nil }

        // Groups that hold each class: a by-source split needs ≥ 2 of them for every class.
        var groupsPerClass: [Int: Int] = [:]
        for g in groupNames {
            for c in Set(members[g]!.map { ds.samples[$0].label }) { groupsPerClass[c, default: 0] += 1 }
        }
        let feasible = classes.allSatisfy { (groupsPerClass[$0] ?? 0) >= 2 }
        if feasible {
            var rng = SplitRandom(seed: seed)
            let target = fraction * Double(n)
            var best: (score: Double, val: [String])? = nil
            for _ in 0..<400 {
                var order = groupNames
                rng.shuffle(&order)
                var val: [String] = []
                var count = 0
                for g in order where Double(count) < target {
                    val.append(g); count += members[g]!.count
                }
                let valClasses = Set(val.flatMap { members[$0]! }.map { ds.samples[$0].label })
                let trainClasses = Set(Set(groupNames).subtracting(val).flatMap { members[$0]! }.map { ds.samples[$0].label })
                let missing = Double(classes.subtracting(valClasses).count + classes.subtracting(trainClasses).count)
                let score = abs(Double(count) - target) / Double(n) + missing * 10
                if best == nil || score < best!.score { best = (score, val) }
            }
            let valSet = Set(best!.val)
            let validation = (0..<n).filter { valSet.contains(keys[$0]) }
            let train = (0..<n).filter { !valSet.contains(keys[$0]) }
            let warn = ungrouped
                ? "some crops have no group (no groups.tsv entry, sub-folder or `name__` prefix): they are treated as one source"
                : nil
            return DatasetSplit(kind: .bySource, train: train, validation: validation,
                                validationGroups: best!.val.sorted(), warning: warn)
        }
        // By time: hold out the last `fraction` of every group, in file-name order.
        var train: [Int] = [], validation: [Int] = []
        for g in groupNames {
            let idx = members[g]!.sorted { ds.samples[$0].relativePath < ds.samples[$1].relativePath }
            // Per class inside the group, so every class reaches validation.
            var byClass: [Int: [Int]] = [:]
            for i in idx { byClass[ds.samples[i].label, default: []].append(i) }
            for (_, list) in byClass.sorted(by: { $0.key < $1.key }) {
                let k = list.count >= 2 ? max(1, Int((Double(list.count) * fraction).rounded())) : 0
                train += list.prefix(list.count - k)
                validation += list.suffix(k)
            }
        }
        let nGroups = groupNames.count
        return DatasetSplit(kind: .byTime, train: train.sorted(), validation: validation.sorted(), validationGroups: [],
                            warning: "only \(nGroups) source group\(nGroups == 1 ? "" : "s") — every class needs ≥ 2 sources for a by-source split; validating on the last \(Int(fraction * 100))% of each clip instead (optimistic: record more sessions and gather them with --group)")
    }
}

/// SplitMix64: a small seeded generator so splits are reproducible across platforms.
struct SplitRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func shuffle<T>(_ a: inout [T]) { a.shuffle(using: &self) }
}
