import Foundation

/// The face region the pixel cues measure in (moiré patch, glare region, bezel enclosure, depth plane): a square over
/// the 68 landmarks, so the region is the same part of the face at every image size and from every detector.
///
/// Why not the detector's box: HOG boxes come from a pyramid of fixed 80-px windows, so their size relative to the face
/// depends on where the face falls between pyramid levels — i.e. on the image's resolution. Measured (session 10,
/// `facegate analyze --json`, detector box side over the landmarks' larger extent): the same still at 640 px, 320 px
/// and upscaled to 4032 px gave 1.05 / 0.98 / 1.20 (KwaiVGI d3), 1.13 / 1.04 / 0.90 (alex-lacamoire), 1.18 / 1.19 /
/// 0.99 (a simulator print) — ±15 % in side, ±35 % in area, so every box-relative threshold (bezel area range and
/// corners inside, glare area share, moiré patch) changed its meaning with the resolution, and decisions flipped
/// (`/work/notes/h4`, variant table in docs/passive-liveness.md "Unseen cameras and resolutions").
public enum PadFaceRegion {
    /// Side of the region over the landmarks' larger extent (width or height: yaw shrinks one, pitch the other).
    /// 1.05 = the median of the detector box over that extent on the genuine fixture clips (KwaiVGI d3 1.10,
    /// Krzysiek354 1.03, lestari15 1.13, Blink-Detector 1.06, Thin-Plate driving.mp4 1.01; simulator screen/replay 1.03
    /// / 1.04), so the cues see on average the region their thresholds were tuned on.
    public static let sideOverLandmarkExtent = 1.05
    /// Landmark extent (pixels) below which the landmarks are not trusted (the landmark model failed and returned
    /// collapsed points): the detector's box is used instead.
    public static let minimumLandmarkExtent = 8.0

    /// The cue region for a face: centred on the landmarks' bounding box, `sideOverLandmarkExtent` × its larger side;
    /// `fallback` (the detector's box) when the landmarks collapsed.
    public static func box(landmarks: [Point2], fallback: Rect) -> Rect {
        guard landmarks.count >= 5 else { return fallback }
        let b = Rect.bounding(landmarks)
        let extent = max(b.width, b.height)
        guard extent >= minimumLandmarkExtent, extent.isFinite else { return fallback }
        let side = extent * sideOverLandmarkExtent
        let c = b.center
        return Rect(x: c.x - side / 2, y: c.y - side / 2, width: side, height: side)
    }
}
