import CFaceGate
import FaceGateCore
import Foundation

/// Native measurements for passive liveness (presentation-attack detection). Stateless helpers; the decision logic
/// lives in FaceGateCore (`Liveness/Passive`).
public enum PadNative {
    // MARK: texture

    /// Length of the LBP colour-texture feature vector (6 channels × 3 radii × 59 uniform bins).
    public static let lbpFeatureCount = 6 * 3 * Int(FG_PAD_LBP_BINS)
    /// Side of the aligned face chip the texture features are computed on (the crop is resized to 64×64 inside).
    public static let textureChipSide = 96
    /// dlib face-chip padding for the texture crop: 0.1 keeps cheeks and forehead, little background.
    public static let textureChipPadding = 0.1

    /// Multi-scale uniform LBP histograms (YCrCb + HSV) of a face crop. Nil for an empty image.
    public static func lbpFeatures(_ crop: Image) -> [Float]? {
        var out = [Float](repeating: 0, count: lbpFeatureCount)
        let n = out.withUnsafeMutableBufferPointer { fg_pad_lbp_features(crop.handle, $0.baseAddress, Int32($0.count)) }
        return n == Int32(lbpFeatureCount) ? out : nil
    }

    /// The aligned face crop texture features are computed on (dlib face chip from 68 or 5 landmarks).
    public static func textureCrop(_ image: Image, landmarks: [Point2]) -> Image? {
        faceChip(image, points: landmarks, size: textureChipSide, padding: textureChipPadding)
    }

    /// Features of the aligned face: `textureCrop` then `lbpFeatures`.
    public static func lbpFeatures(_ image: Image, landmarks: [Point2]) -> [Float]? {
        textureCrop(image, landmarks: landmarks).flatMap(lbpFeatures)
    }

    // MARK: screen

    /// Periodic spectral peaks in the central face region. Nil when the face is too small to measure (< ~54 px).
    public static func moire(_ image: Image, face: Rect, peakThreshold: Double = 8) -> MoireMeasurement? {
        var m = fg_pad_moire()
        let rc = fg_pad_moire_measure(image.handle, Int32(face.x), Int32(face.y), Int32(face.width), Int32(face.height), peakThreshold, &m)
        guard rc == 0, m.side > 0 else { return nil }
        return MoireMeasurement(peakRatio: m.peak_ratio, highFrequencyShare: m.high_freq_share, peaks: Int(m.peaks), side: Int(m.side))
    }

    /// Mean luminance (0…255) of every row of the frame, top to bottom (refresh-banding cue). Nil for an empty image.
    public static func rowProfile(_ image: Image) -> [Double]? {
        let h = image.height
        guard h > 0 else { return nil }
        var out = [Double](repeating: 0, count: h)
        let n = out.withUnsafeMutableBufferPointer { fg_pad_row_profile(image.handle, $0.baseAddress, Int32($0.count)) }
        return n == Int32(h) ? out : nil
    }

    /// Specular blobs in the face box grown by `grow` on each side.
    public static func glare(_ image: Image, face: Rect, grow: Double = 0.0) -> GlareMeasurement? {
        var g = fg_pad_glare()
        let rc = fg_pad_glare_measure(image.handle, Int32(face.x), Int32(face.y), Int32(face.width), Int32(face.height), grow, &g)
        guard rc == 0 else { return nil }
        return GlareMeasurement(largestArea: g.largest_area, largestSolidity: g.largest_solidity, largestTexture: g.largest_texture,
                                totalArea: g.total_area, blobs: Int(g.blobs))
    }

