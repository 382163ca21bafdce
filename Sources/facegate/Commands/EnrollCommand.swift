import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll a person: quality-gated templates from images, a video or a camera (guided poses).",
        discussion: """
        Examples:
          facegate enroll --user alice --images a1.jpg a2.jpg a3.jpg
          facegate enroll --user bob --dir photos/bob --thumbnail
          facegate enroll --user carol --video carol.mp4
          facegate enroll --user dave --camera 0            (needs a passed active-liveness session first)
        Each sample passes a quality gate (single face, size, sharpness, exposure, open eyes, pose); rejected samples
        say why. Enrolling a face that already matches another user warns; --strict refuses.
        """)

    @Option(help: "Name of the person.") var user: String
    @Option(parsing: .upToNextOption, help: "Image files.") var images: [String] = []
    @Option(help: "Directory of images.") var dir: String?
    @Option(help: "Video file (guided poses are taken from it).") var video: String?
    @Option(help: "Camera index or device (guided; active liveness first).") var camera: String?
    @Flag(help: "Refuse (instead of warning) when the face already matches another user.") var strict = false
    @Flag(help: "Store an encrypted reference thumbnail (JPEG) of the best frontal face for audit.") var thumbnail = false
    @Flag(help: "Replace the templates of an existing user.") var replace = false
    @Flag(help: "Add templates to an existing user.") var append = false
    @Option(help: "Per-user match threshold to store (default: the global one); only stricter than the global one unless --force.") var threshold: Double?
    @Flag(help: "Allow a per-user --threshold looser than the global one.") var force = false
    @Option(help: "Templates kept per pose (video/camera).") var perPose = PoseCollector<FaceTemplate>.defaultPerPose
    @Option(help: "Stop a video/camera enrollment after this many seconds.") var maxSeconds = 60.0
    @Flag(help: "Also run liveness on a --video (always on for --camera): challenges, with the passive cues while an anti-spoof model is installed.") var liveness = false
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "Enroll the largest face of a photo with several faces (default: refuse such photos).") var largestFace = false
    @Option(help: "Quality gate: lenient, standard or strict (default: identity.quality in the config, else standard).") var quality: String?
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    @OptionGroup(title: "Active liveness (camera enrollment)") var activeOptions: ActiveCLIOptions
    @OptionGroup(title: "Passive liveness (with the challenges: on while an anti-spoof model is installed)") var passiveOptions: PassiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions

    func run() async throws {
        let ok: Bool = try await reportingErrors {
            try await withGalleryErrors {
                try EnrollmentRequest.check(user: user, inputs: [images.isEmpty ? nil : "images", dir, video, camera].compactMap { $0 }.count,
                                            replace: replace, append: append)
                // Gallery, key and threshold policy as authenticate, verify and the daemon open them (no lockout: an
                // enrollment is not an attempt; the duplicate check reads the gallery without loading the whole index).
                let env = try await RuntimeEnvironment.open(config: try configOptions.load(), databaseFlag: gallery.db,
                                                            thresholdFlag: nil, lockout: false, loadIndex: false)
                defer { Task { await env.close() } }
                if let t = threshold { try IdentityThreshold.checkPerUser(t, global: await env.index.policy.threshold, force: force) }
                let mode = try await EnrollmentRequest.mode(user: user, in: env.gallery, replace: replace, append: append)
                let engine = try modelOptions.engine()
                _ = try engine.embedder()
                var gate = QualityGate(level: try qualityLevel(flag: quality, configOptions))
                gate.allowSeveralFaces = largestFace
                // Liveness first (camera, --liveness), in the mode of the library's one rule (as authenticate and the server).
                let settings = try configOptions.load(), models = modelOptions.directory
                let livenessOptions = camera != nil || liveness
                    ? try activeOptions.pipelineOptions(mode: passiveOptions.challengeMode(settings: settings, models: models),
                                                        passive: passiveOptions.options(models: models, settings: settings), settings: settings) : nil
                let source: FrameSource? = images.isEmpty && dir == nil ? try video.map { try VideoSource.file($0) } ?? VideoSource.camera(camera!) : nil
                let session = EnrollmentSession(
                    engine: engine,
                    settings: EnrollmentSettings(user: user, gate: gate, perPose: perPose, maxSeconds: maxSeconds, thumbnail: thumbnail,
                                                 liveness: livenessOptions, refuseDuplicates: strict),
                    presenter: TerminalPresenter.make(live: camera != nil, json: json, annotate: activeOptions.annotate, fps: source?.fps ?? 0))
                var collection: EnrollmentCollection
                var live: LivenessResult?
                if let source { (collection, live) = try session.collect(video: source) }
                else { collection = try session.collect(images: try EnrollmentRequest.imagePaths(images: images, dir: dir)) }
                var report = EnrollmentReport(user: user, collection: collection, gate: gate, live: live)
                let failure = report.settle(try await session.decide(collection, liveness: live, index: env.index))
                if report.reason == nil {
                    try await env.gallery.enroll(Enrollment(name: user, templates: collection.templates,
                                                            thumbnailJPEG: thumbnail ? collection.thumbnailJPEG : nil, threshold: threshold, mode: mode))
                    report.stored()
                }
                if json { print(jsonLine(report)) } else { for l in report.lines { print(l) } }
                if let failure { throw failure }
                return report.enrolled
            }
        }
        if !ok { throw ExitCode(1) }
    }
}

/// The identity threshold settings of a command (flag > per-user > config > environment > default), range-checked;
/// a bad value is a one-line error (exit 2).
func thresholdSettings(flag: Double?, _ config: ConfigOptions) throws -> ThresholdSettings {
    let cfg = try config.load()
    do { return try ThresholdSettings(flag: flag, config: cfg) } catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
}

/// The quality level: --quality > identity.quality in the config (file, --set, FACEGATE_IDENTITY_QUALITY) > standard.
func qualityLevel(flag: String?, _ config: ConfigOptions) throws -> QualityLevel {
    guard let text = flag else { return try config.load().identity.quality }
    guard let l = QualityLevel(rawValue: text.lowercased()) else {
        throw FaceGateError.badInput("--quality must be lenient, standard or strict, not '\(text)'")
    }
    return l
}
