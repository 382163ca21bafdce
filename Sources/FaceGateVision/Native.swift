import CFaceGate
import FaceGateCore

/// Calls a native function that reports failure through an error buffer, returning the message.
@inline(__always)
func withErrorBuffer<T>(_ body: (UnsafeMutablePointer<CChar>, Int32) -> T) -> (T, String) {
    var buf = [CChar](repeating: 0, count: 512)
    let result = buf.withUnsafeMutableBufferPointer { body($0.baseAddress!, Int32($0.count)) }
    let msg = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (result, msg)
}

/// An RGB colour for drawing.
public struct Color: Sendable, Hashable {
    public var r: Int, g: Int, b: Int
    public init(_ r: Int, _ g: Int, _ b: Int) { self.r = r; self.g = g; self.b = b }
    public static let green = Color(40, 200, 70)
    public static let red = Color(230, 40, 40)
    public static let yellow = Color(250, 210, 40)
    public static let white = Color(255, 255, 255)
    public static let black = Color(0, 0, 0)
    public static let cyan = Color(40, 200, 230)
    public static let blue = Color(50, 110, 250)
}

/// Process-wide native settings.
public enum NativeRuntime {
    /// Limits OpenCV and OpenBLAS worker threads (1 for single-core measurements; 0 restores the default).
    public static func setThreads(_ n: Int) { fg_set_threads(Int32(n)) }
    /// Peak resident memory of this process, bytes.
    public static var peakResidentBytes: Int { Int(fg_peak_rss()) }
}
