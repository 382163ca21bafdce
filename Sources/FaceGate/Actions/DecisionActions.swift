import FaceGateActions
import FaceGateCore
import FaceGateVision
import Foundation

/// Glue the pipeline calls when a session decides: draws the overlay on the last frame (annotated output /
/// preview), fills in the snapshot, and hands the decision to the `ActionDispatcher` (returns immediately).
public struct DecisionActions: Sendable {
    public let dispatcher: ActionDispatcher
    /// JPEG quality of snapshots (mailed and stored encrypted): 85 keeps a 640x480 frame near 40–60 KB.
    public static let snapshotQuality = 85
    /// Snapshots are limited to this many pixels on their longer side (enough to recognise a person).
    public static let snapshotMaxSide = 960

    public init(dispatcher: ActionDispatcher) { self.dispatcher = dispatcher }

    /// - Parameters:
    ///   - frame: the best frame of the subject (unannotated); used for the snapshot when the decision has none.
    ///   - faceBox: the subject's face box in `frame`.
    ///   - annotatedOutput: if given, the frame with the decision overlay is written there (jpg/png by extension).
    /// - Returns: the dispatcher's receipt and the annotated image (for a preview window).
    @discardableResult
    public func complete(_ decision: Decision, frame: Image?, faceBox: Rect?, annotatedOutput: String? = nil) throws -> (DispatchReceipt, Image?) {
        var d = decision
        if d.snapshotJPEG == nil, let frame {
            d.snapshotJPEG = frame.limited(maxSide: Self.snapshotMaxSide).jpeg(quality: Self.snapshotQuality)
        }
        var annotated: Image? = nil
        if let frame {
            let img = frame.clone()
            DecisionOverlay.drawDecision(d, faceBox: faceBox, on: img)
            annotated = img
            if let annotatedOutput { try img.write(annotatedOutput) }
        }
        return (dispatcher.dispatch(d), annotated)
    }
}
