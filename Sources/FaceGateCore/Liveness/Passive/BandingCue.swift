import Foundation

/// Refresh banding: a display's PWM backlight (or its refresh) filmed by a rolling-shutter camera darkens horizontal
/// bands that roll from frame to frame at the beat of the two rates. The cue looks at the whole frame's row profile
/// (mean luminance per row, measured natively): the log ratio of consecutive profiles cancels the scene's own
/// structure and leaves the bands' change, a sinusoid across the frame height at one spatial frequency; content
/// motion spreads its change over a broad, smooth spectrum. Normalised power spectra of these differences (cycles per
/// frame height 1…`maxCycles`) are averaged over the session; a rolling band is one line far above its neighbouring
/// frequencies on **both** sides (`neighbourGap`…`neighbourSpan` bins away; the larger side's median is the
/// background), while a motion spectrum falls smoothly and never stands above its lower neighbours.
///
/// Model-free and face-independent: it also sees a replay whose screen fills the view (no bezel, moiré not resolved).
/// It cannot see a display without PWM/refresh banding (DC-dimmed LCDs, global-shutter cameras) and abstains on stills,
/// on too few distinct frames and on frames too dark to carry a band.
///
/// Lamp flicker: a real scene lit by mains lamps filmed at a frame rate that does not divide the flicker shows the same
/// rolling bands. What tells it apart is the band's roll: a lamp flickers at a harmonic of twice the mains frequency
/// (100 or 120 Hz, and up to the 9th harmonic for non-sinusoidal lamps/LED drivers), so between two frames at times t₁, t₂ its
/// band's phase turns by exactly 2πF(t₂ − t₁). With the frames' timestamps the cue fits that model to the line's
/// complex change in every frame pair (`lampCoherence`: the share of the line's power the lamp model explains, 1 =
/// every pair turns exactly as a lamp at F would). A line a lamp explains (≥ `lampCoherenceAbstain`) is not a vote:
/// the cue abstains — a display whose refresh/PWM beat happens to roll at a lamp's rate is then missed too.
public struct BandingCue: Sendable {
    /// Lowest band frequency considered, cycles per frame height: the line needs a lower neighbour (1 cycle, where
    /// exposure changes and large motion live); displays filmed at arm's length give ~2.5–30.
    public static let minimumCycles = 4
    /// Highest band frequency searched for the peak, cycles per frame height.
    public static let peakCycles = 32
    /// A line's own window leakage (Hann main lobe) stays within ±2 bins: neighbours start 3 bins away…
    public static let neighbourGap = 3
    /// …and reach 6 bins away on each side.
    public static let neighbourSpan = 6
    /// Spectrum computed up to this frequency (the highest peak's neighbours).
    public static let maxCycles = peakCycles + neighbourSpan
    /// Line over the larger of its two neighbour medians in the session-averaged spectrum at or above which the frames
    /// show rolling bands. Measured (`/work/notes/h2/s7/band3.txt`: 30, 60, 120 frames and every 2nd frame): genuine
    /// fixture clips of 6 sources 1.0–5.2 (max repeating__Blink-Detector, a steady 4.1–5.2 at 7 cycles: maybe lamp
    /// flicker in that webcam recording); the lestari15 phone replay (a real re-capture) 7.0–10.7; the simulator's
    /// replays 17.3–3,150, screens 12.3–48.7. Set at ≈ 1.5× the largest genuine value, not lower: not refusing real
    /// people comes first (the lestari15 replay is then seen only at half rate; the models refuse it anyway).
    public static let spoofRatio = 8.0
    /// Typical genuine ratio (genuine clips mostly 1.2–2.4).
    public static let liveRatio = 2.0
    /// Certainly a band (the simulator's full-view replays are ≥ 17.3, most far above).
    public static let certainRatio = 30.0
    /// Distinct frame pairs needed before the cue votes (a band must persist; 8 pairs ≈ 0.3 s at 25 fps).
    public static let minimumPairs = 8
    /// Pairs after which the average is trusted fully.
    public static let fullConfidencePairs = 30
    /// Frames whose mean luminance is below this (0…255) carry no visible band: skipped.
    public static let minimumMeanLuminance = 12.0
    /// Consecutive profiles closer than this (RMS of the log ratio after detrending) are a repeated frame: skipped.
    public static let repeatedFrameRMS = 1e-4
    /// Rows at least needed: every computed frequency below the profile's Nyquist limit.
    public static let minimumRows = 2 * maxCycles

