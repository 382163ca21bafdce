import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// `facegate calibrate-pad`: the passive cues over a folder of the user's own genuine recordings (clips or photos),
/// then `PadCalibration` picks the fused-score threshold for a target BPCER, written to the configuration as
/// `liveness.pad_threshold`.
public enum PadCalibrationRun {
    /// One recording's outcome at the built-in operating point.
    public struct Recording: Sendable {
        public var path: String
        /// Fused score (nil: no face / unreadable — not used for the threshold, listed as an error).
        public var score: Double?
        public var decidedBy: [PadCue]
        public var error: String?
    }

    /// The images and videos under `directory` (recursively), sorted by path. Throws when it is missing or holds none.
    public static func recordings(in directory: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else { throw FaceGateError.missingFile(directory) }
        guard isDir.boolValue else {
            throw FaceGateError.badInput("\(directory) is not a folder: give the folder holding your own genuine recordings (clips or photos)")
        }
        var out: [String] = []
        let e = FileManager.default.enumerator(atPath: directory)
        while let rel = e?.nextObject() as? String {
            let p = directory + "/" + rel
            if MediaKind.isImage(p) || MediaKind.isVideo(p) { out.append(p) }
        }
        guard !out.isEmpty else {
            throw FaceGateError.badInput("no images or videos in \(directory) (extensions: \(MediaKind.videoExtensions.union(MediaKind.imageExtensions).sorted().joined(separator: ", ")))")
        }
        return out.sorted()
    }

    /// Runs the passive cues at the built-in operating point on each recording (a photo as a still, a clip tracked).
    public static func run(_ paths: [String], engine: FaceEngine, options: PassiveOptions,
                           progress: ((Int, Recording) -> Void)? = nil) throws -> [Recording] {
        var o = options
        o.scoreThreshold = PassiveFusion.defaultScoreThreshold  // scores are threshold-free; measure at the default
        var out: [Recording] = []
        for (i, p) in paths.enumerated() {
            var r: Recording
            do {
                let src = try openSource(p)
                (src as? ImageFilesSource)?.orientation = .exif
                let rep = try PassiveRunner.run(src, engine: engine, options: o)
                r = Recording(path: p, score: rep.verdict.score, decidedBy: rep.verdict.live ? [] : rep.verdict.decidedBy, error: nil)
            } catch let e as FaceGateError {
                if case .missingFile = e { throw e }
                r = Recording(path: p, score: nil, decidedBy: [], error: e.description)
            }
            out.append(r)
            progress?(i, r)
        }
        return out
    }

    /// `text` (a facegate.toml, or nil for none) with `[liveness] pad_threshold` set to `threshold`: an existing key
    /// in that section is replaced in place, else the key is added at the top of the section, else the section is
    /// appended. Everything else is kept byte for byte.
    public static func settingThreshold(_ threshold: Double, in text: String?) -> String {
        let value = String(format: "pad_threshold = %.3f", threshold)
        var lines = (text ?? "").components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        func section(_ line: String) -> String? {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("["), let end = t.firstIndex(of: "]") else { return nil }
            return String(t[t.index(after: t.startIndex)..<end]).trimmingCharacters(in: .whitespaces)
        }
        if let start = lines.firstIndex(where: { section($0) == "liveness" }) {
            var end = lines.count
            for i in (start + 1)..<lines.count where section(lines[i]) != nil { end = i; break }
            for i in (start + 1)..<end {
                let t = lines[i].trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("pad_threshold") && t.dropFirst("pad_threshold".count).trimmingCharacters(in: .whitespaces).hasPrefix("=") {
                    lines[i] = value
                    return lines.joined(separator: "\n") + "\n"
                }
            }
            lines.insert(value, at: start + 1)
            return lines.joined(separator: "\n") + "\n"
        }
        if !lines.isEmpty && lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == false { lines.append("") }
        lines += ["[liveness]", value]
        return lines.joined(separator: "\n") + "\n"
    }
}
