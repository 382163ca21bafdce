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
    @Flag(help: "Also run active liveness on a --video (always on for --camera).") var liveness = false
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "Enroll the largest face of a photo with several faces (default: refuse such photos).") var largestFace = false
    @Option(help: "Quality gate: lenient, standard or strict (default: identity.quality in the config, else standard).") var quality: String?
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions
    @OptionGroup(title: "Active liveness (camera enrollment)") var activeOptions: ActiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions

    struct MeasurementJSON: Encodable {
        var face_width: Int; var sharpness: Double?; var brightness: Double?; var eye_aspect: Double; var yaw: Double; var pitch: Double
        init?(_ m: SampleMeasurements?) {
            guard let m else { return nil }
            face_width = Int(m.faceWidth); sharpness = m.sharpness.map { r($0, 3) }; brightness = m.brightness.map { r($0, 1) }
            eye_aspect = r(m.eyeAspect); yaw = r(m.pose.yaw, 1); pitch = r(m.pose.pitch, 1)
        }
    }
    struct AcceptedJSON: Encodable { var source: String; var pose: String; var quality: Double; var measurements: MeasurementJSON? }
    struct RejectedJSON: Encodable { var source: String; var reasons: [String]; var codes: [String]; var measurements: MeasurementJSON? }
    struct Output: Encodable {
        var user: String
        var enrolled: Bool
        var templates: Int
        var poses: [String]
        var missing_poses: [String]
        var accepted: [AcceptedJSON]
        var rejected: [RejectedJSON]
        var rejection_counts: [String: Int]
        var quality: String
        var duplicates: [IdentityCandidate]
        var live: Bool?
        var reason: String?
    }

    func run() async throws {
        let ok: Bool = try await reportingErrors {
            try await withGalleryErrors {
                let sources = [images.isEmpty ? nil : "images", dir, video, camera].compactMap { $0 }
                guard sources.count == 1 else { throw FaceGateError.badInput("give exactly one of --images FILE…, --dir DIR, --video F or --camera N") }
                guard !(replace && append) else { throw FaceGateError.badInput("--replace and --append exclude each other") }
                try GalleryError.checkName(user)
                let settings = try thresholdSettings(flag: nil, configOptions)
                if let t = threshold { try checkPerUserThreshold(t, global: settings.global.value, force: force) }
                // Gallery, key and threshold policy as authenticate, verify and the daemon open them (no lockout: an
                // enrollment is not an attempt; the duplicate check reads the gallery without loading the whole index).
                let env = try await RuntimeEnvironment.open(config: try configOptions.load(), databaseFlag: gallery.db,
                                                            thresholdFlag: nil, lockout: false, loadIndex: false)
                defer { Task { await env.close() } }
                let g = env.gallery
                let exists = try await g.listUsers().contains { $0.name == user }
                if exists && !replace && !append {
                    throw FaceGateError.badInput("a user named '\(user)' is already enrolled — pass --replace or --append, or remove it first (`facegate users remove \(user)`)")
                }
                let engine = try modelOptions.engine()
                _ = try engine.embedder()
                var gate = QualityGate(level: try qualityLevel(flag: quality, configOptions))
                gate.allowSeveralFaces = largestFace
                let livenessOptions = camera != nil || liveness ? try activeOptions.pipelineOptions(mode: .active, settings: configOptions.load()) : nil
                let source: FrameSource? = images.isEmpty && dir == nil ? try video.map { try VideoSource.file($0) } ?? VideoSource.camera(camera!) : nil
                let session = EnrollmentSession(
                    engine: engine,
                    settings: EnrollmentSettings(user: user, gate: gate, perPose: perPose, maxSeconds: maxSeconds, thumbnail: thumbnail,
                                                 liveness: livenessOptions, refuseDuplicates: strict),
                    presenter: TerminalPresenter.make(live: camera != nil, json: json, annotate: activeOptions.annotate, fps: source?.fps ?? 0))
                var collection: EnrollmentCollection
                var live: LivenessResult?
                if let source {
                    (collection, live) = try session.collect(video: source)
                } else {
                    var paths = images
                    if let d = dir {
                        guard FileManager.default.fileExists(atPath: d) else { throw FaceGateError.missingFile(d) }
                        paths = try ImageFilesSource(directory: d).paths
                        guard !paths.isEmpty else { throw FaceGateError.badInput("no images (jpg, png, …) in \(d)") }
                    }
                    collection = try session.collect(images: paths)
                }
                var out = Output(user: user, enrolled: false, templates: collection.templates.count,
                                 poses: collection.templates.map(\.metadata.pose.rawValue),
                                 missing_poses: collection.missingPoses.map(\.rawValue),
                                 accepted: collection.accepted.map { AcceptedJSON(source: $0.source, pose: $0.template?.metadata.pose.rawValue ?? "unknown",
                                                                                  quality: r($0.quality), measurements: MeasurementJSON($0.measurements)) },
                                 rejected: collection.rejected.map { RejectedJSON(source: $0.source, reasons: $0.rejections.map(\.description),
                                                                                  codes: $0.rejections.map(\.code), measurements: MeasurementJSON($0.measurements)) },
                                 rejection_counts: collection.rejectionCounts, quality: gate.level.rawValue, duplicates: [], live: live?.live, reason: nil)
                func finish(_ enrolled: Bool, _ reason: String?) -> Bool {
                    out.enrolled = enrolled; out.reason = reason
                    if json { print(jsonLine(out)); return enrolled }
                    for r in out.rejected { print("rejected \(r.source): \(r.reasons.joined(separator: "; "))") }
                    if !collection.rejected.isEmpty || !collection.rejectionCounts.isEmpty, let h = gate.relaxHint { print("(\(h))") }
                    if collection.rejected.isEmpty && !collection.rejectionCounts.isEmpty {
                        print("frames rejected: " + collection.rejectionCounts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
                    }
                    if !out.missing_poses.isEmpty { print("poses not captured: \(out.missing_poses.joined(separator: ", "))") }
                    for d in out.duplicates { print(String(format: "warning: this face matches enrolled user '%@' (distance %.3f ≤ %.3f)", d.user, d.distance, d.threshold)) }
                    if enrolled {
                        print("enrolled \(user): \(out.templates) template\(out.templates == 1 ? "" : "s") (\(out.poses.joined(separator: ", ")))")
                    } else {
                        print("not enrolled: \(reason ?? "")")
                    }
                    return enrolled
                }
                let decision = try await session.decide(collection, liveness: live, index: env.index)
                out.duplicates = decision.duplicates
                switch decision.refusal {
                case .noUsableSample?:
                    _ = finish(false, "no usable sample")
                    throw FaceGateError.badInput("no sample passed the \(gate.level) quality gate — see the reasons above and retry with better images or light" + (gate.relaxHint.map { ", or \($0)" } ?? ""))
                case .duplicate?: return finish(false, "--strict: " + (decision.refusal?.text ?? ""))
                case let r?: return finish(false, r.text)
                case nil: break
                }
                try await g.enroll(Enrollment(name: user, templates: collection.templates,
                                              thumbnailJPEG: thumbnail ? collection.thumbnailJPEG : nil, threshold: threshold,
                                              mode: replace ? .replace : (append ? .append : .create)))
                return finish(true, nil)
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

/// Refuses a per-user threshold out of range or looser than the global one (unless forced); exit 2.
func checkPerUserThreshold(_ t: Double, global: Double, force: Bool) throws {
    do { try IdentityThreshold.checkPerUser(t, global: global, force: force) } catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
}
