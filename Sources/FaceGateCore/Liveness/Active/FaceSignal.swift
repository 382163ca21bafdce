import Foundation

/// A frame's position in the stream: index and timestamp (seconds).
public struct FrameStamp: Sendable, Hashable, Codable {
    public var index: Int
    public var timestamp: Double
    public init(index: Int, timestamp: Double) { self.index = index; self.timestamp = timestamp }
}

/// One pose axis, in `HeadPose` degrees.
public enum PoseAxis: String, Sendable, Hashable, Codable { case yaw, pitch, roll }

/// What the challenge detectors read from one face in one frame.
public struct FaceSignal: Sendable, Hashable {
    public var stamp: FrameStamp
    public var yaw: Double
    public var pitch: Double
    public var roll: Double
    /// Mean eye aspect ratio of both eyes.
    public var ear: Double
    /// Mouth aspect ratio (inner lips).
    public var mar: Double
    /// Inter-ocular distance in pixels: how much detail the landmarks have.
    public var interocular: Double
    /// Parallax of the nose against the face outline (see `Parallax`): moves with a real 3-D head rotation, barely
    /// with a flat photo that is tilted or warped.
    public var yawParallax: Double
    public var pitchParallax: Double
    /// Each eye's own aspect ratio (the subject's left and right eye; both equal `ear` when only the mean is known).
    public var earLeft: Double
    public var earRight: Double
    /// A face scale that does not move with the lids or the mouth (`RigidScale`, pixels); 0 when unknown (synthetic
    /// signals built from values), and the blink's fit-jump gate then falls back to `interocular`.
    public var rigidScale: Double

    public init(stamp: FrameStamp, yaw: Double, pitch: Double, roll: Double, ear: Double, mar: Double, interocular: Double,
                yawParallax: Double = 0, pitchParallax: Double = 0, earLeft: Double? = nil, earRight: Double? = nil,
                rigidScale: Double = 0) {
        self.stamp = stamp; self.yaw = yaw; self.pitch = pitch; self.roll = roll
        self.ear = ear; self.mar = mar; self.interocular = interocular
        self.yawParallax = yawParallax; self.pitchParallax = pitchParallax
        self.earLeft = earLeft ?? ear; self.earRight = earRight ?? ear
        self.rigidScale = rigidScale
    }

    public init(face: FaceObservation, stamp: FrameStamp) {
        let p = Parallax.measure(face.landmarks)
        self.init(stamp: stamp, yaw: face.pose.yaw, pitch: face.pose.pitch, roll: face.pose.roll,
                  ear: face.ear.mean, mar: face.mar, interocular: face.interocular, yawParallax: p.yaw, pitchParallax: p.pitch,
                  earLeft: face.ear.left, earRight: face.ear.right, rigidScale: RigidScale.measure(face.landmarks))
    }

    /// Landmark-derived values identical (to 1e-6 relative) to another frame's: the same picture delivered twice
    /// and fitted the same way (synthetic streams, a page that re-sends its last canvas). Two different exposures of
    /// a live face do not agree on all eight values at once. Duplicates that went through a lossy encoder are not
    /// identical after the tracker (fixture clips resampled 25 → 30 fps with ffmpeg: 1 of 586 frames equal to the
    /// one before at 0.1 px), so this does not fire there; those clips pass anyway.
    public func isSamePicture(as o: FaceSignal) -> Bool {
        func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-6 * max(1, abs(a), abs(b)) }
        return same(interocular, o.interocular) && same(ear, o.ear) && same(mar, o.mar) && same(yaw, o.yaw)
            && same(pitch, o.pitch) && same(roll, o.roll) && same(yawParallax, o.yawParallax)
            && same(pitchParallax, o.pitchParallax)
    }

    public func value(_ axis: PoseAxis) -> Double {
        switch axis {
        case .yaw: return yaw
        case .pitch: return pitch
        case .roll: return roll
        }
    }
    public func parallax(_ axis: PoseAxis) -> Double {
        switch axis {
        case .yaw: return yawParallax
        case .pitch: return pitchParallax
        case .roll: return 0
        }
    }
}

