import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// Presentation-attack species the simulator produces.
public enum AttackKind: String, Sendable, CaseIterable {
    /// A printed photo held up by hand: paper grain, halftone, slight bend, hand tremor (a planar homography).
    case print
    /// The same print moved and tilted substantially (to fake head motion).
    case printMoving = "print-moving"
    /// The photo or video shown on a phone/tablet screen held in view: bezel, sub-pixel grid (moiré), gamma, tint, glare.
    case screen
    /// A recording re-captured from a screen that fills the camera's view (no bezel): moiré, gamma, blur, colour shift.
    case replay

    /// The species label used in evaluation manifests.
    public var species: String {
        switch self {
        case .print, .printMoving: return "print"
        case .screen: return "screen"
        case .replay: return "replay"
        }
    }
}

/// 3x3 homography mapping four source points onto four destination points (row-major, h22 = 1).
public func homography(from src: [Point2], to dst: [Point2]) -> [Double]? {
    guard src.count == 4, dst.count == 4 else { return nil }
    var a = [[Double]](repeating: [Double](repeating: 0, count: 9), count: 8)
    for i in 0..<4 {
        let (x, y, u, v) = (src[i].x, src[i].y, dst[i].x, dst[i].y)
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y, u]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y, v]
    }
    // Gaussian elimination with partial pivoting on the 8x8 system (last column is the right-hand side).
    for c in 0..<8 {
        guard let p = (c..<8).max(by: { abs(a[$0][c]) < abs(a[$1][c]) }), abs(a[p][c]) > 1e-12 else { return nil }
        a.swapAt(c, p)
        for r in 0..<8 where r != c {
            let f = a[r][c] / a[c][c]
            if f != 0 { for k in c..<9 { a[r][k] -= f * a[c][k] } }
        }
    }
    return (0..<8).map { a[$0][8] / a[$0][$0] } + [1]
}

/// Turns bona-fide media into presentation attacks (see `AttackKind`). Deterministic for a seed.
public struct AttackSimulator {
    public var kind: AttackKind
    public var seed: UInt64
    /// Output frames per second and length.
    public var fps = 25.0
    public var duration = 3.0
    /// Longest output side.
    public var maxSide = 640
    public var background: Image?

    public init(kind: AttackKind, seed: UInt64 = 1) { self.kind = kind; self.seed = seed }

    /// A small deterministic generator (SplitMix64) for the per-attack parameters.
    struct Rng {
        var state: UInt64
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        mutating func range(_ r: ClosedRange<Double>) -> Double { r.lowerBound + (r.upperBound - r.lowerBound) * next() }
    }

    /// Projects the medium (mw x mh pixels, centred, its height filling `fill` of the output height) rotated by yaw,
    /// pitch, roll (degrees) and shifted (fractions of the output size) through a pinhole camera (focal = width).
    static func placement(mw: Int, mh: Int, ow: Int, oh: Int, fill: Double, yaw: Double, pitch: Double, roll: Double,
                          shift: Point2, zoom: Double) -> [Double] {
        let f = Double(ow)
        let physH = 1.0, physW = Double(mw) / Double(mh)
        // Distance at which the medium's height covers `fill` of the frame.
        let z0 = f * physH / (fill * zoom * Double(oh))
        let (cy, sy) = (cos(yaw * .pi / 180), sin(yaw * .pi / 180))
        let (cp, sp) = (cos(pitch * .pi / 180), sin(pitch * .pi / 180))
        let (cr, sr) = (cos(roll * .pi / 180), sin(roll * .pi / 180))
        let corners = [(-physW / 2, -physH / 2), (physW / 2, -physH / 2), (physW / 2, physH / 2), (-physW / 2, physH / 2)]
        var dst: [Point2] = []
        for (x0, y0) in corners {
            // roll (z), then pitch (x), then yaw (y)
            let x1 = x0 * cr - y0 * sr, y1 = x0 * sr + y0 * cr, z1 = 0.0
            let y2 = y1 * cp - z1 * sp, z2 = y1 * sp + z1 * cp
            let x3 = x1 * cy + z2 * sy, z3 = -x1 * sy + z2 * cy
            let z = z0 + z3
            dst.append(Point2(Double(ow) / 2 + shift.x * Double(ow) + f * x3 / z, Double(oh) / 2 + shift.y * Double(oh) + f * y2 / z))
        }
        let src = [Point2(0, 0), Point2(Double(mw), 0), Point2(Double(mw), Double(mh)), Point2(0, Double(mh))]
        return homography(from: src, to: dst) ?? [1, 0, 0, 0, 1, 0, 0, 0, 1]
    }

