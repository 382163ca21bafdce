import FaceGateCore
import FaceGateVision
import Foundation

/// Landmarks for a face whose box reaches far past the bottom of the frame: a face close to the camera looking down,
/// mouth and chin below the edge (#14: "faces lost when looking down").
///
/// dlib's shape predictor reads every pixel outside the image as black. While only the chin is out that is harmless
/// (LivePortrait d3 with its box up to 15 % past the bottom keeps its pose and its turn-right), but once the mouth is
/// out a black band stands where mouth and chin were, and the 68-point shape slides sideways off the still face
/// (generated close-face clip: box x 104 → −85 in 8 frames, track lost for 11 frames). There the shape is fitted on a
/// crop whose rows below the frame repeat the frame's last row, blended in with the part of the box past the edge:
/// nothing below `TrackerConstants.fillBelowStart` (the frame edge above the lower lip, whose median lies at 0.79–0.88
/// of a HOG box on the fixture clips), fully from `fillBelowFull` (the edge at the upper lip, 0.68–0.70), linearly
/// between, so the pose has no step where the fill starts. Left, right and top stay black as dlib reads them
/// (repeating a side column pulled the shape outward at the left edge, session 9).
enum BelowFrameFill {
    /// Weight of the repeated rows (0 = dlib's black, 1 = the last row) for a box in a frame `height` px tall.
    static func weight(box: Rect, frameHeight height: Double) -> Double {
        let past = (box.maxY - height) / max(box.height, 1)
        let a = TrackerConstants.fillBelowStart, b = TrackerConstants.fillBelowFull
        return min(1, max(0, (past - a) / (b - a)))
    }

    /// The model's landmarks for `box`: dlib's own reading when the weight is 0, else a fit on the filled crop
    /// (identical pixels inside the frame: the crop is an integer shift), mapped back to frame coordinates.
    static func landmarks(_ model: LandmarkModel, _ image: Image, box: Rect) -> [Point2] {
        let W = image.width, H = image.height
        let a = weight(box: box, frameHeight: Double(H))
        guard a > 0 else { return model.predict(image, box: box) }
        // Half a face around the box: the predictor's feature pixels lie near the shape, inside this margin.
        let side = max(box.width, box.height)
        let x0 = Int((box.minX - 0.5 * side).rounded(.down)), y0 = Int((box.minY - 0.5 * side).rounded(.down))
        let x1 = Int((box.maxX + 0.5 * side).rounded(.up)), y1 = Int((box.maxY + 0.5 * side).rounded(.up))
        let w = x1 - x0, h = y1 - y0, below = H - y0
        guard below > 0, below < h, w > 0 else { return model.predict(image, box: box) }
        // The crop is black outside the frame; its last row inside the frame (black where it is left or right of
        // the frame) is copied to every row below.
        let crop = image.cropped(Rect(x: Double(x0), y: Double(y0), width: Double(w), height: Double(h)))
        guard crop.width == w, crop.height == h else { return model.predict(image, box: box) }
        crop.withBGRBytes { buf in
            guard let base = buf.baseAddress else { return }
            let stride = w * 3
            let last = base + (below - 1) * stride
            for row in below..<h { (base + row * stride).update(from: last, count: stride) }
        }
        if a < 1 {
            crop.fillRect(Rect(x: 0, y: Double(below), width: Double(w), height: Double(h - below)), color: .black, alpha: 1 - a)
        }
        let inCrop = Rect(x: box.x - Double(x0), y: box.y - Double(y0), width: box.width, height: box.height)
        return model.predict(crop, box: inCrop).map { Point2($0.x + Double(x0), $0.y + Double(y0)) }
    }
}
