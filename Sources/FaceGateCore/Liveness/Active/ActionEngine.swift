import Foundation

/// Runs every challenge detector on every frame: the per-frame "engine step" of active liveness.
///
/// All ten detectors always run, so that the session can tell not only whether the asked action happened but also
/// which *other* action the person performed (turning right when asked to turn left counts against the session).
public struct ActionEngine: Sendable {
    public let baseline: ActiveBaseline
    private var smoother = SignalSmoother()
    private var blink = BlinkDetector()
    private var mouth = MouthDetector()
    private var excursions: [ExcursionDetector] = [
        ExcursionDetector(type: .turnLeft, axis: .yaw, direction: +1, parameters: ExcursionDetector.turn),
        ExcursionDetector(type: .turnRight, axis: .yaw, direction: -1, parameters: ExcursionDetector.turn),
        ExcursionDetector(type: .tiltLeft, axis: .roll, direction: +1, parameters: ExcursionDetector.tilt),
        ExcursionDetector(type: .tiltRight, axis: .roll, direction: -1, parameters: ExcursionDetector.tilt),
        ExcursionDetector(type: .lookUp, axis: .pitch, direction: +1, parameters: ExcursionDetector.look),
        ExcursionDetector(type: .lookDown, axis: .pitch, direction: -1, parameters: ExcursionDetector.look),
    ]
    private var swings: [SwingDetector] = [
        SwingDetector(type: .nod, parameters: SwingDetector.nod),
        SwingDetector(type: .shake, parameters: SwingDetector.shake),
    ]
    private var previousRaw: FaceSignal? = nil
    /// The smoothed signals of the last `historyLength`: where a completed movement began (`movementStart`).
    private var recent: [FaceSignal] = []
    /// The last smoothed signal (for UIs and annotation).
    public private(set) var last: FaceSignal? = nil

    public init(baseline: ActiveBaseline) { self.baseline = baseline }

    /// Feeds one frame's primary face; returns the actions completed on this frame (usually none).
    public mutating func step(_ face: FaceObservation, stamp: FrameStamp) -> [DetectedAction] {
        step(FaceSignal(face: face, stamp: stamp))
    }

    public mutating func step(_ raw: FaceSignal) -> [DetectedAction] {
        // A repeated picture (a camera or browser delivering the same image again with a new timestamp, e.g. 24 or
        // 25 fps resampled to 30) carries no new information, and its late timestamp is wrong for the picture: it
        // would weigh twice in the pose median (pulling it towards the older value, so that a shake's extreme was
        // lost at 12 fps) and stretch or shrink the blink's bracket. It does not enter the median or the blink; the
        // other detectors see the unchanged signal at the new time (time goes on for their duration rules).
        if let p = previousRaw, raw.isSamePicture(as: p) {
            let s = smoother.advance(to: raw.stamp, latest: p)
            last = s
            remember(s)
            blink.repeated(at: raw.stamp, baseline: baseline)
            var out: [DetectedAction] = []
            if let a = mouth.update(s, baseline: baseline) { out.append(a) }
            for i in excursions.indices { if let a = excursions[i].update(s, baseline: baseline) { out.append(a) } }
            for i in swings.indices { if let a = swings[i].update(s, baseline: baseline) { out.append(a) } }
            return out
        }
        previousRaw = raw
        let s = smoother.push(raw)
        var raw = raw
        // Blink reads the raw EAR (a blink may be one frame at 10 fps) with the smoothed pose for its steadiness gate.
        raw.yaw = s.yaw; raw.pitch = s.pitch; raw.roll = s.roll
        last = s
        remember(s)
        var out: [DetectedAction] = []
        if let a = blink.update(raw, baseline: baseline) { out.append(a) }
        if let a = mouth.update(s, baseline: baseline) { out.append(a) }
        for i in excursions.indices {
            if let a = excursions[i].update(s, baseline: baseline) { out.append(a) }
        }
        for i in swings.indices {
            if let a = swings[i].update(s, baseline: baseline) { out.append(a) }
        }
        return out
    }