/// 3-D consistency of a head rotation, from the 2-D landmarks alone.
///
/// The nose tip stands ~3 cm in front of the cheeks and eyes. When a head turns, the nose tip slides sideways
/// across the face outline; when it looks up, the nose tip rises towards the eye line. A flat photo that is tilted,
/// warped or zoomed moves all points together (a homography), so these ratios hardly change even when a pose
/// solver reports 20° of yaw for it. Both ratios are measured in the face's own frame (along and across the eye
/// line), so in-plane rotation and scale do not affect them.
public enum Parallax {
    /// yaw: nose-tip offset from the middle of jaw points 1–15 along the eye line, over the jaw width (+ when the
    /// person turns to their left). pitch: minus the nose tip's distance below the eye line over the eye-to-mouth
    /// distance (+ when the person looks up).
    public static func measure(_ lm: Landmarks68) -> (yaw: Double, pitch: Double) {
        let r = lm.rightEyeCenter, l = lm.leftEyeCenter
        let d = l - r
        let n = d.length
        guard n > 1e-6 else { return (0, 0) }
        let u = d / n                       // along the eye line, towards the subject's left
        let v = Point2(-u.y, u.x)           // across it, downwards in an upright face
        func dot(_ a: Point2, _ b: Point2) -> Double { a.x * b.x + a.y * b.y }
        let p = lm.points
        let jawMid = (p[1] + p[15]) / 2
        let width = dot(p[15] - p[1], u)
        let eyes = (r + l) / 2
        let mouth = (p[51] + p[57]) / 2
        let drop = dot(mouth - eyes, v)
        guard abs(width) > 1e-6, abs(drop) > 1e-6 else { return (0, 0) }
        return (dot(p[30] - jawMid, u) / width, -dot(p[30] - eyes, v) / drop)
    }
}

/// The size of the parts of the face that a blink, a smile or speech do not move: the root-mean-square distance of
/// the upper jaw (points 0–4 and 12–16, temple to cheek) and the nose (27–35) from their centroid. Its ratio between
/// two frames is the scale of the best similarity between those points (Procrustes).
///
/// Why not the eye distance: dlib fits a closed eye with its corners pulled in, so the eye-centre distance moves
/// with the lids. LivePortrait d10 at 12 fps, blink at 10.97 s (EAR 0.40 → 0.15): eye centres −16 %, outer eye
/// corners 159 → 132 px, this scale −4 %. Over the EAR dips of the fixture blink clips at 12 fps (probe
/// /work/notes/h2/probe/dips.py on `facegate analyze --json`) the eye distance moved −2…−16 % and this scale at most
/// ±4 % on blinks (−6 % on a 3-s eye closure); the chin and lips (talking) and the brows (expressions) are left out.
public enum RigidScale {
    public static let points: [Int] = Array(0...4) + Array(12...16) + Array(27...35)

    public static func measure(_ lm: Landmarks68) -> Double {
        let p = points.map { lm.points[$0] }
        let c = Point2.mean(p)
        let ss = p.reduce(0.0) { $0 + ($1 - c).length * ($1 - c).length }
        return (ss / Double(p.count)).squareRoot()
    }
}

