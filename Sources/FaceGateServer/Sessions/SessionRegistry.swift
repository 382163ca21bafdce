import FaceGateCore
import Foundation

/// The sessions streaming on this instance.
public actor SessionRegistry {
    private var live: [String: LiveStream] = [:]
    public private(set) var isShuttingDown = false

    public init() {}

    public var count: Int { live.count }

    /// False when the server is shutting down (the stream is refused).
    func add(_ s: LiveStream) -> Bool {
        guard !isShuttingDown else { return false }
        live[s.id] = s
        return true
    }

    func remove(_ id: String) { live[id] = nil }

    /// Fails every streaming session cleanly (recorded as failed, socket closed with 1001) and refuses new ones.
    public func shutdownAll() async {
        isShuttingDown = true
        let all = Array(live.values)
        for s in all { await s.abort(reason: "server_shutdown", closeCode: .goingAway) }
    }
}

/// WebSocket close codes of the stream (4000–4999 is the application range).
public enum StreamCloseCode: UInt16, Sendable, CaseIterable {
    /// A frame that is not `8-byte big-endian float64 ms + JPEG`, or an unknown text message.
    case malformedFrame = 4400
    /// No frame within the frame timeout (or before the first frame).
    case tooSlow = 4408
    /// Capture timestamp not strictly increasing.
    case outOfOrder = 4409
    /// The session's lifetime ended.
    case expired = 4410
    /// A frame above the size limit.
    case frameTooLarge = 4413
    /// Capture timestamps advance faster than real time (frames pushed from a recording).
    case aheadOfRealTime = 4422
    /// More frames per second than any camera sends.
    case tooManyFrames = 4429

    /// Why a session closed with this code is denied. A stalled client (tab hidden, network gone) abandoned the
    /// attempt like a disconnect (`cancelled`, not counted, #17); frames faster than real time are what a replayed
    /// or injected recording produces (`spoof`); a broken stream is not an attack on a user (`error`, not counted).
    public var denialReason: DenialReason {
        switch self {
        case .tooSlow: return .cancelled
        case .aheadOfRealTime: return .spoof
        case .expired: return .timeout
        case .malformedFrame, .outOfOrder, .frameTooLarge, .tooManyFrames: return .error
        }
    }

    public var reason: String {
        switch self {
        case .malformedFrame: return "malformed_frame"
        case .tooSlow: return "too_slow"
        case .outOfOrder: return "out_of_order"
        case .expired: return "expired"
        case .frameTooLarge: return "frame_too_large"
        case .aheadOfRealTime: return "ahead_of_real_time"
        case .tooManyFrames: return "too_many_frames"
        }
    }
}
