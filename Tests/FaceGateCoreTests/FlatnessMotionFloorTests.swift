import FaceGateCore
import Foundation
import Testing

/// The flat-3-D cue's deny needs motion ≥ `FlatnessCue.minimumDenyMotionOverJitter` × the landmark jitter (session 13):
/// below it a flat-looking share is reported neutral and never denies; above it a plane still denies; a solid share
/// still confirms. Driven by a synthetic planar fit (homography / similarity residuals chosen per frame).
@Suite("Flat-3-D deny motion floor")
struct FlatnessMotionFloorTests {
    /// Frame `k`'s landmarks carry `k` in every x, so the fit can tell a consecutive pair (jitter) from a reference fit.
    static func landmarks(_ k: Int) -> Landmarks68 { Landmarks68(points: Array(repeating: Point2(Double(k), 0), count: 68)) }

    /// A clip whose landmark jitter is 1 px and whose reference fits have similarity residual `motion` px and a
    /// homography residual giving the 3-D share `share` (share = √(h² − 1.5·jitter²) / s).
    static func cue(motion: Double, share: Double, frames: Int = 20) -> FlatnessCue {
        let h = ((share * motion) * (share * motion) + 1.5).squareRoot()
        var c = FlatnessCue()
        for k in 0..<frames {
            c.add(landmarks(k)) { a, b in
                if b[0].x - a[0].x == 1 { return PlanarFit(homographyRMS: 1, similarityRMS: 0.5) }
                return PlanarFit(homographyRMS: h, similarityRMS: motion)
            }
        }
        return c
    }

    @Test(arguments: [4.2, 5.0, 6.5])
    func aFlatShareUnderTheMotionFloorDoesNotDeny(motion: Double) throws {
        let r = Self.cue(motion: motion, share: 0.2).reading
        #expect(r.state == .neutral, "\(r.note)")
        #expect(try #require(r.level) <= FlatnessCue.noisyFlatLevel)
        #expect(r.note.contains("deny needs motion"))
        let v = PassiveFusion.fuse([r], mode: .light)
        #expect(v.live && v.decidedBy == [.flat3D] && v.reason == .noDenyCue)
    }

    @Test(arguments: [7.0, 8.0, 12.0])
    func aFlatShareWithEnoughMotionStillDenies(motion: Double) throws {
        let r = Self.cue(motion: motion, share: 0.2).reading
        #expect(r.state == .spoof, "\(r.note)")
        #expect(try #require(r.level) > 0.5)
        let v = PassiveFusion.fuse([r], mode: .light)
        #expect(!v.live && v.decidedBy == [.flat3D])
    }

    /// The floor only gates the deny: a solid share at low motion still reads live (confirm, strict mode only).
    @Test func aSolidShareAtLowMotionStillConfirms() {
        let r = Self.cue(motion: 4.5, share: 0.8).reading
        #expect(r.state == .live, "\(r.note)")
    }

    @Test func theFloorSitsAboveTheJudgingFloor() {
        #expect(FlatnessCue.minimumDenyMotionOverJitter > FlatnessCue.minimumMotionOverJitter)
        #expect(FlatnessCue.noisyFlatLevel < 0.5)
    }
}
