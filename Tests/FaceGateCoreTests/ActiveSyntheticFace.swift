import FaceGateCore
import Foundation

/// A synthetic face for active-liveness tests: a frontal 68-point 3-D template (millimetres, origin between the
/// eyes, x to the subject's left = image right, y down, z towards the camera) rotated by yaw/pitch/roll with the
/// `HeadPose` sign conventions, morphed for eye closing and mouth opening, and projected with a pinhole camera.
enum ActiveSynthFace {
    /// 68 model points (iBUG order). Eye width 28 mm, opening 9 mm → EAR ≈ 0.32; inner-lip MAR ≈ 0.08 closed.
    static let model: [(Double, Double, Double)] = {
        var p = [(Double, Double, Double)](repeating: (0, 0, 0), count: 68)
        for i in 0...16 {  // jaw: subject's right ear level (image left), round the chin, to the left ear
            let a = Double.pi * Double(i) / 16
            p[i] = (-70 * cos(a), 5 + 112 * sin(a), -40 * abs(cos(a)) - 5)
        }
        for k in 0..<5 {  // brows
            let arch = -4 * sin(Double.pi * Double(k) / 4)
            p[17 + k] = (-55 + Double(k) * 10.5, -18 + arch, 6)
            p[26 - k] = (55 - Double(k) * 10.5, -18 + arch, 6)
        }
        for k in 0..<4 { p[27 + k] = (0, Double(k) * 11, 8 + Double(k) * 7.5) }           // nose bridge to tip
        let nl: [(Double, Double, Double)] = [(-14, 38, 16), (-7, 40, 21), (0, 42, 23), (7, 40, 21), (14, 38, 16)]
        for k in 0..<5 { p[31 + k] = nl[k] }
        // right eye (image left): outer corner, upper lid ×2, inner corner, lower lid ×2
        p[36] = (-45, 0, 0); p[37] = (-36, -4.5, 2); p[38] = (-26, -4.5, 2); p[39] = (-17, 0, 0); p[40] = (-26, 4.5, 2); p[41] = (-36, 4.5, 2)
        // left eye (image right): inner corner, upper lid ×2, outer corner, lower lid ×2
        p[42] = (17, 0, 0); p[43] = (26, -4.5, 2); p[44] = (36, -4.5, 2); p[45] = (45, 0, 0); p[46] = (36, 4.5, 2); p[47] = (26, 4.5, 2)
        let outer: [(Double, Double)] = [(-25, 70), (-15, 64), (-6, 62), (0, 63), (6, 62), (15, 64), (25, 70),
                                         (15, 77), (6, 80), (0, 80.5), (-6, 80), (-15, 77)]
        for k in 0..<12 { p[48 + k] = (outer[k].0, outer[k].1, abs(outer[k].0) > 20 ? 6 : 12) }
        let inner: [(Double, Double)] = [(-20, 70), (-7, 68.5), (0, 68.5), (7, 68.5), (20, 70), (7, 71.5), (0, 71.5), (-7, 71.5)]
        for k in 0..<8 { p[60 + k] = (inner[k].0, inner[k].1, abs(inner[k].0) > 15 ? 8 : 12) }
        return p
    }()

    static let upperLids: Set<Int> = [37, 38, 43, 44]
    static let lowerLids: Set<Int> = [40, 41, 46, 47]
    static let lowerLips: Set<Int> = [55, 56, 57, 58, 59, 65, 66, 67]
    static let chin: Set<Int> = [6, 7, 8, 9, 10]

