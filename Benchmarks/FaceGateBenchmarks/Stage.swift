import Benchmark
import FaceGateVision
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thread CPU time of the timed call, in microseconds: what `facegate bench` calls "cpu". The package's `cpuTotal`
/// is read from /proc in scheduler ticks (10 ms on Linux), too coarse for one call of a few ms; with one native
/// thread (`NativeRuntime.setThreads(1)`) all the work runs on the calling thread, so this is the stage's CPU cost
/// even while other jobs share the cores.
var cpuThreadMetric: BenchmarkMetric { .custom("cpuThread_us", polarity: .prefersSmaller, useScalingFactor: true) }

func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// State built once per benchmark, in the benchmark's own process, by the configuration's setup hook (not timed).
/// A failure is kept and reported as that benchmark's failure instead of aborting the whole run.
final class Prepared<State> {
    private let make: () throws -> State
    private var result: Result<State, Error>?
    init(_ make: @escaping () throws -> State) { self.make = make }
    func prepare() { if result == nil { result = Result { try make() } } }
    func get() throws -> State {
        prepare()
        return try result!.get()
    }
}

/// Benchmarks skipped on this machine, with the reason. Each benchmark runs in a process of its own and every
/// process registers the whole suite, so a reason is printed once per `swift package benchmark` run: the first
/// process of the run (all share the BenchmarkTool parent) leaves a marker file for the others.
enum Skips {
    static func report(_ name: String, _ reason: String) {
        let marker = NSTemporaryDirectory() + "facegate-benchmarks-skips-\(getppid())-\(name)"
        guard !FileManager.default.fileExists(atPath: marker) else { return }
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
        FileHandle.standardError.write(Data("FaceGateBenchmarks: skipping \(name): \(reason)\n".utf8))
    }
}

/// Registers one stage. `requirements` are checked now (file presence only) and skip the benchmark with a printed
/// reason; `prepare` runs once before the iterations; each iteration times one `step` (wall clock, thread CPU,
/// peak RSS, mallocs), with `before` (untimed) run ahead of it.
func stage<State>(_ name: String, requirements: [String?], configuration: Benchmark.Configuration = Benchmark.defaultConfiguration,
                  prepare: @escaping () throws -> State, before: @escaping (State) -> Void = { _ in },
                  step: @escaping (State) throws -> Void) {
    if let reason = requirements.compactMap({ $0 }).first {
        Skips.report(name, reason)
        return
    }
    let state = Prepared {
        NativeRuntime.setThreads(1)
        return try prepare()
    }
    var config = configuration
    config.setup = { state.prepare() }
    Benchmark(name, configuration: config, closure: { (benchmark: Benchmark) throws in
        let s = try state.get()
        before(s)
        benchmark.startMeasurement()
        let c0 = threadCPUNanoseconds()
        try step(s)
        let c1 = threadCPUNanoseconds()
        benchmark.stopMeasurement()
        benchmark.measurement(cpuThreadMetric, Int((c1 - c0) / 1_000))
    })
}
