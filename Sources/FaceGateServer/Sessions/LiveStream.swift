import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import HummingbirdWebSocket
import Logging
import NIOWebSocket

/// Messages the server sends on the stream (JSON text).
enum StreamMessage {
    struct Ready: Encodable {
        var type = "ready"
        var session: String
        var challenges: Int
        var expiresAt: Date
        var maxFrameBytes: Int
        var maxFps: Double
    }
    struct Prompt: Encodable { var index: Int; var challenge: String; var text: String }
    struct FrameAnswer: Encodable {
        var type = "frame"
        /// Echo of the frame's capture time (ms), so the client can measure frame-to-answer latency.
        var t: Double
        var guidance: String
        var message: String
        var prompt: Prompt?
        var progress: Double
        var completed: Int
        var total: Int
    }
    struct Dropped: Encodable { var type = "dropped"; var t: Double }
    struct Result: Encodable {
        var type = "result"
        var passed: Bool
        var status: String
        var reason: String?
        var message: String
    }
    struct Failure: Encodable { var type = "error"; var code: String; var message: String }
}

/// One WebSocket stream of one session on this instance.
actor LiveStream {
    nonisolated let id: String
    let record: SessionRecord
    let server: FaceGateServer
    let outbound: WebSocketOutboundWriter
    let worker: Int
    let pipeline: SessionPipeline
    private let frames: AsyncStream<(Data, Double, UInt64)>
    private let framesIn: AsyncStream<(Data, Double, UInt64)>.Continuation
    private var finished = false
    private var lastCaptureMs: Double?
    private var firstCaptureMs: Double?
    private var firstServerNs: UInt64?
    private(set) var lastFrameNs: UInt64
    private var inFlight = 0
    /// Bytes of the frames queued for the worker (bounded by `maxQueuedBytesPerSession`).
    private var inFlightBytes = 0
    /// A challenge is pending — its hold-still pause or the challenge itself, as of the last processed frame
    /// (`FrameStep.needsEveryFrame`): its frames are not skipped (see `check`).
    private var challengePending = false
    /// Capture time (ms) of the last frame queued for the worker (see `maxSkippedSpanMs`).
    private var lastQueuedMs: Double?
    private var recentArrivals: [UInt64] = []
    private var completed = 0
    private var processed = 0
    let openedNs: UInt64
    let opened = Date()
    /// The last frame processed (JPEG as received): the audit snapshot of the attempt.
    private var lastJPEG: Data?

    init(record: SessionRecord, server: FaceGateServer, outbound: WebSocketOutboundWriter, plan: ChallengePlan) {
        id = record.id
        self.record = record
        self.server = server
        self.outbound = outbound
        worker = server.pool.assign()
        pipeline = SessionPipeline(plan: plan, configuration: server.config.liveness, setup: server.livenessSetup(for: record.spec),
                                   claimedUser: record.spec.mode == .liveness ? record.spec.user : nil,
                                   enrollment: record.spec.mode == .enroll)
        (frames, framesIn) = AsyncStream.makeStream(of: (Data, Double, UInt64).self, bufferingPolicy: .unbounded)
        openedNs = DispatchTime.now().uptimeNanoseconds
        lastFrameNs = openedNs
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    // MARK: receive side

    enum Verdict { case accept, drop, reject(StreamCloseCode, String) }

    /// Validates a binary frame message and queues it (or drops it when the session is already busy).
    func receive(_ bytes: [UInt8]) async {
        guard !finished else { return }
        let now = Self.now()
        let v = check(bytes, now: now)
        switch v {
        case .reject(let code, let message):
            server.metrics.framesRejected.increment()
            await close(code, message)
        case .drop:
            server.metrics.framesDropped.increment()
            if challengePending { server.metrics.challengeFramesDropped.increment() }
            let t = Self.captureMs(bytes) ?? 0
            try? await outbound.writeTextMessage(JSON.string(StreamMessage.Dropped(t: t)))
        case .accept:
            inFlight += 1
            inFlightBytes += bytes.count - 8
            let jpeg = Data(bytes[8...])
            framesIn.yield((jpeg, Self.captureMs(bytes)!, now))
        }
    }

    static func captureMs(_ b: [UInt8]) -> Double? {
        guard b.count >= 8 else { return nil }
        var u: UInt64 = 0
        for i in 0..<8 { u = u << 8 | UInt64(b[i]) }
        return Double(bitPattern: u)
    }

    private func check(_ b: [UInt8], now: UInt64) -> Verdict {
        let cfg = server.config
        if b.count - 8 > cfg.maxFrameBytes {
            return .reject(.frameTooLarge, "frame of \(b.count - 8) bytes exceeds \(cfg.maxFrameBytes) — send smaller JPEGs (640x480, quality 0.7)")
        }
        guard b.count >= 8 + 4, let t = Self.captureMs(b), t.isFinite, t >= 0,
              b[8] == 0xFF, b[9] == 0xD8 else {
            return .reject(.malformedFrame, "a frame is one binary message: 8-byte big-endian float64 capture time in ms, then JPEG bytes")
        }
        // Size and scan count from the JPEG header, before the frame reaches the session's worker (#17: a progressive
        // decompression bomb under the byte limit froze the worker's other sessions).
        do { _ = try ImageHeader.check(Data(b[8...]), .frame) } catch let r as ImageRefusal {
            if case .tooLarge = r { return .reject(.frameTooLarge, "\(r)") }
            if case .tooManyScans = r { return .reject(.frameTooLarge, "\(r)") }
            return .reject(.malformedFrame, "frame is not a readable JPEG (\(r)) — send image/jpeg bytes after the 8-byte timestamp")
        } catch { return .reject(.malformedFrame, "frame is not a readable JPEG") }
        if let last = lastCaptureMs, t <= last {
            return .reject(.outOfOrder, "capture time \(t) ms is not after the previous frame's \(last) ms — send frames in capture order")
        }
        if let t0 = firstCaptureMs, let s0 = firstServerNs {
            let captureElapsed = (t - t0) / 1000
            let serverElapsed = Double(now - s0) / 1e9
            if serverElapsed > captureElapsed + cfg.maxClockLag {
                return .reject(.aheadOfRealTime, "capture times run \(Int(serverElapsed - captureElapsed)) s behind real time — stream a live camera at its own pace, not rendered frames")
            }
            if captureElapsed > serverElapsed + cfg.clockSlack {
                return .reject(.aheadOfRealTime, "capture times run ahead of real time — stream a live camera, not a recording")
            }
        } else {
            firstCaptureMs = t; firstServerNs = now
        }
        recentArrivals.append(now)
        recentArrivals.removeAll { now - $0 > 1_000_000_000 }
        if Double(recentArrivals.count) > cfg.maxFPS {
            return .reject(.tooManyFrames, "more than \(Int(cfg.maxFPS)) frames per second — send at most 30 fps")
        }
        lastCaptureMs = t
        lastFrameNs = now
        // Skip calibration frames first (calibration only takes a frame longer); a pending challenge keeps every
        // frame up to a bounded backlog, because a skipped frame can be the blink. Skipping thins the stream but
        // never cuts a hole longer than `maxSkippedSpanMs` into it (up to the same bounded backlog).
        if inFlightBytes + (b.count - 8) > cfg.maxQueuedBytesPerSession { return .drop }
        let backlogBound = max(cfg.maxInFlightDuringChallenge, cfg.maxInFlightPerSession)
        if inFlight >= (challengePending ? backlogBound : cfg.maxInFlightPerSession) {
            let holeTooLong = t - (lastQueuedMs ?? -Double.infinity) >= Self.maxSkippedSpanMs
            if challengePending || !holeTooLong || inFlight >= backlogBound { return .drop }
        }
        lastQueuedMs = t
        return .accept
    }

    /// Frames skipped outside a challenge leave at most this much capture time between two queued frames: a longer
    /// hole reads as the face leaving the camera (`LivenessConfiguration.defaultMaxFaceGap`, 0.7 s — a 1 s worker stall
    /// during calibration failed the session as face_lost when every frame behind it was skipped,
    /// `FrameSchedulingTests`). 250 ms keeps ≥ 4 frames a second and leaves the rest of the 0.7 s for network stalls.
    static let maxSkippedSpanMs = 250.0

    /// A text message from the client: `{"type":"cancel"}` ends the session (failed); anything else is malformed.
    func receiveText(_ s: String) async {
        struct Msg: Decodable { var type: String }
        if let m = try? JSONDecoder().decode(Msg.self, from: Data(s.utf8)), m.type == "cancel" {
            await fail(reason: "cancelled", denial: .cancelled, message: "cancelled by the client")
            return
        }
        if let m = try? JSONDecoder().decode(Msg.self, from: Data(s.utf8)), m.type == "ping" { return }
        server.metrics.framesRejected.increment()
        await close(.malformedFrame, "unknown text message — send frames as binary messages, or {\"type\":\"cancel\"}")
    }

    // MARK: processing

    func start() async throws {
        let plan = pipeline.liveness.plan
        try await outbound.writeTextMessage(JSON.string(StreamMessage.Ready(
            session: id, challenges: plan.count, expiresAt: record.expires,
            maxFrameBytes: server.config.maxFrameBytes, maxFps: server.config.maxFPS)))
    }

    /// Processes queued frames in order on the session's worker, answering each.
    func processLoop() async {
        for await (jpeg, t, arrived) in frames {
            if finished { break }
            let pipeline = self.pipeline
            let step: FrameStep
            do {
                step = try await server.pool.run(on: worker) { engine in try pipeline.process(jpeg: jpeg, captureMs: t, engine: engine) }
            } catch {
                inFlight -= 1
                inFlightBytes -= jpeg.count
                server.metrics.framesRejected.increment()
                await close(.malformedFrame, "a frame could not be decoded as JPEG — send image/jpeg bytes after the 8-byte timestamp")
                break
            }
            inFlight -= 1
            inFlightBytes -= jpeg.count
            server.metrics.framesTotal.increment()
            processed += 1
            lastJPEG = jpeg
            completed += step.passed.count
            challengePending = step.needsEveryFrame
            if finished { break }
            let answer = StreamMessage.FrameAnswer(
                t: t, guidance: step.guidance.rawValue, message: step.prompt == nil ? step.guidance.text : step.promptText ?? step.guidance.text,
                prompt: step.prompt.map { .init(index: $0.index, challenge: $0.type.rawValue, text: $0.text) },
                progress: (step.progress * 1000).rounded() / 1000, completed: completed, total: pipeline.liveness.plan.count)
            try? await outbound.writeTextMessage(JSON.string(answer))
            server.metrics.frameLatency.record(Double(Self.now() - arrived) / 1e9)
            if let r = step.result {
                await conclude(r)
                break
            }
        }
    }

    /// Checks the session's deadline and frame timeout; called periodically.
    func tick() async -> Bool {
        guard !finished else { return false }
        if Date() >= record.expires {
            await expire()
            return false
        }
        if Double(Self.now() - lastFrameNs) / 1e9 > server.config.frameTimeout {
            await close(.tooSlow, "no frame for \(Int(server.config.frameTimeout)) s — keep the camera streaming")
            return false
        }
        return true
    }

    // MARK: endings

    /// Liveness is decided: identity (verification or enrollment), then record and answer. Endings run in an
    /// unstructured task so the stream's cancellation (client gone, another task ended) cannot cut them short.
    private func conclude(_ r: LivenessResult) async {
        guard !finished else { return }
        finished = true
        await Task { await self.concludeBody(r) }.value
    }

    private func concludeBody(_ r: LivenessResult) async {
        framesIn.finish()
        let c = await server.conclude(record, pipeline: pipeline, result: r)
        let anchors = pipeline.anchors
        let sealed = anchors.isEmpty ? nil : try? server.sealer.seal(JSONEncoder().encode(anchors.map(\.embedding)))
        await server.finish(record, status: c.status, outcome: c.outcome, embeddings: sealed, result: r, worker: worker,
                            started: opened, snapshotJPEG: lastJPEG)
        let msg = StreamMessage.Result(passed: c.outcome.passed, status: c.status.rawValue, reason: c.outcome.reason, message: c.ending.message)
        try? await outbound.writeTextMessage(JSON.string(msg))
        try? await outbound.close(.normalClosure, reason: c.status.rawValue)
    }

    /// Fails the session without a liveness result (protocol violation, cancel, disconnect, shutdown): `reason` is
    /// the code the client sees, `denial` the typed reason the decision, audit and lockout use.
    func fail(reason: String, denial: DenialReason, message: String, closeCode: WebSocketErrorCode? = nil) async {
        guard !finished else { return }
        finished = true
        await Task { await self.failBody(reason: reason, denial: denial, message: message, closeCode: closeCode) }.value
    }

    private func failBody(reason: String, denial: DenialReason, message: String, closeCode: WebSocketErrorCode?) async {
        framesIn.finish()
        var outcome = SessionOutcome.empty
        outcome.frames = processed
        outcome.reason = reason
        outcome.denial = denial
        outcome.detail = message
        await server.finish(record, status: .failed, outcome: outcome, worker: worker, started: opened, snapshotJPEG: lastJPEG)
        try? await outbound.writeTextMessage(JSON.string(StreamMessage.Failure(code: reason, message: message)))
        if let c = closeCode { try? await outbound.close(c, reason: reason) }
    }

    func close(_ code: StreamCloseCode, _ message: String) async {
        await fail(reason: code.reason, denial: code.denialReason, message: message, closeCode: .unknown(code.rawValue))
    }

    func abort(reason: String, closeCode: WebSocketErrorCode) async {
        await fail(reason: reason, denial: .cancelled, message: "the server is shutting down — start a new session", closeCode: closeCode)
    }

    private func expire() async {
        guard !finished else { return }
        finished = true
        await Task { await self.expireBody() }.value
    }

    private func expireBody() async {
        framesIn.finish()
        var outcome = SessionOutcome.empty
        outcome.frames = processed; outcome.reason = "expired"; outcome.detail = "the session expired"
        outcome.denial = StreamCloseCode.expired.denialReason
        // An expired stream is a timeout, counted like the liveness session's own timeout (`FaceGateServer.finish`).
        await server.finish(record, status: .expired, outcome: outcome, worker: worker, started: opened, snapshotJPEG: lastJPEG)
        try? await outbound.writeTextMessage(JSON.string(StreamMessage.Failure(code: "expired", message: "the session expired — start a new one")))
        try? await outbound.close(.unknown(StreamCloseCode.expired.rawValue), reason: "expired")
    }

    /// The client went away before a result.
    func disconnected() async {
        await fail(reason: "disconnected", denial: .cancelled, message: "the client closed the stream before the result")
    }
}
