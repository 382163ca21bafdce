import FaceGateCore
import FaceGateVision
import Foundation

/// What a catalog model is for.
public enum ModelRole: String, Sendable, Hashable, Codable, CaseIterable {
    case detector, landmarks, alignment, embedding
    case antiSpoof = "anti-spoof"
}

/// One downloadable file of a catalog entry, pinned by size and SHA-256.
public struct CatalogFile: Sendable, Hashable {
    public var file: ModelFile
    /// Download URLs, tried in order (the author's repository first).
    public var urls: [String]
    public init(file: ModelFile, urls: [String]) { self.file = file; self.urls = urls }
}

/// A model FaceGate knows by name: where it comes from, what it is, how to feed it.
public struct CatalogEntry: Sendable, Hashable {
    public var name: String
    public var role: ModelRole
    public var summary: String
    public var license: String
    public var files: [CatalogFile]
    /// Preprocessing of an anti-spoof classifier (nil for other roles).
    public var padSpec: PadModelSpec?
    /// Preprocessing and output layout of a DNN face detector (nil for other roles); `files` are in the order its
    /// format names (Caffe: prototxt, weights; YuNet: the ONNX file).
    public var detectorSpec: DetectorSpec?
    /// True for the dlib base models the set-up step provides (`make models`), listed and verified here too.
    public var isBase: Bool

    public init(name: String, role: ModelRole, summary: String, license: String, files: [CatalogFile],
                padSpec: PadModelSpec? = nil, detectorSpec: DetectorSpec? = nil, isBase: Bool = false) {
        self.name = name; self.role = role; self.summary = summary; self.license = license; self.files = files
        self.padSpec = padSpec; self.detectorSpec = detectorSpec; self.isBase = isBase
    }

    /// The single file of a one-file entry (the ONNX model of an anti-spoof entry).
    public var file: ModelFile { files[0].file }
    public var totalSize: Int { files.map(\.file.size).reduce(0, +) }
}

/// Raw-file URLs for a file in a public GitHub repository: raw.githubusercontent.com first, github.com/raw second.
public func githubRawURLs(repo: String, path: String) -> [String] {
    ["https://raw.githubusercontent.com/\(repo)/HEAD/\(path)", "https://github.com/\(repo)/raw/HEAD/\(path)"]
}

/// Preprocessing of Silent-Face's RetinaFace Caffe detector (minivision-ai/Silent-Face-Anti-Spoofing,
/// src/anti_spoof_predict.py `Detection.get_bbox`), which the network was exported for.
public enum RetinaFaceRecipe {
    /// The frame is scaled to about 192×192 pixels, aspect ratio kept, when larger (Silent-Face's recipe).
    public static let inputSide = 192
    /// Caffe-style BGR channel means Silent-Face subtracts; pixels otherwise stay 0…255 (scale 1).
    public static let mean = [104.0, 117.0, 123.0]
    /// Lowest confidence kept. On the fixtures (30 labelled photos, group photos, 149 frames of 21 clips; frames
    /// shrunk by area averaging) false detections score ≤ 0.41 and true faces ≥ 0.58 but one (0.37): 0.5 sits between.
    /// Silent-Face declares 0.6 but keeps only its top box; 0.6 would drop true faces at 0.58-0.61.
    public static let confidence = 0.5
}

/// The model catalog compiled into FaceGate. Pins come from hashing the files held in the fixture set
/// (`../shared/fixtures/models`, whose MANIFEST.tsv names each file's repository and path). Adding a model is one
/// entry here (`antiSpoof(...)` or `detector(...)`): name, licence, repository, files (path, size, SHA-256) and the
/// preprocessing spec.
public enum ModelCatalog {
    static let silentFaceLicense = "Apache-2.0 (minivision-ai/Silent-Face-Anti-Spoofing)"

    /// One file of a public GitHub repository, pinned by the size and SHA-256 of a copy we hold.
    public struct RepoFile: Sendable {
        public var path: String
        public var size: Int
        public var sha256: String
        public init(_ path: String, size: Int, sha256: String) { self.path = path; self.size = size; self.sha256 = sha256 }
    }

    /// The entry shape every optional model shares: files taken from `repo` (file name = last path component,
    /// source = "repo path", raw-file URLs), all carrying the entry's name, role and licence.
    public static func entry(name: String, role: ModelRole, summary: String, license: String, repo: String,
                             files: [RepoFile], padSpec: PadModelSpec? = nil,
                             detectorSpec: DetectorSpec? = nil) -> CatalogEntry {
        CatalogEntry(
            name: name, role: role, summary: summary, license: license,
            files: files.map { f in
                CatalogFile(file: ModelFile(name: name, fileName: (f.path as NSString).lastPathComponent, sha256: f.sha256,
                                            size: f.size, role: role.rawValue, license: license, source: "\(repo) \(f.path)"),
                            urls: githubRawURLs(repo: repo, path: f.path))
            },
            padSpec: padSpec, detectorSpec: detectorSpec)
    }

    /// An anti-spoof classifier: one ONNX file and its preprocessing.
    public static func antiSpoof(name: String, summary: String, license: String, repo: String, file: RepoFile,
                                 spec: PadModelSpec) -> CatalogEntry {
        entry(name: name, role: .antiSpoof, summary: summary, license: license, repo: repo, files: [file], padSpec: spec)
    }

