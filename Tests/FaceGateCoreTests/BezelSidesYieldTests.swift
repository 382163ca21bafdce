import FaceGateCore
import Testing

/// The bezel's two kinds of evidence (#15 item 2, session 12): a quad (the device's rim in view) always denies; a deny
/// resting on the sides alone (two long straight edges flanking the face, open at both ends — also what window frames
/// and curtain edges beside a head look like) yields to an anti-spoof model that voted and is confidently live
/// (`BezelCue.sidesYieldModelLevel`). Without a model, or with an unsure or spoof-leaning one, the sides still deny.
@Suite("Bezel: sides-only evidence yields to a confidently-live model")
struct BezelSidesYieldTests {
    static let sides = BezelMeasurement(found: false, sidesFound: true, sidesLength: 2.0)
    static let quad = BezelMeasurement(found: true, areaRatio: 6, aspect: 1.8, edgeSupport: 0.9, rimContrast: 0.2)
    static let nothing = BezelMeasurement.none

    /// A model reading at a given level (0.5 − margin / 2), as `ModelCue` reports it.
    static func model(level: Double, state: PadCueState = .neutral, confidence: Double = 1) -> PadCueReading {
        PadCueReading(cue: .model, state: state, level: level, confidence: confidence, note: "test")
    }

    static func video(_ m: BezelMeasurement, frames: Int = 10) -> BezelCue {
        var c = BezelCue()
        for _ in 0..<frames { c.add(m) }
        return c
    }

    @Test func sidesAloneDenyWithoutAModel() {
        #expect(Self.video(Self.sides).reading.state == .spoof)
        #expect(Self.video(Self.sides).deferring(to: .abstain(.model, "no model")).reading.state == .spoof)
    }

    @Test func sidesAloneYieldToAConfidentlyLiveModel() {
        let r = Self.video(Self.sides).deferring(to: Self.model(level: 0.02)).reading
        #expect(r.state == .neutral)
        #expect((r.level ?? 1) < 0.5, "a yielded reading stays below the cue's threshold")
        #expect(r.note.contains("yields"))
        // At the constant itself it still yields; just above it the sides deny.
        #expect(Self.video(Self.sides).deferring(to: Self.model(level: BezelCue.sidesYieldModelLevel)).reading.state == .neutral)
        #expect(Self.video(Self.sides).deferring(to: Self.model(level: BezelCue.sidesYieldModelLevel + 0.01)).reading.state == .spoof)
    }

    @Test func sidesStillDenyWhenTheModelIsUnsureSpoofOrDidNotVote() {
        #expect(Self.video(Self.sides).deferring(to: Self.model(level: 0.35)).reading.state == .spoof)
        #expect(Self.video(Self.sides).deferring(to: Self.model(level: 0.8, state: .spoof)).reading.state == .spoof)
        #expect(Self.video(Self.sides).deferring(to: Self.model(level: 0.0, confidence: 0.1)).reading.state == .spoof,
                "a model reading below the voting confidence does not count")
        #expect(Self.video(Self.sides).deferring(to: PadCueReading(cue: .texture, state: .neutral, level: 0, confidence: 1, note: "")).reading.state == .spoof,
                "only the anti-spoof model's reading")
    }

    @Test func aQuadAlwaysDenies() {
        #expect(Self.video(Self.quad).deferring(to: Self.model(level: 0.0)).reading.state == .spoof)
        // Mixed: quads on half the frames (>= frameShare) plus sides on the rest: the rim was seen, no yield.
        var c = BezelCue()
        for i in 0..<10 { c.add(i % 2 == 0 ? Self.quad : Self.sides) }
        #expect(c.deferring(to: Self.model(level: 0.0)).reading.state == .spoof)
        // Quads on 2 of 10 frames (< frameShare) and sides on 4: the deny rests on the sides, it yields.
        var d = BezelCue()
        for i in 0..<10 { d.add(i < 2 ? Self.quad : i < 6 ? Self.sides : Self.nothing) }
        #expect(d.reading.state == .spoof)
        #expect(d.deferring(to: Self.model(level: 0.0)).reading.state == .neutral)
    }

    /// A still's looks: a device by a majority of looks; a quad by a majority of looks too.
    @Test func stillLooks() {
        var sidesStill = BezelCue()
        sidesStill.add(looks: [Self.quad, Self.quad, Self.sides, Self.sides, Self.nothing])
        #expect(sidesStill.reading.state == .spoof)
        #expect(sidesStill.deferring(to: Self.model(level: 0.01)).reading.state == .neutral, "2 of 5 looks saw the rim: not a majority")
        var quadStill = BezelCue()
        quadStill.add(looks: [Self.quad, Self.quad, Self.quad, Self.sides, Self.nothing])
        #expect(quadStill.deferring(to: Self.model(level: 0.01)).reading.state == .spoof)
    }

    /// Through fusion (light mode): the yielded bezel no longer refuses; the model's own deny still does.
    @Test func fusion() {
        let live = Self.model(level: 0.02)
        let v = PassiveFusion.fuse([Self.video(Self.sides).deferring(to: live).reading, live], mode: .light)
        #expect(v.live)
        #expect(v.score < 0.6, "the score shows the overruled evidence (bezel level 0.45)")
        let spoofModel = Self.model(level: 0.9, state: .spoof)
        #expect(!PassiveFusion.fuse([Self.video(Self.sides).deferring(to: spoofModel).reading, spoofModel], mode: .light).live)
    }
}
