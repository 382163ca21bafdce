import Foundation

/// Flat vs 3-D from one camera: the landmarks of a photo moved in front of the camera (bent only slightly) obey a
/// single homography relative to a reference frame, whatever the motion; a real head that turns leaves a residual
/// (nose, jaw, brows move at different depths) that grows with the rotation.
///
/// Per frame, against the first frame: `h` = RMS residual of the best homography, `s` = RMS residual of the best
/// similarity (what moved beyond shift/zoom/roll), both in inter-ocular distances. Frames with `s` large enough carry
/// information; on them a plane has `h ≈ landmark noise` while a head has `h` a sizeable fraction of `s`.
public struct FlatnessCue: Sendable {
    /// Landmarks rigid enough to compare (jaw, brows, nose, eye corners, mouth corners); eyelids and lips move on
    /// their own with blinks and speech.
    public static let rigidIndices: [Int] = Array(0...35) + [36, 39, 42, 45, 48, 54]
    /// Minimum non-similarity motion (inter-ocular units) for a frame to count: ~4 px at a 65 px inter-ocular
    /// distance, above dlib's frame-to-frame jitter (~1 px RMS measured on the static fixture clips).
    public static let minimumMotion = 0.06
    /// Informative frames needed before judging.
    public static let minimumFrames = 5
    /// Homography residual / similarity residual at or below which the face moved as a plane. Measured: the first
    /// frame of the fixture head-turn clips warped as a plane with 0–1 px noise gives ≤ 0.3; real head turns ≥ 0.45.
    public static let flatRatio = 0.3
    /// Ratio at or above which the residual is clearly 3-D.
    public static let solidRatio = 0.45
    /// Absolute residual (inter-ocular units) a 3-D confirmation also needs (~2.6 px at 65 px): a ratio from tiny
    /// motions is noise.
    public static let solidResidual = 0.04

    public private(set) var reference: Landmarks68?
    public private(set) var samples: [(h: Double, s: Double)] = []
    public private(set) var frames = 0
    public init() {}

    static func rigid(_ lm: Landmarks68) -> [Point2] { rigidIndices.map { lm.points[$0] } }

    /// Adds a frame's landmarks; `fit` computes the planar fit of the reference points onto these.
    public mutating func add(_ lm: Landmarks68, fit: ([Point2], [Point2]) -> PlanarFit?) {
        frames += 1
        guard let ref = reference else { reference = lm; return }
        let iod = max(ref.interocular, 1)
        guard let f = fit(Self.rigid(ref), Self.rigid(lm)) else { return }
        samples.append((f.homographyRMS / iod, f.similarityRMS / iod))
    }

    /// Informative frames: enough motion beyond a similarity.
    public var informative: [(h: Double, s: Double)] { samples.filter { $0.s >= Self.minimumMotion } }

    public var reading: PadCueReading {
        let info = informative
        guard info.count >= Self.minimumFrames else {
            let why = frames <= 1 ? "needs video with head or camera motion" : "not enough motion (\(info.count) informative frame(s) of \(frames))"
            return .abstain(PadCueName.flat3D, role: .both, why)
        }
        let ratio = padMedian(info.map { $0.h / max($0.s, 1e-9) })
        let h = padMedian(info.map(\.h))
        let level = PadCueReading.level(ratio, live: Self.solidRatio + 0.15, threshold: (Self.flatRatio + Self.solidRatio) / 2, spoof: Self.flatRatio - 0.15)
        let state: PadCueState
        if ratio <= Self.flatRatio { state = .spoof }
        else if ratio >= Self.solidRatio && h >= Self.solidResidual { state = .live }
        else { state = .neutral }
        let conf = min(1, 0.5 + 0.5 * Double(info.count - Self.minimumFrames) / 20)
        return PadCueReading(name: PadCueName.flat3D, role: .both, state: state, level: level, confidence: conf,
                             note: String(format: "homography/similarity residual %.2f, residual %.3f IOD over %d moving frame(s) (flat ≤ %.2f, 3-D ≥ %.2f)",
                                          ratio, h, info.count, Self.flatRatio, Self.solidRatio))
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
            return .abstain(PadCueName.noseDepth, role: .confirm, "needs video with head turns")
        }
        let n = Double(samples.count)
        let mt = samples.map(\.t).reduce(0, +) / n, mn = samples.map(\.n).reduce(0, +) / n
        var stt = 0.0, snn = 0.0, stn = 0.0
        for s in samples { stt += (s.t - mt) * (s.t - mt); snn += (s.n - mn) * (s.n - mn); stn += (s.t - mt) * (s.n - mn) }
        let spread = (stt / n).squareRoot()
        guard spread >= Self.minimumSpread else {
            return .abstain(PadCueName.noseDepth, role: .confirm, String(format: "head turn too small (tan-yaw spread %.3f < %.2f)", spread, Self.minimumSpread))
        }
        let slope = stn / max(stt, 1e-12)
        let corr = stn / max((stt * snn).squareRoot(), 1e-12)
        // Sign: yaw > 0 (turn to own left) moves the nose towards the image right, i.e. towards the subject's left eye:
        // positive offset along the right→left eye axis. A real nose gives a positive slope.
        let level = PadCueReading.level(slope, live: 0.45, threshold: Self.solidSlope, spoof: Self.flatSlope)
        let state: PadCueState = slope >= Self.solidSlope && corr >= Self.minimumCorrelation ? .live : .neutral
        return PadCueReading(name: PadCueName.noseDepth, role: .confirm, state: state, level: level,
                             confidence: min(1, spread / (2 * Self.minimumSpread)),
                             note: String(format: "nose-depth slope %.2f (r %.2f) over %d frames (3-D ≥ %.2f)", slope, corr, samples.count, Self.solidSlope))
    }
}
