import Foundation

/// Flat vs 3-D from one camera: the landmarks of a photo moved in front of the camera (bent only slightly) obey a
/// single homography relative to a reference frame, whatever the motion; a real head that turns leaves a residual
/// (nose, brows and eye corners sit at different depths) that grows with the rotation.
///
/// Per frame, against the first frame: `h` = RMS residual of the best homography, `s` = RMS residual of the best
/// similarity (what moved beyond shift/zoom/roll). Landmark jitter is measured on the same clip as the homography
/// residual between consecutive frames. On the frames that moved most (top 30 % of `s`), the 3-D share of the motion is
/// `sqrt(max(h² − 1.5·jitter², 0)) / s`: ≈ 0 for a plane (its residual is only jitter), a sizeable fraction for a head.
public struct FlatnessCue: Sendable {
    /// Landmarks rigid enough to compare: brows, nose, eye corners, mouth corners. The jaw line is left out: it is an
    /// occluding contour that slides along the face and is dlib's noisiest region (it doubled the residual of warped
    /// photos in the measurements below); eyelids and lips move on their own with blinks and speech.
    public static let rigidIndices: [Int] = Array(17...35) + [36, 39, 42, 45, 48, 54]
    /// Motion beyond a similarity needed, in multiples of the landmark jitter: below 4× the residual is noise
    /// (static prints with hand tremor reach 2–3.6×).
    public static let minimumMotionOverJitter = 4.0
    /// Frames needed before judging.
    public static let minimumFrames = 10
    /// 3-D share at or below which the face moved as a plane. Measured (dlib landmarks, 25 rigid points): prints moved
    /// ±25° by the simulator 0.14–0.24; real head turns (fixture d3, driving.mp4) 0.77–0.80, a replayed head turn 0.84.
    public static let flatShare = 0.35
    /// 3-D share at or above which the motion is clearly three-dimensional.
    public static let solidShare = 0.55
    /// Motion beyond a similarity needed before a flat share may DENY, in multiples of the landmark jitter (below it a
    /// flat reading is neutral, level ≤ `noisyFlatLevel`). Under ~7× the share is noise-dominated: on the 16 genuine
    /// liveness-manifest clips at 10 and 12 fps (sliding windows of 13–41 frames), 89 of 3,472 windows read flat
    /// (KwaiVGI d9, d10, d19, d6, Hamilton: 0.14–0.34) at 4.0–6.25× — among them d9's blink at 16.1 s at 10 fps (4.1×),
    /// the only genuine mode-both refusal by a passive cue (session 13) — while simulator moving prints read flat too
    /// (0.0–0.35) at 4–13×. In no measured set did the flat deny catch an attack that the model, bezel or moiré missed
    /// (mode-both attacks at 12 fps: it fired on 20 of 30 moving-print sessions, always with them).
    public static let minimumDenyMotionOverJitter = 7.0
    /// Level ceiling of a flat-looking reading whose motion is under `minimumDenyMotionOverJitter` (reported, not a deny).
    public static let noisyFlatLevel = 0.45

    public private(set) var reference: Landmarks68?
    private var previous: Landmarks68?
    /// Per frame against the reference: homography and similarity residuals (pixels).
    public private(set) var samples: [(h: Double, s: Double)] = []
    /// Homography residuals between consecutive frames (pixels): the landmark jitter.
    public private(set) var jitter: [Double] = []
    public private(set) var frames = 0
    public init() {}

    static func rigid(_ lm: Landmarks68) -> [Point2] { rigidIndices.map { lm.points[$0] } }

    /// Adds a frame's landmarks; `fit` computes the planar fit of one point set onto another.
    public mutating func add(_ lm: Landmarks68, fit: ([Point2], [Point2]) -> PlanarFit?) {
        frames += 1
        defer { previous = lm }
        guard let ref = reference else { reference = lm; return }
        if let prev = previous, let j = fit(Self.rigid(prev), Self.rigid(lm)) { jitter.append(j.homographyRMS) }
        guard let f = fit(Self.rigid(ref), Self.rigid(lm)) else { return }
        samples.append((f.homographyRMS, f.similarityRMS))
    }

    /// (3-D share, motion over jitter, jitter px, residual px) on the frames that moved most; nil with too few frames.
    public var statistics: (share: Double, motionOverJitter: Double, jitter: Double, residual: Double)? {
        guard samples.count >= Self.minimumFrames, !jitter.isEmpty else { return nil }
        let jit = max(padMedian(jitter), 0.05)
        let sorted = samples.sorted { $0.s < $1.s }
        let top = Array(sorted[Int(Double(sorted.count) * 0.7)...])
        let h = padMedian(top.map(\.h)), s = padMedian(top.map(\.s))
        let share = max(h * h - 1.5 * jit * jit, 0).squareRoot() / max(s, 1e-9)
        return (share, s / jit, jit, h)
    }