    private mutating func remember(_ s: FaceSignal) {
        recent.append(s)
        let t0 = s.stamp.timestamp - Self.historyLength
        while recent.count > 1, recent[1].stamp.timestamp <= t0 { recent.removeFirst() }
    }

    /// How far back before a detector's onset the start of the movement is looked for: 0.3 s. The detectors report
    /// the onset when the smoothed angle passes 4–5° (excursions) or 5° of reversal (swings), 0.1–0.35 s after the
    /// head began to move (the all-actions loop's look-down begun 0.16 s before its prompt had its onsets 0.29 and
    /// 0.36 s after its start). Looking back 0.5 s reached into a talking person's sway before a nod (synthetic
    /// browser delivery at 10 fps, the test's seeds: 1 genuine nod of 300 failed as too fast); 0.2–0.4 s gave the
    /// same loop counts and no genuine loss (nod/shake at 10/12 fps, 300 seeds each).
    public static let movementStartWindow = 0.3
    /// A frame is at rest before a movement when its smoothed angle in the movement's direction is within 2° of the
    /// lowest in `movementStartWindow`: the 0.21 s median leaves about ±1° of the synthetic webcam's 1.5° pose noise,
    /// while the loop's 16° look-down passes 2° 0.09 s after it starts.
    public static let restTolerance = 2.0
    /// Signals kept: the longest action (a shake, `SwingDetector.shake.maxDuration`) plus the look-back.
    static var historyLength: Double { SwingDetector.shake.maxDuration + movementStartWindow }

    /// Where the head movement of `a` began, for the reaction floor: the last frame, at most `movementStartWindow`
    /// before the detector's onset, whose smoothed angle in the movement's direction was within `restTolerance` of
    /// the lowest in that look-back (the onset itself when there is nothing earlier, and for blinks and the mouth).
    /// A recording that began the movement just before its prompt is re-armed at the prompt and its detector reports
    /// an onset after it; the movement itself started earlier.
    public func movementStart(of a: DetectedAction) -> FrameStamp {
        let axis: PoseAxis
        switch a.type.motion {
        case .yaw: axis = .yaw
        case .pitch: axis = .pitch
        case .roll: axis = .roll
        case .eyes, .mouth: return a.onset
        }
        let t0 = a.onset.timestamp - Self.movementStartWindow
        let window = recent.filter { $0.stamp.timestamp >= t0 && $0.stamp.timestamp <= a.onset.timestamp }
        guard window.count >= 2, let atOnset = window.last else { return a.onset }
        let direction: Double
        switch a.type {
        case .turnLeft, .tiltLeft, .lookUp: direction = 1
        case .turnRight, .tiltRight, .lookDown: direction = -1
        default:
            // nod, shake: the first swing leaves the rest value by the reversal at the onset
            let mean = window.map { $0.value(axis) }.reduce(0, +) / Double(window.count)
            direction = atOnset.value(axis) >= mean ? 1 : -1
        }
        let deviation = window.map { direction * $0.value(axis) }
        let lowest = deviation.min() ?? 0
        guard let k = deviation.lastIndex(where: { $0 <= lowest + Self.restTolerance }),
              window[k].stamp.timestamp < a.onset.timestamp else { return a.onset }
        return window[k].stamp
    }

    /// Back to "waiting for neutral" everywhere: a new challenge needs a fresh movement from neutral.
    public mutating func resetDetectors() {
        blink.reset(); mouth.reset()
        for i in excursions.indices { excursions[i].reset() }
        for i in swings.indices { swings[i].reset() }
    }

    /// Forgets the smoothing history (after a gap without a face).
    public mutating func resetSmoothing() { smoother.reset(); previousRaw = nil }

