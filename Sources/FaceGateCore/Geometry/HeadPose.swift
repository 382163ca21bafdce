import Foundation

/// Head orientation in degrees.
///
/// Conventions (the one place they are defined; tests pin them):
/// - `yaw > 0` when the person turns their head to **their own left** (in a raw, unmirrored frame the nose moves
///   towards the image's right edge);
/// - `pitch > 0` when the person looks **up**;
/// - `roll > 0` when the person tilts their head towards **their own left shoulder** (their left eye drops; in the raw
///   frame that is the eye on the image's right).
/// All analysis uses the raw frame; a mirrored preview is a display concern only.
public struct HeadPose: Sendable, Hashable, Codable {
    public var yaw: Double
    public var pitch: Double
    public var roll: Double
    public init(yaw: Double, pitch: Double, roll: Double) { self.yaw = yaw; self.pitch = pitch; self.roll = roll }
    public static let frontal = HeadPose(yaw: 0, pitch: 0, roll: 0)

    /// Roll measured directly from the eye line (degrees), independent of a 3-D fit.
    public static func roll(from lm: Landmarks68) -> Double {
        let r = lm.rightEyeCenter, l = lm.leftEyeCenter
        return atan2(l.y - r.y, l.x - r.x) * 180 / .pi
    }
}
