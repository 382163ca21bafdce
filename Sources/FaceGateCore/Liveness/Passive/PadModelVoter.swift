import Foundation

/// Where an anti-spoof model that voted in the model cue comes from, as far as other cues may rely on its vote.
/// Set by the loader from the model file's SHA-256 and its preprocessing, never from a file or catalogue name.
public enum PadModelProvenance: String, Sendable, Hashable, Codable {
    /// A catalogue model whose file matched its pinned SHA-256 and that runs with the catalogue's preprocessing,
    /// and whose votes next to the screen cues were measured (the Silent-Face MiniFASNets: fixtures, camera-variant
    /// stills, lighting variants, rendered webcam rooms; docs/passive-liveness.md sessions 12–15).
    case measuredCatalogue = "measured-catalogue"
    /// Any other model: a user's own ONNX (`--pad-model PATH`, `facegate export`), an unpinned file, a catalogue
    /// file that does not match its pin, or a pinned file fed another preprocessing. Its vote counts in the model
    /// cue, but no other cue defers to it (own models generalise poorly across sources: ACER 0.32–0.41, #15).
    case unmeasured
}

/// One anti-spoof model that voted in the model cue: its display name and its provenance.
public struct PadModelVoter: Sendable, Hashable, Codable {
    public var name: String
    public var provenance: PadModelProvenance
    public init(name: String, provenance: PadModelProvenance) { self.name = name; self.provenance = provenance }
    /// A model of unknown origin (the provenance a name alone gets).
    public static func unmeasured(_ name: String) -> PadModelVoter { PadModelVoter(name: name, provenance: .unmeasured) }
}

extension PadCueReading {
    /// True when the anti-spoof models behind this reading all are measured catalogue models (and at least one voted).
    /// False for every other cue's reading, for a model reading decoded from JSON (the wire shape does not carry the
    /// voters) and whenever a model of another provenance took part in the vote.
    public var votedOnlyByMeasuredModels: Bool {
        cue == .model && !voters.isEmpty && voters.allSatisfy { $0.provenance == .measuredCatalogue }
    }
}