    /// Landmarks in pixels for a head pose (degrees), eye closure 0…1 and mouth opening 0…1.
    static func landmarks(yaw: Double, pitch: Double, roll: Double, eyeClosure: Double = 0, mouthOpen: Double = 0,
                          interocular: Double = 60, center: Point2 = Point2(320, 240)) -> [Point2] {
        let distance = 600.0
        let f = interocular * distance / 62     // model eye centres are 62 mm apart
        let pivot = (0.0, 40.0, -90.0)          // the head turns about the neck, behind the face
        let (cy, sy) = (cos(yaw * .pi / 180), sin(yaw * .pi / 180))
        let (cp, sp) = (cos(pitch * .pi / 180), sin(pitch * .pi / 180))
        let (cr, sr) = (cos(roll * .pi / 180), sin(roll * .pi / 180))
        let c = min(1, max(0, eyeClosure)), o = min(1, max(0, mouthOpen))
        return model.enumerated().map { i, m in
            var (x, y, z) = m
            if upperLids.contains(i) { y += 8 * c }          // upper lid comes down
            if lowerLids.contains(i) { y -= 1 * c }          // lower lid rises a little
            if lowerLips.contains(i) { y += 30 * o }
            if chin.contains(i) { y += 18 * o }
            x -= pivot.0; y -= pivot.1; z -= pivot.2
            // yaw (about the vertical axis): + turns the nose (z > 0) towards image right
            (x, z) = (x * cy + z * sy, -x * sy + z * cy)
            // pitch (about the horizontal axis): + raises the nose (image up = −y)
            (y, z) = (y * cp - z * sp, y * sp + z * cp)
            // roll (in the image plane): + drops the subject's left eye (image right, +x) → +y
            (x, y) = (x * cr - y * sr, x * sr + y * cr)
            x += pivot.0; y += pivot.1; z += pivot.2
            let depth = distance - z
            return Point2(center.x + f * x / depth, center.y + f * y / depth)
        }
    }
}

/// Pose + morph state of the synthetic person.
struct SynthState {
    var yaw = 0.0, pitch = 0.0, roll = 0.0, eye = 0.0, mouth = 0.0
}

/// A scripted movement: keyframes (seconds from its start, value) on one channel, eased with a cosine.
struct SynthMotion {
    enum Channel { case yaw, pitch, roll, eye, mouth }
    var channel: Channel
    var keys: [(Double, Double)]
    var start: Double = 0

    func value(at t: Double) -> Double {
        let u = t - start
        guard let first = keys.first, let last = keys.last else { return 0 }
        if u <= first.0 { return first.1 }
        if u >= last.0 { return last.1 }
        for (a, b) in zip(keys, keys.dropFirst()) where u <= b.0 {
            let w = (1 - cos(.pi * (u - a.0) / max(b.0 - a.0, 1e-9))) / 2
            return a.1 + (b.1 - a.1) * w
        }
        return last.1
    }

    /// The movement a cooperative person makes for a challenge (amplitudes typical of prompted webcam users).
    static func perform(_ c: ChallengeType, amplitude: Double? = nil, speed: Double = 1) -> [SynthMotion] {
        func k(_ pts: [(Double, Double)]) -> [(Double, Double)] { pts.map { ($0.0 / speed, $0.1) } }
        switch c {
        case .turnLeft, .turnRight:
            let a = (amplitude ?? 30) * (c == .turnLeft ? 1 : -1)
            return [SynthMotion(channel: .yaw, keys: k([(0, 0), (0.45, a), (0.75, a), (1.2, 0)]))]
        case .tiltLeft, .tiltRight:
            let a = (amplitude ?? 22) * (c == .tiltLeft ? 1 : -1)
            return [SynthMotion(channel: .roll, keys: k([(0, 0), (0.45, a), (0.75, a), (1.2, 0)]))]
        case .lookUp, .lookDown:
            let a = (amplitude ?? 20) * (c == .lookUp ? 1 : -1)
            return [SynthMotion(channel: .pitch, keys: k([(0, 0), (0.4, a), (0.7, a), (1.1, 0)]))]
        case .nod:
            let a = amplitude ?? 15
            return [SynthMotion(channel: .pitch, keys: k([(0, 0), (0.3, -a), (0.65, a / 3), (0.9, 0)]))]
        case .shake:
            let a = amplitude ?? 20
            return [SynthMotion(channel: .yaw, keys: k([(0, 0), (0.3, a), (0.75, -a), (1.05, 0)]))]
        case .blink:
            return [SynthMotion(channel: .eye, keys: k([(0, 0), (0.08, 1), (0.14, 1), (0.26, 0)]))]
        case .openMouth:
            return [SynthMotion(channel: .mouth, keys: k([(0, 0), (0.2, amplitude ?? 1), (0.8, amplitude ?? 1), (1.0, 0)]))]
        }
    }
}

