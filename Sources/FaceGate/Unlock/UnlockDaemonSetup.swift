import FaceGateCore
import FaceGateStore
import Foundation

/// What `facegate daemon` decides before it serves: which requests are refused, the settings the daemon forces
/// (no voice, no screen lock: it is no desktop session), the user map, the camera check, the challenge plan of each
/// attempt and the status report (live, or checked locally while the daemon is down). The command parses flags,
/// calls these, opens the environment and serves.
public enum UnlockDaemonSetup {
    /// Where the installed unit listens; a test video is refused there.
    public static let productionSocket = "/run/facegate/pam.sock"
    /// One challenge: the ≤ 2.5 s decision target of #19 is for a cooperative user with one blink.
    public static let defaultChallengeCount = 1
    /// Settings the daemon overrides: no voice, no screen lock (audit, mail and webhooks as configured).
    public static let configOverrides = ["voice.enabled": "off", "lock.enabled": "false"]

    /// Refuses a test video on the production socket and a negative waiting queue.
    public static func check(socket: String, testVideo: String?, maxWaiting: Int) throws {
        if testVideo != nil && socket == productionSocket {
            throw FaceGateError.badInput("--test-video is for tests: it is refused on \(productionSocket); give --socket")
        }
        guard maxWaiting >= 0 else { throw FaceGateError.badInput("--max-waiting must be ≥ 0") }
    }

    /// The user map at `path`, or the same-name map without one; an unreadable or malformed file is an input error.
    public static func userMap(path: String?) throws -> UnlockUserMap {
        guard let path else { return .sameNameMap }
        do { return try UnlockUserMap.load(path: path) }
        catch let e as UnlockUserMap.ParseError { throw FaceGateError.badInput("\(path): \(e.description)") }
        catch { throw FaceGateError.badInput("cannot read --user-map \(path): \(error.localizedDescription)") }
    }

    /// The camera check: `allowDevices` entries starting with `/` admit a device path, the others a VID:PID.
    public static func cameraCheck(sysfsRoot: String, allowDevices: [String]) -> CameraDeviceCheck {
        CameraDeviceCheck(sysfsRoot: sysfsRoot, allowedIDs: Set(allowDevices.filter { !$0.hasPrefix("/") }),
                          allowedPaths: Set(allowDevices.filter { $0.hasPrefix("/") }))
    }

    /// Each attempt's plan: the requested challenges (`requested`, drawn anew per attempt), else
    /// `defaultChallengeCount` random ones. Drawn once here so a bad request fails at start-up.
    public static func plan(requested: (() throws -> ChallengePlan)?) throws -> () throws -> ChallengePlan {
        let plan = requested ?? { try ChallengePlan.random(count: defaultChallengeCount) }
        _ = try plan()
        return plan
    }

    /// The liveness line of the status report.
    public static func livenessDescription(requested: Bool) -> String {
        "\(requested ? "challenges as configured" : "\(defaultChallengeCount) random challenge"), mode \(UnlockDaemon.livenessMode)"
    }

    /// The running daemon's status provider: its gallery's users read at each request (from the daemon's
    /// connection thread), the camera checked again.
    public static func statusProvider(gallery: any Gallery, source: UnlockFrameSource, check: CameraDeviceCheck, map: UnlockUserMap,
                                      liveness: String, frameTiming: Bool) -> () -> UnlockStatusReport {
        {
            let enrolled = Result { try blocking { try await gallery.listUsers().map(\.name) } }
            return UnlockStatusReport(source: source.name, camera: source.device.map { check.check($0) }, map: map,
                                      enrolled: (try? enrolled.get()).map(Set.init), galleryError: enrolled.failureText,
                                      liveness: liveness, frameTiming: frameTiming)
        }
    }

    /// The same checks made here when the daemon is down (or will not report to this caller): camera, user map and
    /// which mapped users the gallery `open` yields holds.
    public static func localStatus(source: UnlockFrameSource, check: CameraDeviceCheck, map: UnlockUserMap, frameTiming: Bool,
                                   open: () async throws -> RuntimeEnvironment) async -> UnlockStatusReport {
        var enrolled: Set<String>?, galleryError: String?
        do {
            let env = try await open()
            do { enrolled = Set(try await env.gallery.listUsers().map(\.name)) } catch { galleryError = "\(error)" }
            await env.close()
        } catch {
            galleryError = "\(error)"
        }
        return UnlockStatusReport(source: source.name, camera: source.device.map { check.check($0) }, map: map, enrolled: enrolled,
                                  galleryError: galleryError, liveness: "as the daemon's flags say", frameTiming: frameTiming)
    }
}

extension UnlockFrameSource {
    /// The device the camera check applies to (nil for a test video).
    public var device: String? { if case .camera(let d) = self { return d } else { return nil } }
}

extension Result where Failure == any Error {
    /// The error's text, nil on success.
    public var failureText: String? { if case .failure(let e) = self { return "\(e)" } else { return nil } }
}

/// Runs async work from the daemon's connection thread (the status request is answered there).
private final class StatusBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    init() {}
}

private func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = StatusBox<T>(), done = DispatchSemaphore(value: 0)
    Task { do { box.result = .success(try await body()) } catch { box.result = .failure(error) }; done.signal() }
    done.wait()
    return try box.result!.get()
}