/// When landmarks carry too little information to judge an action.
public enum SignalLimits {
    /// Pose needs ≥ 20 px between the eye centres: below that (a face < ~50 px wide) dlib's 68 points jitter by
    /// several degrees of estimated yaw/pitch from frame to frame, as large as the movements we look for.
    public static let minInterocularForPose = 20.0
    /// Eye aspect ratio needs ≥ 28 px between the eye centres: the eye opening is then ~4–5 px, so a 1 px landmark
    /// error is ~20 % of the EAR, just below the 30 % dip a blink must reach. Measured (session 15: 14 genuine
    /// fixture clips, 11 with 40 labelled blinks, and 12 rendered photo attacks, downscaled to 20–32 px between the
    /// eyes, per-frame landmarks of `facegate analyze` replayed through the engine with this gate off;
    /// /work/notes/h4/blink): labelled blinks found at 12 fps 37/39 full size, 37/40 at 32 px, 32/40 at 28 px,
    /// 22/39 at 24 px (10 fps: 32/40, 34/40, 27/40, 19/39); open-eye EAR jitter 4–6 % of the EAR full size, 7–10 %
    /// at 24–32 px. Photo attacks (8 s each) at 12 fps blinked 4 times at 32 px (6 clips), once at 28 px and 3
    /// times at 24 px (12 clips), 13 times at 20 px (6 clips): below 28 px blinks are found about half the time at
    /// browser rates and photos blink no less.
    public static let minInterocularForEyes = 28.0
    /// An open-eye EAR below 0.15 means the eyes are not measurable (occluded, sunglasses, landmarks on a frame
    /// edge); dlib open eyes measure ~0.22–0.35 even with glasses or narrow eyes.
    public static let minOpenEAR = 0.15
    /// Beyond ±30° of yaw from neutral the far eye's landmarks are guessed, not seen; EAR is not trusted there.
    public static let maxYawForEyes = 30.0
}

/// Median over a short time window of the pose angles and mouth ratio: removes single-frame landmark glitches
/// without smearing real movements. EAR is passed through raw, because a blink may last a single frame at 10 fps.
public struct SignalSmoother: Sendable {
    /// 0.21 s holds 3 frames at 10 fps, 4 at 15 fps and 7 at 30 fps (a true median that removes one-frame
    /// glitches at every rate). The lag (~0.1 s) is small against a 0.3–1 s head movement.
    public static let window = 0.21
    private var recent: [FaceSignal] = []

    public init() {}

    public mutating func reset() { recent.removeAll(keepingCapacity: true) }

    public mutating func push(_ s: FaceSignal) -> FaceSignal {
        recent.append(s)
        return advance(to: s.stamp, latest: s)
    }

    /// The median at a later time without a new picture (a repeated one): the window moves on, the repeated
    /// values do not weigh twice.
    public mutating func advance(to stamp: FrameStamp, latest s: FaceSignal) -> FaceSignal {
        let t0 = stamp.timestamp - Self.window
        recent.removeAll { $0.stamp.timestamp <= t0 }
        var out = s
        out.stamp = stamp
        if recent.count <= 1 { return out }
        out.yaw = Self.median(recent.map(\.yaw))
        out.pitch = Self.median(recent.map(\.pitch))
        out.roll = Self.median(recent.map(\.roll))
        out.mar = Self.median(recent.map(\.mar))
        out.yawParallax = Self.median(recent.map(\.yawParallax))
        out.pitchParallax = Self.median(recent.map(\.pitchParallax))
        return out
    }

    public static func median(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return 0 }
        let s = v.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// Frame-to-frame noise of a sequence in time order: the robust sigma of successive differences over √2. Slow
    /// changes (an expressive talker widening the eyes for a second) do not count, single-frame jitter does. On
    /// LivePortrait d10 at 12 fps the open-eye EAR spans 0.34–0.45 with expressions (spread sigma 0.039, so that a
    /// 0.42 → 0.24 blink was not "4 sigma deep"), while its frame-to-frame noise is about half that.
    public static func jitterSigma(_ v: [Double]) -> Double {
        guard v.count >= 3 else { return 0 }
        let d = zip(v.dropFirst(), v).map { $0 - $1 }
        return 1.4826 * median(d.map(abs)) / 2.0.squareRoot()
    }

    /// Measurement noise of a still signal in time order: the smaller of `jitterSigma` (blind to slow changes) and
    /// `robustSigma` (blind to fast oscillations sampled coarsely); both equal the noise when there is only noise.
    public static func noiseSigma(_ v: [Double]) -> Double { min(jitterSigma(v), robustSigma(v)) }