    public func status(of type: ChallengeType) -> DetectorStatus {
        switch type {
        case .blink: return blink.status
        case .openMouth: return mouth.status
        case .nod: return swings[0].status
        case .shake: return swings[1].status
        default: return excursions.first { $0.type == type }?.status ?? .ready
        }
    }

    /// An action counts as *deliberate* (and can therefore be a wrong action) at ≥ 1.5 × the smallest amplitude its
    /// detector accepts for pitch actions (nod, look-up/down) and ≥ 1.25 × for the others (the detector's minimum,
    /// or 5 σ of the person's calibrated noise when that is larger). Pitch gets the wider margin because talking moves
    /// it: a talking person's pitch swings ≈ 15° between extremes (issue 14), which the nod detector (≥ 10° swings)
    /// can read as a nod, but not as a 15°+ nod swing after smoothing (synthetic talking overlay, 12–30 fps). Yaw
    /// and roll move less with speech
    /// but real heads couple the axes: prompted turns reach 25–45° (1.25 × 18° = 22.5°), tilts 20–30° (18.75°),
    /// shakes ±15–30° (15° swings), while a talking head's yaw swings reached 12–13° (LivePortrait d9 at 10–12 fps,
    /// read as a shake while a blink was asked), a person looking down while turning (d3 at 8 s) 17.7° of pitch,
    /// the Thin-Plate-Spline talker's turn during a blink between 18° and 22.5°: counting cross-axis movements at
    /// the detector's own minimum failed d3's turn-left at every rate and that blink at 25–30 fps (fixture
    /// evaluation at 10–30 fps: BPCER 10–17 % → 19–21 %).
    public static let deliberatePitchFactor = 1.5
    public static let deliberateFactor = 1.25
    /// The amplitude from which a detected action of this type is deliberate; nil for blinks, which are never
    /// deliberate (people blink spontaneously).
    public func deliberateAmplitude(_ type: ChallengeType) -> Double? {
        switch type {
        case .blink:
            return nil
        case .openMouth:
            return Self.deliberateFactor * max(MouthDetector.openDelta, MouthDetector.noiseMultiple * baseline.marNoise)
        case .nod, .shake:
            let p = type == .nod ? SwingDetector.nod : SwingDetector.shake
            let k = p.axis == .pitch ? Self.deliberatePitchFactor : Self.deliberateFactor
            return k * max(p.minSwing, ExcursionDetector.minAngleNoiseMultiple * baseline.noise(p.axis))
        default:
            guard let e = excursions.first(where: { $0.type == type }) else { return nil }
            let k = e.axis == .pitch ? Self.deliberatePitchFactor : Self.deliberateFactor
            return k * max(e.parameters.minAngle, ExcursionDetector.minAngleNoiseMultiple * baseline.noise(e.axis))
        }
    }

    /// True when `a` fails a session in which `asked` is the current challenge (a *wrong action*): it contradicts
    /// `asked` (`ChallengeType.conflicts`, which includes every head movement about another axis) and is
    /// deliberate.
    ///
    /// While the eyes or the mouth are asked (blink, open-mouth), a yaw action contradicts only when the face's own
    /// 3-D geometry confirms a rotation of the size read (`isRigidYaw`): a grimace or a mouth pulled sideways reads as
    /// yaw, and people pull faces while blinking or opening the mouth. Head challenges keep the plain rule: a flat
    /// photo's spurious yaw reads just as weak (moving print, 0.0028–0.0037 per degree) and failing it there is
    /// wanted (fixture attacks at 12 fps, one run with the rigid rule for every challenge: `print-moving#3` passed a
    /// tilt-right and `print-moving#2` a turn-left, 2/30 against 0/30 before; the attack rows' hold-still is drawn at
    /// random, so the cause was not separated, and the rule was narrowed instead).
    ///
    /// Not adopted (session 13): the opposite direction on the asked axis as a wrong action at its detector's minimum
    /// (18° turn) instead of the deliberate strength. It took the all-actions loop's held-out seeds 1000–10999 from
    /// 22/15 to 9/11 of 10,000, but refused a real person looking around (KwaiVGI d3, asked turn-right, first completes
    /// a turn-left below the deliberate strength: `ActiveLivenessMediaTests.clipsWithHeadTurnsPassTheTurnsTheyContain`).
    public func contradicts(_ a: DetectedAction, asked: ChallengeType) -> Bool {
        guard asked.conflicts.contains(a.type), isDeliberate(a) else { return false }
        if !asked.movesHead && a.type.motion == .yaw { return isRigidYaw(a) }
        return true
    }

