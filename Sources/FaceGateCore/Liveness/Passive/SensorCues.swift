import Foundation

/// Depth camera: a face has centimetres of relief (nose in front of cheeks, cheeks curving away to the ears); a
/// photo or a screen is a plane (bent a little at most).
public struct DepthCue: Sendable {
    /// Relief (95th − 5th percentile of the plane residual) of a real face box: 25–60 mm (nose ≈ 20–30 mm in front of
    /// the cheeks, cheeks ≈ 30 mm more to the ears). Planes measure sensor noise: ≤ 6 mm for structured light at < 1 m.
    public static let flatRelief = 8.0
    public static let solidRelief = 15.0
    /// The centre (nose) must stand in front of the plane of the box rim: ≥ 8 mm on faces; a sheet bent towards the
    /// camera protrudes too, so relief is required as well.
    public static let solidProtrusion = 8.0
    /// Depth coverage below which the cue abstains (holes, out of range).
    public static let minimumCoverage = 0.4
    public static let fullConfidenceFrames = 5

    public private(set) var measurements: [DepthMeasurement] = []
    public private(set) var missing = 0
    public init() {}

    public mutating func add(_ m: DepthMeasurement?) {
        guard let m, m.coverage >= Self.minimumCoverage else { missing += 1; return }
        measurements.append(m)
    }

    public var reading: PadCueReading {
        guard !measurements.isEmpty else {
            return .abstain(.depth, missing > 0 ? "no usable depth in the face box" : "no depth frames")
        }
        let relief = padMedian(measurements.map(\.reliefMM))
        let prot = padMedian(measurements.map(\.centerProtrusionMM))
        let level = PadCueReading.level(relief, live: Self.solidRelief * 1.5, threshold: (Self.flatRelief + Self.solidRelief) / 2, spoof: Self.flatRelief / 2)
        let state: PadCueState
        if relief < Self.flatRelief { state = .spoof }
        else if relief >= Self.solidRelief && prot >= Self.solidProtrusion { state = .live }
        else { state = .neutral }
        return PadCueReading(cue: .depth, state: state, level: level,
                             confidence: padFrameConfidence(measurements.count, full: Self.fullConfidenceFrames),
                             note: String(format: "relief %.1f mm, nose protrusion %.1f mm over %d frame(s) (plane < %.0f mm, face ≥ %.0f mm)",
                                          relief, prot, measurements.count, Self.flatRelief, Self.solidRelief))
    }
}

/// One gyroscope sample (rad/s), device axes: x right, y up, z towards the user (Android/iOS convention).
public struct GyroSample: Sendable, Hashable, Codable {
    public var t: Double
    public var gx: Double, gy: Double, gz: Double
    public init(t: Double, gx: Double, gy: Double, gz: Double) { self.t = t; self.gx = gx; self.gy = gy; self.gz = gz }
}

/// A gyroscope trace with integration over time intervals.
public struct GyroTrace: Sendable {
    public let samples: [GyroSample]
    public init(_ samples: [GyroSample]) { self.samples = samples.sorted { $0.t < $1.t } }

    public var timeRange: ClosedRange<Double>? { samples.isEmpty ? nil : samples.first!.t...samples.last!.t }

    /// Rotation (radians about x, y, z) accumulated between t0 and t1 (trapezoidal, linear between samples).
    public func rotation(from t0: Double, to t1: Double) -> (x: Double, y: Double, z: Double) {
        guard samples.count >= 2, t1 > t0 else { return (0, 0, 0) }
        var rx = 0.0, ry = 0.0, rz = 0.0
        for i in 0..<(samples.count - 1) {
            let a = samples[i], b = samples[i + 1]
            let lo = max(a.t, t0), hi = min(b.t, t1)
            guard hi > lo, b.t > a.t else { continue }
            func at(_ t: Double) -> (Double, Double, Double) {
                let u = (t - a.t) / (b.t - a.t)
                return (a.gx + (b.gx - a.gx) * u, a.gy + (b.gy - a.gy) * u, a.gz + (b.gz - a.gz) * u)
            }
            let p = at(lo), q = at(hi), dt = hi - lo
            rx += (p.0 + q.0) / 2 * dt; ry += (p.1 + q.1) / 2 * dt; rz += (p.2 + q.2) / 2 * dt
        }
        return (rx, ry, rz)
    }
}