    /// Robust standard deviation (1.4826 × median absolute deviation).
    public static func robustSigma(_ v: [Double]) -> Double {
        guard v.count >= 2 else { return 0 }
        let m = median(v)
        return 1.4826 * median(v.map { abs($0 - m) })
    }
}

/// The person's own neutral state, measured in the first stable frames; every detector threshold is relative to it.
public struct ActiveBaseline: Sendable, Hashable, Codable {
    public var yaw: Double
    public var pitch: Double
    public var roll: Double
    /// Open-eye EAR (median over the calibration window; robust to a blink inside it).
    public var openEAR: Double
    /// Frame-to-frame EAR noise (`SignalSmoother.jitterSigma` of the open frames).
    public var earNoise: Double
    /// Resting mouth ratio.
    public var mar: Double
    public var marNoise: Double
    public var yawNoise: Double
    public var pitchNoise: Double
    public var rollNoise: Double
    public var interocular: Double
    /// Resting parallax ratios (see `Parallax`).
    public var yawParallax: Double = 0
    public var pitchParallax: Double = 0
    /// The frame calibration completed on: the early identity anchor.
    public var frame: FrameStamp

    public init(yaw: Double, pitch: Double, roll: Double, openEAR: Double, earNoise: Double, mar: Double, marNoise: Double,
                yawNoise: Double, pitchNoise: Double, rollNoise: Double, interocular: Double, frame: FrameStamp) {
        self.yaw = yaw; self.pitch = pitch; self.roll = roll; self.openEAR = openEAR; self.earNoise = earNoise
        self.mar = mar; self.marNoise = marNoise; self.yawNoise = yawNoise; self.pitchNoise = pitchNoise
        self.rollNoise = rollNoise; self.interocular = interocular; self.frame = frame
    }

    public func neutral(_ axis: PoseAxis) -> Double {
        switch axis {
        case .yaw: return yaw
        case .pitch: return pitch
        case .roll: return roll
        }
    }
    public func parallax(_ axis: PoseAxis) -> Double {
        switch axis {
        case .yaw: return yawParallax
        case .pitch: return pitchParallax
        case .roll: return 0
        }
    }
    public func noise(_ axis: PoseAxis) -> Double {
        switch axis {
        case .yaw: return yawNoise
        case .pitch: return pitchNoise
        case .roll: return rollNoise
        }
    }
    /// True when blinks can be judged at all for this person/setup.
    public var eyesMeasurable: Bool {
        openEAR >= SignalLimits.minOpenEAR && interocular >= SignalLimits.minInterocularForEyes
    }
}

/// Finds a stable neutral window at the start of a session and measures the baseline from it.
public struct BaselineCalibrator: Sendable {
    /// 0.6 s of stillness: long enough to hold ≥ 6 frames at 10 fps for a median, short enough not to bore a user.
    public static let window = 0.6
/// Why calibration has not happened yet.
public enum CalibrationBlocker: Sendable, Hashable {
    /// Too few pixels between the eyes for head pose (`SignalLimits.minInterocularForPose`).
    case faceTooSmall(interocular: Double)
    /// The head is turned or tilted past the neutral limits.
    case notFacingCamera
    /// Not still long enough yet.
    case holdStill
    /// The eyes are too closed to measure (waiting for open eyes, `BaselineCalibrator.maxOpenEyeWait`).
    case eyesClosed
    /// The mouth is wide open (waiting for it to close, `BaselineCalibrator.maxRestingMAR`).
    case mouthOpen

    /// Text for a UI (rendered at the edge, never parsed back).
    public var hint: String {
        switch self {
        case .faceTooSmall(let iod):
            return "face too small (\(Int(iod)) px between the eyes, need ≥ \(Int(SignalLimits.minInterocularForPose))) — move closer"
        case .notFacingCamera: return "face the camera"
        case .holdStill: return "hold still"
        case .eyesClosed: return "open your eyes and look at the camera"
        case .mouthOpen: return "close your mouth"
        }
    }
}

