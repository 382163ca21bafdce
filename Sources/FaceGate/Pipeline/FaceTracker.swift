import FaceGateCore
import FaceGateVision
import Foundation

/// Follows faces through a video: detects on a downscaled frame every few frames and follows each face with
/// landmarks in between, re-detecting at once when a track drifts or is lost.
///
/// A tracked face is re-checked in its own region every `redetectEvery` frames. The check has three answers:
/// - **found**: HOG (or, when HOG misses, the assist detector — RetinaFace when installed) finds the face: the track
///   is re-anchored on the detection;
/// - **face-like**: no detection, but HOG scores a window on the track above `weakFaceMargin` (a face turned, tilted
///   or pitched just past HOG's threshold): the track is kept as it is;
/// - **missed**: nothing face-like there: after `maxMisses` such checks in a row the track is dropped (a face partly
///   outside the frame: once its checks have missed for `maxBorderMissSeconds`).
/// Between checks, an appearance guard compares each frame's face region with the previous one: a sudden change
/// (a cut, the face covered or gone, a blank frame) runs the check on that very frame, so a track never outlives its
/// face by more than the frame where it vanished.
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
        /// Consecutive region checks that find nothing face-like (neither a detection nor a `weakFaceMargin`
        /// window) before the track is dropped. 1 rides out one blurred check; poses HOG misses are face-like.
        public var maxMisses = 1
        /// The same for a face partly outside the frame (≥ `TrackerConstants.borderFraction` of its box), which no
        /// detector window can cover, as a time: the track is dropped at the first missed check this many seconds
        /// after the first miss. See `TrackerConstants.maxBorderMissSeconds`.
        public var maxBorderMissSeconds = TrackerConstants.maxBorderMissSeconds
        /// IoU above which a detection refreshes an existing track.
        public var matchIoU = 0.3
        /// Largest plausible landmark jump between frames, in face sizes; beyond it the track is re-detected.
        public var maxJump = 0.5
        /// HOG margin (below its detection threshold, which is 0) down to which a window on a tracked face still
        /// counts as face-like. See `TrackerConstants.weakFaceMargin`.
        public var weakFaceMargin = TrackerConstants.weakFaceMargin
        /// Fraction of the landmarks' bounding box that must lie inside the frame; below it the face has left.
        /// See `TrackerConstants.minVisibleFraction`.
        public var minVisibleFraction = TrackerConstants.minVisibleFraction
        /// Use the engine's assist detector (RetinaFace when installed) when HOG misses a tracked face or finds none.
        public var useAssist = true
        /// Face width (px) the assist detector sees in a region check: RetinaFace finds faces ≥ ≈20 px, and its cost
        /// grows with the region's pixels up to 192² (see `TrackerConstants.assistFaceSide`).
        public var assistFaceSide = TrackerConstants.assistFaceSide
        /// Appearance guard: see `TrackerConstants.guardMinCorrelation` and `guardMinContrast`.
        public var guardMinCorrelation = TrackerConstants.guardMinCorrelation
        public var guardMinContrast = TrackerConstants.guardMinContrast
        /// Read a tracked face's eye aspect ratio from the eyes re-fitted in the last detection's box, moved with the
        /// face (see `FaceTracker.eyesFromDetection`). Off: from the tracking fit, as before session 15.
        public var eyesFromDetection = true
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
        /// Normalised appearance of the face region on the previous frame (appearance guard).
        var patch: [Double]?
        /// Time of the first of the current run of missed region checks (nil while the checks find the face).
        var missedSince: Double?
        /// Holds a pose change faster than a head can turn until the next picture confirms it: the landmark fit on a
        /// blurred picture depends on the box, which follows the previous fit (notes of session 11, `PoseContinuity`).
        var continuity = PoseContinuity()
        /// The last detection's box and the stable centre of the landmarks fitted in it (`eyesFromDetection`).
        var eyeAnchor: EyeAnchor?

        /// Counts a missed region check at `time`.
        mutating func miss(at time: Double) {
            misses += 1
            if missedSince == nil { missedSince = time }
        }

        /// The face was found (or is face-like) again.
        mutating func clearMisses() { misses = 0; missedSince = nil }
    }

    /// Where the last detection put a face: its box and the stable centre (`stableCentre`) of the fit in that box.
    struct EyeAnchor {
        var box: Rect
        var centre: Point2
    }

    /// Answer of a region check on one tracked face.
    enum RegionCheck {
        case found(Detection)
        case faceLike
        case missed
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
    /// Counters for evaluation: region checks answered by HOG, by the assist detector, face-like only, missed; and
    /// appearance-guard checks.
    public private(set) var stats = Stats()
    public struct Stats: Sendable, Equatable {
        public var hogFound = 0, assistFound = 0, faceLike = 0, missed = 0, guardChecks = 0, guardDrops = 0
        public var assistScans = 0, assistScanFound = 0
    }

    public init(engine: FaceEngine, configuration: Configuration = Configuration()) {
        self.engine = engine
        self.configuration = configuration
        if engine.detectorChoice.isSlow { self.configuration.redetectEvery = max(self.configuration.redetectEvery, 30) }
    }

    public func reset() {
        tracks = []; sinceDetect = Int.max / 2; sinceFullScan = Int.max / 2; primaryID = nil
    }

    private var assist: FaceDetector? { configuration.useAssist ? engine.assistDetector : nil }

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

    private func currentBox(_ t: Track) -> Rect { t.landmarks != nil && !t.fresh ? boxFromLandmarks(t) : t.box }

    /// Analyses one frame.
    public func process(_ frame: Frame) -> FrameAnalysis {
        process(frame.image, index: frame.index, timestamp: frame.timestamp)
    }

    public func process(_ image: Image, index: Int, timestamp: Double) -> FrameAnalysis {
        let W = Double(image.width), H = Double(image.height)
        sinceDetect += 1
        sinceFullScan += 1
        var checkedNow = Set<Int>()
        if tracks.isEmpty || sinceDetect >= configuration.redetectEvery {
            checkedNow = redetect(image, fullScan: tracks.isEmpty || sinceFullScan >= configuration.fullScanEvery, at: timestamp)
        }
        var observations: [FaceObservation] = []
        var forceRedetect = false
        var kept: [Track] = []
        for var t in tracks {
            let box = t.fresh ? t.box : boxFromLandmarks(t)
            var obs = engine.observe(image, box: box, score: t.score, tracked: !t.fresh, trackID: t.id, fillBelowFrame: true)
            var lb = obs.landmarks.boundingBox
            // Lost: the face has left the frame — unless both eyes are still in it (a close face looking down keeps
            // only brows and eyes in view while its landmark box reaches far below the frame).
            let visible = lb.intersection(Rect(x: 0, y: 0, width: W, height: H)).area / max(lb.area, 1)
            if visible < configuration.minVisibleFraction && !Self.eyesInside(obs.landmarks, W, H) { forceRedetect = true; continue }
            if let prev = t.landmarks {
                let jump = Point2.mean(obs.landmarks.points).distance(to: Point2.mean(prev.points)) / Self.landmarkScale(prev.boundingBox)
                if jump > configuration.maxJump { forceRedetect = true }
            }
            // Appearance guard: a tracked (not freshly detected) face whose region changed abruptly or went blank is
            // checked on this frame; nothing face-like there → the track ends here, before it is reported.
            var patch = Self.appearance(image, region: lb)
            if !t.fresh, !checkedNow.contains(t.id), let prev = t.patch,
               patch.contrast < configuration.guardMinContrast
                || Self.correlation(prev, patch.vector) < configuration.guardMinCorrelation {
                stats.guardChecks += 1
                var probe = t
                probe.landmarks = obs.landmarks
                switch regionCheck(image, track: probe) {
                case .found(let d):
                    t.box = d.box; t.score = d.score; t.clearMisses(); t.fresh = true
                    obs = engine.observe(image, box: d.box, score: d.score, tracked: false, trackID: t.id, fillBelowFrame: true)
                    lb = obs.landmarks.boundingBox
                    patch = Self.appearance(image, region: lb)
                case .faceLike:
                    break
                case .missed:
                    // A face leaving the frame changes its crop and hides from the detectors: count a miss there
                    // (see `maxBorderMissSeconds`); anywhere else the face is gone.
                    forceRedetect = true
                    t.miss(at: timestamp)
                    if Self.outsideFraction(currentBox(probe), W, H) < TrackerConstants.borderFraction
                        || borderBudgetSpent(t, at: timestamp) {
                        stats.guardDrops += 1
                        continue
                    }
                }
            }
            // The box-to-landmarks offset comes from a detection of the whole face: at the frame border the landmarks
            // bunch up inside the frame, and an offset taken there would shift the box once the face is back in.
            if t.fresh && (t.landmarks == nil || Self.outsideFraction(t.box, W, H) < TrackerConstants.borderFraction) {
                t.side = max(t.box.width, 1)
                t.offset = (t.box.center - lb.center) / t.side
            }
            if t.fresh {
                t.eyeAnchor = EyeAnchor(box: t.box, centre: Self.stableCentre(obs.landmarks))
            } else if configuration.eyesFromDetection, let anchor = t.eyeAnchor {
                obs = eyesFromDetection(image, obs, anchor: anchor)
            }
            obs.pose = t.continuity.update(obs.pose, at: timestamp)
            t.patch = patch.vector
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

    /// The centre of the landmarks that keep their place on the face whatever it does (eye corners, nose bridge): the
    /// mouth, jaw and brows move the landmark box of a talking face, these do not.
    static func stableCentre(_ lm: Landmarks68) -> Point2 {
        Point2.mean([lm[36], lm[39], lm[42], lm[45], lm[27], lm[28], lm[29], lm[30]])
    }

    /// A tracked face whose eye aspect ratio (`ear`) is read from the landmarks re-fitted in the last detection's
    /// box, moved by how far the stable centre moved since that detection (same size). The tracking fit seeds each
    /// frame's box from the previous fit, so a closed-eye picture is fitted in a box that may have walked on a still
    /// face, and dlib's closed-eye fit depends on its seed: at 10 fps, tracks started at an event session's start
    /// read the closed eye of LivePortrait d0 2.6 s at 86 % and d6 31.0 s at 101 % of the open EAR (box 28 px up, eye
    /// points on the lid crease); re-fitted from the detection: 40 % and 31 % (notes of session 15, H1). Only `ear`
    /// changes: box, pose and all 68 landmarks (so the eye centres that parallax, roll and the nose-depth cue use)
    /// stay the tracking fit's. One more landmark fit per tracked frame: release, idle, tracked frame +0.4–1.4 ms
    /// median (1.0–2.2 → 1.4–3.6 ms on d10, d3, Krzysiek; docs/benchmarks.md, session 15).
    func eyesFromDetection(_ image: Image, _ obs: FaceObservation, anchor: EyeAnchor) -> FaceObservation {
        let shift = Self.stableCentre(obs.landmarks) - anchor.centre
        let box = Rect(x: anchor.box.x + shift.x, y: anchor.box.y + shift.y, width: anchor.box.width, height: anchor.box.height)
        let pts = BelowFrameFill.landmarks(engine.landmarks, image, box: box)
        guard pts.count == 68 else { return obs }
        var out = obs
        out.ear = EyeAspect(left: Landmarks68.eyeAspectRatio(Array(pts[Landmarks68.leftEye])),
                            right: Landmarks68.eyeAspectRatio(Array(pts[Landmarks68.rightEye])))
        return out
    }

    /// The appearance of a face region: grey levels of the region shrunk to `appearanceSide`², zero-mean and unit
    /// length, and their standard deviation (grey levels).
    static func appearance(_ image: Image, region: Rect) -> (vector: [Double], contrast: Double) {
        let n = TrackerConstants.appearanceSide
        guard region.width >= 2, region.height >= 2 else { return (Array(repeating: 0, count: n * n), 0) }
        let g = image.cropped(region).resized(width: n, height: n).grayBytes
        let v = g.map(Double.init)
        let mean = v.reduce(0, +) / Double(max(v.count, 1))
        var c = v.map { $0 - mean }
        let norm = c.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let sd = norm / Double(max(v.count, 1)).squareRoot()
        if norm > 0 { c = c.map { $0 / norm } }
        return (c, sd)
    }

    static func correlation(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return 0 }
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    /// Checks a tracked face in its own region (see the type's documentation).
    func regionCheck(_ image: Image, track: Track) -> RegionCheck {
        let box = currentBox(track)
        let roi = box.expanded(by: 0.5).clamped(width: Double(image.width), height: Double(image.height))
        guard roi.width >= 20, roi.height >= 20 else { stats.missed += 1; return .missed }
        let longer = max(roi.width, roi.height)
        let scale = min(1, configuration.roiFaceSide / max(box.width, 1))
        let side = Int((longer * scale).rounded(.up))
        var faceLike = false
        if case .hog = engine.detector.kind {
            let windows = engine.detector.hogScores(image, in: roi, maxSide: side, adjustThreshold: configuration.weakFaceMargin)
            if let d = windows.first(where: { $0.score >= 0 }) { stats.hogFound += 1; return .found(d) }
            faceLike = windows.contains { $0.box.iou(box) > configuration.matchIoU || box.intersection($0.box).area > 0.5 * $0.box.area }
        } else if let d = engine.detector.detect(image, in: roi, maxSide: side).first {
            stats.hogFound += 1
            return .found(d)
        }
        if let a = assist {
            let aside = Int((longer * min(1, configuration.assistFaceSide / max(box.width, 1))).rounded(.up))
            if let d = a.detect(image, in: roi, maxSide: aside).first(where: {
                $0.score >= TrackerConstants.assistRegionConfidence && $0.box.iou(box) > configuration.matchIoU
            }) {
                stats.assistFound += 1
                return .found(Detection(box: Self.hogLike(d.box, frameWidth: Double(image.width), frameHeight: Double(image.height)), score: d.score))
            }
        }
        if faceLike { stats.faceLike += 1; return .faceLike }
        stats.missed += 1
        return .missed
    }

    /// True when a track's region checks have missed for at least `maxBorderMissSeconds` (time, not checks: the
    /// checks come every `redetectEvery` frames, so a count of them lasted three times longer at 10 fps than at 30).
    private func borderBudgetSpent(_ t: Track, at time: Double) -> Bool {
        guard let since = t.missedSince else { return false }
        return time - since >= configuration.maxBorderMissSeconds - Self.timeTolerance
    }

    /// Timestamps are sums of frame durations: 1 ms absorbs their rounding (2.4 s after 0.8 s may read 2.3999…).
    static let timeTolerance = 0.001

    /// Fraction of a box outside a W×H frame.
    static func outsideFraction(_ b: Rect, _ W: Double, _ H: Double) -> Double {
        1 - b.intersection(Rect(x: 0, y: 0, width: W, height: H)).area / max(b.area, 1)
    }

    /// True when all twelve eye landmarks lie inside a W×H frame.
    static func eyesInside(_ lm: Landmarks68, _ W: Double, _ H: Double) -> Bool {
        lm.points[36...47].allSatisfy { $0.x >= 0 && $0.x < W && $0.y >= 0 && $0.y < H }
    }

    /// An assist (RetinaFace) box brought to HOG's framing, which the landmark predictor was trained on.
    /// RetinaFace boxes only the visible part of a face cut by the frame edge (a face half out of the left edge:
    /// 95×162 px instead of ≈ 165 square; a chin below the bottom: 207×162): such a box, reaching to within
    /// `TrackerConstants.assistEdgeMargin` of an edge or past it, is first squared to its longer side, extended
    /// across that edge, so the landmark fit and the track's size see the whole face.
    static func hogLike(_ r0: Rect, frameWidth W: Double, frameHeight H: Double) -> Rect {
        var r = r0
        let m = TrackerConstants.assistEdgeMargin
        let side = max(r.width, r.height)
        if r.width < side {
            if r.minX <= m && r.maxX < W - m { r = Rect(x: r.maxX - side, y: r.y, width: side, height: r.height) }
            else if r.maxX >= W - m && r.minX > m { r = Rect(x: r.minX, y: r.y, width: side, height: r.height) }
        }
        if r.height < side {
            if r.minY <= m && r.maxY < H - m { r = Rect(x: r.x, y: r.maxY - side, width: r.width, height: side) }
            else if r.maxY >= H - m && r.minY > m { r = Rect(x: r.x, y: r.minY, width: r.width, height: side) }
        }
        let s = TrackerConstants.assistBoxScale
        let c = r.center
        return Rect(x: c.x - r.width * s / 2, y: c.y - r.height * s / 2, width: r.width * s, height: r.height * s)
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

    /// Re-detection; returns the ids of the tracks checked in their region on this frame.
    @discardableResult
    private func redetect(_ image: Image, fullScan: Bool, at timestamp: Double) -> Set<Int> {
        sinceDetect = 0
        detections += 1
        var dets: [Detection] = []
        var scanned = false
        var checked = Set<Int>()
        func scan() {
            scanned = true
            sinceFullScan = 0
            let side = fullScanSide(image)
            dets += engine.detector.detect(image, maxSide: side).filter { d in !dets.contains { $0.box.iou(d.box) > 0.5 } }
            if dets.isEmpty && tracks.isEmpty {
                // Nothing at tracking size: the assist detector (turned, tilted, partly hidden faces HOG misses), then
                // HOG on a larger frame (small or distant faces).
                if let a = assist {
                    stats.assistScans += 1
                    dets = a.detect(image).filter { $0.score >= RetinaFaceRecipe.confidence }
                        .map { Detection(box: Self.hogLike($0.box, frameWidth: Double(image.width), frameHeight: Double(image.height)), score: $0.score) }
                    if !dets.isEmpty { stats.assistScanFound += 1 }
                }
                if dets.isEmpty && max(image.width, image.height) > side {
                    dets = engine.detector.detect(image, maxSide: PipelineConstants.fallbackDetectSide)
                }
            }
        }
        if fullScan { scan() }
        // Each track is confirmed in its own region (cheap, and works for faces too small for the full scan).
        var missedRegion = false
        var faceLikeIDs = Set<Int>()
        for t in tracks {
            let current = currentBox(t)
            if dets.contains(where: { $0.box.iou(current) > configuration.matchIoU }) { continue }
            checked.insert(t.id)
            switch regionCheck(image, track: t) {
            case .found(let d): dets.append(d)
            case .faceLike: faceLikeIDs.insert(t.id)
            case .missed: missedRegion = true
            }
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
                tracks[i].clearMisses()
                tracks[i].fresh = true
                tracks[i].tentative = false
            } else if faceLikeIDs.contains(tracks[i].id) && !tracks[i].tentative {
                // Still face-like where the landmarks are: keep following (a pose HOG does not detect).
                tracks[i].clearMisses()
            } else {
                tracks[i].miss(at: timestamp)
            }
        }
        // Unconfirmed newcomers go at their first miss; confirmed tracks ride out `maxMisses` checks (partly outside
        // the frame: `maxBorderMissSeconds`) unless a face turned up elsewhere in the frame, which means the
        // landmarks drifted off the face they followed.
        let faceElsewhere = scanned && dets.indices.contains { !matched.contains($0) && dets[$0].score >= configuration.minNewFaceScore }
        func dropped(_ t: Track) -> Bool {
            guard t.misses > 0 else { return false }
            if t.tentative || faceElsewhere { return true }
            let outside = Self.outsideFraction(currentBox(t), Double(image.width), Double(image.height))
            return outside >= TrackerConstants.borderFraction ? borderBudgetSpent(t, at: timestamp) : t.misses > configuration.maxMisses
        }
        tracks.removeAll(where: dropped)
        let hadTracks = !tracks.isEmpty
        for (j, d) in dets.enumerated() where !matched.contains(j) {
            if hadTracks && d.score < configuration.minNewFaceScore { continue }
            // A detection overlapping a tracked face is that face seen differently, not a second person.
            if tracks.contains(where: { currentBox($0).intersection(d.box).area > 0.3 * d.box.area }) { continue }
            tracks.append(Track(id: nextID, box: d.box, score: d.score, tentative: hadTracks))
            nextID += 1
        }
        // Two tracks on one face: keep the older.
        var out: [Track] = []
        for t in tracks {
            let b = currentBox(t)
            if out.contains(where: { ($0.fresh || $0.landmarks == nil ? $0.box : boxFromLandmarks($0)).iou(b) > 0.5 }) { continue }
            out.append(t)
        }
        tracks = out
        return checked
    }
}

/// Tunables of the tracker's hold-and-check logic. Each says what it was measured on.
public enum TrackerConstants {
    /// HOG margin down to which a window on a tracked face counts as face-like (HOG detects at ≥ 0). Measured on the
    /// 19 fixture clips (first 240 frames each, windows overlapping the tracked box): background boxes of the face's
    /// size beside it score at most −0.57 (547 boxes, 99th percentile −0.67); tracked faces HOG does not detect score
    /// −0.34 to 0. −0.45 sits between.
    public static let weakFaceMargin = -0.45
    /// RetinaFace confidence that confirms a face already tracked at that place (IoU > `matchIoU` with the track).
    /// New faces still need the catalog's 0.5. RetinaFace's confidence falls on faces turned far or partly out of the
    /// frame (Hamilton clip: 0.52–0.6 on a face leaving the frame); background false detections on the fixtures
    /// score ≤ 0.41 (docs/models.md) and must also sit on the track.
    public static let assistRegionConfidence = 0.35
    /// Face width the assist detector sees in a region check (px).
    public static let assistFaceSide = 80.0
    /// RetinaFace boxes are ≈ 8 % larger than HOG's with centres within 1 % (docs/models.md, fixture photos): scaled
    /// by this before they seed the 68-point predictor, which was trained on HOG boxes.
    public static let assistBoxScale = 0.93
    /// A face whose landmark box is less than this fraction inside the frame has left it. The landmark box spans brows
    /// to chin, so a face box half out of the frame (chin and mouth gone) leaves ≈ 35–45 % of it inside; 0.5 dropped
    /// such faces that both detectors still find (generated `faceLeavesTheFramePartly` clip).
    public static let minVisibleFraction = 0.3
    /// An assist box within this many pixels of a frame edge, or past it, is cut by that edge (see `hogLike`).
    /// RetinaFace boxes of faces cut by the left edge start at x = −4…−1 on the generated clips.
    public static let assistEdgeMargin = 2.0
    /// Part of a face box below the frame's bottom edge from which its landmarks are fitted with the rows below the
    /// frame filled (`BelowFrameFill`), and from which that fill is complete. Median landmark heights in HOG boxes
    /// (fixture clips d3, d10, Blink-Detector): lower lip 0.79–0.88, upper lip 0.68–0.70 of the box. So the fill
    /// starts when the lower lip leaves the frame and is complete when the upper lip has. LivePortrait d3 reaches
    /// 0.15 past the bottom (frames 231–255) and must read dlib's black there: a fill from 0.05 moved its pitch by up
    /// to 2.3° and its turn-right failed as a nod (3 of 3 runs). No other fixture clip passes 0.06.
    public static let fillBelowStart = 0.2
    public static let fillBelowFull = 0.35
    /// Fraction of a face box outside the frame from which the face counts as leaving it (`maxBorderMissSeconds`).
    public static let borderFraction = 0.15
    /// How long (s) the region checks of a face partly outside the frame may miss it before the track is dropped.
    /// Until session 12 this was 3 missed checks, 8 frames apart: 2.4 s at 10 fps but 0.8 s at 30 fps, where HOG
    /// alone lost the generated close face (chin out of the bottom, resampled to 30 fps) on frames 72–77 of 120
    /// while it was back by frame 78. 2.4 s keeps the longest hold the count gave at the slowest supported rate,
    /// at every rate. A face that really left is dropped sooner by `minVisibleFraction` and the appearance guard.
    public static let maxBorderMissSeconds = 2.4
    /// Side (px) of the appearance patch of the guard.
    public static let appearanceSide = 16
    /// Correlation of consecutive frames' face patches below which the guard checks the face at once. Tracked faces
    /// on the 19 fixture clips (3,813 frame pairs): median 0.996, 1st percentile 0.78; the pairs below are scene cuts.
    /// A check costs one region detection (≈1–2 ms), so a false alarm is cheap.
    public static let guardMinCorrelation = 0.5
    /// Grey-level standard deviation below which a face region is featureless (a blank or covered frame): tracked
    /// faces on the fixture clips have 12–53 (1st percentile 17), a flat grey frame after compression ≈ 1.
    public static let guardMinContrast = 6.0
}