/// Motion-sensor fusion: when the device rotates, everything in the image must shift by about focal × angle in
/// the matching direction at the same moments. A feed that stays still (or moves at other times) while the gyroscope
/// reports rotation is injected or replayed.
///
/// Per frame interval, the gyroscope's rotation about the device x axis predicts vertical image motion, about y
/// horizontal motion, about z in-plane rotation. The sign and exact focal length depend on the device, so the cue fits a
/// gain per axis and checks (1) correlation and (2) a plausible gain magnitude.
public struct ImuConsistencyCue: Sendable {
    /// Total device rotation (radians, path length over the clip) below which the cue abstains: 0.05 rad ≈ 3°, a
    /// hand-held phone's natural sway over 2–3 s exceeds it; a phone on a stand does not.
    public static let minimumRotation = 0.05
    /// Correlation (image motion vs gyro prediction) confirming consistency; the synthetic consistent traces give
    /// ≥ 0.9, dlib-independent optical flow on real handheld clips ≈ 0.7–0.95.
    public static let consistentCorrelation = 0.6
    /// Below this the motions are unrelated.
    public static let inconsistentCorrelation = 0.3
    /// Gain |image pixels / (focal × radians)| accepted as plausible (unknown lens: focal assumed = frame width).
    public static let gainRange = 0.25...4.0
    public static let minimumIntervals = 8

    public struct Interval: Sendable { public var rot: (x: Double, y: Double, z: Double); public var scene: ImageMotion?; public var face: Point2? }
    public private(set) var intervals: [Interval] = []
    public let focal: Double
    public init(focalPixels: Double) { focal = max(focalPixels, 1) }

    /// One frame interval: device rotation from the trace, the scene's image motion and the face centre's shift.
    public mutating func add(rotation: (x: Double, y: Double, z: Double), scene: ImageMotion?, faceShift: Point2?) {
        intervals.append(Interval(rot: rotation, scene: scene, face: faceShift))
    }

    /// Correlation and gain of observed vs predicted (through the origin for the gain).
    static func fit(_ pred: [Double], _ obs: [Double]) -> (r: Double, gain: Double) {
        let n = Double(pred.count)
        guard pred.count >= 3 else { return (0, 0) }
        let mp = pred.reduce(0, +) / n, mo = obs.reduce(0, +) / n
        var spp = 0.0, soo = 0.0, spo = 0.0, pp0 = 0.0, po0 = 0.0
        for (p, o) in zip(pred, obs) {
            spp += (p - mp) * (p - mp); soo += (o - mo) * (o - mo); spo += (p - mp) * (o - mo)
            pp0 += p * p; po0 += p * o
        }
        let r = spo / max((spp * soo).squareRoot(), 1e-12)
        return (r, po0 / max(pp0, 1e-12))
    }

    /// The dominant rotation axis's consistency for one kind of observation.
    func consistency(_ observe: (Interval) -> (dx: Double, dy: Double, rot: Double)?) -> (r: Double, gain: Double, axis: String)? {
        let use = intervals.compactMap { iv in observe(iv).map { (iv.rot, $0) } }
        guard use.count >= Self.minimumIntervals else { return nil }
        // Energy per axis decides which axes are informative.
        let ex = use.map { abs($0.0.x) }.reduce(0, +), ey = use.map { abs($0.0.y) }.reduce(0, +), ez = use.map { abs($0.0.z) }.reduce(0, +)
        var best: (r: Double, gain: Double, axis: String, energy: Double)?
        let total = ex + ey + ez
        for (axis, energy) in [("y", ey), ("x", ex), ("z", ez)] where energy >= 0.25 * total {
            let pred: [Double], obs: [Double]
            switch axis {
            case "y": pred = use.map { $0.0.y * focal }; obs = use.map { $0.1.dx }
            case "x": pred = use.map { $0.0.x * focal }; obs = use.map { $0.1.dy }
            default: pred = use.map { $0.0.z }; obs = use.map { $0.1.rot }
            }
            let f = Self.fit(pred, obs)
            // Weight by energy: the dominant axis decides; |r| because device/camera sign conventions differ.
            if best == nil || energy > best!.energy { best = (abs(f.r), abs(f.gain), axis, energy) }
        }
        return best.map { ($0.r, $0.gain, $0.axis) }
    }

