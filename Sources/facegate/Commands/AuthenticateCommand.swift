import ArgumentParser
import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation

struct AuthenticateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authenticate",
        abstract: "Liveness first, then identity on the frames that passed liveness. Exit 0 authorized, 1 denied.",
        discussion: """
        Examples:
          facegate authenticate --camera 0
          facegate authenticate --video clip.mp4 --challenges blink --user alice --json
        """)
    @Option(help: "Video file.") var video: String?
    @Option(help: "Camera index or device.") var camera: String?
    @Option(help: "Claimed user (1:1); default: identify among all users.") var user: String?
    @Option(help: "Global match threshold (per-user overrides still apply).") var threshold: Double?
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var gallery: GalleryOptions
    @OptionGroup(title: "Active liveness") var activeOptions: ActiveCLIOptions
    @OptionGroup var modelOptions: ModelOptions

    func run() async throws {
        let ok: Bool = try await reportingErrors {
            try await withGalleryErrors {
                guard (video == nil) != (camera == nil) else { throw FaceGateError.badInput("give exactly one of --video F or --camera N") }
                if let t = threshold, !(t > 0 && t < 2) { throw FaceGateError.badInput("--threshold must be between 0 and 2") }
                let (g, _) = try await gallery.open()
                defer { Task { await g.close() } }
                if let u = user { _ = try await g.user(named: u) } else { _ = try await g.requireUsers() }
                let index = IdentityIndexService(gallery: g, policy: IdentityPolicy(threshold: threshold ?? IdentityThreshold.default))
                try await index.load()
                let plan: ChallengePlan
                do { plan = try activeOptions.plan() } catch let e as ActiveLivenessError { throw FaceGateError.badInput(e.description) }
                let engine = try modelOptions.engine()
                _ = try engine.embedder()
                let runner = ActiveRunner(engine: engine, plan: plan, configuration: try activeOptions.configuration(),
                                          checkIdentity: !activeOptions.noIdentity)
                let source: FrameSource = try video.map { try VideoSource.file($0) } ?? VideoSource.camera(camera!)
                let say: (String) -> Void = { json ? printError($0) : print($0) }
                if camera != nil { say("Plan: \(plan.challenges.map(\.rawValue).joined(separator: ", "))") }
                let (live, anchors) = try Authenticator.runLiveness(runner, source: source) { _, _, update in
                    guard camera != nil else { return }
                    for e in update.events {
                        if case .prompt(let i, _, let text, _) = e { say("→ [\(i + 1)/\(plan.count)] \(text)") }
                    }
                }
                if live.frames == 0 { throw FaceGateError.unreadableMedia(path: video ?? camera ?? "input", detail: "no frame could be decoded") }
                let r = try await Authenticator.decide(liveness: live, anchors: anchors, claimedUser: user, index: index)
                if json {
                    var out = r; out.liveness = nil
                    out.distance = out.distance.map { (($0 * 10000).rounded()) / 10000 }
                    print(jsonLine(out))
                } else {
                    print((r.authorized ? "AUTHORIZED \(r.user ?? "")" : "DENIED") + " — \(r.reason)")
                    print("  live: \(r.live ? "yes" : "no"), identity frames: \(r.identityFrames)" + (r.distance.map { String(format: ", distance %.3f", $0) } ?? ""))
                }
                return r.authorized
            }
        }
        if !ok { throw ExitCode(1) }
    }
}