    /// Renders the attack for `input` (image or video) into `output` (mp4/avi/mkv). Returns the frame count.
    @discardableResult
    public func render(input: String, output: String, progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        let isVideo = MediaKind.isVideo(input) || !MediaKind.isImage(input)
        var reader: VideoReader? = nil
        var still: Image
        if isVideo {
            let r = try VideoReader.open(input)
            guard let f = try r.next() else { throw FaceGateError.unreadableMedia(path: input, detail: "no frames") }
            still = f.image
            reader = r
        } else {
            still = try Image.read(input)
        }
        let inW = still.width, inH = still.height
        let s = min(1, Double(maxSide) / Double(max(inW, inH)))
        let ow = max(2, Int(Double(inW) * s) & ~1), oh = max(2, Int(Double(inH) * s) & ~1)
        let total = max(1, Int((fps * duration).rounded()))
        let writer = try VideoWriter(path: output, fps: fps, width: ow, height: oh)
        var rng = Rng(state: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(kind.rawValue.count))
        let phase = (0..<6).map { _ in rng.range(0...(2 * .pi)) }
        // Per-attack appearance.
        let gridPitch = rng.range(2.4...3.6), gridAngle = rng.range(-8...8)
        let gamma = kind == .print || kind == .printMoving ? rng.range(0.85...1.0) : rng.range(1.2...1.5)
        let glare = (x: rng.range(0.2...0.8), y: rng.range(0.15...0.5), radius: rng.range(0.12...0.25), strength: rng.range(0.35...0.65))
        let tintB = rng.range(1.02...1.1), tintR = rng.range(0.88...0.96)
        // Display realism (screens and replays), drawn from a second stream so the draws above stay as they were:
        // the display's own resolution (the content is resampled to it: softer detail, interpolation), a lifted black
        // level and compressed saturation (an LCD's gamut), and rolling refresh banding (PWM backlight x rolling
        // shutter: bands a few % deep that drift at the beat of the two rates).
        var drng = Rng(state: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0xD1B5_4A32_D192_ED03 &+ UInt64(kind.rawValue.count))
        let display = (scale: drng.range(0.45...0.8), black: drng.range(0.03...0.09), saturation: drng.range(0.8...0.92),
                       bandDepth: drng.range(0.05...0.16), bandPeriod: drng.range(0.12...0.4), bandHz: drng.range(1.5...8.0),
                       bandPhase: drng.range(0...(2 * .pi)))
        // The content plays at its own rate on the display; the camera samples it at `fps` (repeated or skipped content
        // frames, as a re-filmed video shows).
        let contentFps = (reader?.fps ?? 0) > 1 ? reader!.fps : fps
        var contentIndex = 0
        var current = still
        var decoded = still  // the latest content frame of a video
        var videoEnded = false
        for i in 0..<total {
            let t = Double(i) / fps
            // Content for this frame: prints are stills; screens and replays play the video.
            if isVideo && (kind == .screen || kind == .replay) && !videoEnded {
                while contentIndex < Int(t * contentFps + 1e-9) {
                    if let f = try reader?.next() { decoded = f.image; contentIndex += 1 } else { videoEnded = true; break }
                }
                current = decoded
            }
            var p: AttackFrameParameters
            let wob = { (k: Int, freq: Double) in sin(2 * .pi * freq * t + phase[k]) }
            switch kind {
            case .print, .printMoving:
                let moving = kind == .printMoving
                // Medium: the print at ~1.2x its on-screen size, with a white margin.
                let fill = moving ? 0.7 : 0.8
                let mh = Int(Double(oh) * fill * 1.2), mw = max(2, Int(Double(mh) * Double(current.width) / Double(current.height)))
                let content = current.resized(width: mw, height: mh)
                let border = Int(Double(mh) * 0.05)
                let yaw = moving ? 25 * wob(0, 0.35) : 2.5 * wob(0, 0.7)
                let pitch = moving ? 12 * wob(1, 0.27) : 1.5 * wob(1, 0.55)
                let roll = moving ? 8 * wob(2, 0.2) : 1.0 * wob(2, 0.45)
                let shift = moving ? Point2(0.06 * wob(3, 0.3), 0.05 * wob(4, 0.25)) : Point2(0.008 * wob(3, 1.1), 0.008 * wob(4, 0.9))
                let zoom = moving ? 1 + 0.1 * wob(5, 0.2) : 1
                let H = Self.placement(mw: mw + 2 * border, mh: mh + 2 * border, ow: ow, oh: oh, fill: fill, yaw: yaw, pitch: pitch,
                                       roll: roll, shift: shift, zoom: zoom)
                p = AttackFrameParameters(medium: .print, homography: H, outputWidth: ow, outputHeight: oh)
                p.gamma = gamma; p.contrast = 0.82; p.brightness = 0.06; p.saturation = 0.8
                p.borderPixels = border; p.grain = 7; p.halftone = 3; p.bend = 0.25
                p.glare = (glare.x, glare.y, glare.radius, glare.strength * 0.5)
                p.blur = 0.6; p.noise = 2.5
                current = content
            case .screen:
                let fill = 0.75
                let mh = Int(Double(oh) * fill * 1.25), mw = max(2, Int(Double(mh) * Double(current.width) / Double(current.height)))
                let content = current.resized(width: max(2, Int(Double(mw) * display.scale)), height: max(2, Int(Double(mh) * display.scale)))
                    .resized(width: mw, height: mh)
                let border = Int(Double(mh) * 0.06)
                let H = Self.placement(mw: mw + 2 * border, mh: mh + 2 * border, ow: ow, oh: oh, fill: fill,
                                       yaw: 3 * wob(0, 0.6), pitch: 2 * wob(1, 0.5), roll: 1.5 * wob(2, 0.4),
                                       shift: Point2(0.01 * wob(3, 1.0), 0.01 * wob(4, 0.8)), zoom: 1)
                p = AttackFrameParameters(medium: .screen, homography: H, outputWidth: ow, outputHeight: oh)
                p.gamma = gamma; p.contrast = 0.95; p.brightness = 0.03
                p.tint = (tintR, 1.0, tintB)
                p.gridPitch = gridPitch; p.gridAngle = gridAngle; p.gridDepth = 0.45
                p.borderPixels = border
                p.glare = glare
                p.blur = 0.5; p.noise = 3
                if isVideo { current = content } else { current = content }
            case .replay:
                let mh = Int(Double(oh) * 1.3), mw = max(2, Int(Double(mh) * Double(current.width) / Double(current.height)))
                let content = current.resized(width: max(2, Int(Double(mw) * display.scale)), height: max(2, Int(Double(mh) * display.scale)))
                    .resized(width: mw, height: mh)
                let H = Self.placement(mw: mw, mh: mh, ow: ow, oh: oh, fill: 1.0, yaw: 1.5 * wob(0, 0.5), pitch: 1 * wob(1, 0.4),
                                       roll: 0.8 * wob(2, 0.3), shift: Point2(0.005 * wob(3, 0.9), 0.005 * wob(4, 0.7)), zoom: 1.12)
                p = AttackFrameParameters(medium: .replay, homography: H, outputWidth: ow, outputHeight: oh)
                p.gamma = gamma; p.contrast = 0.92; p.brightness = 0.04
                p.tint = (tintR, 1.0, tintB)
                p.gridPitch = gridPitch; p.gridAngle = gridAngle; p.gridDepth = 0.4
                p.glare = (glare.x, glare.y, glare.radius * 1.5, glare.strength * 0.6)
                p.blur = 0.8; p.noise = 3
                current = content
            }
            if kind == .screen || kind == .replay {
                p.blackLevel = display.black
                p.saturation = display.saturation
                p.banding = (display.bandDepth, display.bandPeriod, display.bandPhase + 2 * .pi * display.bandHz * t)
            }
            p.seed = UInt32(truncatingIfNeeded: seed &* 2_654_435_761 &+ 17)
            guard let frame = AttackRenderer.render(current, background: background, p) else {
                throw FaceGateError.runtime("attack rendering failed at frame \(i)")
            }
            writer.write(frame)
            progress?(i + 1, total)
            // The next frame starts from the source again: prints and stills from the still, videos from the latest
            // decoded frame (a repeated content frame is not resampled twice).
            current = kind == .print || kind == .printMoving || !isVideo ? still : decoded
        }
        return total
    }
}
