import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation
import Testing

/// Native handles are freed by deinit: repeated calls do not grow memory.
@Suite(.serialized) struct NativeHandleTests {
    /// Current resident set size (bytes) from /proc.
    static func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let parts = s.split(separator: " ")
        return parts.count > 1 ? (Int(parts[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    @Test func repeatedNativeCallsDoNotLeak() throws {
        try #require(TestPaths.hasTestImages && TestPaths.hasModels, "needs `make testdata models`")
        let path = TestPaths.testImage("obama.jpg")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let landmarks = try LandmarkModel(path: ModelDirectory.resolve().locate(BaseModels.landmarks68, verify: false))
        let box = Rect(x: 100, y: 100, width: 200, height: 200)
        func round(_ i: Int) throws {
            let img = try Image.decode(data)
            let small = img.resized(width: 640, height: 480)
            let crop = small.cropped(Rect(x: -10, y: -10, width: 300, height: 300))
            _ = crop.jpeg()
            _ = small.flippedHorizontally().rotated(degrees: 5)
            let lm = landmarks.predict(small, box: box)
            _ = PoseEstimator.pose(Landmarks68(points: lm), width: 640, height: 480)
            if i % 10 == 0 { _ = try FaceDetector(.hog) }
        }
        for i in 0..<20 { try round(i) }  // warm-up: allocator pools, lazy library state
        let before = Self.residentBytes()
        for i in 0..<150 { try round(i) }
        let grown = Self.residentBytes() - before
        // 150 rounds allocate > 1 GB in total (a 1.4 MP decode each); a leak of any handle would show as hundreds of MB.
        #expect(grown < 40 << 20, "resident memory grew by \(grown >> 20) MB over 150 rounds")
    }
}
