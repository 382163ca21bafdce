import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

// Two paths: passive cues only (`--passive` without challenge flags, below), and a challenge session
// (ActiveLivenessCLI.run through AuthenticationSession's liveness half): challenges alone, or both in one session
// by the library's mode rule (`LivenessModeRule`: passive flags given, or an anti-spoof model installed and used).
// Options: `PassiveCLIOptions`, `ActiveCLIOptions`; output: LivenessOutput.swift.

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

    func run() async throws {
        let live: Bool = try await reportingErrors {
            let inputs = [image, video, camera].compactMap { $0 }
            guard inputs.count == 1 else { throw FaceGateError.badInput("give exactly one of --image F, --video F or --camera N") }
            let ctx = ActiveLivenessCLI.Context(video: video, camera: camera, image: image, json: json, settings: try configOptions.load(),
                                               noHoldStill: noHoldStill)
            // Challenges (alone, or with the passive cues in one session by the library's mode rule), unless only
            // --passive was given: ActiveLivenessCLI.swift.
            guard passiveOptions.passive && !activeOptions.requested else {
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
            let options = try passiveOptions.options(models: modelOptions.directory, settings: ctx.settings)
            let engine = try modelOptions.engine()
            let report = try PassiveRunner.run(source, engine: engine, options: options)
            Self.print(report, json: json)
            return report.verdict.live
        }
        if !live { throw ExitCode(1) }
    }
}
