import FaceGateCore
import FaceGateVision
import Foundation

/// Labelled pairs for threshold calibration: a TSV with a header naming `path_a`, `path_b` and `same` (1/0)
/// columns (as in shared/fixtures/PAIRS.tsv; relative paths resolve against the file's directory), or
/// `distance` and `same` columns for pre-computed distances.
public enum PairsFile {
    public struct Row: Sendable { public var a: String; public var b: String; public var same: Bool }

    /// The face calibration used in one image: its box and how many faces the image held (the subject answered).
    public struct UsedFace: Sendable {
        public var path: String
        public var box: Rect
        public var faces: Int
    }

    public static func scoredPairs(_ path: String, engine: FaceEngine, progress: ((Int, Int) -> Void)? = nil) throws -> (pairs: [ScoredPair], skipped: [String]) {
        let r = try scored(path, engine: engine, progress: progress)
        return (r.pairs, r.skipped)
    }

    /// Scores every pair with the subject face of each image (`IdentityProbe.subject`: the largest face) and lists
    /// the face used per image.
    public static func scored(_ path: String, engine: FaceEngine, progress: ((Int, Int) -> Void)? = nil) throws
        -> (pairs: [ScoredPair], skipped: [String], used: [UsedFace], rows: [(Row, Double?)]) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw FaceGateError.missingFile(path) }
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !lines.isEmpty else { throw FaceGateError.badInput("\(path) is empty") }
        let header = lines.removeFirst().split(separator: "\t").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let si = header.firstIndex(of: "same") else {
            throw FaceGateError.badInput("\(path): header must name a 'same' column (1 = same person, 0 = different)")
        }
        if let di = header.firstIndex(of: "distance") {
            let pairs = try lines.enumerated().map { (n, l) -> ScoredPair in
                let f = l.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard f.count > max(di, si), let d = Double(f[di]), let s = Int(f[si]), s == 0 || s == 1 else {
                    throw FaceGateError.badInput("\(path) line \(n + 2): expected a distance and same = 0/1")
                }
                return ScoredPair(distance: d, same: s == 1)
            }
            return (pairs, [], [], [])
        }
        guard let ai = header.firstIndex(of: "path_a"), let bi = header.firstIndex(of: "path_b") else {
            throw FaceGateError.badInput("\(path): header must name path_a and path_b (or distance) columns")
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p) }
        var rows: [Row] = []
        for (n, l) in lines.enumerated() {
            let f = l.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count > max(ai, bi, si), let s = Int(f[si]), s == 0 || s == 1 else {
                throw FaceGateError.badInput("\(path) line \(n + 2): expected path_a, path_b and same = 0/1")
            }
            rows.append(Row(a: resolve(f[ai]), b: resolve(f[bi]), same: s == 1))
        }
        var cache: [String: Embedding?] = [:]
        var skipped: [String] = []
        var used: [UsedFace] = []
        func embed(_ p: String) -> Embedding? {
            if let c = cache[p] { return c }
            var e: Embedding?
            do {
                let s = try IdentityProbe.subject(image: p, engine: engine)
                e = s.embedding
                used.append(UsedFace(path: p, box: s.face.box, faces: s.faces))
            } catch { skipped.append("\(p): \(error)") }
            cache[p] = e
            return e
        }
        var pairs: [ScoredPair] = []
        var scoredRows: [(Row, Double?)] = []
        for (i, r) in rows.enumerated() {
            progress?(i, rows.count)
            guard let x = embed(r.a), let y = embed(r.b) else { scoredRows.append((r, nil)); continue }
            let d = x.distance(to: y)
            pairs.append(ScoredPair(distance: d, same: r.same))
            scoredRows.append((r, d))
        }
        return (pairs, skipped, used, scoredRows)
    }
}