    /// A DNN face detector: its files in the order `spec.format` names, and its preprocessing.
    public static func detector(name: String, summary: String, license: String, repo: String, files: [RepoFile],
                                spec: DetectorSpec) -> CatalogEntry {
        entry(name: name, role: .detector, summary: summary, license: license, repo: repo, files: files, detectorSpec: spec)
    }

    /// A MiniFASNet of Silent-Face (ONNX export in marcos4758/Silent-Face-Anti-Spoofing-Tests): an 80x80 BGR crop of
    /// the face box enlarged by `cropScale`, pixels 0…255, 3-class logits with class 1 = real (Silent-Face's recipe).
    static func silentFaceMiniFASNet(name: String, variant: String, fileName: String, size: Int, sha256: String,
                                     cropScale: Double) -> CatalogEntry {
        antiSpoof(
            name: name,
            summary: "\(variant) anti-spoof classifier, 80x80 crop of the face box x\(String(format: "%.1f", cropScale)) (Silent-Face), ONNX export",
            license: silentFaceLicense, repo: "marcos4758/Silent-Face-Anti-Spoofing-Tests",
            file: RepoFile("resources/anti_spoof_models/\(fileName)", size: size, sha256: sha256),
            spec: PadModelSpec(inputSize: [80, 80], cropScale: cropScale, colorOrder: "BGR", pixelScale: 1, mean: [0, 0, 0],
                               std: [1, 1, 1], realClass: 1, output: "logits"))
    }

    public static let miniFASNetV2 = silentFaceMiniFASNet(
        name: "minifasnet-v2", variant: "MiniFASNetV2", fileName: "2.7_80x80_MiniFASNetV2.onnx", size: 1_750_284,
        sha256: "4433e871ef03f6c4c13de1757e63dcd69db14b6d7d9cff2319cb274c0f6dbecb", cropScale: 2.7)

    public static let miniFASNetV1SE = silentFaceMiniFASNet(
        name: "minifasnet-v1se", variant: "MiniFASNetV1SE", fileName: "4_0_0_80x80_MiniFASNetV1SE.onnx", size: 1_750_909,
        sha256: "a8e67ffbaf39fa74c3b2ed673b530fcfb2f47379d0f26a52b71c2fc6473ec20f", cropScale: 4.0)

    public static let retinaFace = detector(
        name: "retinaface-silentface",
        summary: "RetinaFace (WIDER FACE) Caffe face detector used by Silent-Face; --detector retinaface-silentface",
        license: silentFaceLicense, repo: "minivision-ai/Silent-Face-Anti-Spoofing",
        files: [
            RepoFile("resources/detection_model/deploy.prototxt", size: 40_787,
                     sha256: "9fe2f141b4baee039ed9442da2833e216af40a6ff3e639e7b39258812bcda808"),
            RepoFile("resources/detection_model/Widerface-RetinaFace.caffemodel", size: 1_866_013,
                     sha256: "d08338a2c207df16a9c566f767fea67fb43ba6fff76ce11e938fe3fabefb9402"),
        ],
        spec: DetectorSpec(format: .caffeSSD, resize: .area,
                           inputSize: [RetinaFaceRecipe.inputSide, RetinaFaceRecipe.inputSide],
                           mean: RetinaFaceRecipe.mean, pixelScale: 1, colorOrder: "BGR",
                           confidence: RetinaFaceRecipe.confidence,
                           inputName: "data", outputName: "detection_out"))

    // YuNet (OpenCV's ONNX face detector) is not listed: no copy is held to pin its SHA-256. Adding it is one
    // `detector(...)` entry with `DetectorSpec(format: .yunet, ...)` in `optional` — see docs/models.md.

    /// The dlib base models (fetched by `make models` from PyPI / Debian), listed and verified by the same code.
    public static let baseEntries: [CatalogEntry] = BaseModels.all.map { m in
        CatalogEntry(name: m.name, role: ModelRole(rawValue: m.role) ?? .landmarks, summary: "dlib \(m.role) model (\(m.source))",
                     license: m.license, files: [CatalogFile(file: m, urls: [])], isBase: true)
    }

    /// Optional models installable with `facegate models install NAME`.
    public static let optional: [CatalogEntry] = [miniFASNetV2, miniFASNetV1SE, retinaFace]

    public static var entries: [CatalogEntry] { baseEntries + optional }

    public static func entry(named name: String) -> CatalogEntry? {
        entries.first { $0.name.lowercased() == name.lowercased() }
    }
}

extension CatalogEntry {
    /// The command that installs this entry.
    public var installCommand: String { isBase ? BaseModels.fetchCommand : "facegate models install \(name)" }

    /// Paths of this entry's files in the model directory, verified (size, SHA-256 once). Not installed → a usage
    /// error naming `facegate models install NAME`; altered → a corrupt-model error with the same fix.
    public func installedPaths(in dir: ModelDirectory) throws -> [String] {
        try files.map { cf in
            do {
                return try dir.locate(cf.file)
            } catch FaceGateError.modelMissing {
                throw FaceGateError.badInput("\(role.rawValue) model '\(name)' is not installed in \(dir.path) (no \(cf.file.fileName)) — run `\(installCommand)` (with the same --models), or see `facegate models list`")
            } catch FaceGateError.modelCorrupt(let n, let p, _) {
                throw FaceGateError.modelCorrupt(name: n, path: p, fix: installCommand)
            }
        }
    }
}

extension ModelCatalog {
    /// Optional DNN face detectors usable with `--detector NAME` once installed.
    public static var detectors: [CatalogEntry] { optional.filter { $0.role == .detector && $0.detectorSpec != nil } }
}
