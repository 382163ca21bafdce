import Foundation

/// Median of a non-empty array (0 when empty).
func padMedian(_ v: [Double]) -> Double {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Frames → confidence: one frame is a fair look, `full` frames are as good as it gets.
func padFrameConfidence(_ frames: Int, full: Int) -> Double {
    guard frames > 0 else { return 0 }
    return min(1, 0.5 + 0.5 * Double(frames - 1) / Double(max(1, full - 1)))
}

/// Moiré: a re-captured display adds sharp, isolated peaks to the face's otherwise smooth (1/f) spectrum.
public struct MoireCue: Sendable {
    /// Median peak ratio at or above which the face counts as re-captured. Real faces in the fixture clips and photos
    /// stay below ~6 (skin, beards, glasses); simulator screens at 2–4 px grid pitch reach 12+.
    public static let spoofPeakRatio = 9.0
    /// A peak ratio this low is typical of live skin.
    public static let livePeakRatio = 4.0
    /// Ratio that is certainly a display grid.
    public static let certainPeakRatio = 20.0
    /// Frames after which the median is trusted fully.
    public static let fullConfidenceFrames = 8
    /// Spectra needed before moiré votes. One still's spectrum also carries its own resampling and compression: on the
    /// fixture crops (single PNG stills, 5 sources) genuine faces reached ratios up to 33.8 (alexcamargoweb 7 of 47 and
    /// Krzysiek354 12 of 31 crops ≥ 9) while moiré caught no attack crop that the models missed; on video (9 genuine
    /// clips, 6 sources) genuine medians stay 3.5–7.1. So on fewer spectra it reports, advisory, and does not vote.
    public static let minimumVotingFrames = 3

    public private(set) var ratios: [Double] = []
    public init() {}

    public mutating func add(_ m: MoireMeasurement?) {
        guard let m, m.side > 0 else { return }
        ratios.append(m.peakRatio)
    }

    public var reading: PadCueReading {
        guard !ratios.isEmpty else { return .abstain(.moire, "face too small for a spectrum") }
        let med = padMedian(ratios)
        guard ratios.count >= Self.minimumVotingFrames else {
            return PadCueReading(cue: .moire, state: .neutral, level: nil, confidence: 0,
                                 note: String(format: "advisory (%d spectrum/spectra < %d): median spectral peak ratio %.1f (spoof ≥ %.0f on video)",
                                              ratios.count, Self.minimumVotingFrames, med, Self.spoofPeakRatio))
        }
        let level = PadCueReading.level(med, live: Self.livePeakRatio, threshold: Self.spoofPeakRatio, spoof: Self.certainPeakRatio)
        return PadCueReading(cue: .moire, state: med >= Self.spoofPeakRatio ? .spoof : .neutral,
                             level: level, confidence: padFrameConfidence(ratios.count, full: Self.fullConfidenceFrames),
                             note: String(format: "median spectral peak ratio %.1f over %d frame(s) (spoof ≥ %.0f)", med, ratios.count, Self.spoofPeakRatio))
    }
}

/// Glare: a screen or glossy print reflects a light source as one large, flat, compact sheet; skin scatters
/// highlights into small textured spots.
public struct GlareCue: Sendable {
    /// Largest specular blob, as a fraction of the face box, from which a frame counts as glare. Skin highlights in the
    /// fixture clips stay under ~2 % (forehead, nose tip); glasses reflections under ~3 %.
    public static let sheetArea = 0.06
    /// The sheet must be compact (area / hull area).
    public static let sheetSolidity = 0.75
    /// …and flat inside (mean gradient, grey levels per pixel): saturated sheets are ~0–4, textured skin highlights more.
    public static let sheetTexture = 6.0
    /// Share of frames with a sheet needed to deny (a glint that comes and goes is a reflection on glasses or sweat).
    public static let frameShare = 0.4
    public static let fullConfidenceFrames = 8

    public private(set) var frames = 0
    public private(set) var sheetFrames = 0
    public private(set) var largest: [Double] = []
    public init() {}

    public static func isSheet(_ g: GlareMeasurement) -> Bool {
        g.largestArea >= sheetArea && g.largestSolidity >= sheetSolidity && g.largestTexture <= sheetTexture
    }

    public mutating func add(_ g: GlareMeasurement?) {
        guard let g else { return }
        frames += 1
        largest.append(Self.isSheet(g) ? g.largestArea : min(g.largestArea, Self.sheetArea * 0.99) * 0.5)
        if Self.isSheet(g) { sheetFrames += 1 }
    }

    public var reading: PadCueReading {
        guard frames > 0 else { return .abstain(.glare, "no face region") }
        let share = Double(sheetFrames) / Double(frames)
        let spoof = share >= Self.frameShare
        // Level: the share of glare frames mapped so the deny share sits at 0.5, raised by the sheet size.
        var level = PadCueReading.level(share, live: 0, threshold: Self.frameShare, spoof: 1)
        if !spoof { level = min(level, PadCueReading.level(padMedian(largest), live: 0, threshold: Self.sheetArea, spoof: Self.sheetArea * 3)) }
        return PadCueReading(cue: .glare, state: spoof ? .spoof : .neutral, level: level,
                             confidence: padFrameConfidence(frames, full: Self.fullConfidenceFrames),
                             note: String(format: "flat specular sheet in %d of %d frame(s), median largest blob %.1f %% of face", sheetFrames, frames, padMedian(largest) * 100))
    }
}

/// Bezel: the edges of a phone, tablet or monitor around the face (a device-shaped quadrilateral enclosing it).
///
/// Two kinds of evidence: a **quad** (the device's whole rim in view: four sides, right-angle corners, edge support)
/// and **sides** (two long parallel straight edges flanking the face, open at both ends: a device cut by the frame).
/// The sides rule cannot tell a device's sides from straight background edges beside a head (window frames, curtain
/// edges, the jambs of an open doorway), so when only the sides saw a device it yields to the measured catalogue
/// anti-spoof models when they — and only they — voted confidently live (`sidesYieldModelLevel`, `deferring(to:)`,
/// `PadCueReading.votedOnlyByMeasuredModels`). Without a model, with a model that is unsure or says spoof, or with
/// any model of unmeasured provenance (a user's own `--pad-model`, an unpinned ONNX) the sides deny; a quad always
/// denies.
public struct BezelCue: Sendable {
    /// Fraction of the quad's sides on image edges needed to count it. Doors and picture frames behind a person are
    /// occluded by the head and rarely reach it; a held device's rim is continuous.
    public static let minimumEdgeSupport = 0.7
    /// Quad area / face area range of a device showing a face (a phone at arm's length: ~2–12; a monitor: up to ~25).
    public static let areaRange = 1.5...25.0
    /// Share of frames with the quad needed to deny (persistent object, not a chance alignment of edges).
    public static let frameShare = 0.4
    public static let fullConfidenceFrames = 8
    /// Model level (0.5 − margin / 2, margin = P(real) − P(largest other class)) at or below which a deny resting on
    /// the sides alone yields to the measured catalogue models (`PadModelProvenance.measuredCatalogue`): 0.1 =
    /// P(real) ≥ ~0.9. Measured (session 12, camera-variant set, 432 stills, both MiniFASNets): the sides alone
    /// refused 19 genuine stills (obama-1080p in all 16 variants: window frame and curtain edges from the top border
    /// to the shoulders; biden.jpg in 3) whose model P(real) is 0.95–1.00, and caught no attack still that the models
    /// passed. Not raised to the models' arg-max (0.5), which would pass the genuine people rendered before an open
    /// doorway or a window (rooms, 10/16/30 fps: levels 0.19–0.48), because session 15 measured a backlit moving print
    /// (lighting variants, lin-manuel-miranda seed 1) refused by the sides alone while both MiniFASNets vote live at
    /// level 0.107: the attack looks more live to the models than those genuine people (docs/passive-liveness.md,
    /// session 15). Session 14's arg-max version also applied to any model, and a user's own exported model
    /// (`--pad-model`, live at 0.55 on obama.jpg) silenced the sides: models of other provenance get no yield at all.
    public static let sidesYieldModelLevel = 0.1

    public private(set) var frames = 0
    public private(set) var hits = 0
    /// Frames whose device evidence includes a qualifying quad (the rest of `hits` rest on the sides alone).
    public private(set) var quadHits = 0
    public private(set) var bestSupport = 0.0
    /// The anti-spoof model's reading, when the analyzer hands it over (`deferring(to:)`); nil = no model.
    public private(set) var modelReading: PadCueReading? = nil
    public init() {}

    /// Straight device sides (cut by the frame) must be at least this long, in face heights: a phone held up close
    /// spans 2+ face heights; window mullions and shelves beside a head are shorter or farther (see the native test).
    public static let minimumSideLength = 1.2

    /// A qualifying quad: the device's rim in view.
    public static func isQuad(_ b: BezelMeasurement) -> Bool {
        b.found && b.edgeSupport >= minimumEdgeSupport && areaRange.contains(b.areaRatio)
    }

    public static func isDevice(_ b: BezelMeasurement) -> Bool {
        isQuad(b) || (b.sidesFound && b.sidesLength >= minimumSideLength)
    }

    public mutating func add(_ b: BezelMeasurement?) {
        guard let b else { return }
        frames += 1
        if Self.isDevice(b) { hits += 1 }
        if Self.isQuad(b) { quadHits += 1 }
        noteSupport(b)
    }

    /// The strongest device evidence seen: a quad's edge support, or the cut sides' length over twice the minimum.
    private mutating func noteSupport(_ b: BezelMeasurement) {
        if b.found { bestSupport = max(bestSupport, b.edgeSupport) }
        if b.sidesFound { bestSupport = max(bestSupport, min(1, b.sidesLength / (2 * Self.minimumSideLength))) }
    }

    /// One still image looked at at several working sizes (`PassiveSchedule.stillBezelSides`): it counts as one frame,
    /// a device when **more than half** of the looks find one. The quad search is discrete (Canny hysteresis, contour
    /// polygons): the same photo at 640 px and upscaled to 4032 px — working images differing by 0.05–0.2 grey levels
    /// on average — changed the decision on 3 of 27 fixture/simulator stills (session 10, no models; 1 of 27 with this rule); a video
    /// averages that over its frames (`frameShare`), a still needs the same. Support: the agreeing looks' best.
    /// A device still counts as a quad when more than half of the looks find the quad (the same majority).
    public mutating func add(looks: [BezelMeasurement]) {
        guard !looks.isEmpty else { return }
        let devices = looks.filter(Self.isDevice)
        frames += 1
        let device = 2 * devices.count > looks.count
        if device { hits += 1 }
        if device && 2 * looks.filter(Self.isQuad).count > looks.count { quadHits += 1 }
        for b in device ? devices : looks.filter({ !Self.isDevice($0) }) { noteSupport(b) }
    }

    /// This cue judged alongside the anti-spoof model's reading: a deny that rests on the sides alone yields when the
    /// measured catalogue models alone voted live (`yieldsTo`).
    public func deferring(to model: PadCueReading) -> BezelCue {
        var c = self
        c.modelReading = model
        return c
    }

    /// Whether a sides-only deny yields to this reading: the anti-spoof model cue, voting (confidence ≥ the fusion's
    /// minimum), confidently live (level ≤ `sidesYieldModelLevel`), and made only by measured catalogue models.
    public static func yieldsTo(_ m: PadCueReading?) -> Bool {
        guard let m, votesLive(m) else { return false }
        return m.votedOnlyByMeasuredModels
    }

    /// The model cue voted confidently live (whoever the models are).
    static func votesLive(_ m: PadCueReading) -> Bool {
        guard m.cue == .model, m.state == .neutral, m.confidence >= PassiveFusion.minimumConfidence, let level = m.level
        else { return false }
        return level <= sidesYieldModelLevel
    }

    public var reading: PadCueReading {
        guard frames > 0 else { return .abstain(.bezel, "no frame with a face") }
        let share = Double(hits) / Double(frames)
        let quadShare = Double(quadHits) / Double(frames)
        var spoof = share >= Self.frameShare
        var note = String(format: "device-shaped frame around the face in %d of %d frame(s) (best edge support %.2f)", hits, frames, bestSupport)
        if spoof && quadShare < Self.frameShare, let m = modelReading, m.cue == .model, m.state != .abstain {
            let sides = String(format: "; sides only (no rim in %d of %d)", frames - quadHits, frames)
            if Self.yieldsTo(m) {
                spoof = false
                note += sides + String(format: " — yields to the pinned catalogue models' live vote (level %.2f ≤ %.2f)",
                                       m.level ?? 0, Self.sidesYieldModelLevel)
            } else if Self.votesLive(m) {
                let others = m.voters.filter { $0.provenance != .measuredCatalogue }.map(\.name)
                note += sides + " — no yield: the model vote " + (others.isEmpty ? "names no model"
                    : "includes \(others.joined(separator: ", ")) (not a pinned catalogue model)")
            } else if m.confidence < PassiveFusion.minimumConfidence {
                note += sides + " — no yield: the model did not vote"
            } else {
                note += sides + String(format: " — no yield: the model vote is not confidently live (level %.2f > %.2f)",
                                       m.level ?? 1, Self.sidesYieldModelLevel)
            }
        }
        let level = spoof ? PadCueReading.level(share, live: 0, threshold: Self.frameShare, spoof: 1)
                          : min(0.45, PadCueReading.level(bestSupport, live: 0.3, threshold: Self.minimumEdgeSupport, spoof: 1) * 0.9)
        return PadCueReading(cue: .bezel, state: spoof ? .spoof : .neutral, level: level,
                             confidence: padFrameConfidence(frames, full: Self.fullConfidenceFrames), note: note)
    }
}
