import FaceGate
import FaceGateCore
import Foundation

/// Scores of a liveness classifier on labelled crops, and the numbers derived from them at a threshold on P(real).
/// Attack classes are the presentation-attack-instrument species of ISO/IEC 30107-3.
public struct LivenessScores: Sendable {
    public var pReal: [Double]
    /// True class name of each crop.
    public var labels: [String]
    public var realLabel: String
    /// The classifier's top class per crop (for the confusion matrix; for binary models "real" or an attack name).
    public var predicted: [String]
    /// Source group per crop.
    public var groups: [String]
    public var threshold: Double

    public init(pReal: [Double], labels: [String], realLabel: String, predicted: [String], groups: [String],
                threshold: Double = LivenessModel.defaultThreshold) {
        self.pReal = pReal; self.labels = labels; self.realLabel = realLabel; self.predicted = predicted
        self.groups = groups; self.threshold = threshold
    }

    public var count: Int { pReal.count }
    public var isReal: [Bool] { labels.map { $0 == realLabel } }
    /// Accepted as real at the threshold.
    public var acceptedReal: [Bool] { pReal.map { $0 >= threshold } }
    public var attackSpecies: [String] { Array(Set(labels.filter { $0 != realLabel })).sorted() }

    /// Binary accuracy (real vs attack) at the threshold.
    public var accuracy: Double {
        guard count > 0 else { return .nan }
        return Double(zip(acceptedReal, isReal).filter { $0 == $1 }.count) / Double(count)
    }

    /// ISO/IEC 30107-3 metrics (the passive-liveness evaluation code) at `threshold`.
    public var pad: PadMetrics {
        PadMetrics(pReal.indices.map { i in
            PadSample(label: labels[i] == realLabel ? PadSample.bonaFide : labels[i], score: pReal[i],
                      acceptedAsLive: pReal[i] >= threshold)
        })
    }
    /// APCER of the worst attack species.
    public var apcer: Double { pad.apcerMax }
    public var bpcer: Double { pad.bpcer }
    public var acer: Double { pad.acer }

    /// Confusion counts: rows true classes (sorted), columns `columns` (the model's classes, in its order).
    public func confusion(columns: [String]) -> (rows: [String], columns: [String], counts: [[Int]]) {
        let rows = Array(Set(labels)).sorted()
        let cols = columns + Array(Set(predicted).subtracting(columns)).sorted()
        var m = Array(repeating: Array(repeating: 0, count: cols.count), count: rows.count)
        for (t, p) in zip(labels, predicted) {
            m[rows.firstIndex(of: t)!][cols.firstIndex(of: p)!] += 1
        }
        return (rows, cols, m)
    }

    /// ROC points (APCER of the worst species, 1 − BPCER) over every threshold, from the DET curve; by APCER.
    public var roc: [(apcer: Double, tpr: Double, threshold: Double)] {
        pad.det.map { (apcer: $0.apcer, tpr: 1 - $0.bpcer, threshold: $0.threshold) }
            .sorted { ($0.apcer, $0.tpr) < ($1.apcer, $1.tpr) }
    }

    /// Area under the ROC curve (trapezoids); nil with one class only.
    public var auc: Double? {
        var r = roc
        guard r.count > 1 else { return nil }
        r.insert((0, 0, .infinity), at: 0)
        r.append((1, 1, -.infinity))
        var a = 0.0
        for i in 1..<r.count { a += (r[i].apcer - r[i - 1].apcer) * (r[i].tpr + r[i - 1].tpr) / 2 }
        return a
    }

    /// Accuracy per source group (binary, at the threshold).
    public var perGroup: [(group: String, count: Int, accuracy: Double)] {
        var byGroup: [String: [Int]] = [:]
        for (i, g) in groups.enumerated() { byGroup[g, default: []].append(i) }
        let ok = zip(acceptedReal, isReal).map { $0 == $1 }
        return byGroup.keys.sorted().map { g in
            let idx = byGroup[g]!
            return (g, idx.count, Double(idx.filter { ok[$0] }.count) / Double(idx.count))
        }
    }

    /// Indices of misclassified crops, most confidently wrong first.
    public func worst(_ n: Int) -> [Int] {
        let real = isReal
        let wrong = pReal.indices.filter { acceptedReal[$0] != real[$0] }
        return Array(wrong.sorted { abs(pReal[$0] - (real[$0] ? 1 : 0)) > abs(pReal[$1] - (real[$1] ? 1 : 0)) }.prefix(n))
    }
}