    /// Lamp flicker frequencies tested (Hz): harmonics 1…9 of 100 Hz (50 Hz mains) and of 120 Hz (60 Hz mains) — a
    /// sine-like lamp shows the fundamental, a rectified or 50 % PWM LED driver also its harmonics (a 100 Hz square
    /// wave filmed at 30 fps shows only its 5th harmonic: the 1st is under `minimumCycles`, the 3rd is locked; at
    /// 16.1 and 23.9 fps its strongest rolling line is the 7th and the 9th, /work/notes/h3/s9/band3.txt).
    public static let lampFrequencies: [Double] = [100, 120].flatMap { f in (1...9).map { Double($0) * f } }
    /// Lamp-model share of the line's power at or above which the band is taken for a lamp's (abstain). Measured
    /// (/work/notes/h3/s9/band2.txt, band3.txt with harmonics to 9, 50 frames): lamp flicker rendered on genuine
    /// fixture clips with their own timestamps (d3 100 Hz and square 100 Hz at 30 fps, lestari15 100 Hz and square
    /// 100 Hz at 30 fps, driving 120 Hz at 25 fps, Krzysiek354 and Blink-Detector square 100 Hz at 16.1 / 23.9 fps)
    /// 0.98–1.00; the simulator's replays and screens (seeds 1–4, d3 and driving, 25 fps) 0.00–0.85 (0.83–0.85 for
    /// seed 1: its 4.9 Hz roll comes within 0.13 Hz of the 480 and 1080 Hz harmonics' alias); lestari15's real phone
    /// replay 0.01.
    public static let lampCoherenceAbstain = 0.9
    /// Frame pairs with timestamps needed before the lamp test is trusted.
    public static let minimumTimedPairs = 8

    public private(set) var pairs = 0
    /// Frame pairs that carried timestamps (the lamp test's sample).
    public private(set) var timedPairs = 0
    /// Per lamp frequency (`lampFrequencies` order) and cycle k (index k−1): Σ D·conj(P), D the pair's complex line
    /// change, P the change a unit lamp band at that frequency makes between the two timestamps.
    private var lampRe = [[Double]](repeating: [Double](repeating: 0, count: BandingCue.maxCycles), count: BandingCue.lampFrequencies.count)
    private var lampIm = [[Double]](repeating: [Double](repeating: 0, count: BandingCue.maxCycles), count: BandingCue.lampFrequencies.count)
    /// Σ|P|² per lamp frequency, Σ|D|² per cycle (timed pairs only).
    private var lampNorm = [Double](repeating: 0, count: BandingCue.lampFrequencies.count)
    private var lineNorm = [Double](repeating: 0, count: BandingCue.maxCycles)
    private var origin: Double?
    private var intervals: [Double] = []
    private var previousTime: Double?
    public private(set) var repeated = 0
    public private(set) var stills = 0
    /// Sum of the per-pair normalised power at cycles 1…maxCycles (index k−1).
    public private(set) var power = [Double](repeating: 0, count: BandingCue.maxCycles)
    private var previous: [Double]?
    private var tables: (n: Int, cos: [Double], sin: [Double], window: [Double])?

    public init() {}

    /// A still image was analysed: the cue needs consecutive video frames.
    public mutating func addStill() { stills += 1 }