/// A camera stream of one synthetic person: neutral pose, scheduled motions, noise, dropped frames.
struct SynthStream {
    var fps: Double = 30
    var neutral = SynthState(yaw: 6, pitch: -4, roll: 2)   // people rarely sit exactly frontal
    var interocular = 60.0
    /// Pose estimation noise, degrees (1σ).
    var poseNoise = 0.0
    /// Landmark noise, pixels (1σ).
    var landmarkNoise = 0.0
    /// Probability that a frame has no face (detector miss).
    var dropRate = 0.0
    /// Timestamp jitter, seconds (1σ), as from a real capture clock.
    var jitter = 0.0
    var motions: [SynthMotion] = []
    /// Extra faces (e.g. a second person) from this time on.
    var secondFaceFrom: Double? = nil
    /// No face at all in this time range.
    var absent: ClosedRange<Double>? = nil
    var rng = Xoshiro256StarStar(seed: 1)

    // Delivery, as browsers and cameras deliver frames (issue 14). The image of frame i is captured at its nominal
    // time i / fps; only its reported timestamp is jittered.
    /// The picture changes at this rate only (nil: every frame): a 15 fps camera resampled to 30 fps delivers
    /// every picture twice, each with its own timestamp.
    var sourceFPS: Double? = nil
    /// Every k-th frame never arrives (0: none).
    var dropEvery = 0
    /// This share of frames, at random, never arrives.
    var dropFraction = 0.0
    /// Reported timestamps are off by up to ± this many seconds (uniform), kept increasing.
    var jitterMax = 0.0
    /// Every k-th frame arrives twice with the same timestamp (0: never).
    var repeatEvery = 0
    /// Natural talking motion overlaid on everything: pitch swings of `talkingPitch` degrees peak to peak at
    /// 2–4 Hz, yaw ±`talkingYaw`/2, roll ±1°, syllable-sized mouth openings.
    var talkingPitch = 0.0
    var talkingYaw = 0.0
    var talkingMouth = false
    private var lastReported = -Double.infinity
    private var lastPicture: (index: Int, faces: [FaceObservation])? = nil

    init(fps: Double = 30, seed: UInt64 = 1) { self.fps = fps; rng = Xoshiro256StarStar(seed: seed) }

    mutating func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    /// The frames that arrive for capture slot i: none (dropped), one, or the same frame twice (repeated stamp).
    mutating func deliver(_ i: Int) -> [FrameAnalysis] {
        let lost = (dropEvery > 0 && i % dropEvery == dropEvery - 1) || (dropFraction > 0 && uniform() < dropFraction)
        let nominal = time(ofFrame: i)
        // the picture: resampled from a slower source, duplicates are the very same landmarks
        let picture = sourceFPS.map { Int((nominal * $0 + 1e-9).rounded(.down)) } ?? i
        let faces: [FaceObservation]
        if let p = lastPicture, p.index == picture {
            faces = p.faces
        } else {
            let at = sourceFPS.map { Double(picture) / $0 } ?? nominal
            faces = self.faces(at: at)
            lastPicture = (picture, faces)
        }
        var t = nominal + (i > 0 && jitterMax > 0 ? jitterMax * (2 * uniform() - 1) : 0) + (i > 0 && jitter > 0 ? jitter * gaussian() : 0)
        if lost { return [] }
        t = max(t, lastReported + 0.001)
        lastReported = t
        let f = FrameAnalysis(index: i, timestamp: t, width: 640, height: 480, faces: faces)
        return repeatEvery > 0 && i % repeatEvery == repeatEvery - 1 ? [f, f] : [f]
    }

