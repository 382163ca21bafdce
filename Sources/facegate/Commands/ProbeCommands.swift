import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

/// Probe input shared by verify and identify: one image, a video or a camera.
struct ProbeOptions: ParsableArguments {
    @Argument(help: "Image of the person (with several faces the largest one, near the centre, is used).") var image: String?
    @Option(help: "Video file (several frames are checked; all must agree).") var video: String?
    @Option(help: "Camera index or device.") var camera: String?
    @Option(help: "Match threshold for this run, over every user's own (order: --threshold > per-user > FACEGATE_IDENTITY_THRESHOLD > identity.threshold in the config > \(IdentityThreshold.default)).") var threshold: Double?
    @Option(help: "Score rule over a user's templates: best or mean-of-best-K.") var rule: String = ScoreRule.default.description

    /// The probe embeddings and, for an image, how many faces it held (the largest answered).
    func embeddings(_ engine: FaceEngine) throws -> (embeddings: [Embedding], faces: Int?) {
        let n = [image, video, camera].compactMap { $0 }.count
        guard n == 1 else { throw FaceGateError.badInput("give exactly one of IMAGE, --video F or --camera N") }
        if let image {
            let s = try IdentityProbe.subject(image: image, engine: engine)
            return ([s.embedding], s.faces)
        }
        let source: FrameSource = try video.map { try VideoSource.file($0) } ?? VideoSource.camera(camera!)
        return (try IdentityProbe.embeddings(video: source, engine: engine), nil)
    }

    static func facesNote(_ faces: Int?) -> String? { IdentityProbe.facesNote(faces) }

    func scoreRule() throws -> ScoreRule {
        guard let r = ScoreRule(parsing: rule) else { throw FaceGateError.badInput("--rule must be best or mean-of-best-K, not '\(rule)'") }
        return r
    }

}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Is this face the enrolled user NAME? Exit 0 match, 1 no match.",
        discussion: "Example: facegate verify --user alice probe.jpg --json")
    @Option(help: "Enrolled user to compare with.") var user: String
    @OptionGroup var probe: ProbeOptions
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions

    struct Output: Encodable {
        var match: Bool; var distance: Double; var threshold: Double; var threshold_source: String?; var user: String; var frames: Int; var faces: Int?
    }

    func run() async throws {
        let match: Bool = try await reportingErrors {
            try await withGalleryErrors {
                // As identify, without loading the whole index (a 1:1 check reads one user).
                let env = try await RuntimeEnvironment.open(config: try configOptions.load(), databaseFlag: gallery.db,
                                                            thresholdFlag: probe.threshold, rule: try probe.scoreRule(),
                                                            lockout: false, loadIndex: false)
                defer { Task { await env.close() } }
                _ = try await env.gallery.user(named: user)        // unknown user: clear error before any camera work
                let engine = try modelOptions.engine()
                let (probes, faces) = try probe.embeddings(engine)
                let res = try await IdentityProbe.verify(probes, user: user, index: env.index)
                if json {
                    print(jsonLine(Output(match: res.match, distance: r(res.distance, 4), threshold: res.threshold,
                                          threshold_source: res.thresholdSource?.rawValue, user: user, frames: probes.count, faces: faces)))
                } else {
                    if let n = ProbeOptions.facesNote(faces) { print(n) }
                    print(String(format: "%@ — distance %.4f (threshold %.3f, %@)%@", res.match ? "MATCH \(user)" : "NO MATCH for \(user)",
                                 res.distance, res.threshold, res.thresholdSource?.rawValue ?? "global", probes.count > 1 ? " over \(probes.count) frames" : ""))
                }
                return res.match
            }
        }
        if !match { throw ExitCode(1) }
    }
}

struct IdentifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify", abstract: "Who is this? Exit 0 identified, 1 unknown face.",
        discussion: "Example: facegate identify probe.jpg --json")
    @OptionGroup var probe: ProbeOptions
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions

    struct Candidate: Encodable { var user: String; var distance: Double }
    struct Output: Encodable {
        var user: String?; var distance: Double?; var candidates: [Candidate]; var frames: Int; var faces: Int?
        enum CodingKeys: String, CodingKey { case user, distance, candidates, frames, faces }
        /// `user` and `distance` are written as null (not left out) when there is no match.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(user, forKey: .user)
            try c.encode(distance, forKey: .distance)
            try c.encode(candidates, forKey: .candidates)
            try c.encode(frames, forKey: .frames)
            try c.encodeIfPresent(faces, forKey: .faces)
        }
    }

    func run() async throws {
        let found: Bool = try await reportingErrors {
            try await withGalleryErrors {
                // The gallery, key and threshold policy opened as authenticate and the daemon open them; no lockout
                // (identifying a face is not an attempt).
                let env = try await RuntimeEnvironment.open(config: try configOptions.load(), databaseFlag: gallery.db,
                                                            thresholdFlag: probe.threshold, rule: try probe.scoreRule(), lockout: false)
                defer { Task { await env.close() } }
                _ = try await env.gallery.requireUsers()
                let engine = try modelOptions.engine()
                let (probes, faces) = try probe.embeddings(engine)
                let res = try await IdentityProbe.identify(probes, index: env.index)
                let cands = res.candidates.map { Candidate(user: $0.user, distance: r($0.distance, 4)) }
                if json {
                    print(jsonLine(Output(user: res.user, distance: res.distance.map { r($0, 4) }, candidates: cands, frames: probes.count, faces: faces)))
                } else {
                    if let n = ProbeOptions.facesNote(faces) { print(n) }
                    if let u = res.user { print(String(format: "%@ (distance %.4f)", u, res.distance ?? 0)) }
                    else { print(String(format: "unknown face (nearest distance %.4f)", res.distance ?? 0)) }
                    for (c, full) in zip(cands, res.candidates) {
                        print(String(format: "  %-24@ %.4f  (threshold %.3f)", c.user as NSString, c.distance, full.threshold))
                    }
                }
                return res.user != nil
            }
        }
        if !found { throw ExitCode(1) }
    }
}
