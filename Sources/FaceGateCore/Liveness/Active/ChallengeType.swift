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

    /// Other actions that contradict this one: performing one of them *deliberately* while this challenge is asked
    /// fails the session (`ActionEngine.isDeliberate`: ≥ 1.25–1.5 × the detector's own minimum, completed, with the
    /// 3-D check); weaker ones are incidental motion (issue 14: a talking person's ≈ 15° pitch swings had been read
    /// as a nod while a blink was asked). Deliberately conservative between head movements, because head axes
    /// couple in real pose estimates and people look around while orienting (LivePortrait d3 looks down and back,
    /// a 17° "nod", before turning right): the opposite direction on the same axis, a "no" (shake) for a "yes"
    /// (nod) and back. While only the eyes or the mouth should move (blink, open-mouth), any deliberate head
    /// movement contradicts. Blinks and mouth openings never contradict anything: people blink spontaneously,
    /// and an expressive talker opens the mouth as wide as a prompted "open your mouth" (d10: MAR rise 0.50).
    /// Measured with a synthetic recording that loops through all ten actions: 2 of 200 random 3-challenge plans
    /// pass (the plans it happens to perform in order; the previous rules: 3 of 200); every other action against
    /// every asked one (all pairs contradicting) passed 1 of 200 but failed d3's turn-right.
    public var conflicts: Set<ChallengeType> {
        switch self {
        case .turnLeft: return [.turnRight]
        case .turnRight: return [.turnLeft]
        case .tiltLeft: return [.tiltRight]
        case .tiltRight: return [.tiltLeft]
        case .lookUp: return [.lookDown]
        case .lookDown: return [.lookUp]
        case .nod: return [.shake, .turnLeft, .turnRight]
        case .shake: return [.nod]
        case .blink, .openMouth: return [.turnLeft, .turnRight, .tiltLeft, .tiltRight, .shake, .nod, .lookUp, .lookDown]
        }
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
