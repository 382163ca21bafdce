import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

// Three paths: challenges only (ActiveLivenessCLI), passive cues only (below), and both in one session
// (`--passive` with `--challenges`/`--random`): ActiveLivenessCLI.run through AuthenticationSession's liveness half.
// Passive options live in `PassiveCLIOptions` (EvaluatePadCommand.swift).

struct LivenessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liveness",
        abstract: "Is the face live? Challenges, passive cues, or both in one session. Exit 0 live, 1 not live.",
        discussion: """
        Examples:
          facegate liveness --video clip.mp4 --challenges blink,turn-left
          facegate liveness --camera 0 --random 3 --passive --mode strict      # challenges + passive cues together
          facegate liveness --passive --image face.jpg
          facegate liveness --passive --video clip.mp4 --pad-model minifasnet-v2 --pad-model minifasnet-v1se --json
          facegate liveness --passive --video clip.mp4 --depth depth/ --imu gyro.csv --mode strict
        """)

    @Option(help: "A still image.") var image: String?
    @Option(help: "A video file.") var video: String?
    @Option(help: "A camera index or device path.") var camera: String?
    @Flag(help: "JSON output.") var json = false
    @Flag(name: .customLong("no-hold-still"),
          help: "Recordings only (--video): prompt each challenge at once instead of after the random 0.5–1.5 s hold-still (a pre-recorded clip cannot follow a random pause).")
    var noHoldStill = false
    @OptionGroup var passiveOptions: PassiveCLIOptions
    @OptionGroup(title: "Active (challenge–response) liveness") var activeOptions: ActiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup(title: "Configuration") var configOptions: ConfigOptions

    struct CueJSON: Encodable {
        var level: Double?
        var confidence: Double
        var state: String
        var note: String
    }
    struct Output: Encodable {
        var live: Bool
        var score: Double
        var decided_by: [String]
        var cues: [String: CueJSON]
        var mode: String
        var reason: String
        var frames: Int
        var frames_with_face: Int
    }

    func run() async throws {
        let live: Bool = try await reportingErrors {
            let inputs = [image, video, camera].compactMap { $0 }
            guard inputs.count == 1 else { throw FaceGateError.badInput("give exactly one of --image F, --video F or --camera N") }
            let ctx = ActiveLivenessCLI.Context(video: video, camera: camera, image: image, json: json, settings: try configOptions.load(),
                                               noHoldStill: noHoldStill)
            // Challenges run with the passive cues by default once an anti-spoof model is installed (mode both);
            // --no-installed-models (without --passive) runs the challenges alone.
            let passiveByDefault = activeOptions.requested && PadModelResolver.passiveRunsWithChallengesByDefault(
                useInstalledModels: !passiveOptions.noInstalledModels, in: modelOptions.directory)
            guard passiveOptions.passive || passiveByDefault else {   // active path: ActiveLivenessCLI.swift
                return try ActiveLivenessCLI.run(ctx, options: activeOptions, passive: nil, models: modelOptions)
            }
            if activeOptions.requested {          // both in one session
                return try ActiveLivenessCLI.run(ctx, options: activeOptions, passive: passiveOptions, models: modelOptions)
            }
            let source: FrameSource
            if let image {
                guard MediaKind.isImage(image) || !FileManager.default.fileExists(atPath: image) else {
                    throw FaceGateError.badInput("\(image) does not look like an image (jpg, png, bmp, webp); use --video for videos")
                }
                guard FileManager.default.fileExists(atPath: image) else { throw FaceGateError.missingFile(image) }
                let files = ImageFilesSource(paths: [image])
                files.orientation = .exif   // photos upright (EXIF), as the reference anti-spoof pipeline reads them
                source = files
            } else if let video {
                source = try VideoSource.file(video)
            } else {
                source = try VideoSource.camera(camera!)
            }
            let options = try passiveOptions.options(models: modelOptions.directory)
            let engine = try modelOptions.engine()
            let report = try PassiveRunner.run(source, engine: engine, options: options)
            Self.print(report, json: json)
            return report.verdict.live
        }
        if !live { throw ExitCode(1) }
    }

    static func output(_ report: PassiveReport) -> Output {
        output(report.verdict, frames: report.frames, framesWithFace: report.framesWithFace)
    }

    /// The passive JSON block: `{"live","score","decided_by","cues",…}`.
    static func output(_ v: PassiveVerdict, frames: Int, framesWithFace: Int) -> Output {
        var cues: [String: CueJSON] = [:]
        for c in v.cues {
            cues[c.name] = CueJSON(level: c.level.map { r($0) }, confidence: r(c.confidence), state: c.state.rawValue, note: c.note)
        }
        return Output(live: v.live, score: r(v.score, 4), decided_by: v.decidedBy.map(\.name), cues: cues, mode: v.mode.rawValue,
                      reason: v.reason.rawValue, frames: frames, frames_with_face: framesWithFace)
    }

    static func print(_ report: PassiveReport, json: Bool) {
        let v = report.verdict
        if json {
            Swift.print(jsonLine(output(report)))
            return
        }
        Swift.print("\(v.live ? "LIVE" : "NOT LIVE") — score \(String(format: "%.3f", v.score)) (\(v.mode.rawValue) mode, \(v.reason.rawValue): \(v.decidedBy.isEmpty ? "no cue could see" : v.decidedBy.map(\.name).joined(separator: ", ")))")
        Swift.print("  \(report.framesWithFace) of \(report.frames) frame(s) with a face, source \(report.source)")
        printCues(v)
    }

    static func printCues(_ v: PassiveVerdict) {
        for c in v.cues {
            let level = c.level.map { String(format: "%.2f", $0) } ?? "  - "
            Swift.print("  " + c.name.padding(toLength: 11, withPad: " ", startingAt: 0) + " "
                        + c.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                        + " level \(level) conf " + String(format: "%.2f", c.confidence) + "  \(c.note)")
        }
    }
}
