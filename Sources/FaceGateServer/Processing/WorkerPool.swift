import FaceGate
import FaceGateCore
import Foundation

/// A fixed set of threads, each owning its own `FaceEngine` (engines, trackers and detectors are not thread-safe).
/// Work is pinned to a worker: everything one session does runs FIFO on one thread, so a session's frames are
/// processed serially and in order, while different sessions run in parallel on all cores. Native work never
/// blocks Swift's cooperative pool or the NIO event loops.
public final class WorkerPool: @unchecked Sendable {
    public typealias Job = (FaceEngine) -> Void

    final class Worker: @unchecked Sendable {
        let index: Int
        let engine: FaceEngine
        let cond = NSCondition()
        var jobs: [Job] = []
        var stopped = false
        /// Jobs queued or running (guarded by `cond`).
        var pending = 0
        /// Sessions pinned to this worker (guarded by the pool lock).
        var sessions = 0
        var thread: Thread?

        init(index: Int, engine: FaceEngine) { self.index = index; self.engine = engine }

        func loop() {
            while true {
                cond.lock()
                while jobs.isEmpty && !stopped { cond.wait() }
                if jobs.isEmpty && stopped { cond.unlock(); return }
                let job = jobs.removeFirst()
                cond.unlock()
                job(engine)
                cond.lock(); pending -= 1; cond.unlock()
            }
        }
    }

    private let workers: [Worker]
    private let lock = NSLock()
    public var count: Int { workers.count }

    /// Loads one engine per worker (models are read once per worker: ~0.5 s and ~100 MB each).
    public init(count: Int, makeEngine: () throws -> FaceEngine) throws {
        precondition(count >= 1)
        var ws: [Worker] = []
        for i in 0..<count { ws.append(Worker(index: i, engine: try makeEngine())) }
        workers = ws
        for w in ws {
            let t = Thread { w.loop() }
            t.name = "facegate-worker-\(w.index)"
            t.stackSize = 8 << 20
            w.thread = t
            t.start()
        }
    }

    /// Jobs queued or running on all workers.
    public var queueDepth: Int { workers.reduce(0) { acc, w in w.cond.lock(); defer { w.cond.unlock() }; return acc + w.pending } }

    /// Pins a new session to the worker with the fewest sessions (ties: shortest queue).
    public func assign() -> Int {
        lock.withLock {
            let w = workers.min { a, b in
                if a.sessions != b.sessions { return a.sessions < b.sessions }
                return a.pending < b.pending
            }!
            w.sessions += 1
            return w.index
        }
    }

    public func release(_ worker: Int) {
        lock.withLock { workers[worker].sessions = max(0, workers[worker].sessions - 1) }
    }

    /// Any worker (shortest queue) for one-off jobs such as analysing an uploaded image.
    public func leastBusy() -> Int {
        workers.min { a, b in
            a.cond.lock(); let pa = a.pending; a.cond.unlock()
            b.cond.lock(); let pb = b.pending; b.cond.unlock()
            return pa < pb
        }!.index
    }

    /// Runs `body` on worker `index` and returns its result.
    public func run<T: Sendable>(on index: Int, _ body: @escaping @Sendable (FaceEngine) throws -> T) async throws -> T {
        let w = workers[index]
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
            w.cond.lock()
            if w.stopped {
                w.cond.unlock()
                cont.resume(throwing: FaceGateError.runtime("server is shutting down — retry on another instance"))
                return
            }
            w.jobs.append { engine in
                do { cont.resume(returning: try body(engine)) } catch { cont.resume(throwing: error) }
            }
            w.pending += 1
            w.cond.signal()
            w.cond.unlock()
        }
    }

    /// Runs on the least busy worker.
    public func run<T: Sendable>(_ body: @escaping @Sendable (FaceEngine) throws -> T) async throws -> T {
        try await run(on: leastBusy(), body)
    }

    /// Lets queued jobs finish, then stops the threads.
    public func shutdown() {
        for w in workers { w.cond.lock(); w.stopped = true; w.cond.broadcast(); w.cond.unlock() }
    }
}
