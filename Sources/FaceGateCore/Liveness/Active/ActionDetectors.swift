import Foundation

/// A completed action seen by a detector.
public struct DetectedAction: Sendable, Hashable, Codable {
    public var type: ChallengeType
    /// First frame of the movement (used for the response latency).
    public var onset: FrameStamp
    /// Frame of the largest deviation from neutral.
    public var peak: FrameStamp
    /// Frame on which the action was complete (movement back towards neutral, eyes reopened, mouth closed).
    public var completion: FrameStamp
    /// Size of the action: degrees from neutral for head movements, the smallest swing for nod/shake,
    /// the EAR drop as a fraction of the open EAR for a blink, the MAR rise for an open mouth.
    public var amplitude: Double
    public var duration: Double { completion.timestamp - onset.timestamp }
}

/// What a detector is doing right now (for progress bars and timeout reasons).
public enum DetectorStatus: Sendable, Equatable {
    /// Waiting for the person to come back to neutral before it can start.
    case waitingForNeutral
    /// Armed at neutral; nothing happening.
    case ready
    /// Movement under way, 0…1 of the way to a completed action.
    case inProgress(Double)
    /// The action reached its extent; waiting for the return towards neutral.
    case awaitingReturn(Double)
    /// Cannot judge this action on the current frames; the text says why and what to do.
    case insufficientSignal(String)

    public var progress: Double {
        switch self {
        case .inProgress(let p), .awaitingReturn(let p): return p
        default: return 0
        }
    }
    public var isInsufficient: Bool { if case .insufficientSignal = self { return true } else { return false } }
}

// MARK: - Excursion: turn, tilt, look up/down

/// A head movement in one direction on one axis that must reach a minimum angle from the person's neutral and
/// come back towards it: turn-left/right (yaw), tilt-left/right (roll), look-up/down (pitch).
public struct ExcursionDetector: Sendable {
    public struct Parameters: Sendable {
        /// Degrees from neutral the movement must reach.
        public var minAngle: Double
        /// Degrees from neutral at which a movement is considered started (onset for the latency).
        public var onsetAngle: Double
        /// Degrees from neutral within which the person counts as back at neutral (arms the detector).
        public var armBand: Double
        /// Completion: back to at most this fraction of the peak deviation (or inside the arm band).
        public var returnFraction: Double
        /// Seconds from onset to reaching `minAngle`; slower drifts are posture changes, not responses. 1.2 s:
        /// a prompted movement covers that range in 0.2–0.6 s.
        public var maxRise: Double
        /// 3-D check: the parallax ratio (`Parallax`) must change by at least this much per degree of the peak
        /// (0 = no check, for roll, which a flat photo reproduces exactly by being rotated).
        public var parallaxPerDegree: Double = 0
    }

    /// Turns: ≥ 18° yaw. A prompted webcam turn is 25–45°; photo wobble/perspective tricks and posture sway in the
    /// fixture clips stay below ~10° of estimated yaw; 18° leaves margin both ways.
    public static let turn = Parameters(minAngle: 18, onsetAngle: 5, armBand: 8, returnFraction: 0.5, maxRise: 1.2,
                                        parallaxPerDegree: yawParallaxPerDegree)
    /// Tilts: ≥ 15° roll. Roll from the eye line is the most precise angle (±1°); a prompted tilt is 15–30°, a
    /// hand-held photo's in-plane jitter a few degrees.
    public static let tilt = Parameters(minAngle: 15, onsetAngle: 4, armBand: 6, returnFraction: 0.5, maxRise: 1.2)
    /// Looking up/down: ≥ 12° pitch. People move less in pitch (10–25° when asked) and 2-D landmark pitch is
    /// compressed, so the bar is lower than for yaw.
    public static let look = Parameters(minAngle: 12, onsetAngle: 4, armBand: 6, returnFraction: 0.5, maxRise: 1.2,
                                        parallaxPerDegree: pitchParallaxPerDegree)
    /// Yaw parallax per degree required of a turn: 0.0025, about half the smallest slope measured on real head
    /// turns (0.004–0.011 per degree on the fixture clips), while a perspective-wobbled photo showed 0.0005.
    public static let yawParallaxPerDegree = 0.0025
    /// Pitch parallax per degree: 0.004, about half the smallest real slope (0.0075–0.012 on the fixture clips);
    /// the wobbled photo showed 0.0008.
    public static let pitchParallaxPerDegree = 0.004
    /// Parallax is required for at most 30° of the peak: beyond that the far jaw is hidden and the ratio saturates.
    public static let parallaxCapDegrees = 30.0
    /// Onset and neutral bands are never tighter than 3 × the person's measured pose noise (low light, small
    /// faces), and the required angle never below 5 × it: with 2.5° of jitter at 10 fps, 8° swings arise from
    /// noise about once a minute (synthetic static-face runs), 12.5° ones not at all.
    public static let noiseMultiple = 3.0
    public static let minAngleNoiseMultiple = 5.0