    public var reading: PadCueReading {
        guard let st = statistics else {
            return .abstain(.flat3D, frames <= 1 ? "needs video with head or camera motion" : "too few frames (\(frames))")
        }
        guard st.motionOverJitter >= Self.minimumMotionOverJitter else {
            return .abstain(.flat3D, String(format: "not enough motion (%.1f× landmark jitter, need %.0f×)", st.motionOverJitter, Self.minimumMotionOverJitter))
        }
        var level = PadCueReading.level(st.share, live: Self.solidShare + 0.15, threshold: (Self.flatShare + Self.solidShare) / 2, spoof: Self.flatShare - 0.15)
        var state: PadCueState = st.share <= Self.flatShare ? .spoof : (st.share >= Self.solidShare ? .live : .neutral)
        var note = String(format: "3-D share of motion %.2f (flat ≤ %.2f, 3-D ≥ %.2f); motion %.1f× jitter (%.2f px) over %d frames",
                          st.share, Self.flatShare, Self.solidShare, st.motionOverJitter, st.jitter, frames)
        if state == .spoof && st.motionOverJitter < Self.minimumDenyMotionOverJitter {
            state = .neutral
            level = min(level, Self.noisyFlatLevel)
            note += String(format: "; flat-looking, but a deny needs motion ≥ %.0f× jitter (noise-dominated below)", Self.minimumDenyMotionOverJitter)
        }
        let conf = min(1, 0.4 + 0.6 * (st.motionOverJitter - Self.minimumMotionOverJitter) / 8)
        return PadCueReading(cue: .flat3D, state: state, level: level, confidence: conf, note: note)
    }
}

/// Nose depth: how far the nose tip sits in front of the eye plane, from the regression slope of the nose's
/// horizontal offset (from the eye midpoint, in inter-ocular units) against tan(yaw). A real nose gives a slope
/// near its depth / inter-ocular distance (≈ 0.4–0.6); a photo, even a tilted one whose perspective makes the two
/// correlate, gives a small slope — so the gate is on the slope's magnitude, not only on the correlation.
public struct NoseDepthCue: Sendable {
    /// Spread of tan(yaw) needed (standard deviation; 0.07 ≈ ±4° of head turn).
    public static let minimumSpread = 0.07
    public static let minimumFrames = 8
    /// Slope confirming a real nose (measured on the fixture head-turn clips: 0.35–0.7).
    public static let solidSlope = 0.25
    /// Slope of a flat face (planes warped from the clips' first frames: |slope| < 0.1).
    public static let flatSlope = 0.1
    /// Correlation needed to trust the slope.
    public static let minimumCorrelation = 0.6

    public private(set) var samples: [(t: Double, n: Double)] = []
    public init() {}

    /// Horizontal nose offset from the eye midpoint along the eye line, in inter-ocular units.
    public static func noseOffset(_ lm: Landmarks68) -> Double {
        let r = lm.rightEyeCenter, l = lm.leftEyeCenter
        let axis = l - r
        let iod = max(axis.length, 1e-9)
        let mid = (r + l) / 2
        let d = lm[Landmarks68.noseTip] - mid
        return (d.x * axis.x + d.y * axis.y) / (iod * iod)
    }

    public mutating func add(_ lm: Landmarks68, yawDegrees: Double) {
        guard abs(yawDegrees) < 60 else { return }
        samples.append((tan(yawDegrees * .pi / 180), Self.noseOffset(lm)))
    }

    public var reading: PadCueReading {
        guard samples.count >= Self.minimumFrames else {
            return .abstain(.noseDepth, "needs video with head turns")
        }
        let n = Double(samples.count)
        let mt = samples.map(\.t).reduce(0, +) / n, mn = samples.map(\.n).reduce(0, +) / n
        var stt = 0.0, snn = 0.0, stn = 0.0
        for s in samples { stt += (s.t - mt) * (s.t - mt); snn += (s.n - mn) * (s.n - mn); stn += (s.t - mt) * (s.n - mn) }
        let spread = (stt / n).squareRoot()
        guard spread >= Self.minimumSpread else {
            return .abstain(.noseDepth, String(format: "head turn too small (tan-yaw spread %.3f < %.2f)", spread, Self.minimumSpread))
        }
        let slope = stn / max(stt, 1e-12)
        let corr = stn / max((stt * snn).squareRoot(), 1e-12)
        // Sign: yaw > 0 (turn to own left) moves the nose towards the image right, i.e. towards the subject's left eye:
        // positive offset along the right→left eye axis. A real nose gives a positive slope.
        let level = PadCueReading.level(slope, live: 0.45, threshold: Self.solidSlope, spoof: Self.flatSlope)
        let state: PadCueState = slope >= Self.solidSlope && corr >= Self.minimumCorrelation ? .live : .neutral
        return PadCueReading(cue: .noseDepth, state: state, level: level,
                             confidence: min(1, spread / (2 * Self.minimumSpread)),
                             note: String(format: "nose-depth slope %.2f (r %.2f) over %d frames (3-D ≥ %.2f)", slope, corr, samples.count, Self.solidSlope))
    }
}
