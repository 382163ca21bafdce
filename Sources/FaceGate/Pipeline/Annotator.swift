import FaceGateCore
import FaceGateVision
import Foundation

/// Draws what the pipeline saw: boxes, 68 landmarks and head-pose axes.
public enum Annotator {
    /// Axis length in model millimetres (about half a face width).
    static let axisLength = 60.0

    public static func drawAnalysis(_ a: FrameAnalysis, on img: Image) {
        for (i, f) in a.faces.enumerated() {
            drawFace(f, on: img, color: i == 0 ? .cyan : .yellow, label: i == 0 ? "primary" : nil)
        }
    }

    public static func drawFace(_ f: FaceObservation, on img: Image, color: Color, label: String?) {
        let thick = max(1, Int(f.box.width / 120))
        img.drawRect(f.box, color: color, thickness: thick)
        for p in f.landmarks.points { img.drawCircle(p, radius: max(1, thick), color: .green, thickness: -1) }
        if let sol = PoseEstimator.solve(f.landmarks, width: img.width, height: img.height) {
            let pts = PoseEstimator.project([(0, 0, 0), (axisLength, 0, 0), (0, -axisLength, 0), (0, 0, -axisLength)],
                                            solution: sol, width: img.width, height: img.height)
            img.drawLine(pts[0], pts[1], color: .red, thickness: thick + 1)     // subject's left
            img.drawLine(pts[0], pts[2], color: .green, thickness: thick + 1)   // up
            img.drawLine(pts[0], pts[3], color: .blue, thickness: thick + 1)    // facing direction
        }
        let text = String(format: "%@yaw %+.0f pitch %+.0f roll %+.0f", label.map { $0 + "  " } ?? "", f.pose.yaw, f.pose.pitch, f.pose.roll)
        let scale = max(0.4, min(1.2, f.box.width / 300))
        img.drawText(text, at: Point2(f.box.x, max(14, f.box.y - 6)), scale: scale, color: color, thickness: thick)
    }
}