    public let type: ChallengeType
    public let axis: PoseAxis
    /// +1 when the action increases the angle (turn-left, tilt-left, look-up), −1 otherwise.
    public let direction: Double
    public let parameters: Parameters

    private enum State: Sendable {
        case unarmed, armed
        case rising(onset: FrameStamp, peak: Double, peakAt: FrameStamp, parallax: Double)
        case returning(onset: FrameStamp, peak: Double, peakAt: FrameStamp, parallax: Double)
    }
    private var state: State = .unarmed
    private var insufficient: String? = nil
    private var lastDeviation = 0.0

    public init(type: ChallengeType, axis: PoseAxis, direction: Double, parameters: Parameters) {
        self.type = type; self.axis = axis; self.direction = direction; self.parameters = parameters
    }

    public mutating func reset() { state = .unarmed }

    public mutating func update(_ s: FaceSignal, baseline b: ActiveBaseline) -> DetectedAction? {
        guard s.interocular >= SignalLimits.minInterocularForPose else {
            insufficient = "face too small for head pose (\(Int(s.interocular)) px between the eyes, need ≥ \(Int(SignalLimits.minInterocularForPose))) — move closer"
            state = .unarmed
            return nil
        }
        insufficient = nil
        let p = parameters
        let noise = Self.noiseMultiple * b.noise(axis)
        let onsetThr = max(p.onsetAngle, noise)
        let arm = max(p.armBand, noise)
        let minAngle = max(p.minAngle, Self.minAngleNoiseMultiple * b.noise(axis))
        let d = direction * (s.value(axis) - b.neutral(axis))
        let par = direction * (s.parallax(axis) - b.parallax(axis))
        lastDeviation = d
        switch state {
        case .unarmed:
            if abs(d) <= arm { state = .armed }
        case .armed:
            if d > onsetThr { state = .rising(onset: s.stamp, peak: d, peakAt: s.stamp, parallax: par) }
        case .rising(let onset, var peak, var peakAt, var parallax):
            if d > peak { peak = d; peakAt = s.stamp }
            parallax = max(parallax, par)
            if peak >= minAngle {
                // reached the angle: only if fast enough to be a response rather than a drift
                state = peakAt.timestamp - onset.timestamp <= p.maxRise
                    ? .returning(onset: onset, peak: peak, peakAt: peakAt, parallax: parallax) : .unarmed
            } else if d < onsetThr {
                state = abs(d) <= arm ? .armed : .unarmed          // near miss: fell back before the angle
            } else if s.stamp.timestamp - onset.timestamp > p.maxRise {
                state = .unarmed                                   // too slow: a drift, must come back first
            } else {
                state = .rising(onset: onset, peak: peak, peakAt: peakAt, parallax: parallax)
            }
        case .returning(let onset, var peak, var peakAt, var parallax):
            if d > peak { peak = d; peakAt = s.stamp }
            parallax = max(parallax, par)
            if d <= max(arm, peak * p.returnFraction) {
                state = abs(d) <= arm ? .armed : .unarmed
                // a flat picture moved about: the pose solver saw a rotation the face's own geometry did not show
                guard parallax >= p.parallaxPerDegree * min(peak, Self.parallaxCapDegrees) else { return nil }
                return DetectedAction(type: type, onset: onset, peak: peakAt, completion: s.stamp, amplitude: peak)
            }
            state = .returning(onset: onset, peak: peak, peakAt: peakAt, parallax: parallax)
        }
        return nil
    }

    public var status: DetectorStatus {
        if let why = insufficient { return .insufficientSignal(why) }
        switch state {
        case .unarmed: return .waitingForNeutral
        case .armed: return .ready
        case .rising(_, let peak, _, _): return .inProgress(0.8 * min(1, max(0, peak / parameters.minAngle)))
        case .returning(_, let peak, _, _):
            let target = peak * parameters.returnFraction
            let back = peak > target ? (peak - lastDeviation) / (peak - target) : 1
            return .awaitingReturn(0.8 + 0.2 * min(1, max(0, back)))
        }
    }
}