    /// The faces seen at time t (detector misses, absences and a second face included).
    mutating func faces(at t: Double) -> [FaceObservation] {
        let s = state(at: t)
        var faces: [FaceObservation] = []
        let dropped = dropRate > 0 && uniform() < dropRate
        if !dropped && !(absent?.contains(t) ?? false) {
            faces.append(face(s, center: Point2(320, 240), interocular: interocular))
            if let t2 = secondFaceFrom, t >= t2 {
                faces.append(face(SynthState(), center: Point2(520, 200), interocular: interocular * 0.8))
            }
        }
        return faces
    }

    /// A noisy webcam at low frame rate: what the issue asks detectors to tolerate.
    static func noisy(fps: Double, seed: UInt64) -> SynthStream {
        var s = SynthStream(fps: fps, seed: seed)
        s.poseNoise = 1.5; s.landmarkNoise = 0.5; s.dropRate = 0.08; s.jitter = 0.004
        return s
    }

    mutating func gaussian() -> Double {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12)
        let u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    mutating func add(_ c: ChallengeType, at t: Double, amplitude: Double? = nil, speed: Double = 1) {
        for var m in SynthMotion.perform(c, amplitude: amplitude, speed: speed) { m.start = t; motions.append(m) }
    }

    func state(at t: Double) -> SynthState {
        var s = neutral
        if talkingPitch > 0 {
            // two incommensurate components at 2.3 and 3.7 Hz: the sum spans ≈ ±0.5 × talkingPitch
            s.pitch += talkingPitch / 2 * (0.6 * sin(2 * .pi * 2.3 * t) + 0.4 * sin(2 * .pi * 3.7 * t + 1.3))
            s.yaw += talkingYaw / 2 * sin(2 * .pi * 1.1 * t + 0.4)
            s.roll += 1.0 * sin(2 * .pi * 0.7 * t + 2.0)
        }
        if talkingMouth { s.mouth = 0.3 * max(0, sin(2 * .pi * 4.1 * t)) }
        for m in motions {
            let v = m.value(at: t)
            switch m.channel {
            case .yaw: s.yaw += v
            case .pitch: s.pitch += v
            case .roll: s.roll += v
            case .eye: s.eye = max(s.eye, v)
            case .mouth: s.mouth = max(s.mouth, v)
            }
        }
        return s
    }

    func time(ofFrame i: Int) -> Double { Double(i) / fps }

    mutating func frame(_ i: Int) -> FrameAnalysis {
        let t = time(ofFrame: i) + (i > 0 ? jitter * gaussian() : 0)
        let s = state(at: t)
        var faces: [FaceObservation] = []
        let dropped = dropRate > 0 && Double(rng.next() >> 11) / Double(1 << 53) < dropRate
        if !dropped && !(absent?.contains(t) ?? false) {
            faces.append(face(s, center: Point2(320, 240), interocular: interocular))
            if let t2 = secondFaceFrom, t >= t2 {
                faces.append(face(SynthState(), center: Point2(520, 200), interocular: interocular * 0.8))
            }
        }
        return FrameAnalysis(index: i, timestamp: t, width: 640, height: 480, faces: faces)
    }

    mutating func face(_ s: SynthState, center: Point2, interocular: Double) -> FaceObservation {
        var pts = ActiveSynthFace.landmarks(yaw: s.yaw, pitch: s.pitch, roll: s.roll, eyeClosure: s.eye,
                                            mouthOpen: s.mouth, interocular: interocular, center: center)
        if landmarkNoise > 0 {
            for j in pts.indices { pts[j].x += landmarkNoise * gaussian(); pts[j].y += landmarkNoise * gaussian() }
        }
        let lm = Landmarks68(points: pts)
        let pose = HeadPose(yaw: s.yaw + poseNoise * gaussian(), pitch: s.pitch + poseNoise * gaussian(),
                            roll: s.roll + poseNoise * gaussian())
        return FaceObservation(box: lm.boundingBox.expanded(by: 0.1), score: 1, landmarks: lm, pose: pose)
    }
}

