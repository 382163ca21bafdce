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
    /// The last smoothed signal (for UIs and annotation).
    public private(set) var last: FaceSignal? = nil

    public init(baseline: ActiveBaseline) { self.baseline = baseline }

    /// Feeds one frame's primary face; returns the actions completed on this frame (usually none).
    public mutating func step(_ face: FaceObservation, stamp: FrameStamp) -> [DetectedAction] {
        step(FaceSignal(face: face, stamp: stamp))
    }

    public mutating func step(_ raw: FaceSignal) -> [DetectedAction] {
        let s = smoother.push(raw)
        var raw = raw
        // Blink reads the raw EAR (a blink may be one frame at 10 fps) with the smoothed pose for its steadiness gate.
        raw.yaw = s.yaw; raw.pitch = s.pitch; raw.roll = s.roll
        last = s
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

    /// Back to "waiting for neutral" everywhere: a new challenge needs a fresh movement from neutral.
    public mutating func resetDetectors() {
        blink.reset(); mouth.reset()
        for i in excursions.indices { excursions[i].reset() }
        for i in swings.indices { swings[i].reset() }
    }

    /// Forgets the smoothing history (after a gap without a face).
    public mutating func resetSmoothing() { smoother.reset() }

    public func status(of type: ChallengeType) -> DetectorStatus {
        switch type {
        case .blink: return blink.status
        case .openMouth: return mouth.status
        case .nod: return swings[0].status
        case .shake: return swings[1].status
        default: return excursions.first { $0.type == type }?.status ?? .ready
        }
    }

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