// MARK: - Swings: nod, shake

/// Alternating movements on one axis: a nod is two pitch swings (down then up, or up then down), a shake three
/// yaw swings (left–right–left or right–left–right). Swings are measured extremum to extremum with hysteresis.
public struct SwingDetector: Sendable {
    public struct Parameters: Sendable {
        public var axis: PoseAxis
        public var swingsNeeded: Int
        /// Degrees each swing must cover (extremum to extremum).
        public var minSwing: Double
        /// Degrees the angle must come back from an extremum to confirm it (hysteresis against jitter).
        public var reversal: Double
        /// Seconds the whole sequence may take.
        public var maxDuration: Double
        /// Degrees from neutral that count as neutral (arming).
        public var armBand: Double
        /// Degrees the sequence must reach on each side of neutral (0 = no requirement).
        public var minSide: Double
    }

    /// Nod: two pitch swings of ≥ 10° within 2.5 s. A prompted nod is 10–20° each way at 1–2 Hz; 8° swings
    /// still arose from 2.5° pitch jitter at 10 fps (synthetic static faces), 10° did not.
    public static let nod = Parameters(axis: .pitch, swingsNeeded: 2, minSwing: 10, reversal: 3, maxDuration: 2.5,
                                       armBand: 6, minSide: 0)
    /// Shake: three yaw swings of ≥ 12° within 3.5 s reaching ≥ 5° on both sides of neutral. A prompted "no" is
    /// ±10–30°; requiring both sides separates it from a turn that wobbles on its way back.
    public static let shake = Parameters(axis: .yaw, swingsNeeded: 3, minSwing: 12, reversal: 4, maxDuration: 3.5,
                                         armBand: 8, minSide: 5)
    /// At rest, values are remembered for 0.5 s only, so a sequence starts from where the head was just before
    /// moving, not from an old noise extreme.
    public static let restMemory = 0.5
    /// A half-started sequence with no new extremum for 0.8 s, back at neutral, is dropped: prompted nods and
    /// shakes reverse every 0.2–0.5 s.
    public static let stall = 0.8

    public let type: ChallengeType
    public let parameters: Parameters

    /// An extremum: value, when it was reached, and when the movement away from it was confirmed (the onset of
    /// the swing that starts there).
    private struct Pivot: Sendable {
        var d: Double
        var at: FrameStamp
        var left: FrameStamp
        var parallax: Double
        init(d: Double, at: FrameStamp, parallax: Double) { self.d = d; self.at = at; self.left = at; self.parallax = parallax }
    }
    private var armed = false
    private var pivots: [Pivot] = []
    private var run: Pivot? = nil
    private var dir = 0
    /// Recent frames at rest (within `restMemory`): the lowest/highest of them is where a sequence starts.
    private var rest: [Pivot] = []
    private var insufficient: String? = nil
    private var best = 0.0

    public init(type: ChallengeType, parameters: Parameters) { self.type = type; self.parameters = parameters }

    public mutating func reset() { armed = false; pivots.removeAll(); run = nil; dir = 0; best = 0; rest.removeAll() }