    public var reading: PadCueReading {
        let pathRotation = intervals.map { abs($0.rot.x) + abs($0.rot.y) + abs($0.rot.z) }.reduce(0, +)
        guard intervals.count >= Self.minimumIntervals else { return .abstain(.imu, "too few frames overlap the gyroscope trace") }
        guard pathRotation >= Self.minimumRotation else {
            return .abstain(.imu, String(format: "device hardly rotated (%.3f rad)", pathRotation))
        }
        let scene = consistency { iv in iv.scene.map { ($0.dx, $0.dy, $0.angle) } }
        let face = consistency { iv in iv.face.map { ($0.x, $0.y, 0) } }
        guard let s = scene ?? face else { return .abstain(.imu, "image motion could not be tracked") }
        // The weaker of scene and face decides: an injected face pasted on a moving background is still wrong.
        var worst = s
        if let f = face, f.axis != "z", f.r < worst.r { worst = f }
        let gainOK = Self.gainRange.contains(worst.gain)
        let state: PadCueState
        if worst.r < Self.inconsistentCorrelation || (!gainOK && worst.gain < Self.gainRange.lowerBound) { state = .spoof }
        else if worst.r >= Self.consistentCorrelation && gainOK { state = .neutral }
        else { state = .neutral }
        var level = PadCueReading.level(worst.r, live: Self.consistentCorrelation + 0.2, threshold: (Self.consistentCorrelation + Self.inconsistentCorrelation) / 2, spoof: 0)
        if state == .spoof { level = max(level, 0.6) }
        return PadCueReading(cue: .imu, state: state, level: level,
                             confidence: min(1, pathRotation / (4 * Self.minimumRotation)),
                             note: String(format: "image vs gyroscope (axis %@): r %.2f, gain %.2f over %d intervals, rotation %.2f rad",
                                          worst.axis, worst.r, worst.gain, intervals.count, pathRotation))
    }
}

/// Anti-spoof classifiers (e.g. MiniFASNetV2 + MiniFASNetV1SE): class probabilities per model per frame. Fused like the
/// reference implementation: the softmax outputs of all models are summed and the arg-max decides.
public struct ModelCue: Sendable {
    /// Session rule (issue 15, item 5): the decision uses the mean of the per-frame class probabilities over every
    /// model frame of the session (the models' softmax summed over models and frames, arg-max — the reference's
    /// arithmetic for one image, extended to a session). It votes from one frame: the models are calibrated per image.
    ///
    /// Lower quantiles were measured and rejected (docs/passive-liveness.md, "Session rule"): on the fixture clips
    /// (`--max-frames 60`, 12 model frames each) the two simulator replays the models miss are off on *no* frame
    /// (per-frame margins 0.04–0.95 and 0.93–1.00, 0.25-quantile 0.60 and 0.97), so no quantile catches them, while
    /// the genuine KwaiVGI d18 clip swings around the boundary (margins −0.19…0.63, mean P(real) 0.525): its
    /// 0.25-quantile (−0.10) and median (−0.015) reject it, the mean accepts it. The per-frame spread is reported.
    /// Quantile shown (advisory) in the note: how low the worst quarter of the frames went.
    public static let reportedQuantile = 0.25
    /// Face sensor noise σ (grey levels, `SensorNoise` on the face's landmark square) from which a frame is too noisy
    /// for the models: such a frame is not counted, and a session of only such frames abstains (the models, trained
    /// on clean faces, cannot see there). Measured (session 14, both MiniFASNets, `liveness --passive --max-frames 60`):
    /// the fixture clips as recorded (18 genuine, 15 attacks, 6 sources + simulator) σ 0.25–0.99; their dark webcam
    /// variant (−1.5 EV, sensor noise, auto-gain; scripts/liveness_lighting_variants.py) σ 5.1–7.2, where the models'
    /// session P(real) spreads over 0.05–0.99 for genuine faces (8 of 18 refused) and 0.001–0.83 for attacks (no
    /// threshold separates them); added noise alone (d0, d14, s32, Krzysiek354) lowers genuine P(real) steadily from
    /// σ ≈ 2.4, with refusals from σ ≈ 5.2. 3.0: 3× the noisiest clean clip, below every dark-variant face.
    public static let noisyFaceSigma = 3.0
    /// Smallest face square (px) whose noise is measured: on a smaller face the operator sees the face's own detail
    /// (session 14, camera-variant stills: obama-1080p at 320×180 σ 3.95, biden 2.47, from skin and hair, not noise).
    /// Below it no noise is recorded and the models vote as without the floor.
    public static let minimumNoiseSide = 64.0