    /// The best device-shaped quadrilateral enclosing the face, if any. `reference` runs OpenCV's own HoughLinesP for
    /// the device sides instead of the shim's equivalent faster transform (same measurements; for tests).
    /// `workingSide`: the longer side the frame is shrunk to before the search (nil: the cue's 320 px).
    public static func bezel(_ image: Image, face: Rect, reference: Bool = false, workingSide: Int? = nil) -> BezelMeasurement {
        var b = fg_pad_bezel()
        let rc: Int32
        if let side = workingSide, !reference {
            rc = fg_pad_bezel_find_at(image.handle, Int32(face.x), Int32(face.y), Int32(face.width), Int32(face.height), Int32(side), &b)
        } else {
            let find = reference ? fg_pad_bezel_find_reference : fg_pad_bezel_find
            rc = find(image.handle, Int32(face.x), Int32(face.y), Int32(face.width), Int32(face.height), &b)
        }
        guard rc == 0 else { return .none }
        guard b.found != 0 else { return BezelMeasurement(found: false, sidesFound: b.sides_found != 0, sidesLength: b.sides_length) }
        let c = withUnsafeBytes(of: b.corners) { Array($0.bindMemory(to: Float.self)) }
        let corners = (0..<4).map { Point2(Double(c[2 * $0]), Double(c[2 * $0 + 1])) }
        return BezelMeasurement(found: true, corners: corners, areaRatio: b.area_ratio, aspect: b.aspect,
                                edgeSupport: b.edge_support, rimContrast: b.rim_contrast,
                                sidesFound: b.sides_found != 0, sidesLength: b.sides_length)
    }

    /// For tests: every segment (x0, y0, x1, y1 in the cue's working pixels, in the transform's order) of the bezel
    /// cue's side transform on the face's side bands, with OpenCV's HoughLinesP (`reference`) or the shim's own.
    public static func bezelSideSegments(_ image: Image, face: Rect, minLength: Double, reference: Bool) -> [[Int32]] {
        let capacity = 4096
        var buf = [Int32](repeating: 0, count: 4 * capacity)
        let n = Int(fg_pad_bezel_side_segments(image.handle, Int32(face.x), Int32(face.y), Int32(face.width), Int32(face.height),
                                               minLength, reference ? 1 : 0, &buf, Int32(capacity)))
        return (0..<min(max(n, 0), capacity)).map { Array(buf[4 * $0..<4 * $0 + 4]) }
    }

    // MARK: geometry

    /// Least-squares homography and similarity fits of `source` onto `target` (same count, ≥ 5 points).
    public static func planarFit(from source: [Point2], to target: [Point2]) -> PlanarFit? {
        guard source.count == target.count, source.count >= 5 else { return nil }
        let a = source.flatMap { [Float($0.x), Float($0.y)] }, b = target.flatMap { [Float($0.x), Float($0.y)] }
        var h = 0.0, s = 0.0
        let rc = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                fg_pad_homography_fit(pa.baseAddress, pb.baseAddress, Int32(source.count), nil, &h, &s)
            }
        }
        guard rc == 0, h.isFinite, s.isFinite else { return nil }
        return PlanarFit(homographyRMS: h, similarityRMS: s)
    }

    // MARK: motion

    public enum MotionRegion: Int32, Sendable { case whole = 0, face = 1, background = 2 }

    /// Sparse optical flow between consecutive frames (same size), restricted to a region around `face`.
    public static func motion(from prev: Image, to cur: Image, face: Rect?, region: MotionRegion) -> ImageMotion? {
        var m = fg_pad_motion()
        let f = face ?? Rect(x: 0, y: 0, width: 0, height: 0)
        let rc = fg_pad_motion_measure(prev.handle, cur.handle, Int32(f.x), Int32(f.y), Int32(f.width), Int32(f.height),
                                       face == nil ? 0 : region.rawValue, &m)
        guard rc == 0 else { return nil }
        return ImageMotion(dx: m.dx, dy: m.dy, angle: m.angle, tracked: Int(m.tracked), inliers: Int(m.inliers))
    }

    /// Silent-Face's crop box (x0, y0, x1, y1 inclusive) for a face box enlarged by `scale` in a frame.
    public static func cropBox(frameWidth: Int, frameHeight: Int, box: Rect, scale: Double) -> [Int] {
        var b = [Int32](repeating: 0, count: 4)
        b.withUnsafeMutableBufferPointer {
            fg_pad_crop_box(Int32(frameWidth), Int32(frameHeight), Float(box.x), Float(box.y), Float(box.width), Float(box.height), scale, $0.baseAddress)
        }
        return b.map(Int.init)
    }
}

/// A 16-bit depth frame in millimetres (0 = no reading). Freed on deinit.
public final class DepthFrame: @unchecked Sendable {
    let handle: OpaquePointer
    init(handle: OpaquePointer) { self.handle = handle }
    deinit { fg_depth_free(handle) }