    public mutating func update(_ s: FaceSignal, baseline b: ActiveBaseline) -> DetectedAction? {
        guard s.interocular >= SignalLimits.minInterocularForPose else {
            insufficient = "face too small for head pose (\(Int(s.interocular)) px between the eyes, need ≥ \(Int(SignalLimits.minInterocularForPose))) — move closer"
            reset()
            return nil
        }
        insufficient = nil
        let p = parameters
        let noise = ExcursionDetector.noiseMultiple * b.noise(p.axis)
        let rev = max(p.reversal, noise)
        let arm = max(p.armBand, noise)
        let minSwing = max(p.minSwing, ExcursionDetector.minAngleNoiseMultiple * b.noise(p.axis))
        let d = s.value(p.axis) - b.neutral(p.axis)
        let here = Pivot(d: d, at: s.stamp, parallax: s.parallax(p.axis) - b.parallax(p.axis))
        guard armed else {
            if abs(d) <= arm { armed = true; pivots = [here]; run = nil; dir = 0; rest = [here] }
            return nil
        }
        if dir == 0 {
            // At rest: track the lowest and highest recent values; the first movement of `rev` away from one of
            // them starts the sequence there (and is its onset, like the onset angle of an excursion).
            let t = s.stamp.timestamp
            rest.removeAll { t - $0.at.timestamp > Self.restMemory }
            if let lo = rest.min(by: { $0.d < $1.d }), d - lo.d >= rev {
                var p0 = lo; p0.left = s.stamp
                dir = 1; pivots = [p0]; run = here; rest.removeAll()
            } else if let hi = rest.max(by: { $0.d < $1.d }), hi.d - d >= rev {
                var p0 = hi; p0.left = s.stamp
                dir = -1; pivots = [p0]; run = here; rest.removeAll()
            } else {
                rest.append(here)
            }
        } else if let r = run, s.stamp.timestamp - r.at.timestamp > Self.stall, abs(d) <= arm {
            // nothing new for a while and back at neutral: whatever moved before was not the start of a sequence
            dir = 0; pivots = [here]; run = nil; rest = [here]
        } else if let r = run {
            if (dir > 0 && d >= r.d) || (dir < 0 && d <= r.d) {
                run = here
            } else if abs(d - r.d) >= rev {
                var confirmed = r
                confirmed.left = s.stamp
                pivots.append(confirmed)
                if pivots.count > 8 { pivots.removeFirst(pivots.count - 8) }
                dir = -dir
                run = here
            }
        }
        guard let r = run else { best = 0; return nil }
        // The last `swingsNeeded` swings ending at the running extremum.
        let pts = pivots + [r]
        let n = p.swingsNeeded
        var done = 0
        var smallest = Double.infinity
        var i = pts.count - 1
        while i > 0, done < n {
            let sw = abs(pts[i].d - pts[i - 1].d)
            if sw < minSwing { break }
            smallest = min(smallest, sw)
            done += 1
            i -= 1
        }
        // progress: count of completed swings plus the fraction of the one under way
        let current = abs(pts[pts.count - 1].d - pts[pts.count - 2].d)
        let finished = done > 0 ? done - (current >= minSwing ? 1 : 0) : 0
        best = min(1, (Double(finished) + min(1, current / minSwing)) / Double(n))
        guard done == n else { return nil }
        let seq = Array(pts[(pts.count - 1 - n)...])
        // onset: the frame on which the movement away from the starting extremum was confirmed
        let onset = seq[0].left
        guard s.stamp.timestamp - onset.timestamp <= p.maxDuration else { return nil }
        if p.minSide > 0 {
            let hi = seq.map(\.d).max() ?? 0, lo = seq.map(\.d).min() ?? 0
            guard hi >= p.minSide, lo <= -p.minSide else { return nil }
        }
        // 3-D check as for turns: the nose must move across the face outline with the swings
        let perDegree = p.axis == .yaw ? ExcursionDetector.yawParallaxPerDegree : ExcursionDetector.pitchParallaxPerDegree
        let pars = seq.map(\.parallax)
        guard (pars.max() ?? 0) - (pars.min() ?? 0) >= perDegree * min(smallest, ExcursionDetector.parallaxCapDegrees) else { return nil }
        let peak = seq.max { abs($0.d) < abs($1.d) } ?? r
        let action = DetectedAction(type: type, onset: onset, peak: peak.at, completion: s.stamp, amplitude: smallest)
        reset()
        return action
    }

    public var status: DetectorStatus {
        if let why = insufficient { return .insufficientSignal(why) }
        if !armed { return .waitingForNeutral }
        return run == nil ? .ready : .inProgress(best)
    }
}

// MARK: - Blink

