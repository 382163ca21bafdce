import Foundation

/// Which face of a still image identity (compare, verify, identify, embed, enroll, calibrate) answers for.
///
/// The subject is the **largest** face; among faces of about the same size the one **nearest the centre**; the
/// detector score only breaks a tie that remains. A smaller face in the background is never the subject (a 73 px
/// child behind a 105 px subject was chosen by the score-weighted rule). This is deliberately not `PrimaryFace`
/// (the video tracker's rule, score and size together, so that a badge or poster is not the subject of a liveness
/// session): identity on a photo asks "who is this photo of", which is the face the photographer framed.
public enum SubjectFace {
    /// Faces at least this fraction of the largest face's width count as "the same size", and the centre then
    /// decides. Detector box widths of one face vary by ≈ 5–10 % between detectors and resamplings; the reported
    /// background face was 0.70 of the subject, so 0.85 keeps such faces out while two people side by side tie.
    public static let sameSizeFraction = 0.85
    /// Distances from the image centre (as a fraction of the half-diagonal) closer than this count as equally
    /// central; then the detector score decides.
    public static let sameCentreFraction = 0.05

    /// Index of the subject in `faces`, or nil for none. `width`/`height`: the image size (for "near the centre").
    public static func select(_ faces: [(box: Rect, score: Double)], width: Int, height: Int) -> Int? {
        guard !faces.isEmpty else { return nil }
        guard faces.count > 1 else { return 0 }
        let maxW = faces.map { $0.box.width }.max() ?? 0
        let cx = Double(width) / 2, cy = Double(height) / 2
        let halfDiagonal = max(1, (cx * cx + cy * cy).squareRoot())
        func centrality(_ r: Rect) -> Double { r.center.distance(to: Point2(cx, cy)) / halfDiagonal }
        let large = faces.indices.filter { faces[$0].box.width >= sameSizeFraction * maxW }
        return large.min { a, b in
            let ca = centrality(faces[a].box), cb = centrality(faces[b].box)
            if abs(ca - cb) >= sameCentreFraction { return ca < cb }
            if faces[a].score != faces[b].score { return faces[a].score > faces[b].score }
            return faces[a].box.width > faces[b].box.width
        }
    }
}

extension FrameAnalysis {
    /// The face identity answers for (see `SubjectFace`); `primary` stays the liveness/tracker subject.
    public var subject: FaceObservation? {
        SubjectFace.select(faces.map { ($0.box, $0.score) }, width: width, height: height).map { faces[$0] }
    }
}
