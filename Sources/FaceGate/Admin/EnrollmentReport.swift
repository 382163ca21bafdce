import FaceGateCore
import FaceGateStore
import Foundation

/// `facegate enroll`'s request checks and its report: which input is given, whether the user may be created,
/// replaced or extended, and — once `EnrollmentSession` has collected and decided — what was accepted, rejected and
/// why, as one JSON object or as the lines a terminal shows. The front-end runs the session and prints.
public struct EnrollmentReport: Encodable, Sendable {
    /// A sample's measurements (rounded for compact JSON).
    public struct Measurement: Encodable, Sendable {
        var face_width: Int; var sharpness: Double?; var brightness: Double?; var eye_aspect: Double; var yaw: Double; var pitch: Double
        init?(_ m: SampleMeasurements?) {
            guard let m else { return nil }
            face_width = Int(m.faceWidth); sharpness = m.sharpness.map { round($0, 3) }; brightness = m.brightness.map { round($0, 1) }
            eye_aspect = round(m.eyeAspect); yaw = round(m.pose.yaw, 1); pitch = round(m.pose.pitch, 1)
        }
    }
    public struct Accepted: Encodable, Sendable { var source: String; var pose: String; var quality: Double; var measurements: Measurement? }
    public struct Rejected: Encodable, Sendable { var source: String; var reasons: [String]; var codes: [String]; var measurements: Measurement? }

    public var user: String
    public var enrolled = false
    public var templates: Int
    public var poses: [String]
    public var missing_poses: [String]
    public var accepted: [Accepted]
    public var rejected: [Rejected]
    public var rejection_counts: [String: Int]
    public var quality: String
    public var duplicates: [IdentityCandidate] = []
    public var live: Bool?
    public var reason: String?
    /// How to relax the gate, shown after rejections (not in the JSON).
    let relaxHint: String?
    enum CodingKeys: String, CodingKey {
        case user, enrolled, templates, poses, missing_poses, accepted, rejected, rejection_counts, quality, duplicates, live, reason
    }

    public init(user: String, collection c: EnrollmentCollection, gate: QualityGate, live: LivenessResult?) {
        self.user = user
        templates = c.templates.count
        poses = c.templates.map(\.metadata.pose.rawValue)
        missing_poses = c.missingPoses.map(\.rawValue)
        accepted = c.accepted.map { Accepted(source: $0.source, pose: $0.template?.metadata.pose.rawValue ?? "unknown",
                                             quality: Self.round($0.quality), measurements: Measurement($0.measurements)) }
        rejected = c.rejected.map { Rejected(source: $0.source, reasons: $0.rejections.map(\.description),
                                             codes: $0.rejections.map(\.code), measurements: Measurement($0.measurements)) }
        rejection_counts = c.rejectionCounts
        quality = gate.level.rawValue
        self.live = live?.live
        relaxHint = gate.relaxHint
    }

    /// Takes the session's decision. Returns the input error to raise after the report is shown when no sample
    /// passed the gate (exit 2); any other refusal is a negative result (not enrolled, exit 1). An accepted outcome
    /// still has to be stored; then call `stored()`.
    public mutating func settle(_ outcome: EnrollmentOutcome) -> FaceGateError? {
        duplicates = outcome.duplicates
        switch outcome.refusal {
        case .noUsableSample(let level)?:
            reason = "no usable sample"
            return .badInput("no sample passed the \(level) quality gate — see the reasons above and retry with better images or light"
                             + (relaxHint.map { ", or \($0)" } ?? ""))
        case .duplicate?: reason = "--strict: " + (outcome.refusal?.text ?? "")
        case let r?: reason = r.text
        case nil: break
        }
        return nil
    }

    /// The templates are in the gallery.
    public mutating func stored() { enrolled = true; reason = nil }

    /// What a terminal shows: rejected samples, how to relax the gate, frame rejection counts, missing poses,
    /// duplicate warnings, then the verdict.
    public var lines: [String] {
        var out = rejected.map { "rejected \($0.source): \($0.reasons.joined(separator: "; "))" }
        if !rejected.isEmpty || !rejection_counts.isEmpty, let h = relaxHint { out.append("(\(h))") }
        if rejected.isEmpty && !rejection_counts.isEmpty {
            out.append("frames rejected: " + rejection_counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        if !missing_poses.isEmpty { out.append("poses not captured: \(missing_poses.joined(separator: ", "))") }
        for d in duplicates { out.append(String(format: "warning: this face matches enrolled user '%@' (distance %.3f ≤ %.3f)", d.user, d.distance, d.threshold)) }
        out.append(enrolled ? "enrolled \(user): \(templates) template\(templates == 1 ? "" : "s") (\(poses.joined(separator: ", ")))"
                            : "not enrolled: \(reason ?? "")")
        return out
    }

    static func round(_ x: Double, _ places: Int = 3) -> Double {
        guard x.isFinite else { return 0 }
        let p = pow(10.0, Double(places))
        return (x * p).rounded() / p
    }
}

/// The request checks of `facegate enroll`, before and after the gallery is opened.
public enum EnrollmentRequest {
    /// Exactly one input; `replace` and `append` exclude each other; a valid user name.
    public static func check(user: String, inputs: Int, replace: Bool, append: Bool) throws {
        guard inputs == 1 else { throw FaceGateError.badInput("give exactly one of --images FILE…, --dir DIR, --video F or --camera N") }
        guard !(replace && append) else { throw FaceGateError.badInput("--replace and --append exclude each other") }
        try GalleryError.checkName(user)
    }

    /// An existing user is only replaced or extended when asked; the gallery write mode.
    public static func mode(user: String, in gallery: any Gallery, replace: Bool, append: Bool) async throws -> Enrollment.Mode {
        if try await gallery.listUsers().contains(where: { $0.name == user }) && !replace && !append {
            throw FaceGateError.badInput("a user named '\(user)' is already enrolled — pass --replace or --append, or remove it first (`facegate users remove \(user)`)")
        }
        return replace ? .replace : (append ? .append : .create)
    }

    /// The image files of `images`, or of the folder `dir` (which must exist and hold some).
    public static func imagePaths(images: [String], dir: String?) throws -> [String] {
        guard let d = dir else { return images }
        guard FileManager.default.fileExists(atPath: d) else { throw FaceGateError.missingFile(d) }
        let paths = try ImageFilesSource(directory: d).paths
        guard !paths.isEmpty else { throw FaceGateError.badInput("no images (jpg, png, …) in \(d)") }
        return paths
    }
}