/// Drives a session with a synthetic person who reacts to each prompt after `reaction` seconds by performing
/// `respond(asked)` (nil: does nothing).
struct SynthActor {
    var reaction = 0.5
    var respond: @Sendable (ChallengeType) -> ChallengeType? = { $0 }
    var amplitude: Double? = nil
    var speed: Double = 1
    /// A person whose action was not accepted repeats it once, this many seconds after the first attempt began
    /// (the prompt is still shown); nil: never.
    var retryAfter: Double? = nil
    /// The reaction time varies per prompt: `reaction` plus up to this many seconds (uniform; 0: fixed).
    var reactionSpread = 0.0
    /// A person who sees nothing happen (the challenge still shown, no tick) does it again this long after the
    /// previous attempt began (uniform in the range), up to `attempts` in all; nil: as `retryAfter`.
    var repeatAfter: ClosedRange<Double>? = nil
    var attempts = 1
    var seed: UInt64 = 1
    /// A person who reads the session's "again" text (`LivenessEvent.promptAgain`: "Blink again", "Nod again") does
    /// the action once more, this long after the text appeared (uniform in the range) and not before the previous
    /// attempt has ended; nil: ignores it.
    var againReaction: ClosedRange<Double>? = nil

    /// How long the scripted movement for `c` lasts.
    static func duration(_ c: ChallengeType, amplitude: Double?, speed: Double) -> Double {
        SynthMotion.perform(c, amplitude: amplitude, speed: speed).map { $0.keys.last?.0 ?? 0 }.max() ?? 0
    }

    func run(_ session: inout LivenessSession, stream: inout SynthStream, seconds: Double = 30) -> LivenessResult {
        var i = 0
        var rng = Xoshiro256StarStar(seed: seed &+ 0x5EED)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var retry: (index: Int, at: Double, type: ChallengeType, left: Int)? = nil
        var lastEnd = -Double.infinity
        while stream.time(ofFrame: i) <= seconds {
            for f in stream.deliver(i) {
                let u = session.process(f)
                for e in u.events {
                    if case .prompt(let k, let type, _, let at) = e, let act = respond(type) {
                        let start = at.timestamp + reaction + reactionSpread * uniform()
                        stream.add(act, at: start, amplitude: amplitude, speed: speed)
                        lastEnd = start + Self.duration(act, amplitude: amplitude, speed: speed)
                        if let r = repeatAfter {
                            retry = attempts > 1 ? (k, start + r.lowerBound + (r.upperBound - r.lowerBound) * uniform(), act, attempts - 1) : nil
                        } else {
                            retry = retryAfter.map { (k, start + $0, act, 1) }
                        }
                    }
                    if case .promptAgain(let k, let type, _, let at) = e, let range = againReaction, let act = respond(type) {
                        let start = max(at.timestamp + range.lowerBound + (range.upperBound - range.lowerBound) * uniform(), lastEnd + 0.2)
                        retry = (k, start - 0.1, act, 1)
                    }
                }
                if let r = session.result { return r }
                if let r = retry, f.timestamp >= r.at {
                    retry = nil
                    if case .challenge(r.index, _, _) = session.phase {
                        stream.add(r.type, at: f.timestamp + 0.1, amplitude: amplitude, speed: speed)
                        lastEnd = f.timestamp + 0.1 + Self.duration(r.type, amplitude: amplitude, speed: speed)
                        if let range = repeatAfter, r.left > 1 {
                            retry = (r.index, f.timestamp + 0.1 + range.lowerBound + (range.upperBound - range.lowerBound) * uniform(), r.type, r.left - 1)
                        }
                    }
                }
            }
            i += 1
        }
        return session.endOfInput()
    }
}
