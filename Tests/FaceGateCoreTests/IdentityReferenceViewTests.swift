import Testing
@testable import FaceGateCore

/// The identity reference with several views of the calibration window (`IdentityReference`): a later anchor is
/// compared with its closest view, views of another person are not admitted, and with several views the threshold
/// is lowered by `IdentityReference.multiViewMargin`.
@Suite struct IdentityReferenceViewTests {
    /// An embedding `d` away from the origin along axis `axis` (distances between two of them are exact).
    static func e(_ d: Float, axis: Int = 0) -> Embedding {
        var v = [Float](repeating: 0, count: Embedding.dimension)
        v[axis] = d
        return Embedding(v)
    }

    @Test func aLaterAnchorIsComparedWithItsClosestView() {
        var r = IdentityReference(Self.e(0))
        let ok1 = r.admit(Self.e(0.4), threshold: 0.55)
        #expect(ok1)                 // the same person pulling another face
        #expect(abs(r.distance(to: Self.e(0.9)) - 0.5) < 1e-6)        // 0.9 from the reference, 0.5 from the view
        #expect(r.threshold(0.55) == 0.55 - IdentityReference.multiViewMargin)
        #expect(IdentityReference(Self.e(0)).threshold(0.55) == 0.55, "one view: the configured threshold")
    }

    @Test func aViewOfAnotherPersonIsNotAdmitted() {
        var r = IdentityReference(Self.e(0))
        let ok2 = r.admit(Self.e(0.6), threshold: 0.55)
        #expect(!ok2)
        #expect(r.views.count == 1)
        let ok3 = r.admit(Self.e(0.3, axis: 1), threshold: 0.55)
        #expect(ok3)
        let ok4 = r.admit(Self.e(0.3, axis: 2), threshold: 0.55)
        #expect(ok4)
        let ok5 = r.admit(Self.e(0.1, axis: 3), threshold: 0.55)
        #expect(!ok5, "at most \(IdentityReference.maxViews) views")
        #expect(r.views.count == IdentityReference.maxViews)
    }

    func finishedSession() throws -> LivenessSession {
        var s = LivenessSession(plan: try ChallengePlan(explicit: [.blink]), configuration: LivenessConfiguration(holdStill: nil))
        var st = SynthStream(fps: 30, seed: 3)
        let r = SynthActor(reaction: 0.4).run(&s, stream: &st)
        #expect(r.live)
        return s
    }

    /// The expressive face: the completion frame is far from the reference anchor but close to another open-eyed
    /// view of the same calibration window — the session stays live.
    @Test func theSamePersonCloseToAnotherViewStaysLive() throws {
        var s = try finishedSession()
        s.reportEmbedding(Self.e(0))
        let ok6 = s.reportReferenceView(Self.e(0.45))
        #expect(ok6)
        s.reportEmbedding(Self.e(0.9))                                 // 0.9 from the reference, 0.45 from the view
        let r = try #require(s.result)
        #expect(r.live, "\(r.reason ?? "")")
        #expect(abs((r.identityDistance ?? 0) - 0.45) < 1e-6)
    }

    /// Another person: far from every view fails; the threshold with two views is the lowered one.
    @Test func anotherPersonFarFromEveryViewFails() throws {
        var s = try finishedSession()
        let t = s.configuration.identityThreshold
        s.reportEmbedding(Self.e(0))
        let ok7 = s.reportReferenceView(Self.e(0.3, axis: 1))
        #expect(ok7)
        // just inside the configured threshold but outside the lowered one
        let d = Float(t - IdentityReference.multiViewMargin / 2)
        s.reportEmbedding(Self.e(d))
        let r = try #require(s.result)
        #expect(!r.live)
        #expect(r.failure?.code == "identity_changed")
        if case .identityChanged(_, let used)? = r.failure { #expect(abs(used - (t - IdentityReference.multiViewMargin)) < 1e-12) }
    }

    /// Views come with the reference: none is admitted after a later anchor was compared, nor before a reference.
    @Test func viewsAreTakenOnlyWithTheReference() throws {
        var s = try finishedSession()
        let ok8 = s.reportReferenceView(Self.e(0.1))
        #expect(!ok8, "no reference yet")
        s.reportEmbedding(Self.e(0))
        s.reportEmbedding(Self.e(0.2))
        let ok9 = s.reportReferenceView(Self.e(0.1))
        #expect(!ok9, "a later anchor was already compared")
        #expect(s.identityReference?.views.count == 1)
    }
}