    /// Adds one video frame's row profile (mean luminance 0…255 per row, top to bottom). A profile of another length
    /// (resolution change) restarts the pairing. `timestamp`: the frame's time in seconds (capture or presentation
    /// time); without it the lamp test cannot run (the cue then treats every rolling band as a display's).
    public mutating func add(rowProfile p: [Double], timestamp: Double? = nil) {
        guard p.count >= Self.minimumRows else { previous = nil; previousTime = nil; return }
        let mean = p.reduce(0, +) / Double(p.count)
        guard mean >= Self.minimumMeanLuminance else { previous = nil; previousTime = nil; return }
        let logs = p.map { Foundation.log($0 + 1) }
        let prevTime = previousTime
        defer { previous = logs; previousTime = timestamp }
        guard let prev = previous, prev.count == logs.count else { return }
        var d = zip(logs, prev).map { $0 - $1 }
        Self.removeQuadraticTrend(&d)
        let rms = (d.reduce(0) { $0 + $1 * $1 } / Double(d.count)).squareRoot()
        guard rms > Self.repeatedFrameRMS else { repeated += 1; return }
        let (re, im) = self.spectrum(d)
        let spectrum = zip(re, im).map { $0 * $0 + $1 * $1 }
        let total = spectrum.reduce(0, +)
        guard total > 0 else { repeated += 1; return }
        for k in 0..<Self.maxCycles { power[k] += spectrum[k] / total }
        pairs += 1
        if let t2 = timestamp, let t1 = prevTime, t2 > t1 {
            addLampPair(re: re, im: im, power: spectrum, from: t1, to: t2)
        }
    }

    /// Lamp model for one timed pair: a band at F turns from phase 2πF·t₁ to 2πF·t₂, so its change is
    /// P = e^{i2πF t₂} − e^{i2πF t₁}; accumulates D·conj(P) per cycle and |P|², |D|² for the normalisation.
    private mutating func addLampPair(re: [Double], im: [Double], power: [Double], from t1: Double, to t2: Double) {
        let origin = self.origin ?? t1
        self.origin = origin
        intervals.append(t2 - t1)
        timedPairs += 1
        let a = t1 - origin, b = t2 - origin
        for (j, f) in Self.lampFrequencies.enumerated() {
            let pr = cos(2 * .pi * f * b) - cos(2 * .pi * f * a), pi = sin(2 * .pi * f * b) - sin(2 * .pi * f * a)
            lampNorm[j] += pr * pr + pi * pi
            for k in 0..<Self.maxCycles {  // D·conj(P)
                lampRe[j][k] += re[k] * pr + im[k] * pi
                lampIm[j][k] += im[k] * pr - re[k] * pi
            }
        }
        for k in 0..<Self.maxCycles { lineNorm[k] += power[k] }
    }

    /// The frame rate the timestamps show (over the median interval of the timed pairs: dropped frames do not lower
    /// it), nil without timed pairs.
    public var timedFrameRate: Double? {
        let m = padMedian(intervals)
        return intervals.isEmpty || m <= 0 ? nil : 1 / m
    }

    /// The best lamp explanation of the line at `cycles` per frame height: (frequency, share of the line's power its
    /// model explains, 0…1). Only frequencies whose band could span `cycles` in one frame's readout are tried (the
    /// readout takes at most a frame interval, so F ≥ (cycles − 1)·fps, one bin of slack). Nil without enough timed pairs.
    public func lampCoherence(cycles k: Int) -> (frequency: Double, coherence: Double)? {
        guard timedPairs >= Self.minimumTimedPairs, let fps = timedFrameRate, k >= 1, k <= Self.maxCycles else { return nil }
        var best: (frequency: Double, coherence: Double)?
        for (j, f) in Self.lampFrequencies.enumerated() where f * 1.05 >= Double(k - 1) * fps {
            let denom = lampNorm[j] * lineNorm[k - 1]
            guard denom > 0 else { continue }
            let c = (lampRe[j][k - 1] * lampRe[j][k - 1] + lampIm[j][k - 1] * lampIm[j][k - 1]) / denom
            if c > (best?.coherence ?? -1) { best = (f, c) }
        }
        return best
    }

    /// Complex DFT (real, imaginary) of the Hann-windowed sequence at 1…maxCycles cycles over its length.
    private mutating func spectrum(_ d: [Double]) -> (re: [Double], im: [Double]) {
        let n = d.count
        if tables?.n != n {
            var c = [Double](repeating: 0, count: n), s = c
            for i in 0..<n { c[i] = cos(2 * .pi * Double(i) / Double(n)); s[i] = sin(2 * .pi * Double(i) / Double(n)) }
            let w = (0..<n).map { 0.5 - 0.5 * cos(2 * .pi * Double($0) / Double(max(1, n - 1))) }
            tables = (n, c, s, w)
        }
        let t = tables!
        let x = (0..<n).map { d[$0] * t.window[$0] }
        var outRe = [Double](repeating: 0, count: Self.maxCycles), outIm = outRe
        // Raw buffers in the inner loop: the same arithmetic in the same order, without per-element array checks
        // (the debug build's cost was ≈ 3.5 ms per frame with them).
        x.withUnsafeBufferPointer { xp in
            t.cos.withUnsafeBufferPointer { cp in
                t.sin.withUnsafeBufferPointer { sp in
                    for k in 1...Self.maxCycles {
                        var re = 0.0, im = 0.0, idx = 0
                        for i in 0..<n {
                            re += xp[i] * cp[idx]; im -= xp[i] * sp[idx]
                            idx += k
                            while idx >= n { idx -= n }
                        }
                        outRe[k - 1] = re; outIm[k - 1] = im
                    }
                }
            }
        }
        return (outRe, outIm)
    }

