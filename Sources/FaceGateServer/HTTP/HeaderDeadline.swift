import HummingbirdCore
import Logging
import NIOCore

/// Slow-loris bound (#17): a connection must deliver its first request head (up to the blank line) within a deadline
/// or it is closed. Hummingbird's idle timeout only starts once a head has been parsed (with WebSocket upgrades
/// enabled its connection handler is added after the first head), so a client trickling header bytes — or sending
/// none — kept a connection (one of `maxConnections`) forever. Later requests on a kept-alive connection are covered
/// by the idle timeout, which raw bytes do not reset (only whole HTTP parts do).
final class HeaderDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    private var done = false
    /// The last bytes seen (a head's end "\r\n\r\n" may be split across reads).
    private var tail: [UInt8] = []

    init(deadline: TimeAmount) { self.deadline = deadline }

    func handlerAdded(context: ChannelHandlerContext) { if context.channel.isActive { arm(context) } }
    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel(); timer = nil }
    func channelActive(context: ChannelHandlerContext) { arm(context); context.fireChannelActive() }
    func channelInactive(context: ChannelHandlerContext) { timer?.cancel(); timer = nil; context.fireChannelInactive() }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil, !done else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let buffer = unwrapInboundIn(data)
            if Self.endsHead(tail: &tail, buffer.readableBytesView) {
                done = true
                timer?.cancel(); timer = nil
            }
        }
        context.fireChannelRead(data)
    }

    /// True once "\r\n\r\n" has been seen across the reads so far; `tail` keeps the last 3 bytes between reads.
    static func endsHead(tail: inout [UInt8], _ bytes: ByteBufferView) -> Bool {
        var window = tail
        for b in bytes {
            window.append(b)
            if window.count > 4 { window.removeFirst(window.count - 4) }
            if window == [13, 10, 13, 10] { return true }
        }
        tail = Array(window.suffix(3))
        return false
    }
}

/// The server's child channel with `HeaderDeadlineHandler` first in the pipeline.
struct HeaderDeadlineChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let deadline: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do { try channel.pipeline.syncOperations.addHandler(HeaderDeadlineHandler(deadline: deadline), position: .first) }
        catch { return channel.eventLoop.makeFailedFuture(error) }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async { await inner.handle(value: value, logger: logger) }
}
