import CFaceGate
import FaceGateCore
import Foundation

/// dlib shape predictor (68- or 5-point). Thread-safe for concurrent prediction (the model is read-only).
public final class LandmarkModel: @unchecked Sendable {
    let handle: OpaquePointer
    public let parts: Int
    /// How the trees are evaluated. Both give identical landmarks; `.dlibReference` is dlib's own, slower loop,
    /// kept for the equality test and `facegate bench`.
    public enum Evaluator: Sendable { case fast, dlibReference }

    public init(path: String, evaluator: Evaluator = .fast) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        let (h, msg) = withErrorBuffer {
            evaluator == .fast ? fg_shape_model_load(path, $0, $1) : fg_shape_model_load_reference(path, $0, $1)
        }
        guard let h else { throw FaceGateError.unreadableMedia(path: path, detail: msg) }
        self.handle = h
        self.parts = Int(fg_shape_model_parts(h))
    }
    deinit { fg_shape_model_free(handle) }

    /// Landmarks inside `box`.
    public func predict(_ image: Image, box: Rect) -> [Point2] {
        var out = [Float](repeating: 0, count: parts * 2)
        let n = out.withUnsafeMutableBufferPointer {
            fg_shape_predict(handle, image.handle, Float(box.x), Float(box.y), Float(box.width), Float(box.height), $0.baseAddress)
        }
        return (0..<Int(n)).map { Point2(Double(out[2 * $0]), Double(out[2 * $0 + 1])) }
    }
}

/// Head pose by solvePnP against a generic 3-D face (see `HeadPose` for sign conventions).
public enum PoseEstimator {
    public struct Solution: Sendable {
        public var pose: HeadPose
        public var rvec: [Double]
        public var tvec: [Double]
        public init(pose: HeadPose, rvec: [Double], tvec: [Double]) { self.pose = pose; self.rvec = rvec; self.tvec = tvec }
    }

    /// The generic 3-D face the solver fits (landmark index → model point, mm), for synthetic tests and drawing.
    public static let modelPoints: [Int: (Double, Double, Double)] = [
        30: (0, 0, 0), 8: (0, 63.6, 12.5), 36: (-43.3, -32.7, 26), 45: (43.3, -32.7, 26), 39: (-14, -31, 22),
        42: (14, -31, 22), 48: (-28.9, 28.9, 24.1), 54: (28.9, 28.9, 24.1), 27: (0, -33, 14), 31: (-12, 3, 16), 35: (12, 3, 16),
    ]

    public static func solve(_ lm: Landmarks68, width: Int, height: Int) -> Solution? {
        var pts = [Float](repeating: 0, count: 136)
        for (i, p) in lm.points.enumerated() { pts[2 * i] = Float(p.x); pts[2 * i + 1] = Float(p.y) }
        var yaw = 0.0, pitch = 0.0, roll = 0.0
        var rvec = [Double](repeating: 0, count: 3), tvec = [Double](repeating: 0, count: 3)
        let rc = pts.withUnsafeBufferPointer { p in
            rvec.withUnsafeMutableBufferPointer { r in
                tvec.withUnsafeMutableBufferPointer { t in
                    fg_head_pose(p.baseAddress, Int32(width), Int32(height), &yaw, &pitch, &roll, r.baseAddress, t.baseAddress)
                }
            }
        }
        guard rc == 0, yaw.isFinite, pitch.isFinite, roll.isFinite else { return nil }
        return Solution(pose: HeadPose(yaw: yaw, pitch: pitch, roll: roll), rvec: rvec, tvec: tvec)
    }

    public static func pose(_ lm: Landmarks68, width: Int, height: Int) -> HeadPose {
        solve(lm, width: width, height: height)?.pose ?? HeadPose(yaw: 0, pitch: 0, roll: HeadPose.roll(from: lm))
    }