    public private(set) var sums: [Double] = []
    public private(set) var frames = 0
    public private(set) var models: [String] = []
    /// The models that voted (on a counted frame), with their provenance; the reading carries them.
    public private(set) var voters: [PadModelVoter] = []
    /// Per analysed frame: P(real) − P(largest other class), models summed.
    public private(set) var frameMargins: [Double] = []
    /// Per analysed frame: sensor noise σ of the face region (`SensorNoise`), when the analyzer measured it.
    public private(set) var noiseSigmas: [Double] = []
    /// Frames left out because their face was noisier than `noisyFaceSigma`.
    public private(set) var noisyFrames = 0
    public let realClass: Int
    public init(realClass: Int = 1) { self.realClass = realClass }

    /// Softmax of raw logits (numerically stable).
    public static func softmax(_ v: [Float]) -> [Double] {
        guard let m = v.max() else { return [] }
        let e = v.map { exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// One frame: each model's class probabilities (already softmaxed), in the common class order, by name only —
    /// such models are of unmeasured provenance (`PadModelProvenance.unmeasured`).
    /// `noiseSigma`: the face region's sensor noise on this frame (`SensorNoise.sigma`), nil when not measured.
    public mutating func add(frame probabilities: [(model: String, probs: [Double])], noiseSigma: Double? = nil) {
        add(frame: probabilities.map { (voter: PadModelVoter.unmeasured($0.model), probs: $0.probs) }, noiseSigma: noiseSigma)
    }

    /// One frame: each model's class probabilities (already softmaxed), in the common class order, with who voted.
    /// `noiseSigma`: the face region's sensor noise on this frame (`SensorNoise.sigma`), nil when not measured.
    public mutating func add(frame probabilities: [(voter: PadModelVoter, probs: [Double])], noiseSigma: Double? = nil) {
        guard !probabilities.isEmpty else { return }
        if let noiseSigma, noiseSigma.isFinite {
            noiseSigmas.append(noiseSigma)
            if noiseSigma >= Self.noisyFaceSigma { noisyFrames += 1; return }
        }
        frames += 1
        var frameSums: [Double] = []
        for (voter, p) in probabilities {
            if !models.contains(voter.name) { models.append(voter.name) }
            if !voters.contains(voter) { voters.append(voter) }
            if sums.count < p.count { sums += Array(repeating: 0, count: p.count - sums.count) }
            if frameSums.count < p.count { frameSums += Array(repeating: 0, count: p.count - frameSums.count) }
            for (i, v) in p.enumerated() { sums[i] += v; frameSums[i] += v }
        }
        if let m = Self.margin(frameSums, realClass: realClass) { frameMargins.append(m) }
    }

    /// P(real) − P(largest other class) of summed probabilities, normalised by their total.
    public static func margin(_ sums: [Double], realClass: Int) -> Double? {
        let total = sums.reduce(0, +)
        guard total > 0, realClass < sums.count else { return nil }
        let other = sums.enumerated().filter { $0.offset != realClass }.map(\.element).max() ?? 0
        return (sums[realClass] - other) / total
    }

    /// The `q` quantile (linear interpolation between order statistics) of a non-empty array.
    public static func quantile(_ v: [Double], _ q: Double) -> Double {
        let s = v.sorted()
        guard s.count > 1 else { return s.first ?? 0 }
        let x = min(1, max(0, q)) * Double(s.count - 1)
        let lo = Int(x.rounded(.down)), hi = min(s.count - 1, lo + 1)
        return s[lo] + (s[hi] - s[lo]) * (x - Double(lo))
    }

    /// Mean probability of the real class over models and frames.
    public var realProbability: Double? {
        let total = sums.reduce(0, +)
        guard total > 0, realClass < sums.count else { return nil }
        return sums[realClass] / total
    }

    public var reading: PadCueReading {
        guard frames > 0, let pReal = realProbability, let margin = Self.margin(sums, realClass: realClass) else {
            if noisyFrames > 0 {
                return .abstain(.model, String(format: "face too noisy for the anti-spoof models on all %d frame(s) (median noise σ %.2f ≥ %.1f: a dark or low-light camera)",
                                               noisyFrames, padMedian(noiseSigmas), Self.noisyFaceSigma))
            }
            return .abstain(.model, "no anti-spoof model configured (facegate models install minifasnet-v2 minifasnet-v1se)")
        }
        let arg = sums.indices.max { sums[$0] < sums[$1] } ?? realClass
        let spoof = arg != realClass
        // Level: 1 − P(real), pinned so the arg-max boundary maps to 0.5 when P(real) equals the largest other class.
        let level = min(1, max(0, 0.5 - margin / 2))
        var spread = ""
        if frameMargins.count > 1 {
            let below = frameMargins.filter { $0 < 0 }.count
            spread = String(format: "; per-frame margin q%.0f %.2f, min %.2f, %d of %d frame(s) below 0",
                            Self.reportedQuantile * 100, Self.quantile(frameMargins, Self.reportedQuantile),
                            frameMargins.min() ?? 0, below, frameMargins.count)
        }
        let noise = noiseSigmas.isEmpty ? nil : padMedian(noiseSigmas)
        var noiseNote = noise.map { String(format: "; face noise σ %.2f", $0) } ?? ""
        if noisyFrames > 0 { noiseNote += String(format: " (%d frame(s) ≥ %.1f left out)", noisyFrames, Self.noisyFaceSigma) }
        return PadCueReading(cue: .model, state: spoof ? .spoof : .neutral, level: level,
                             confidence: min(1, 0.5 + abs(margin)),
                             note: String(format: "P(real) %.3f (arg-max class %d) from %@ over %d frame(s), session mean%@%@", pReal, arg,
                                          models.joined(separator: " + "), frames, spread, noiseNote),
                             voters: voters)
    }
}

/// Colour texture (LBP histograms + a trained classifier): the classifier's P(real) per frame, averaged.
public struct TextureCue: Sendable {
    /// Probability of "real" below which the texture says spoof: the classifier is Platt-calibrated, so 0.5.
    public static let spoofBelow = 0.5
    public private(set) var probabilities: [Double] = []
    public let configured: Bool
    public init(configured: Bool) { self.configured = configured }

    public mutating func add(realProbability p: Double?) { if let p, p.isFinite { probabilities.append(p) } }

    public var reading: PadCueReading {
        guard configured else { return .abstain(.texture, "no texture model configured (train one: facegate train)") }
        guard !probabilities.isEmpty else { return .abstain(.texture, "no aligned face crop") }
        let p = probabilities.reduce(0, +) / Double(probabilities.count)
        return PadCueReading(cue: .texture, state: p < Self.spoofBelow ? .spoof : .neutral, level: 1 - p,
                             confidence: min(1, 0.3 + abs(p - 0.5) * 1.4),
                             note: String(format: "texture P(real) %.3f over %d crop(s)", p, probabilities.count))
    }
}

/// Spontaneous blinks: a confirm cue for strict mode. Replays contain blinks too, so a blink never outweighs a deny
/// cue. There is one blink detector in FaceGate: this cue calibrates the person's open-eye reference and noise
/// exactly as an active session does (`BaselineCalibrator`) and counts what the challenge's `BlinkDetector` accepts
/// (timestamp-bracketed, noise-relative, head steady, landmark jumps rejected). The earlier passive rule (any dip
/// below 65 % of a running open level, no minimum duration) counted one-frame landmark glitches as blinks and could
/// confirm liveness in strict mode on a photo whose fit jittered.
public struct BlinkCue: Sendable {
    public private(set) var blinks = 0
    private var calibrator = BaselineCalibrator()
    private var baseline: ActiveBaseline? = nil
    private var detector = BlinkDetector()
    private var last: FrameStamp? = nil
    private var frames = 0
    public init() {}

    /// One tracked frame of the subject.
    public mutating func add(_ face: FaceObservation, stamp: FrameStamp) {
        frames += 1
        if let l = last, stamp.timestamp <= l.timestamp { return }          // a repeated frame: nothing new seen
        last = stamp
        let s = FaceSignal(face: face, stamp: stamp)
        guard let b = baseline else { baseline = calibrator.add(s); return }
        if let d = detector.update(s, baseline: b), d.type == .blink { blinks += 1 }
    }

    public var reading: PadCueReading {
        guard frames >= 10 else { return .abstain(.blink, "needs video") }
        return PadCueReading(cue: .blink, state: blinks > 0 ? .live : .neutral,
                             level: blinks > 0 ? 0.3 : 0.5, confidence: blinks > 0 ? 0.6 : 0.3,
                             note: "\(blinks) blink(s) in \(frames) frames")
    }
}
