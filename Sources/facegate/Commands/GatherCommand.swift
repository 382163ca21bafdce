import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import FaceGateVision
import Foundation

struct GatherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gather",
        abstract: "Cut aligned face crops out of videos or images into a training dataset (OUTPUT/<label>/).",
        discussion: """
        Every Nth frame, the main face is detected, its 68 landmarks found and an aligned chip written as
        OUTPUT/<label>/<group>__f<frame>.png. Faces below --confidence and crops nearly identical to the previous one
        are skipped. The group (default: the video's file name) keeps crops of one recording together when
        `facegate train` splits training and validation data.

        Examples:
          facegate gather --input real.mp4 --output dataset --label real --group alice
          facegate gather --input fake.mp4 --output dataset --label fake --group alice
          facegate gather --input videos/print --output dataset --label print   # a folder of videos
        """)

    @Option(help: "Video file, image, or a folder of videos/images.") var input: String
    @Option(help: "Dataset folder; crops go to OUTPUT/<label>/.") var output: String
    @Option(help: "Class of these crops: real, fake, print, replay, … (default: guessed from the input name).") var label: String?
    @Option(help: "Source group for the by-source split (default: each video's file name, or the image folder's name).") var group: String?
    @Option(help: "Use every Nth frame.") var skip = 5
    @Option(help: "Lowest detection score kept (HOG: ~0.2–3).") var confidence = GatherOptions.defaultConfidence
    @Option(help: "Crop side in pixels.") var size = 64
    @Option(help: "Margin around the face landmarks, as a fraction of the face size.") var margin = 0.2
    @Option(help: "Skip a crop whose 16x16 thumbnail differs from the previous one by less than this many grey levels (0 = keep all).") var dedup = GatherOptions.defaultDuplicateThreshold
    @Flag(help: "Input images are face crops already (another tool's dataset): use the whole image as the face box when no face is detected.") var crops = false
    @Flag(help: "Print the summary as JSON.") var json = false
    @Flag(help: "No progress bar.") var quiet = false
    @OptionGroup var modelOptions: ModelOptions

    /// Input names that say which class they are.
    static let knownLabels = ["real", "live", "genuine", "fake", "spoof", "attack", "print", "replay", "screen", "mask", "photo"]

    static func guessLabel(_ input: String) -> String? {
        let url = URL(fileURLWithPath: input)
        let candidates = [url.deletingPathExtension().lastPathComponent, url.deletingLastPathComponent().lastPathComponent]
        for c in candidates.map({ $0.lowercased() }) where knownLabels.contains(c) { return c }
        return nil
    }

    func run() async throws {
        try await reportingErrors {
            guard let label = label ?? Self.guessLabel(input) else {
                throw FaceGateError.badInput("cannot tell the class of \(input) — pass --label real (genuine faces) or --label fake (attacks)")
            }
            var opts = GatherOptions(label: label)
            opts.skip = skip
            opts.confidence = confidence
            opts.size = size
            opts.margin = margin
            opts.group = group
            opts.duplicateThreshold = dedup
            opts.inputsAreCrops = crops
            let engine = try modelOptions.engine()
            let gatherer = try Gatherer(engine: engine, options: opts)
            let printer = ProgressPrinter(quiet: quiet || json)
            var bar = ProgressBar(total: nil)
            var lastInput = ""
            let stats = try gatherer.run(input: input, output: output) { p in
                if p.input != lastInput {
                    if !lastInput.isEmpty { printer.finish() }
                    lastInput = p.input
                    bar = ProgressBar(total: p.frames)
                }
                let name = (p.input as NSString).lastPathComponent
                let prefix = p.inputs > 1 ? "[\(p.inputIndex)/\(p.inputs)] \(name) " : "\(name) "
                printer.update(prefix + bar.render(done: p.frame, unit: "frames", extra: "\(p.stats.written) faces written"),
                               force: p.frames == p.frame)
            }
            printer.finish()
            for u in stats.unreadable { printError("facegate: skipped \(u)") }
            if json {
                print(jsonLine(stats))
            } else {
                print("gathered \(stats.written) crop\(stats.written == 1 ? "" : "s") from \(stats.framesUsed) of \(stats.framesRead) frames (every \(skip)) → \(stats.outputDirectory)")
                print("skipped: \(stats.noFace) without a face, \(stats.lowConfidence) below confidence \(confidence), \(stats.duplicates) near-duplicates")
            }
            if stats.written == 0 {
                throw FaceGateError.noFace("\(input) (no crop written: \(stats.noFace) frames without a face, \(stats.lowConfidence) below --confidence \(confidence)) — lower --confidence, use --detector mmod, or check the video")
            }
        }
    }
}