    /// Least-squares quadratic removed (exposure drift and slow gradients are not bands).
    static func removeQuadraticTrend(_ d: inout [Double]) {
        let n = d.count
        guard n >= 3 else { return }
        // Orthogonal polynomials on x in [-1, 1]: 1, x, x² − mean(x²).
        let xs = (0..<n).map { 2 * Double($0) / Double(n - 1) - 1 }
        let m2 = xs.reduce(0) { $0 + $1 * $1 } / Double(n)
        let basis: [[Double]] = [[Double](repeating: 1, count: n), xs, xs.map { $0 * $0 - m2 }]
        for b in basis {
            let bb = b.reduce(0) { $0 + $1 * $1 }
            guard bb > 0 else { continue }
            let c = zip(d, b).reduce(0) { $0 + $1.0 * $1.1 } / bb
            for i in 0..<n { d[i] -= c * b[i] }
        }
    }

    /// The session's peak: (ratio of the averaged power at the strongest line over the median of its neighbours, its
    /// frequency in cycles per frame height). Nil before any pair.
    public var peak: (ratio: Double, cycles: Int)? {
        guard pairs > 0 else { return nil }
        let avg = power.map { $0 / Double(pairs) }
        var best: (ratio: Double, cycles: Int) = (0, Self.minimumCycles)
        for k in Self.minimumCycles...Self.peakCycles {
            let lower = ((k - Self.neighbourSpan)...(k - Self.neighbourGap)).filter { $0 >= 1 }.map { avg[$0 - 1] }
            let upper = ((k + Self.neighbourGap)...(k + Self.neighbourSpan)).filter { $0 <= Self.maxCycles }.map { avg[$0 - 1] }
            let r = avg[k - 1] / max(padMedian(lower), padMedian(upper), 1e-15)
            if r > best.ratio { best = (r, k) }
        }
        return best
    }

    public var reading: PadCueReading {
        guard pairs > 0 || repeated > 0 else {
            return .abstain(.banding,
                            stills > 0 ? "a still image has no rolling bands to see (needs video)" : "no usable consecutive frames (too dark or too small)")
        }
        guard pairs >= Self.minimumPairs, let pk = peak else {
            return .abstain(.banding,
                            "\(pairs) distinct frame pair(s) (\(repeated) repeated): needs ≥ \(Self.minimumPairs)")
        }
        if pk.ratio >= Self.spoofRatio, let lamp = lampCoherence(cycles: pk.cycles), lamp.coherence >= Self.lampCoherenceAbstain {
            return .abstain(.banding,
                            String(format: "rolling-band line %.1f× its neighbours at %d cycles/frame height rolls as a %.0f Hz lamp's would (%.2f of its power, ≥ %.2f): lamp flicker or a display, cannot tell",
                                   pk.ratio, pk.cycles, lamp.frequency, lamp.coherence, Self.lampCoherenceAbstain))
        }
        let level = PadCueReading.level(pk.ratio, live: Self.liveRatio, threshold: Self.spoofRatio, spoof: Self.certainRatio)
        return PadCueReading(cue: .banding, state: pk.ratio >= Self.spoofRatio ? .spoof : .neutral,
                             level: level, confidence: padFrameConfidence(pairs, full: Self.fullConfidencePairs),
                             note: String(format: "rolling-band line %.1f× its neighbours at %d cycles/frame height over %d frame pair(s) (spoof ≥ %.0f)",
                                          pk.ratio, pk.cycles, pairs, Self.spoofRatio))
    }
}
