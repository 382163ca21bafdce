import Foundation

/// A 128-d face descriptor from dlib's ResNet (`dlib_face_recognition_resnet_model_v1`), compared by Euclidean
/// distance.
public struct Embedding: Sendable, Hashable, Codable {
    public var values: [Float]
    public init(_ values: [Float]) { self.values = values }
    public static let dimension = 128

    public func distance(to o: Embedding) -> Double {
        precondition(values.count == o.values.count, "embedding sizes differ")
        var s: Float = 0
        for i in 0..<values.count { let d = values[i] - o.values[i]; s += d * d }
        return Double(s.squareRoot())
    }
}

public enum IdentityThreshold {
    /// Default same-person threshold on dlib ResNet Euclidean distance. dlib reports 99.38 % LFW accuracy at 0.6;
    /// calibrated on `fixtures/PAIRS.tsv` (see README, "Identity"): kept at 0.6 unless `facegate calibrate` says
    /// otherwise for your population.
    public static let `default` = 0.6
}