    /// True when `a` is strong enough to be a deliberate action rather than incidental motion.
    public func isDeliberate(_ a: DetectedAction) -> Bool {
        guard let min = deliberateAmplitude(a.type) else { return false }
        return a.amplitude >= min
    }

    /// True unless `a` is a yaw action whose parallax (`DetectedAction.parallax`) is below
    /// `confirmedYawParallaxPerDegree` per degree of its amplitude (up to `ExcursionDetector.parallaxCapDegrees`).
    public func isRigidYaw(_ a: DetectedAction) -> Bool {
        guard a.type.motion == .yaw, let par = a.parallax else { return true }
        return par >= Self.confirmedYawParallaxPerDegree * Swift.min(a.amplitude, ExcursionDetector.parallaxCapDegrees)
    }

    /// A yaw action contradicts a blink or open-mouth challenge only when the nose tip moved across the face outline (`Parallax.yaw`; for shakes
    /// the range over the swings) by at least this much per degree of the action's amplitude (up to
    /// `ExcursionDetector.parallaxCapDegrees`), i.e. about as far as a rigid head turned that far moves it. The pose
    /// solver fits a generic 3-D head to all 68 points, and an expression that pulls the mouth and nose sideways
    /// reads as yaw: LivePortrait d6 pulls faces with a frontal head (a rigid-point solve cuts its yaw jumps 21 → 6,
    /// session 11), and its blink at 14.97 s failed as a 20–26° `wrong_action` "turn-left" at 12 and 30 fps. Measured
    /// with `ActionEngine` on `facegate analyze` landmarks of the fixture clips at 12 and 30 fps (probe
    /// /work/notes/h3/core, `replay`), parallax per degree of every detected yaw action of deliberate size: d6's
    /// 0.0029–0.0045 (also its turns at 17.6 and 28 s), the Thin-Plate-Spline talker's turns 0.0037–0.0042 (whose
    /// yaw a rigid-point solve reads about half as large), the Krzysiek mis-fit frames at 2.4 s (12 fps) 0.0045, the
    /// moving print's spurious turns 0.0028–0.0037; rigid heads 0.0061–0.016 (Krzysiek 12/30 fps, the
    /// Thin-Plate-Spline shake 0.0063), LivePortrait d3 0.0095–0.013, d9 and d11 shakes 0.010–0.012, the Hamilton
    /// stage clip 0.013, the synthetic 3-D head 0.0095. The bar lies half-way between 0.0045 and 0.0063. Only for
    /// wrong actions: an asked turn still needs only `ExcursionDetector.turn`'s check (0.0025), so no genuine turn is
    /// shrunk.
    public static let confirmedYawParallaxPerDegree = 0.0055

    /// "Near neutral" between challenges: within 10° of the calibrated pose on every axis. Wider than the
    /// detectors' own arm bands (6–8°) because posture drifts by several degrees over a session (fixture talking
    /// heads), while the end of a turn or tilt (≥ 15°) is still well outside it.
    public static let neutralBand = 10.0

    /// True when the head is near its calibrated neutral on every axis (the state asked for between challenges).
    public var isNearNeutral: Bool {
        guard let s = last else { return false }
        return abs(s.yaw - baseline.yaw) <= Self.neutralBand
            && abs(s.pitch - baseline.pitch) <= Self.neutralBand
            && abs(s.roll - baseline.roll) <= Self.neutralBand
    }
}
