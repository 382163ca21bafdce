import FaceGateCore
import FaceGateVision
import Foundation

/// Follows faces through a video: detects on a downscaled frame every few frames and follows each face with
/// landmarks in between, re-detecting at once when a track drifts or is lost.
public final class FaceTracker {
    public struct Configuration: Sendable {
        /// Longer side used for detection (see `PipelineConstants.trackingDetectSide`).
        public var detectSide = PipelineConstants.trackingDetectSide
        /// Full re-detection period in frames. 8 at 30 fps = every 0.27 s: detection (≈5 ms) amortises to
        /// < 1 ms/frame while a new second face is noticed within a third of a second.
        public var redetectEvery = 8
        /// Consecutive re-detections that may miss a tracked face before the track is dropped. 2 rides out
        /// motion blur and extreme poses HOG misses (measured on the fixture head-turn clips).
        public var maxMisses = 2
        /// IoU above which a detection refreshes an existing track.
        public var matchIoU = 0.3
        /// Largest plausible landmark jump between frames, in face sizes; beyond it the track is re-detected.
        public var maxJump = 0.5
        public init() {}
    }

    struct Track {
        var id: Int
        var box: Rect
        var score: Double
        var landmarks: Landmarks68?
        /// Detection box relative to the landmark box: centre offset and size, in landmark-box sizes.
        var offset = Point2(0, 0)
        var sizeRatio = 1.0
        var misses = 0
        var fresh = true
    }

    public let engine: FaceEngine
    public var configuration: Configuration
    private var tracks: [Track] = []
    private var nextID = 1
    private var sinceDetect = Int.max / 2
    private var primaryID: Int?
    /// Frames on which a full detection ran (for statistics and benchmarks).
    public private(set) var detections = 0

    public init(engine: FaceEngine, configuration: Configuration = Configuration()) {
        self.engine = engine
        self.configuration = configuration
        if engine.detectorChoice.isSlow { self.configuration.redetectEvery = max(self.configuration.redetectEvery, 30) }
    }

    public func reset() {
        tracks = []; sinceDetect = Int.max / 2; primaryID = nil
    }

    static func landmarkScale(_ r: Rect) -> Double { max(r.width, r.height, 1) }

    private func boxFromLandmarks(_ t: Track) -> Rect {
        guard let lm = t.landmarks else { return t.box }
        let lb = lm.boundingBox
        let s = Self.landmarkScale(lb)
        let c = lb.center + t.offset * s
        let side = t.sizeRatio * s
        return Rect(x: c.x - side / 2, y: c.y - side / 2, width: side, height: side)
    }

    /// Analyses one frame.
    public func process(_ frame: Frame) -> FrameAnalysis {
        process(frame.image, index: frame.index, timestamp: frame.timestamp)
    }

    public func process(_ image: Image, index: Int, timestamp: Double) -> FrameAnalysis {
        let W = Double(image.width), H = Double(image.height)
        sinceDetect += 1
        if tracks.isEmpty || sinceDetect >= configuration.redetectEvery {
            redetect(image)
        }
        var observations: [FaceObservation] = []
        var forceRedetect = false
        var kept: [Track] = []
        for var t in tracks {
            let box = t.fresh ? t.box : boxFromLandmarks(t)
            let obs = engine.observe(image, box: box, score: t.score, tracked: !t.fresh, trackID: t.id)
            let lb = obs.landmarks.boundingBox
            // Lost: the face has left the frame.
            let visible = lb.intersection(Rect(x: 0, y: 0, width: W, height: H)).area / max(lb.area, 1)
            if visible < 0.5 { forceRedetect = true; continue }
            if let prev = t.landmarks {
                let jump = Point2.mean(obs.landmarks.points).distance(to: Point2.mean(prev.points)) / Self.landmarkScale(prev.boundingBox)
                if jump > configuration.maxJump { forceRedetect = true }
            }
            if t.fresh {
                let s = Self.landmarkScale(lb)
                t.offset = (t.box.center - lb.center) / s
                t.sizeRatio = t.box.width / s
            }
            t.landmarks = obs.landmarks
            t.box = obs.box
            t.fresh = false
            kept.append(t)
            observations.append(obs)
        }
        tracks = kept
        if forceRedetect { sinceDetect = configuration.redetectEvery }

        // Primary: the previous subject while still tracked, else by score and size.
        var ordered = FaceEngine.orderPrimaryFirst(observations)
        if let pid = primaryID, let i = ordered.firstIndex(where: { $0.trackID == pid }), i != 0 {
            let p = ordered.remove(at: i)
            ordered.insert(p, at: 0)
        }
        primaryID = ordered.first?.trackID
        return FrameAnalysis(index: index, timestamp: timestamp, width: image.width, height: image.height, faces: ordered)
    }

    private func redetect(_ image: Image) {
        sinceDetect = 0
        detections += 1
        var dets = engine.detector.detect(image, maxSide: configuration.detectSide)
        if dets.isEmpty && tracks.isEmpty && max(image.width, image.height) > configuration.detectSide {
            dets = engine.detector.detect(image, maxSide: PipelineConstants.fallbackDetectSide)
        }
        var matched = Set<Int>()
        for i in tracks.indices {
            let current = tracks[i].landmarks != nil ? boxFromLandmarks(tracks[i]) : tracks[i].box
            var best = -1
            var bestIoU = configuration.matchIoU
            for (j, d) in dets.enumerated() where !matched.contains(j) {
                let iou = d.box.iou(current)
                if iou > bestIoU { bestIoU = iou; best = j }
            }
            if best >= 0 {
                matched.insert(best)
                tracks[i].box = dets[best].box
                tracks[i].score = dets[best].score
                tracks[i].misses = 0
                tracks[i].fresh = true
            } else {
                tracks[i].misses += 1
            }
        }
        tracks.removeAll { $0.misses > configuration.maxMisses }
        for (j, d) in dets.enumerated() where !matched.contains(j) {
            tracks.append(Track(id: nextID, box: d.box, score: d.score))
            nextID += 1
        }
        // Two tracks on one face: keep the older.
        var out: [Track] = []
        for t in tracks {
            let b = t.landmarks != nil && !t.fresh ? boxFromLandmarks(t) : t.box
            if out.contains(where: { ($0.fresh || $0.landmarks == nil ? $0.box : boxFromLandmarks($0)).iou(b) > 0.5 }) { continue }
            out.append(t)
        }
        tracks = out
    }
}