/// A blink: the eye aspect ratio dips well below the person's open-eye EAR and recovers within 60–500 ms,
/// with the head steady (looking down also lowers the EAR, but slowly and with a pitch change).
public struct BlinkDetector: Sendable {
    /// A dip starts when the EAR falls below 85 % of the open EAR: dlib EAR jitter on a still open eye is ~3–5 %.
    public static let dipStartRatio = 0.85
    /// The dip must reach 70 % of the open EAR: a full blink reads 20–40 % at 30 fps, but at 10–15 fps the sampled
    /// frame often catches the lid half-way; 70 % still excludes squints and speech (≥ 80 %).
    public static let closedRatio = 0.70
    /// The dip must also be ≥ 4 noise sigmas deep, so noisy (low-light, glasses) landmarks need a deeper dip.
    public static let noiseMultiple = 4.0
    /// The eye counts as reopened above 90 % of the open EAR (hysteresis above the 85 % start).
    public static let recoverRatio = 0.90
    /// Minimum dip duration 90 ms: one- and two-frame landmark glitches at 25–30 fps last 33–67 ms (seen on small
    /// photo faces); real blinks on the fixture clips stay below 85 % of the open EAR for 130–470 ms.
    public static let minDuration = 0.09
    /// Maximum 500 ms: spontaneous and voluntary blinks last 100–400 ms; longer is a deliberate eye closure.
    public static let maxDuration = 0.5
    /// Head steadiness during the dip: pitch ≤ 8° and yaw ≤ 10° of change, otherwise the dip is a gaze/head
    /// movement artefact, not a blink.
    public static let maxPitchChange = 8.0
    public static let maxYawChange = 10.0
    /// The eye distance must stay within ±10 % of its pre-dip value: a blink moves only the lids, while a
    /// landmark-fit jump (the usual cause of false dips on small or blurred faces) shifts the whole eye region.
    public static let maxInterocularChange = 0.10

    public let type = ChallengeType.blink

    private enum State: Sendable {
        case unarmed, open
        case dip(start: FrameStamp, minRatio: Double, minAt: FrameStamp, yaw: Double, pitch: Double, iod: Double)
    }
    private var state: State = .unarmed
    private var insufficient: String? = nil
    private var lastRatio = 1.0
    private var lastIOD = 0.0

    public init() {}
    public mutating func reset() { state = .unarmed }

    public mutating func update(_ s: FaceSignal, baseline b: ActiveBaseline) -> DetectedAction? {
        if b.openEAR < SignalLimits.minOpenEAR {
            insufficient = "eyes not measurable (open-eye ratio \(String(format: "%.2f", b.openEAR))) — remove sunglasses, improve the light, face the camera"
            state = .unarmed
            return nil
        }
        if s.interocular < SignalLimits.minInterocularForEyes {
            insufficient = "face too small to see the eyes (\(Int(s.interocular)) px between the eyes, need ≥ \(Int(SignalLimits.minInterocularForEyes))) — move closer"
            state = .unarmed
            return nil
        }
        if abs(s.yaw - b.yaw) > SignalLimits.maxYawForEyes {
            insufficient = "eyes not visible at this angle — face the camera"
            state = .unarmed
            return nil
        }
        insufficient = nil
        let r = s.ear / b.openEAR
        lastRatio = r
        let iodBefore = lastIOD > 0 ? lastIOD : s.interocular
        lastIOD = s.interocular
        switch state {
        case .unarmed:
            if r >= Self.recoverRatio { state = .open }
        case .open:
            if r < Self.dipStartRatio && abs(s.interocular - iodBefore) <= Self.maxInterocularChange * iodBefore {
                state = .dip(start: s.stamp, minRatio: r, minAt: s.stamp, yaw: s.yaw, pitch: s.pitch, iod: iodBefore)
            }
        case .dip(let start, var minRatio, var minAt, let yaw, let pitch, let iod):
            if abs(s.pitch - pitch) > Self.maxPitchChange || abs(s.yaw - yaw) > Self.maxYawChange
                || abs(s.interocular - iod) > Self.maxInterocularChange * iod {
                state = .unarmed          // head moved: not a clean blink; wait for open eyes again
                return nil
            }
            if r < minRatio { minRatio = r; minAt = s.stamp }
            let duration = s.stamp.timestamp - start.timestamp
            if r >= Self.recoverRatio {
                state = .open
                let depth = 1 - minRatio
                let deepEnough = minRatio <= Self.closedRatio && depth * b.openEAR >= Self.noiseMultiple * b.earNoise
                if deepEnough && duration >= Self.minDuration && duration <= Self.maxDuration {
                    return DetectedAction(type: .blink, onset: start, peak: minAt, completion: s.stamp, amplitude: depth)
                }
                return nil
            }
            if duration > Self.maxDuration {
                state = .unarmed          // eyes held closed: an eye closure, not a blink
                return nil
            }
            state = .dip(start: start, minRatio: minRatio, minAt: minAt, yaw: yaw, pitch: pitch, iod: iod)
        }
        return nil
    }