    /// At least 5 frames: the median of fewer is not robust to one bad landmark fit.
    public static let minFrames = 5
    /// A window is "still" when each angle spans ≤ 8°: dlib+PnP jitter on a still webcam face is ~1–3°, natural
    /// sway while waiting adds a few more; larger spreads mean the person is already moving.
    public static let maxPoseSpread = 8.0
    /// The neutral pose must be within 35° yaw / 25° pitch of frontal: beyond that the landmark fit (and the
    /// pose estimate built on it) degrades, and a turn away from neutral may leave the detector's range.
    public static let maxNeutralYaw = 35.0
    public static let maxNeutralPitch = 25.0
    /// Robust stillness: the spread is measured after dropping the frames farthest from the median, one in five
    /// (at least one): a blink moves dlib's pose estimate by a few degrees on its 1–3 frames, and one landmark
    /// glitch must not restart the window. A real movement spans most of the window and is still seen.
    public static let outlierShare = 5
    /// Eyes held closed when the face is first still (a slow blink, someone settling, the closed-eye stretch of a
    /// looped clip) must not become the open-eye reference: with an open EAR below `SignalLimits.minOpenEAR` every
    /// later blink was "not measurable" (the intermittent browser test calibrated on the Blink-Detector clip's
    /// 2.5 s eye closure). Calibration waits up to 2 s for open eyes; after that it accepts the still face anyway, so
    /// a person whose eyes cannot be measured (dark glasses) still gets the head challenges.
    public static let maxOpenEyeWait = 2.0
    /// A mouth held wide open (median MAR of the window ≥ `MouthDetector.openAbsolute`, 0.35: what an asked-for
    /// opening reaches; talking peaks at 0.2–0.35 and its median is far lower) is not the resting mouth: with it as
    /// the rest, an open-mouth challenge can never be met (LivePortrait d18, mouth wide open 2.1–3.1 s: the
    /// fixture evaluation calibrated inside it and the opening at 3.85 s failed at every rate). Calibration waits
    /// for the mouth to close, as for open eyes (up to `maxOpenEyeWait`, the window starting after the last
    /// open-mouth frame), then accepts the still face anyway (the other challenges still run).
    public static let maxRestingMAR = MouthDetector.openAbsolute

    /// Max − min of the values after dropping the `k` farthest from their median.
    public static func robustSpread(_ v: [Double], dropping k: Int) -> Double {
        guard v.count > k + 1 else { return 0 }
        let m = SignalSmoother.median(v)
        let kept = v.sorted { abs($0 - m) < abs($1 - m) }.prefix(v.count - k)
        return (kept.max() ?? 0) - (kept.min() ?? 0)
    }

    private var samples: [FaceSignal] = []
    /// When a still window was first ready with eyes too closed to measure (see `maxOpenEyeWait`).
    private var closedEyesSince: Double? = nil
    /// When a still window was first ready with the mouth wide open (see `maxRestingMAR`).
    private var openMouthSince: Double? = nil
    /// Why the last frames did not calibrate, for a UI hint.
    public var hint: String? { blocker?.hint }

    public init() {}

    public mutating func reset() { samples.removeAll(); blocker = nil; closedEyesSince = nil; openMouthSince = nil }

