import Foundation

/// The identity reference of an active session: the reference anchor's embedding plus up to `maxViews − 1` other
/// views of the same person from the calibration window (open-eyed frames spread over it, chosen by the runner's
/// `IdentityContinuity`). A later anchor is compared with its closest view. A view is admitted only within the
/// continuity threshold of the reference anchor (a second person inside the calibration window adds nothing), and
/// with more than one view the threshold is lowered by `multiViewMargin`, so an impostor gains nothing from the extra
/// views on the fixture identities.
///
/// Why: one frame of a face pulling expressions is a poor reference. LivePortrait d6 (grimaces: crossed eyes, pout,
/// raised brows) has open-eyed frames of one 0.6 s calibration window that are 0.27–0.62 from the same person 0.6 s
/// later (12 fps, 29.8–33.6 s), so which window frame becomes the reference decides `identity_changed` (0.556 in a
/// session-13 run with another tracker build). Measured on HOG embeddings of 15 fixture clips at 5 fps
/// (`facegate calibrate --distances`, 26,862 same-clip and 78,331 cross-clip frame pairs; sessions simulated as a
/// window of 3 frames 0.4 s apart and probes 1–5 s later): genuine probes rejected 65 → 25 of 5,678 (1.14 % →
/// 0.44 %; all in the expressive clips d3 and d6), impostor probes accepted 4,321 → 4,322 of 144,314 (2.99 % →
/// 2.99 %; nearly all between East-Asian subjects, which dlib's embedding already confuses at 0.55).
public struct IdentityReference: Sendable, Equatable {
    /// The reference anchor and two more views: one per third of the calibration window.
    public static let maxViews = 3
    /// With several views the closest is compared with the threshold minus this: the margin that kept the impostor
    /// acceptance of one view (2.99 % of the 144,314 cross-clip probes above) at 3 views; 0.010 let 3.49 % through.
    public static let multiViewMargin = 0.015

    /// The reference anchor's embedding first, then the admitted views.
    public private(set) var views: [Embedding]

    public init(_ reference: Embedding) { views = [reference] }

    /// Adds another view of the reference when it is within `threshold` of the reference anchor (the same person)
    /// and there is room; returns whether it was admitted.
    @discardableResult
    public mutating func admit(_ view: Embedding, threshold: Double) -> Bool {
        guard views.count < Self.maxViews, view.distance(to: views[0]) <= threshold else { return false }
        views.append(view)
        return true
    }

    /// The distance of `e` from the reference: from its closest view.
    public func distance(to e: Embedding) -> Double {
        views.map { e.distance(to: $0) }.min() ?? .infinity
    }

    /// The threshold the distance is compared with under a configured continuity `threshold`.
    public func threshold(_ configured: Double) -> Double {
        views.count > 1 ? configured - Self.multiViewMargin : configured
    }
}
