import Foundation

/// One action a person can be asked to perform. Raw values are the CLI names.
///
/// Directions are the person's own (see `HeadPose`): `turnLeft` is a turn towards the person's own left
/// (`yaw > 0`), `tiltLeft` drops the head towards the left shoulder (`roll > 0`), `lookUp` raises the face
/// (`pitch > 0`).
public enum ChallengeType: String, CaseIterable, Codable, Sendable, Hashable, CustomStringConvertible {
    case blink
    case nod
    case turnLeft = "turn-left"
    case turnRight = "turn-right"
    case tiltLeft = "tilt-left"
    case tiltRight = "tilt-right"
    case shake
    case lookUp = "look-up"
    case lookDown = "look-down"
    case openMouth = "open-mouth"

    public var description: String { rawValue }

    /// Short instruction for a UI or terminal.
    public var prompt: String {
        switch self {
        case .blink: return "Blink"
        case .nod: return "Nod your head (down, then up)"
        case .turnLeft: return "Turn your head to your left"
        case .turnRight: return "Turn your head to your right"
        case .tiltLeft: return "Tilt your head towards your left shoulder"
        case .tiltRight: return "Tilt your head towards your right shoulder"
        case .shake: return "Shake your head (left, right, left)"
        case .lookUp: return "Look up"
        case .lookDown: return "Look down"
        case .openMouth: return "Open your mouth"
        }
    }

    /// The part of the face a challenge moves: head rotation about one axis, the eyelids or the jaw.
    public enum Motion: String, Sendable, Hashable, CaseIterable {
        case yaw, pitch, roll, eyes, mouth
    }

    public var motion: Motion {
        switch self {
        case .turnLeft, .turnRight, .shake: return .yaw
        case .nod, .lookUp, .lookDown: return .pitch
        case .tiltLeft, .tiltRight: return .roll
        case .blink: return .eyes
        case .openMouth: return .mouth
        }
    }

    /// True for the actions that move the head (everything but blink and open-mouth).
    public var movesHead: Bool { motion != .eyes && motion != .mouth }

    /// Other actions that contradict this one: performing one of them *deliberately* while this challenge is asked
    /// fails the session (`ActionEngine.isDeliberate`: ≥ 1.25–1.5 × the detector's own minimum, completed, with the
    /// 3-D check); weaker ones are incidental motion (issue 14: a talking person's ≈ 15° pitch swings had been read
    /// as a nod while a blink was asked).
    /// - Any deliberate head movement about **another axis** than the asked one (a tilt while a turn is asked, a
    ///   turn while a nod is asked). Within the asked axis only the opposite direction contradicts (turn-right for
    ///   turn-left, tilt, look): the actions of one axis overlap, a nod contains a look-down and back and a
    ///   look-down and back is two pitch swings, a shake contains two turns; a person asked for a nod may be read
    ///   as looking down, and that is no evidence of anything.
    /// - While only the eyes or the mouth should move (blink, open-mouth), any deliberate head movement.
    /// - Blinks and mouth openings never contradict anything: people blink spontaneously, and an expressive talker
    ///   opens the mouth as wide as a prompted "open your mouth" (d10: MAR rise 0.50).
    /// Measured with a synthetic recording that loops through all ten actions (`ActiveReplayLoopTests`, 1,000
    /// seeded 3-challenge plans each): canonical order 15 → 3 passes, shuffled orders 29 → 8, together with the
    /// plan's motion rule; with the previous, same-axis-only conflicts a tilt during a turn or a turn during a tilt
    /// went unremarked.
    public var conflicts: Set<ChallengeType> {
        guard movesHead else { return Set(Self.allCases.filter(\.movesHead)) }
        var out = Set(Self.allCases.filter { $0.movesHead && $0.motion != motion })
        switch self {
        case .turnLeft: out.insert(.turnRight)
        case .turnRight: out.insert(.turnLeft)
        case .tiltLeft: out.insert(.tiltRight)
        case .tiltRight: out.insert(.tiltLeft)
        case .lookUp: out.insert(.lookDown)
        case .lookDown: out.insert(.lookUp)
        default: break
        }
        return out
    }

    /// Parses a comma-separated list of CLI names ("blink,turn-left"). Throws on an unknown or empty name.
    public static func parseList(_ text: String) throws -> [ChallengeType] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !names.isEmpty, !(names.count == 1 && names[0].isEmpty) else {
            throw ActiveLivenessError.emptyChallengeList
        }
        return try names.map { name in
            guard let c = ChallengeType(rawValue: name) else { throw ActiveLivenessError.unknownChallenge(name) }
            return c
        }
    }
}

/// Errors from configuring active liveness. Each says what to do next.
public enum ActiveLivenessError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownChallenge(String)
    case emptyChallengeList
    case countOutOfRange(count: Int, maximum: Int)
    case setTooSmall(size: Int, count: Int)
    case badNonce(String)
    case immediateRepeat(ChallengeType)

    public var description: String {
        let names = ChallengeType.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case .unknownChallenge(let n): return "unknown challenge '\(n)' — use one of: \(names)"
        case .emptyChallengeList: return "empty challenge list — pass names separated by commas, e.g. blink,turn-left"
        case .countOutOfRange(let c, let m): return "cannot plan \(c) challenges — choose between 1 and \(m)"
        case .setTooSmall(let s, let c):
            return "\(c) challenges without immediate repeats need at least 2 allowed challenge types, got \(s) — allow more types or ask for 1 challenge"
        case .badNonce(let d): return "bad nonce: \(d) — pass 64 hexadecimal digits (32 bytes)"
        case .immediateRepeat(let t): return "challenge '\(t)' follows itself — an explicit list must not repeat a challenge twice in a row"
        }
    }
}