    /// Why the last frames did not calibrate (typed: the session decides on it; `hint` is its text for a UI).
    public private(set) var blocker: CalibrationBlocker? = nil
    /// Adds a frame's raw signal; returns a baseline once the trailing window is long and still enough.
    public mutating func add(_ s: FaceSignal) -> ActiveBaseline? {
        guard s.interocular >= SignalLimits.minInterocularForPose else {
            samples.removeAll()
            blocker = .faceTooSmall(interocular: s.interocular)
            return nil
        }
        guard abs(s.yaw) <= Self.maxNeutralYaw, abs(s.pitch) <= Self.maxNeutralPitch else {
            samples.removeAll()
            blocker = .notFacingCamera
            return nil
        }
        samples.append(s)
        let t = s.stamp.timestamp
        // Waiting for open eyes: the window starts after the last closed-eye frame, so neither the closure nor the
        // reopening enters the reference or its noise.
        if let since = closedEyesSince, t - since < Self.maxOpenEyeWait,
           let k = samples.lastIndex(where: { $0.ear < SignalLimits.minOpenEAR }) {
            samples.removeFirst(k + 1)
        }
        if let since = openMouthSince, t - since < Self.maxOpenEyeWait,
           let k = samples.lastIndex(where: { $0.mar >= Self.maxRestingMAR }) {
            samples.removeFirst(k + 1)
        }
        // Keep just what is needed: frames inside the window plus the one before it.
        while samples.count > Self.minFrames, let second = samples.dropFirst().first,
              t - second.stamp.timestamp >= Self.window { samples.removeFirst() }
        guard samples.count >= Self.minFrames, let first = samples.first, t - first.stamp.timestamp >= Self.window else {
            blocker = .holdStill
            return nil
        }
        let yaws = samples.map(\.yaw), pitches = samples.map(\.pitch), rolls = samples.map(\.roll)
        let outliers = max(1, samples.count / Self.outlierShare)
        guard Self.robustSpread(yaws, dropping: outliers) <= Self.maxPoseSpread,
              Self.robustSpread(pitches, dropping: outliers) <= Self.maxPoseSpread,
              Self.robustSpread(rolls, dropping: outliers) <= Self.maxPoseSpread else {
            samples.removeFirst()
            blocker = .holdStill
            return nil
        }
        // Noise is the smaller of the frame-to-frame jitter and the spread of the window (`noiseSigma`): a person
        // who talks while calibrating sways by a few degrees (8° pitch swings at 2–4 Hz in the synthetic talking
        // overlay), and the spread alone (robust σ ≈ 2.5–3°) raised the nod's minimum swing from 10° to 5 σ ≈
        // 13–15° and the shake's from 12° to ≈ 14.5°; syllables at 4 Hz sampled at 12–15 fps make the jitter
        // larger than the spread instead (open-mouth then needed a wider mouth).
        // Open-eye EAR and its noise from the open frames only: a blink inside the window (2–4 frames at 30 fps)
        // must neither lower the reference nor inflate the noise that later dips are judged against.
        let ears = samples.map(\.ear), mars = samples.map(\.mar)
        let upperQuartile = ears.sorted()[(ears.count * 3) / 4]
        let openEars = ears.filter { $0 >= BlinkDetector.dipStartRatio * upperQuartile }   // in time order
        if SignalSmoother.median(openEars) < SignalLimits.minOpenEAR {
            let since = closedEyesSince ?? t
            closedEyesSince = since
            if t - since < Self.maxOpenEyeWait {
                samples.removeFirst()
                blocker = .eyesClosed
                return nil
            }
        }
        if SignalSmoother.median(mars) >= Self.maxRestingMAR {
            let since = openMouthSince ?? t
            openMouthSince = since
            if t - since < Self.maxOpenEyeWait {
                samples.removeFirst()
                blocker = .mouthOpen
                return nil
            }
        }
        blocker = nil
        var b = ActiveBaseline(
            yaw: SignalSmoother.median(yaws), pitch: SignalSmoother.median(pitches), roll: SignalSmoother.median(rolls),
            openEAR: SignalSmoother.median(openEars), earNoise: SignalSmoother.noiseSigma(openEars),
            mar: SignalSmoother.median(mars), marNoise: SignalSmoother.noiseSigma(mars),
            yawNoise: SignalSmoother.noiseSigma(yaws), pitchNoise: SignalSmoother.noiseSigma(pitches),
            rollNoise: SignalSmoother.noiseSigma(rolls),
            interocular: SignalSmoother.median(samples.map(\.interocular)), frame: s.stamp)
        b.yawParallax = SignalSmoother.median(samples.map(\.yawParallax))
        b.pitchParallax = SignalSmoother.median(samples.map(\.pitchParallax))
        return b
    }
}
