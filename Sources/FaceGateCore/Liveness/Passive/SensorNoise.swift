import Foundation

/// Sensor noise of a grey image region: Immerkær's fast noise estimator (the image convolved with the difference of
/// two Laplacians, M = [1 −2 1; −2 4 −2; 1 −2 1], which cancels any locally planar shading) with the **median** of
/// |M ∗ I| instead of the mean, so edges and skin texture (a minority of pixels) do not count as noise. For white
/// Gaussian noise of σ the response has standard deviation 6σ, whose absolute median is 0.6745 · 6σ.
public enum SensorNoise {
    /// Noise σ (grey levels) of an 8-bit grey image of `width` × `height` (row-major); nil when smaller than 3 × 3.
    public static func sigma(gray: [UInt8], width: Int, height: Int) -> Double? {
        guard width >= 3, height >= 3, gray.count >= width * height else { return nil }
        // |M ∗ I| ≤ 16 · 255: a histogram gives the exact median without sorting.
        var histogram = [Int](repeating: 0, count: 16 * 255 + 1)
        var n = 0
        gray.withUnsafeBufferPointer { p in
            for y in 1..<(height - 1) {
                let a = (y - 1) * width, b = y * width, c = (y + 1) * width
                for x in 1..<(width - 1) {
                    var s = Int(p[a + x - 1]) - 2 * Int(p[a + x]) + Int(p[a + x + 1])
                    s += -2 * Int(p[b + x - 1]) + 4 * Int(p[b + x]) - 2 * Int(p[b + x + 1])
                    s += Int(p[c + x - 1]) - 2 * Int(p[c + x]) + Int(p[c + x + 1])
                    histogram[abs(s)] += 1
                    n += 1
                }
            }
        }
        guard n > 0 else { return nil }
        // Median of the absolute responses (the lower middle for an even count).
        let half = (n + 1) / 2
        var seen = 0, median = 0
        for (v, k) in histogram.enumerated() {
            seen += k
            if seen >= half { median = v; break }
        }
        return Double(median) / (0.6745 * 6)
    }
}
