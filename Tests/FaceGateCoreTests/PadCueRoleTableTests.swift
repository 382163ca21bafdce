import FaceGateCore
import Foundation
import Testing

/// Issue 18 item 5: passive cues are a typed enum whose role is on the type; fusion decides by that role only, over
/// every cue, state and mode (a table over `PadCue.allCases`: a new cue fails here until its role is stated).
@Suite("Passive cue roles: typed cues, one rule per role")
struct PadCueRoleTableTests {
    /// The role of every cue, as docs/passive-liveness.md states it ("What each cue can see").
    static let roles: [PadCue: PadCueRole] = [
        .texture: .deny, .moire: .deny, .banding: .deny, .glare: .deny, .bezel: .deny, .imu: .deny, .model: .deny,
        .flat3D: .both, .depth: .both,
        .noseDepth: .confirm, .blink: .confirm, .challenge: .confirm,
    ]

    @Test func everyCueHasItsDocumentedRoleAndName() {
        #expect(Set(PadCue.allCases) == Set(Self.roles.keys), "a cue without a stated role")
        for cue in PadCue.allCases {
            #expect(cue.role == Self.roles[cue], "\(cue)")
            #expect(PadCueReading.abstain(cue, "x").role == cue.role)
            #expect(PadCue(rawValue: cue.name) == cue)
        }
        #expect(PadCue.analyzed == PadCue.allCases.filter { $0 != .challenge }, "the analyzer reports every cue but the challenge")
        #expect(PadCue.flat3D.name == "flat-3d" && PadCue.noseDepth.name == "nose-depth")
    }

    /// One reading of each cue in each state, fused alone, in each mode: the outcome follows from the cue's role.
    @Test(arguments: PassiveMode.allCases)
    func fusionFollowsTheRoleForEveryCueAndState(mode: PassiveMode) {
        for cue in PadCue.allCases {
            for state in [PadCueState.spoof, .live, .neutral, .abstain] {
                let level: Double? = switch state { case .spoof: 0.8; case .live: 0.2; case .neutral: 0.4; case .abstain: nil }
                let r = PadCueReading(cue: cue, state: state, level: level, confidence: state == .abstain ? 0 : 0.9)
                let v = PassiveFusion.fuse([r], mode: mode)
                let what = "\(cue) \(state) \(mode): \(v.reason) \(v.decidedBy)"
                let votes = state != .abstain && cue.role != .advisory
                if votes && cue.role.canDeny && state == .spoof {
                    #expect(!v.live && v.reason == .denied && v.decidedBy == [cue], "\(what)")
                } else if mode == .strict {
                    let confirms = votes && cue.role.canConfirm && state == .live
                    #expect(v.live == confirms, "\(what)")
                    #expect(v.reason == (confirms ? .confirmed : .unconfirmed), "\(what)")
                    #expect(v.decidedBy == (cue.role.canConfirm ? [cue] : []), "\(what)")
                } else {
                    // Light mode: a confirm reading never decides, never raises the score, is never the reason.
                    #expect(v.live, "\(what)")
                    #expect(v.reason == (votes && cue.role.canDeny ? .noDenyCue : .allAbstained), "\(what)")
                    #expect(v.decidedBy == (votes && cue.role.canDeny ? [cue] : []), "\(what)")
                    #expect(v.score <= (votes && cue.role.canDeny ? 1 - (level ?? 0) : 0.5) + 1e-9, "\(what)")
                }
                #expect(!v.decidedBy.contains { $0.role == .advisory })
            }
        }
    }

    @Test func deciderNamesAreRenderedOnlyFromTheType() {
        for cue in PadCue.allCases { #expect(LivenessDecider.cue(cue).name == cue.name && LivenessDecider.cue(cue).cue == cue) }
        for t in ChallengeType.allCases { #expect(LivenessDecider.failedChallenge(t).name == "challenge:\(t.rawValue)") }
        let f = LivenessFailure.faceLost(seconds: 2)
        #expect(LivenessDecider.failure(f).name == f.code && LivenessDecider.failure(f).cue == nil)
        #expect(LivenessFailure.presentationAttack(cues: [.banding, .model]).description.contains("(banding, model)"))
    }

    /// The wire shape of a reading is unchanged ({"name","role","state",…}); a decoded reading takes its role from
    /// its cue, whatever the document claims.
    @Test func readingKeepsItsJSONShapeAndTheRoleComesFromTheCue() throws {
        let r = PadCueReading(cue: .banding, state: .spoof, level: 0.7, confidence: 0.8, note: "n")
        let obj = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as? [String: Any])
        #expect(obj["name"] as? String == "banding" && obj["role"] as? String == "deny" && obj["state"] as? String == "spoof")
        let claimed = #"{"name":"blink","role":"deny","state":"spoof","level":0.9,"confidence":1,"note":""}"#
        let d = try JSONDecoder().decode(PadCueReading.self, from: Data(claimed.utf8))
        #expect(d.cue == .blink && d.role == .confirm)
        #expect(PassiveFusion.fuse([d], mode: .light).live, "a blink reading cannot deny by claiming the deny role")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PadCueReading.self, from: Data(#"{"name":"nope","state":"spoof","confidence":1}"#.utf8)) }
    }
}
