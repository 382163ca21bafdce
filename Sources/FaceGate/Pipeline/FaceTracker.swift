import FaceGateCore
import FaceGateVision
import Foundation

/// Follows faces through a video: detects on a downscaled frame every few frames and follows each face with
/// landmarks in between, re-detecting at once when a track drifts or is lost.
public final class FaceTracker {
    public struct Configuration: Sendable {
        /// Longer side used for detection (see `PipelineConstants.trackingDetectSide`).
        public var detectSide = PipelineConstants.trackingDetectSide
        /// Period (frames) of the check that each tracked face is still a face: a detection inside the track's own
        /// region, scaled so the face is ≈`roiFaceSide` px for the detector (≈1–2 ms). 8 at 30 fps = every 0.27 s.
        public var redetectEvery = 8
        /// Period (frames) of a full-frame scan for new faces at `detectSide` (≈5 ms; amortised < 0.4 ms/frame). 16 at
        /// 30 fps: a second person stepping in is noticed within about half a second.
        public var fullScanEvery = 16
        /// Face width (px) the region check rescales to: comfortably above HOG's 80 px minimum window.
        public var roiFaceSide = 110.0
        /// A face that appears while another is tracked must score at least this (HOG margin) and be confirmed by
        /// the next check before it is reported: HOG's false positives on the fixture clips score 0.0–0.1, real
        /// faces 0.4–2.5.
        public var minNewFaceScore = 0.25
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
        /// Last detection box relative to the landmarks: centre offset (in box sides) and the box side (px).
        var offset = Point2(0, 0)
        var side = 1.0
        var misses = 0
        var fresh = true
        /// Not reported until a second detection confirms it (only for faces appearing beside another).
        var tentative = false
    }

    public let engine: FaceEngine
    public var configuration: Configuration
    private var tracks: [Track] = []
    private var nextID = 1
    private var sinceDetect = Int.max / 2
    private var sinceFullScan = Int.max / 2
    private var primaryID: Int?
    /// Frames on which a full detection ran (for statistics and benchmarks).
    public private(set) var detections = 0

    public init(engine: FaceEngine, configuration: Configuration = Configuration()) {
        self.engine = engine
        self.configuration = configuration
        if engine.detectorChoice.isSlow { self.configuration.redetectEvery = max(self.configuration.redetectEvery, 30) }
    }

    public func reset() {
        tracks = []; sinceDetect = Int.max / 2; sinceFullScan = Int.max / 2; primaryID = nil
    }

    static func landmarkScale(_ r: Rect) -> Double { max(r.width, r.height, 1) }

    /// The detector-style box for a tracked face: centred on the landmarks (plus the offset seen at the last
    /// detection) with the size of the last detection. The size is not taken from the landmarks: their extent
    /// shrinks with yaw and pitch, and feeding a shrunken box back to the predictor collapses the track.
    private func boxFromLandmarks(_ t: Track) -> Rect {
        guard let lm = t.landmarks else { return t.box }
        let side = t.side
        let c = lm.boundingBox.center + t.offset * side
        return Rect(x: c.x - side / 2, y: c.y - side / 2, width: side, height: side)
    }

    /// Analyses one frame.
    public func process(_ frame: Frame) -> FrameAnalysis {
        process(frame.image, index: frame.index, timestamp: frame.timestamp)
    }

    public func process(_ image: Image, index: Int, timestamp: Double) -> FrameAnalysis {
        let W = Double(image.width), H = Double(image.height)
        sinceDetect += 1
        sinceFullScan += 1
        if tracks.isEmpty || sinceDetect >= configuration.redetectEvery {
            redetect(image, fullScan: tracks.isEmpty || sinceFullScan >= configuration.fullScanEvery)
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
                t.side = max(t.box.width, 1)
                t.offset = (t.box.center - lb.center) / t.side
            }
            t.landmarks = obs.landmarks
            t.box = obs.box
            t.fresh = false
            kept.append(t)
            if !t.tentative { observations.append(obs) }
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

    /// Detections inside a track's own region, rescaled so the face is about `roiFaceSide` pixels wide.
    private func regionDetections(_ image: Image, track: Track) -> [Detection] {
        let box = track.landmarks != nil && !track.fresh ? boxFromLandmarks(track) : track.box
        let roi = box.expanded(by: 0.5).clamped(width: Double(image.width), height: Double(image.height))
        guard roi.width >= 20, roi.height >= 20 else { return [] }
        let scale = min(1, configuration.roiFaceSide / max(box.width, 1))
        let side = Int((max(roi.width, roi.height) * scale).rounded(.up))
        return engine.detector.detect(image, in: roi, maxSide: side)
    }

    /// Frame size for a full scan: `detectSide`, or larger when the tracked faces would be smaller than
    /// `roiFaceSide` px at that size (HD frames with faces at arm's length), capped at the fallback size.
    private func fullScanSide(_ image: Image) -> Int {
        let longer = Double(max(image.width, image.height))
        guard let smallest = tracks.map({ $0.side > 1 ? $0.side : $0.box.width }).min(), smallest > 0 else {
            return configuration.detectSide
        }
        let wanted = Int((longer * configuration.roiFaceSide / smallest).rounded(.up))
        return min(max(wanted, configuration.detectSide), PipelineConstants.fallbackDetectSide)
    }

    private func redetect(_ image: Image, fullScan: Bool) {
        sinceDetect = 0
        detections += 1
        var dets: [Detection] = []
        var scanned = false
        func scan() {
            scanned = true
            sinceFullScan = 0
            let side = fullScanSide(image)
            dets += engine.detector.detect(image, maxSide: side).filter { d in !dets.contains { $0.box.iou(d.box) > 0.5 } }
            if dets.isEmpty && tracks.isEmpty && max(image.width, image.height) > side {
                dets = engine.detector.detect(image, maxSide: PipelineConstants.fallbackDetectSide)
            }
        }
        if fullScan { scan() }
        // Each track is confirmed in its own region (cheap, and works for faces too small for the full scan).
        var missedRegion = false
        for t in tracks {
            let current = t.landmarks != nil && !t.fresh ? boxFromLandmarks(t) : t.box
            if dets.contains(where: { $0.box.iou(current) > configuration.matchIoU }) { continue }
            if let d = regionDetections(image, track: t).first { dets.append(d) } else { missedRegion = true }
        }
        // A face missing from its region may have moved fast: look at the whole frame now.
        if missedRegion && !scanned { scan() }
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
                tracks[i].tentative = false
            } else {
                tracks[i].misses += 1
            }
        }
        // Unconfirmed newcomers go at their first miss; confirmed tracks ride out `maxMisses` checks unless a face
        // turned up elsewhere in the frame, which means the landmarks drifted off the face they followed.
        let faceElsewhere = scanned && dets.indices.contains { !matched.contains($0) && dets[$0].score >= configuration.minNewFaceScore }
        tracks.removeAll { $0.misses > ($0.tentative || faceElsewhere ? 0 : configuration.maxMisses) }
        let hadTracks = !tracks.isEmpty
        for (j, d) in dets.enumerated() where !matched.contains(j) {
            if hadTracks && d.score < configuration.minNewFaceScore { continue }
            // A detection overlapping a tracked face is that face seen differently, not a second person.
            if tracks.contains(where: { ($0.landmarks != nil && !$0.fresh ? boxFromLandmarks($0) : $0.box).intersection(d.box).area > 0.3 * d.box.area }) { continue }
            tracks.append(Track(id: nextID, box: d.box, score: d.score, tentative: hadTracks))
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
