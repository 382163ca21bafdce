import Foundation

extension PadMetrics {
    /// ISO/IEC 30107-3 reports per attack species: one `PadMetrics` per species over all bona-fide presentations and
    /// only that species' attacks, so its DET curve (APCER of that species vs BPCER) is not masked by the worst
    /// species. Sorted by species name; empty when there are no attacks.
    public static func bySpecies(_ samples: [PadSample]) -> [(species: String, metrics: PadMetrics)] {
        let bona = samples.filter(\.isBonaFide)
        let names = Set(samples.filter { !$0.isBonaFide }.map(\.label)).sorted()
        return names.map { name in (name, PadMetrics(bona + samples.filter { $0.label == name })) }
    }
}