    /// Projects 3-D points (mm, model frame: x to the subject's left, y down, z away from the camera).
    public static func project(_ pts: [(Double, Double, Double)], solution: Solution, width: Int, height: Int) -> [Point2] {
        var flat: [Double] = []
        for p in pts { flat += [p.0, p.1, p.2] }
        var out = [Float](repeating: 0, count: pts.count * 2)
        flat.withUnsafeBufferPointer { f in
            solution.rvec.withUnsafeBufferPointer { r in
                solution.tvec.withUnsafeBufferPointer { t in
                    out.withUnsafeMutableBufferPointer { o in
                        fg_project_points(f.baseAddress, Int32(pts.count), r.baseAddress, t.baseAddress, Int32(width), Int32(height), o.baseAddress)
                    }
                }
            }
        }
        return (0..<pts.count).map { Point2(Double(out[2 * $0]), Double(out[2 * $0 + 1])) }
    }
}

/// dlib ResNet face descriptor (128-d). Not thread-safe: one per task/thread.
public final class FaceEmbedder {
    let handle: OpaquePointer
    /// How the network is evaluated. `.fast` (the shim's own im2col + OpenBLAS forward pass over dlib's weights) agrees
    /// with `.dlibReference` (dlib's own forward pass, slower) within 1e-5 per component (`EmbedderEquivalenceTests`);
    /// the reference is kept for the equivalence test and `facegate bench`.
    public enum Evaluator: Sendable { case fast, dlibReference }

    /// `chipSampler` picks how the aligned 150x150 chip is sampled (see `ChipSampler`; both give the same bytes).
    public init(path: String, evaluator: Evaluator = .fast, chipSampler: ChipSampler = .fast) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw FaceGateError.missingFile(path) }
        let (h, msg) = withErrorBuffer {
            evaluator == .fast ? fg_embedder_load(path, $0, $1) : fg_embedder_load_reference(path, $0, $1)
        }
        guard let h else { throw FaceGateError.unreadableMedia(path: path, detail: msg) }
        self.handle = h
        fg_embedder_set_reference_chip(h, chipSampler == .dlibReference ? 1 : 0)
    }
    deinit { fg_embedder_free(handle) }

    /// Embeds the face aligned by `points` (5-point or 68-point landmarks) into a 150x150 chip.
    public func embed(_ image: Image, points: [Point2], jitter: Int = 0) -> Embedding? {
        guard points.count == 5 || points.count == 68 else { return nil }
        var pts = [Float](repeating: 0, count: points.count * 2)
        for (i, p) in points.enumerated() { pts[2 * i] = Float(p.x); pts[2 * i + 1] = Float(p.y) }
        var out = [Float](repeating: 0, count: 128)
        let rc = pts.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                fg_embed(handle, image.handle, p.baseAddress, Int32(points.count), Int32(jitter), o.baseAddress)
            }
        }
        return rc == 0 ? Embedding(out) : nil
    }
}

/// How an aligned face chip is sampled from the frame. `.fast` (the shim's AVX2 sampler, `fast_chip.hpp`) reproduces
/// dlib's `extract_image_chip` byte for byte — same pyramid, same sample points, same double-precision bilinear blend —
/// 3.5-5x faster (`FaceChipEquivalenceTests`). It verifies itself once against dlib at first use and falls back to
/// dlib's call when the build cannot reproduce it (no AVX2, or a compiler that fuses dlib's blend differently).
/// `.dlibReference` always calls dlib; kept for the equality test and `facegate bench`.
public enum ChipSampler: Sendable { case fast, dlibReference }

/// True when this build samples chips with the fast path (it passed its byte-equality self-test against dlib).
public var fastChipSamplerActive: Bool { fg_chip_fast_enabled() == 1 }

/// Aligned face chip (dlib `get_face_chip_details`), e.g. for crops and thumbnails.
public func faceChip(_ image: Image, points: [Point2], size: Int = 150, padding: Double = 0.25,
                     sampler: ChipSampler = .fast) -> Image? {
    guard points.count == 5 || points.count == 68 else { return nil }
    var pts = [Float](repeating: 0, count: points.count * 2)
    for (i, p) in points.enumerated() { pts[2 * i] = Float(p.x); pts[2 * i + 1] = Float(p.y) }
    return pts.withUnsafeBufferPointer { p in
        fg_face_chip_ex(image.handle, p.baseAddress, Int32(points.count), Int32(size), padding,
                        sampler == .dlibReference ? 1 : 0).map(Image.init(handle:))
    }
}
