import FaceGateCore
import Testing

/// The one table from liveness failures to denial reasons (issue: the server filed passive spoofs as `error`, the
/// CLI filed a recording that ended as `spoof`).
@Suite struct LivenessFailureTableTests {
    /// Compile-time exhaustive: a new `LivenessFailure` case breaks this switch until it is listed in
    /// `LivenessFailure.representatives` (the count below) and given a reason.
    static func caseIndex(_ f: LivenessFailure) -> Int {
        switch f {
        case .noStableFace: 0
        case .challengeTimeout: 1
        case .noReturnToNeutral: 2
        case .wrongAction: 3
        case .reactionTooFast: 4
        case .insufficientSignal: 5
        case .faceLost: 6
        case .multipleFaces: 7
        case .identityChanged: 8
        case .sessionTimeout: 9
        case .inputEnded: 10
        case .presentationAttack: 11
        case .notConfirmed: 12
        }
    }

    @Test func representativesCoverEveryCaseOnce() {
        let indices = LivenessFailure.representatives.map(Self.caseIndex)
        #expect(Set(indices) == Set(0...12))
        #expect(indices.count == 13)
        #expect(Set(LivenessFailure.representatives.map(\.code)).count == 13, "codes must be distinct")
    }

    @Test(arguments: LivenessFailure.representatives)
    func everyFailureHasTheDocumentedReason(_ f: LivenessFailure) {
        let expected: DenialReason
        switch f {
        case .noStableFace, .faceLost: expected = .noFace
        case .challengeTimeout, .sessionTimeout: expected = .timeout
        case .multipleFaces: expected = .multipleFaces
        case .noReturnToNeutral, .wrongAction, .insufficientSignal, .inputEnded, .notConfirmed: expected = .challengeFailed
        case .reactionTooFast, .identityChanged, .presentationAttack: expected = .spoof
        }
        #expect(f.denialReason == expected, "\(f.code)")
        // never an internal error, never an identity verdict: liveness failures are about the presentation
        #expect(![.error, .unknownFace, .wrongUser, .lockedOut, .cancelled].contains(f.denialReason))
    }
}
