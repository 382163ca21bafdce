import Foundation

// Raw per-frame measurements the passive cues consume. Produced by the native layer (FaceGateVision) or by tests;
// plain values so every cue's decision logic can be driven frame by frame without a camera.

/// Periodic high-frequency energy in the face (moiré from re-capturing a display).
public struct MoireMeasurement: Sendable, Hashable, Codable {
    /// Strongest isolated spectral peak over its ring's median (1 = none).
    public var peakRatio: Double
    /// Share of spectral energy above half the Nyquist radius.
    public var highFrequencyShare: Double
    /// Number of peaks above the peak threshold.
    public var peaks: Int
    /// Side of the analysed square in pixels.
    public var side: Int
    public init(peakRatio: Double, highFrequencyShare: Double, peaks: Int, side: Int) {
        self.peakRatio = peakRatio; self.highFrequencyShare = highFrequencyShare; self.peaks = peaks; self.side = side
    }
}

/// Specular blobs around the face.
public struct GlareMeasurement: Sendable, Hashable, Codable {
    /// Largest blob area / face box area.
    public var largestArea: Double
    /// Area / convex hull area of that blob.
    public var largestSolidity: Double
    /// Mean gradient magnitude inside it (grey levels per pixel).
    public var largestTexture: Double
    /// All specular pixels / face box area, and how many blobs.
    public var totalArea: Double
    public var blobs: Int
    public init(largestArea: Double, largestSolidity: Double, largestTexture: Double, totalArea: Double, blobs: Int) {
        self.largestArea = largestArea; self.largestSolidity = largestSolidity; self.largestTexture = largestTexture
        self.totalArea = totalArea; self.blobs = blobs
    }
}

/// A device-shaped quadrilateral around the face.
public struct BezelMeasurement: Sendable, Hashable, Codable {
    public var found: Bool
    public var corners: [Point2]
    public var areaRatio: Double
    public var aspect: Double
    public var edgeSupport: Double
    public var rimContrast: Double
    /// Two long near-parallel straight sides flanking the face (a device cut by the frame border), and their mean
    /// length in face heights.
    public var sidesFound: Bool
    public var sidesLength: Double
    public init(found: Bool, corners: [Point2] = [], areaRatio: Double = 0, aspect: Double = 0, edgeSupport: Double = 0, rimContrast: Double = 0,
                sidesFound: Bool = false, sidesLength: Double = 0) {
        self.found = found; self.corners = corners; self.areaRatio = areaRatio; self.aspect = aspect
        self.edgeSupport = edgeSupport; self.rimContrast = rimContrast; self.sidesFound = sidesFound; self.sidesLength = sidesLength
    }
    public static let none = BezelMeasurement(found: false)
}

/// Plane and relief statistics of a depth frame in the face box.
public struct DepthMeasurement: Sendable, Hashable, Codable {
    public var coverage: Double
    public var medianMM: Double
    public var planeRMSMM: Double
    public var reliefMM: Double
    public var centerProtrusionMM: Double
    public var quadraticRMSMM: Double
    public init(coverage: Double, medianMM: Double, planeRMSMM: Double, reliefMM: Double, centerProtrusionMM: Double, quadraticRMSMM: Double) {
        self.coverage = coverage; self.medianMM = medianMM; self.planeRMSMM = planeRMSMM; self.reliefMM = reliefMM
        self.centerProtrusionMM = centerProtrusionMM; self.quadraticRMSMM = quadraticRMSMM
    }
}

/// Image motion between two consecutive frames.
public struct ImageMotion: Sendable, Hashable, Codable {
    /// Median translation, pixels (x right, y down), and in-plane rotation, radians.
    public var dx: Double
    public var dy: Double
    public var angle: Double
    public var tracked: Int
    public var inliers: Int
    public init(dx: Double, dy: Double, angle: Double, tracked: Int, inliers: Int) {
        self.dx = dx; self.dy = dy; self.angle = angle; self.tracked = tracked; self.inliers = inliers
    }
}

/// Fit of one landmark set onto a reference set.
public struct PlanarFit: Sendable, Hashable, Codable {
    /// RMS residual (pixels) of the best homography and of the best similarity transform.
    public var homographyRMS: Double
    public var similarityRMS: Double
    public init(homographyRMS: Double, similarityRMS: Double) {
        self.homographyRMS = homographyRMS; self.similarityRMS = similarityRMS
    }
}