    /// Reads a 16-bit single-channel PNG.
    public static func read(_ path: String) throws -> DepthFrame {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        let (h, msg) = withErrorBuffer { fg_depth_read(path, $0, $1) }
        guard let h else { throw FaceGateError.unreadableMedia(path: path, detail: msg) }
        return DepthFrame(handle: h)
    }

    /// From millimetre values, row-major.
    public init?(millimetres: [UInt16], width: Int, height: Int) {
        guard millimetres.count >= width * height,
              let h = millimetres.withUnsafeBufferPointer({ fg_depth_from_u16($0.baseAddress, Int32(width), Int32(height)) })
        else { return nil }
        handle = h
    }

    public var width: Int { Int(fg_depth_width(handle)) }
    public var height: Int { Int(fg_depth_height(handle)) }

    public func write(_ path: String) throws {
        let (rc, msg) = withErrorBuffer { fg_depth_write(handle, path, $0, $1) }
        if rc != 0 { throw FaceGateError.badInput("cannot write \(path): \(msg)") }
    }

    /// Plane / relief statistics inside `box`; nil when too few pixels have a reading.
    public func measure(in box: Rect) -> DepthMeasurement? {
        var s = fg_pad_depth_stats()
        let rc = fg_pad_depth_measure(handle, Int32(box.x), Int32(box.y), Int32(box.width), Int32(box.height), &s)
        guard rc == 0 else { return nil }
        return DepthMeasurement(coverage: s.coverage, medianMM: s.median_mm, planeRMSMM: s.plane_rms_mm, reliefMM: s.relief_mm,
                                centerProtrusionMM: s.center_protrusion_mm, quadraticRMSMM: s.quad_rms_mm)
    }
}

/// How an image is turned into a classifier's input tensor.
public struct NetInputSpec: Sendable, Hashable {
    public var width: Int
    public var height: Int
    /// Face box enlargement (Silent-Face crop); nil or ≤ 0 = whole frame.
    public var cropScale: Double?
    /// true: RGB channel order; false: BGR (OpenCV's native order).
    public var rgb: Bool
    /// value = (pixel × pixelScale − mean) / std, per channel in feed order.
    public var pixelScale: Double
    public var mean: [Double]
    public var std: [Double]
    public init(width: Int, height: Int, cropScale: Double?, rgb: Bool, pixelScale: Double, mean: [Double], std: [Double]) {
        self.width = width; self.height = height; self.cropScale = cropScale; self.rgb = rgb
        self.pixelScale = pixelScale; self.mean = mean; self.std = std
    }
}

/// An ONNX classifier run through OpenCV DNN. Not thread-safe: one per task.
public final class PadNet {
    let handle: OpaquePointer
    public let path: String
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        let (h, msg) = withErrorBuffer { fg_pad_net_load(path, $0, $1) }
        guard let h else {
            // OpenCV's message spans lines; one line, and a fix that fits a model (not the media hint).
            let oneLine = msg.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            throw FaceGateError.badInput("cannot load \(path): not a loadable ONNX model: \(oneLine) — check the file (truncated copy?) or export/download it again")
        }
        handle = h
        self.path = path
    }
    deinit { fg_pad_net_free(handle) }

    /// Raw network outputs for the face `box` of `image`.
    public func run(_ image: Image, box: Rect, input: NetInputSpec) throws -> [Float] {
        var spec = fg_pad_net_input()
        spec.input_w = Int32(input.width); spec.input_h = Int32(input.height)
        spec.crop_scale = input.cropScale ?? 0
        spec.swap_rb = input.rgb ? 1 : 0
        spec.pixel_scale = input.pixelScale
        let m = (input.mean + [0, 0, 0]).prefix(3).map(Float.init), s = (input.std + [1, 1, 1]).prefix(3).map(Float.init)
        spec.mean = (m[0], m[1], m[2])
        spec.std = (s[0], s[1], s[2])
        var out = [Float](repeating: 0, count: 64)
        let (n, msg) = out.withUnsafeMutableBufferPointer { o in
            withErrorBuffer { fg_pad_net_run(handle, image.handle, Float(box.x), Float(box.y), Float(box.width), Float(box.height), &spec, o.baseAddress, Int32(o.count), $0, $1) }
        }
        guard n > 0 else { throw FaceGateError.runtime("anti-spoof model \(path) failed: \(msg)") }
        return Array(out.prefix(Int(n)))
    }
}

