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
/// Bands of 1.5–4 cycles per frame height (below `minimumCycles`, no lower neighbours) are read differently, with the
/// frames' timestamps (`lowBand`, session 10): a display band's line turns at one constant rate in one direction, which
/// a single roll-rate model explains; the scene's own change (motion, exposure) is as much at −f as at +f, and a steady
/// camera tilt rolls the lines at rates proportional to the line. The same lamp rule applies (50/60 Hz × 1…18).
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

    // Low-frequency rolling bands (session 10). A display band of 1.5–4 cycles per frame height has no lower
    // neighbours for the peak test, and head motion / exposure changes put most of their change there (an earlier
    // peak test from 3 cycles put genuine clips at up to 38). What still tells a display's band apart is how its line
    // changes between frames: the band's phase turns at one constant rate in **one** direction, so its complex line
    // change D follows the model P = e^{i2πf t₂} − e^{i2πf t₁} of a single roll rate f; a scene's own change at a given
    // line (motion, exposure, gamma) is a real amplitude times a fixed phase — as much at −f as at +f.
    /// Lines (cycles per frame height) of the low-frequency test: bins 2 and 3 hold a 1.5–4-cycle band (Hann main
    /// lobe ±2 bins); bin 1 is where exposure changes and large motion live (not tested).
    public static let lowCycles = 2...3
    /// Roll rates tried, Hz, in both directions: `rollStepHz`…`rollMaxHz` in `rollStepHz` steps (a band rolling faster
    /// than half the frame rate shows as its alias, which is inside the grid up to 30 fps).
    public static let rollStepHz = 0.1
    public static let rollMaxHz = 15.0
    /// Slowest roll rate read: at least this many Hz and `rollMinimumTurns` turns over the session's timed span (a
    /// slower "roll" cannot be told from a steady drift of the scene: a constant change fits half a turn).
    public static let rollMinimumHz = 0.75
    public static let rollMinimumTurns = 1.5
    /// One-sided roll coherence (share of the line's power a single roll rate explains minus the share the opposite
    /// rate explains) at or above which the line is a rolling band. Measured (`/work/notes/h3/batch.txt`: every
    /// motion/ and liveness/ real clip — 18 clips, 5 sources — at native rate, 12 fps and every frame twice at 30 fps
    /// over 50 frames, and native over 150): genuine ≤ 0.47, except lestari15's real clip 0.34–0.58, whose 3-cycle band
    /// rolls at 10 Hz — a 100 Hz lamp at 30 fps (the lamp model explains all of it: no vote); the simulator's replays and
    /// screens, seeds 1–5 of d3 and driving.mp4 (bands 2.5–8 cycles), 0.82–0.99 where a band is in the low lines (seed 5,
    /// < 4 cycles, 3.8 Hz: 0.95–0.99); rendered 50/100 Hz lamp flicker 0.98–1.00 (lamp-explained).
    public static let rollSpoof = 0.8
    /// Typical genuine one-sided coherence (genuine clips 0.03–0.21) and a certain band (simulator 0.95–0.99).
    public static let rollLive = 0.15
    public static let rollCertain = 0.95
    /// One-sided coherence of the other low line at the rate a translating scene would give it (k′/k of the best
    /// line's), at or above which — and above its coherence at the same rate — the roll is the scene's own steady
    /// motion, not a band. Synthetic scene scrolled 6–12 rows per frame (`/work/notes/h3/harness2`): 0.73–0.99 there.
    public static let translationCoherence = 0.5
    /// Share of the frame differences' power (session average) the band's line must hold: a display band concentrates
    /// the change in its line, a scene's motion spreads it over every line. Simulator seed 5: 0.39–0.46; a broadband
    /// scene scrolled 1–16 rows per frame (synthetic): 0.02–0.08; genuine fixture clips 0.02–0.22 (their roll is
    /// not one-sided, so this is only a second guard).
    public static let lowShare = 0.1
    /// Lines whose roll is fitted: the low lines and every line the peak test searches.
    public static let rollLines = lowCycles.lowerBound...peakCycles
    /// A line this far above its neighbours (2× the typical genuine ratio, under `spoofRatio`) that also rolls at one
    /// rate in one direction (`rollSpoof`) is a display's band. Measured (`/work/notes/h3/batch_mid.txt`): the
    /// lestari15 phone replay (a real re-capture) 5.0–10.7 at 5–6 cycles, one-sided 0.88; genuine lines at ≥ 4 ×
    /// (Blink-Detector 3.9–5.2 at 7 cycles) roll 0.09 — a steady pattern, not a band.
    public static let rollPeakRatio = 4.0
    /// Timed frame pairs needed before the low-frequency test reads (chance coherence of noise over 300 roll rates
    /// is ≈ 6/pairs). 16, not 20 (session 12): a 3 s session at 10 fps with every 3rd frame lost has 19 pairs, and the
    /// simulator's Blink-Detector replay was then accepted (low band one-sided 0.86, share 0.46, model P(real) 0.999).
    /// Genuine short windows (/work/notes/h4/t2/gw_band.txt: the 9 fixture clips, 115 windows of 14 and 19 pairs):
    /// one-sided ≤ 0.72 at 14 pairs (≤ 0.61 with share ≥ `lowShare`), ≤ 0.50 at 19 pairs; under `rollSpoof`.
    public static let minimumRollPairs = 16
    /// Lamp flicker tried for the low-frequency lines: harmonics 1…18 of 50 and 60 Hz (the 100/120 Hz lamps of the
    /// peak test, plus half-wave-rectified drivers at the mains rate: a 50 Hz flicker at a 30 ms readout is 1.5 cycles).
    public static let lowLampFrequencies: [Double] = Array(Set([50.0, 60.0].flatMap { f in (1...18).map { Double($0) * f } })).sorted()
    /// A low-frequency band the best lamp model explains at least this share of (relative to the best roll rate's
    /// coherence) is taken for a lamp's: no vote. lestari15's real clip: 0.98–1.00; simulator seed 5: ≤ 0.2.
    public static let lowLampShare = 0.9

    /// Σ D·conj(P) per low line m, roll rate jj (0..<n: +f, n..<2n: −f) as (re, im) at ((m·2n + jj)·2 + 0/1).
    private var rollSums = [Double](repeating: 0, count: BandingCue.rollLines.count * 4 * BandingCue.rollRates)
    private var rollNorm = [Double](repeating: 0, count: BandingCue.rollRates)
    private var lowLampRe = [[Double]](repeating: [Double](repeating: 0, count: BandingCue.lowLampFrequencies.count), count: BandingCue.lowCycles.count)
    private var lowLampIm = [[Double]](repeating: [Double](repeating: 0, count: BandingCue.lowLampFrequencies.count), count: BandingCue.lowCycles.count)
    private var lowLampNorm = [Double](repeating: 0, count: BandingCue.lowLampFrequencies.count)
    private var lastTime: Double?
    /// Positive roll rates on the grid (index j ↔ (j + 1)·`rollStepHz`).
    static var rollRates: Int { Int((rollMaxHz / rollStepHz).rounded()) }

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
        lastTime = b
        addRollPair(re: re, im: im, a: a, b: b)
    }

    /// The low-frequency lines' fits for one timed pair (times `a`, `b` from the origin): every roll rate ±f of the
    /// grid (phasors by recurrence) and every low lamp frequency.
    private mutating func addRollPair(re: [Double], im: [Double], a: Double, b: Double) {
        let n = Self.rollRates, ks = Array(Self.rollLines)
        let da = 2 * .pi * Self.rollStepHz * a, db = 2 * .pi * Self.rollStepHz * b
        let (sa, ca, sb, cb) = (sin(da), cos(da), sin(db), cos(db))
        var (ar, ai, br, bi) = (1.0, 0.0, 1.0, 0.0)  // e^{i2πf a}, e^{i2πf b} for f = (j + 1)·step
        let d = ks.map { (re[$0 - 1], im[$0 - 1]) }
        // Raw buffers (the arrays moved out and back: no copy) — the debug build's cost stays small.
        var sums = [Double](), norms = [Double]()
        swap(&sums, &rollSums); swap(&norms, &rollNorm)
        sums.withUnsafeMutableBufferPointer { acc in
            norms.withUnsafeMutableBufferPointer { norm in
                for j in 0..<n {
                    (ar, ai) = (ar * ca - ai * sa, ar * sa + ai * ca)
                    (br, bi) = (br * cb - bi * sb, br * sb + bi * cb)
                    let pr = br - ar, pi = bi - ai  // P at +f; P at −f is its conjugate
                    norm[j] += pr * pr + pi * pi
                    for m in 0..<d.count {
                        let (dr, di) = d[m]
                        let plus = (m * 2 * n + j) * 2, minus = (m * 2 * n + n + j) * 2
                        acc[plus] += dr * pr + di * pi; acc[plus + 1] += di * pr - dr * pi        // D·conj(P₊)
                        acc[minus] += dr * pr - di * pi; acc[minus + 1] += di * pr + dr * pi      // D·P₊ = D·conj(P₋)
                    }
                }
            }
        }
        swap(&sums, &rollSums); swap(&norms, &rollNorm)
        for (j, f) in Self.lowLampFrequencies.enumerated() {
            let pr = cos(2 * .pi * f * b) - cos(2 * .pi * f * a), pi = sin(2 * .pi * f * b) - sin(2 * .pi * f * a)
            lowLampNorm[j] += pr * pr + pi * pi
            for (m, k) in Self.lowCycles.enumerated() {
                lowLampRe[m][j] += re[k - 1] * pr + im[k - 1] * pi
                lowLampIm[m][j] += im[k - 1] * pr - re[k - 1] * pi
            }
        }
    }

    /// The strongest low-frequency rolling band (`lowCycles`): its line, roll rate (Hz, signed: the direction), one-sided
    /// coherence (share of the line's power the roll explains minus the share the opposite rate explains), the line's
    /// share of the frame differences' power (session average, 1…`maxCycles`), whether the other low line rolls as a
    /// translating scene's would, and the best lamp model at that line (frequency, its coherence over the roll's). Nil
    /// before `minimumRollPairs` timed pairs.
    public var lowBand: (cycles: Int, rollHz: Double, oneSided: Double, share: Double, translation: Bool, lampFrequency: Double, lamp: Double)? {
        lowBand(minimumPairs: Self.minimumRollPairs)
    }

    /// `lowBand` read from `minimumPairs` timed pairs on (the reading's note shows it from `minimumPairs` on, as a measurement).
    func lowBand(minimumPairs: Int) -> (cycles: Int, rollHz: Double, oneSided: Double, share: Double, translation: Bool, lampFrequency: Double, lamp: Double)? {
        guard timedPairs >= minimumPairs, let fps = timedFrameRate, let origin, let lastTime else { return nil }
        let span = lastTime - origin
        guard span > 0 else { return nil }
        let slowest = max(Self.rollMinimumHz, Self.rollMinimumTurns / span)
        let n = Self.rollRates
        var best: (cycles: Int, rollHz: Double, oneSided: Double, coherence: Double)?
        for k in Self.lowCycles {
            for j in 0..<n where Double(j + 1) * Self.rollStepHz >= slowest - 1e-9 {
                guard let (plus, minus) = rollFit(cycles: k, rate: j) else { continue }
                let d = abs(plus - minus)
                if d > (best?.oneSided ?? -1) {
                    best = (k, (plus >= minus ? 1 : -1) * Double(j + 1) * Self.rollStepHz, d, max(plus, minus))
                }
            }
        }
        guard let b = best else { return nil }
        // A scene that translates steadily (a camera tilted for the whole session) rolls every line too, but at a rate
        // proportional to the line (f_k = k·v·fps/rows): the other low line then follows k′/k of the rate, not the
        // same rate as a display band's neighbouring line (its window leakage) does.
        let otherK = b.cycles == Self.lowCycles.lowerBound ? Self.lowCycles.upperBound : Self.lowCycles.lowerBound
        let scaled = b.rollHz * Double(otherK) / Double(b.cycles)
        let sameRate = rolling(cycles: otherK, hz: b.rollHz)
        let scaledRate = [-Self.rollStepHz, 0, Self.rollStepHz].map { rolling(cycles: otherK, hz: scaled + ($0 * (scaled >= 0 ? 1 : -1))) }.max() ?? 0
        let translation = scaledRate >= Self.translationCoherence && scaledRate > sameRate
        var lamp: (Double, Double) = (0, 0)
        let m = b.cycles - Self.lowCycles.lowerBound
        for (j, f) in Self.lowLampFrequencies.enumerated() where f * 1.05 >= Double(b.cycles - 1) * fps && lowLampNorm[j] > 0 {
            let c = (lowLampRe[m][j] * lowLampRe[m][j] + lowLampIm[m][j] * lowLampIm[m][j]) / (lowLampNorm[j] * lineNorm[b.cycles - 1])
            if c > lamp.1 { lamp = (f, c) }
        }
        return (b.cycles, b.rollHz, b.oneSided, power[b.cycles - 1] / Double(max(1, pairs)), translation, lamp.0, b.coherence > 0 ? lamp.1 / b.coherence : 0)
    }

    /// The best one-sided roll of a line (`rollLines`) over the grid rates at or above the slowest readable one: (one-sided
    /// coherence, signed rate in Hz). Nil before `minimumRollPairs` timed pairs.
    public func roll(cycles k: Int) -> (oneSided: Double, hz: Double)? {
        guard timedPairs >= Self.minimumRollPairs, Self.rollLines.contains(k), let origin, let lastTime, lastTime > origin else { return nil }
        let slowest = max(Self.rollMinimumHz, Self.rollMinimumTurns / (lastTime - origin))
        var best: (oneSided: Double, hz: Double)?
        for j in 0..<Self.rollRates where Double(j + 1) * Self.rollStepHz >= slowest - 1e-9 {
            let hz = Double(j + 1) * Self.rollStepHz
            let d = rolling(cycles: k, hz: hz)
            if abs(d) > (best?.oneSided ?? -1) { best = (abs(d), d >= 0 ? hz : -hz) }
        }
        return best
    }

    /// Signed one-sided roll coherence of a line at the grid rate nearest `hz` (positive: rolls in `hz`'s
    /// direction); 0 outside the grid.
    func rolling(cycles k: Int, hz: Double) -> Double {
        let j = Int((abs(hz) / Self.rollStepHz).rounded()) - 1
        guard j >= 0, j < Self.rollRates, let (plus, minus) = rollFit(cycles: k, rate: j) else { return 0 }
        return hz >= 0 ? plus - minus : minus - plus
    }

    /// Shares of line `k`'s change (`rollLines`) that the roll at grid rate index `rate` explains rolling one way
    /// (`plus`, +f) and the other (`minus`, −f); nil without power on the line or the rate.
    private func rollFit(cycles k: Int, rate j: Int) -> (plus: Double, minus: Double)? {
        guard Self.rollLines.contains(k), rollNorm[j] > 0, lineNorm[k - 1] > 0 else { return nil }
        let n = Self.rollRates, m = k - Self.rollLines.lowerBound
        let denom = rollNorm[j] * lineNorm[k - 1]
        let p = (m * 2 * n + j) * 2, q = (m * 2 * n + n + j) * 2
        return ((rollSums[p] * rollSums[p] + rollSums[p + 1] * rollSums[p + 1]) / denom,
                (rollSums[q] * rollSums[q] + rollSums[q + 1] * rollSums[q + 1]) / denom)
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
        if pk.ratio >= Self.rollPeakRatio, pk.ratio < Self.spoofRatio, let r = roll(cycles: pk.cycles), r.oneSided >= Self.rollSpoof,
           (lampCoherence(cycles: pk.cycles)?.coherence ?? 0) < Self.lampCoherenceAbstain {
            return PadCueReading(cue: .banding, state: .spoof,
                                 level: PadCueReading.level(r.oneSided, live: Self.rollLive, threshold: Self.rollSpoof, spoof: Self.rollCertain),
                                 confidence: padFrameConfidence(timedPairs, full: Self.fullConfidencePairs),
                                 note: String(format: "rolling-band line %.1f× its neighbours at %d cycles/frame height (under %.0f) rolls at one rate, %+.1f Hz, explaining %.2f of its change (spoof ≥ %.2f) over %d timed frame pair(s)",
                                              pk.ratio, pk.cycles, Self.spoofRatio, r.hz, r.oneSided, Self.rollSpoof, timedPairs))
        }
        if pk.ratio < Self.spoofRatio, let low = lowBand, low.oneSided >= Self.rollSpoof, low.share >= Self.lowShare, !low.translation {
            if low.lamp >= Self.lowLampShare {
                return .abstain(.banding,
                                String(format: "low rolling band at %d cycles/frame height rolls as a %.0f Hz lamp's would (%.2f of the roll's fit, ≥ %.2f): lamp flicker or a display, cannot tell",
                                       low.cycles, low.lampFrequency, low.lamp, Self.lowLampShare))
            }
            return PadCueReading(cue: .banding, state: .spoof,
                                 level: PadCueReading.level(low.oneSided, live: Self.rollLive, threshold: Self.rollSpoof, spoof: Self.rollCertain),
                                 confidence: padFrameConfidence(timedPairs, full: Self.fullConfidencePairs),
                                 note: String(format: "low rolling band at %d cycles/frame height: one roll of %+.1f Hz explains %.2f of its change (spoof ≥ %.2f) over %d timed frame pair(s)",
                                              low.cycles, low.rollHz, low.oneSided, Self.rollSpoof, timedPairs))
        }
        let level = PadCueReading.level(pk.ratio, live: Self.liveRatio, threshold: Self.spoofRatio, spoof: Self.certainRatio)
        var low = ""
        if let b = lowBand(minimumPairs: Self.minimumTimedPairs) {
            low = String(format: "; low lines: one-sided roll %.2f at %d cycles/frame height, %+.1f Hz, share %.2f%@ over %d timed pair(s)%@",
                         b.oneSided, b.cycles, b.rollHz, b.share, b.translation ? ", translating" : "", timedPairs,
                         timedPairs < Self.minimumRollPairs ? " (no vote under \(Self.minimumRollPairs))" : "")
        }
        return PadCueReading(cue: .banding, state: pk.ratio >= Self.spoofRatio ? .spoof : .neutral,
                             level: level, confidence: padFrameConfidence(pairs, full: Self.fullConfidencePairs),
                             note: String(format: "rolling-band line %.1f× its neighbours at %d cycles/frame height over %d frame pair(s) (spoof ≥ %.0f)",
                                          pk.ratio, pk.cycles, pairs, Self.spoofRatio) + low)
    }
}
