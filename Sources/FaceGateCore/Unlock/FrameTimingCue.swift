/// Does a camera's frame timing look like a sensor? A deny cue for camera input (the face-unlock daemon, #19 item 3).
///
/// A V4L2 driver stamps each buffer from the system clock when the frame arrives (uvcvideo: `ktime` when the first
/// packet of the frame is decoded from a USB URB; its `hwtimestamps` module parameter, which would convert the
/// camera's own clock instead, defaults to 0 — drivers/media/usb/uvc/uvc_driver.c), and the V4L2 API tells
/// applications to "expect a constant difference up to one field or frame period plus a small (few scan lines)
/// random error" (V4L2 spec, struct v4l2_buffer timestamps). USB adds its own granularity (125 µs microframes; URBs
/// of up to 32 packets, i.e. up to 4 ms at high speed), so a webcam's frame intervals scatter by a few hundred µs to
/// a few ms and practically never repeat to the microsecond. Two things that are not a sensor look different:
///
/// - **perfectly regular**: intervals identical to the microsecond (a generator, or a decoder pacing frames by the
///   container's time stamps);
/// - **quantized**: intervals taking only a handful of values — a file's time stamps on its container time base
///   (1 ms, 1/90 kHz, 1/15360 s ticks) passed through a virtual camera that copies the writer's time stamps
///   (v4l2loopback does when the writer sets them).
///
/// Not measured on real cameras in this project (no camera on the build machines): the thresholds sit at the 1 µs
/// resolution of the timestamps and at a handful of distinct values, far from the jitter the kernel sources and the
/// V4L2 spec imply (a camera stamped with less than 1 µs of jitter would be denied), and the cue can be turned off
/// (`facegate daemon --no-frame-timing`) if a camera with hardware time stamps is ever refused. A virtual camera that
/// stamps frames itself when a paced writer queues them carries the writer's scheduling jitter and looks like a
/// sensor here: the sysfs check (`CameraDeviceCheck`) is what refuses those.
public struct FrameTimingCue: Sendable, Equatable {
    /// 15 frames (14 intervals): 0.5 s at 30 fps, 1 s at 15 fps — any unlock attempt has more (calibration alone is
    /// 0.6 s); fewer intervals cannot tell a few distinct values from chance.
    public static let minFrames = 15
    /// Robust interval spread (1.4826 × median absolute deviation, µs) below which the timing is "perfectly regular":
    /// identical to the 1 µs resolution of the V4L2 timestamp (struct timeval). Not larger: a camera whose stamps
    /// lock to the 125 µs USB microframe grid repeats one interval value up to interrupt latency only, and a
    /// synthetic UVC series with 3 µs of latency jitter measured 3.0–4.4 µs here (an earlier 5 µs bound denied it —
    /// FrameTimingCueTests.smallJitterDroppedFramesAndMicroframeGridPass).
    public static let regularSpreadMicroseconds = 1.0
    /// At most this many distinct intervals (rounded to 1 µs) among ≥ 14 is a time base, not a sensor: a constant-rate
    /// file on a 1 ms base gives 2 (33/34 ms), with a dropped frame 3–4; a sensor with ≥ 20 µs of jitter repeats a
    /// microsecond value among 14 intervals with a probability far below 10⁻⁶.
    public static let quantizedDistinctIntervals = 3
    /// A timestamp series where more than this fraction of intervals are ≤ 0 has no usable timing (some drivers stamp
    /// every buffer alike — raspberrypi/linux#2351): the cue abstains rather than blame the camera.
    public static let maxNonIncreasingFraction = 0.1

    public enum Abstention: Sendable, Equatable, CustomStringConvertible {
        case tooFewFrames(Int)
        case notIncreasing(Int)
        public var description: String {
            switch self {
            case .tooFewFrames(let n): return "\(n) frames: too few to judge the timing (needs \(FrameTimingCue.minFrames))"
            case .notIncreasing(let n): return "\(n) intervals ≤ 0: the driver does not stamp frames, no timing to judge"
            }
        }
    }

    public enum Denial: Sendable, Equatable, CustomStringConvertible {
        case perfectlyRegular(spreadMicroseconds: Double)
        case quantized(distinctIntervals: Int, intervals: Int)
        public var description: String {
            switch self {
            case .perfectlyRegular(let s):
                return "frame intervals regular to \(String(format: "%.1f", s)) µs: a generator or a file, not a sensor"
            case .quantized(let d, let n):
                return "\(n) frame intervals take only \(d) values: a file's time base, not a sensor"
            }
        }
    }

    public enum Verdict: Sendable, Equatable, CustomStringConvertible {
        case abstain(Abstention)
        case sensorLike(spreadMicroseconds: Double, distinctIntervals: Int)
        case deny(Denial)
        public var isDeny: Bool { if case .deny = self { return true } else { return false } }
        public var description: String {
            switch self {
            case .abstain(let a): return "abstains: \(a)"
            case .sensorLike(let s, let d): return "sensor-like (spread \(String(format: "%.0f", s)) µs, \(d) distinct intervals)"
            case .deny(let d): return "deny: \(d)"
            }
        }
    }

    /// Frame timestamps in seconds, in arrival order (absolute or relative: only intervals matter).
    public let timestamps: [Double]

    public init(timestamps: [Double]) { self.timestamps = timestamps }

    public var verdict: Verdict {
        guard timestamps.count >= Self.minFrames else { return .abstain(.tooFewFrames(timestamps.count)) }
        let all = zip(timestamps.dropFirst(), timestamps).map { ($0 - $1) * 1e6 }
        let increasing = all.filter { $0 > 0 }
        let nonIncreasing = all.count - increasing.count
        if Double(nonIncreasing) > Self.maxNonIncreasingFraction * Double(all.count) { return .abstain(.notIncreasing(nonIncreasing)) }
        let spread = Self.robustSpread(increasing)
        if spread < Self.regularSpreadMicroseconds { return .deny(.perfectlyRegular(spreadMicroseconds: spread)) }
        let distinct = Set(increasing.map { Int64($0.rounded()) }).count
        if distinct <= Self.quantizedDistinctIntervals {
            return .deny(.quantized(distinctIntervals: distinct, intervals: increasing.count))
        }
        return .sensorLike(spreadMicroseconds: spread, distinctIntervals: distinct)
    }

    /// 1.4826 × median absolute deviation from the median (µs): one dropped or doubled frame does not hide a
    /// perfectly regular series.
    static func robustSpread(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let m = median(xs)
        return 1.4826 * median(xs.map { abs($0 - m) })
    }
}