/// Parameters of one simulated attack frame (see `fg_sim_params`).
public struct AttackFrameParameters: Sendable {
    public enum Medium: Sendable { case print, screen, replay }
    public var medium: Medium
    /// Medium → output homography, row-major.
    public var homography: [Double]
    public var outputWidth: Int, outputHeight: Int
    public var gamma = 1.0, contrast = 1.0, brightness = 0.0, saturation = 1.0
    public var tint: (r: Double, g: Double, b: Double) = (1, 1, 1)
    public var gridPitch = 0.0, gridAngle = 0.0, gridDepth = 0.0
    public var borderPixels = 0
    public var glare: (x: Double, y: Double, radius: Double, strength: Double) = (0.5, 0.3, 0, 0)
    public var grain = 0.0, halftone = 0.0, bend = 0.0
    public var blur = 0.0, noise = 0.0
    public var seed: UInt32 = 1
    /// Display black level (0…0.5): LCD glow and a narrower gamut (screen, replay).
    public var blackLevel = 0.0
    /// Rolling refresh banding: depth 0…0.9, period (fraction of the output height), this frame's phase (radians).
    public var banding: (depth: Double, period: Double, phase: Double) = (0, 0, 0)
    public init(medium: Medium, homography: [Double], outputWidth: Int, outputHeight: Int) {
        self.medium = medium; self.homography = homography; self.outputWidth = outputWidth; self.outputHeight = outputHeight
    }
}

public enum AttackRenderer {
    /// Renders `content` on its medium over `background` (nil: a plain wall) as a camera would see it.
    public static func render(_ content: Image, background: Image?, _ p: AttackFrameParameters) -> Image? {
        var s = fg_sim_params()
        s.kind = switch p.medium { case .print: FG_SIM_PRINT; case .screen: FG_SIM_SCREEN; case .replay: FG_SIM_REPLAY }
        let h = (p.homography + Array(repeating: 0, count: 9)).prefix(9)
        s.H = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8])
        s.out_w = Int32(p.outputWidth); s.out_h = Int32(p.outputHeight)
        s.gamma = p.gamma; s.contrast = p.contrast; s.brightness = p.brightness; s.saturation = p.saturation
        s.tint_r = p.tint.r; s.tint_g = p.tint.g; s.tint_b = p.tint.b
        s.grid_pitch = p.gridPitch; s.grid_angle = p.gridAngle; s.grid_depth = p.gridDepth
        s.border_px = Int32(p.borderPixels)
        s.glare_x = p.glare.x; s.glare_y = p.glare.y; s.glare_radius = p.glare.radius; s.glare_strength = p.glare.strength
        s.grain = p.grain; s.halftone = p.halftone; s.bend = p.bend
        s.blur = p.blur; s.noise = p.noise; s.seed = p.seed
        s.black_level = p.blackLevel
        s.banding_depth = p.banding.depth; s.banding_period = p.banding.period; s.banding_phase = p.banding.phase
        return fg_pad_simulate(content.handle, background?.handle, &s).map(Image.init(handle:))
    }
}

/// How a still image's EXIF orientation tag is treated when reading it.
public enum ImageOrientation: Sendable {
    /// Pixels as stored (FaceGate's `Image.read`, like OpenCV's IMREAD_IGNORE_ORIENTATION; video frames never rotate).
    case stored
    /// Rotated/flipped as the EXIF tag says, exactly as `cv2.imread(path)` does — what the reference anti-spoof
    /// pipeline sees, and how a phone photo is meant to be viewed.
    case exif
}

extension Image {
    /// Reads a still image, applying its EXIF orientation when asked (`.exif`).
    public static func read(_ path: String, orientation: ImageOrientation) throws -> Image {
        guard orientation == .exif else { return try read(path) }
        return try readFile(path) { fg_pad_image_read_oriented(path, $0, $1) }
    }
}