    public var status: DetectorStatus {
        if let why = insufficient { return .insufficientSignal(why) }
        switch state {
        case .unarmed: return .waitingForNeutral
        case .open: return .ready
        case .dip(_, let minRatio, _, _, _, _):
            let depth = (1 - minRatio) / (1 - Self.closedRatio)
            return minRatio <= Self.closedRatio ? .awaitingReturn(0.8 + 0.2 * min(1, max(0, (lastRatio - minRatio) / (Self.recoverRatio - minRatio))))
                                                : .inProgress(0.8 * min(1, max(0, depth)))
        }
    }
}

// MARK: - Open mouth

/// The mouth opens wide (inner-lip MAR well above the person's resting value), stays open briefly, and closes.
public struct MouthDetector: Sendable {
    /// Lips parting: MAR 0.10 above rest (speech-level opening) marks the onset for the latency.
    public static let onsetDelta = 0.10
    /// Wide open: MAR ≥ rest + 0.25 and ≥ 0.35 absolute. dlib inner-lip MAR of a closed mouth is 0–0.1, talking
    /// peaks 0.2–0.35, a deliberately opened mouth 0.5–0.9.
    public static let openDelta = 0.25
    public static let openAbsolute = 0.35
    /// Held ≥ 250 ms: syllables open the mouth for 100–200 ms; a prompted "open your mouth" lasts ≥ 0.5 s.
    public static let minHold = 0.25
    /// Closed again below rest + 0.12 (hysteresis under the opening thresholds).
    public static let closeDelta = 0.12
    /// Noise guard: the opening must be ≥ 5 resting-MAR sigmas.
    public static let noiseMultiple = 5.0

    public let type = ChallengeType.openMouth

    private enum State: Sendable {
        case unarmed, armed
        case opening(onset: FrameStamp, openSince: FrameStamp?, peak: Double, peakAt: FrameStamp)
        case open(onset: FrameStamp, peak: Double, peakAt: FrameStamp)
    }
    private var state: State = .unarmed
    private var insufficient: String? = nil

    public init() {}
    public mutating func reset() { state = .unarmed }

    public mutating func update(_ s: FaceSignal, baseline b: ActiveBaseline) -> DetectedAction? {
        guard s.interocular >= SignalLimits.minInterocularForPose else {
            insufficient = "face too small to see the mouth (\(Int(s.interocular)) px between the eyes, need ≥ \(Int(SignalLimits.minInterocularForPose))) — move closer"
            state = .unarmed
            return nil
        }
        insufficient = nil
        let rise = s.mar - b.mar
        let openThr = max(Self.openDelta, Self.noiseMultiple * b.marNoise)
        let isOpen = rise >= openThr && s.mar >= Self.openAbsolute
        switch state {
        case .unarmed:
            if rise <= Self.closeDelta { state = .armed }
        case .armed:
            if rise > Self.onsetDelta {
                state = .opening(onset: s.stamp, openSince: isOpen ? s.stamp : nil, peak: rise, peakAt: s.stamp)
            }
        case .opening(let onset, var since, var peak, var peakAt):
            if rise > peak { peak = rise; peakAt = s.stamp }
            if rise <= Self.onsetDelta / 2 { state = .armed; return nil }
            if isOpen {
                if since == nil { since = s.stamp }
                if let t0 = since, s.stamp.timestamp - t0.timestamp >= Self.minHold {
                    state = .open(onset: onset, peak: peak, peakAt: peakAt)
                    return nil
                }
            } else {
                since = nil
            }
            state = .opening(onset: onset, openSince: since, peak: peak, peakAt: peakAt)
        case .open(let onset, var peak, var peakAt):
            if rise > peak { peak = rise; peakAt = s.stamp }
            if rise <= Self.closeDelta {
                state = .armed
                return DetectedAction(type: .openMouth, onset: onset, peak: peakAt, completion: s.stamp, amplitude: peak)
            }
            state = .open(onset: onset, peak: peak, peakAt: peakAt)
        }
        return nil
    }

    public var status: DetectorStatus {
        if let why = insufficient { return .insufficientSignal(why) }
        switch state {
        case .unarmed: return .waitingForNeutral
        case .armed: return .ready
        case .opening(_, _, let peak, _): return .inProgress(0.7 * min(1, peak / Self.openDelta))
        case .open: return .awaitingReturn(0.85)
        }
    }
}
