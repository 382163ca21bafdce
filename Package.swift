// swift-tools-version:6.1
import PackageDescription
import Foundation

// The one native target: OpenCV 4.6 + dlib 19.24 behind a plain C header.
// Always optimised, even in debug builds: dlib at -O0 is ~100x slower
// (HOG 320x240: 420 ms vs 5 ms measured on this machine).
let nativeFlags: [CXXSetting] = [
    .unsafeFlags(["-O2", "-std=c++17", "-DNDEBUG", "-DDLIB_NO_GUI_SUPPORT", "-DDLIB_USE_BLAS", "-DDLIB_USE_LAPACK",
                  "-I/usr/include/opencv4", "-fno-strict-aliasing", "-Wno-deprecated-declarations"]
                 + hostVectorFlags()),
]

/// The vector extensions of the build host. dlib's HOG scanner, shape predictor and DNN layers are header templates
/// compiled here, and use AVX only when compiled with it (raw dlib on this machine, -O2 vs -O2 -mavx2 -mfma:
/// HOG 320x240 20 -> 10.5 ms, embedding 40 -> 25 ms). The binary then needs a CPU with the same extensions;
/// set FACEGATE_PORTABLE=1 (and touch Package.swift) to build for any x86-64.
func hostVectorFlags() -> [String] {
    if ProcessInfo.processInfo.environment["FACEGATE_PORTABLE"] == "1" { return [] }
    #if arch(x86_64)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
    let flags = Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
    if flags.contains("avx2") && flags.contains("fma") { return ["-mavx2", "-mfma"] }
    if flags.contains("avx") { return ["-mavx"] }
    #endif
    return []
}

let package = Package(
    name: "FaceGate",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "FaceGate", targets: ["FaceGate"]),
        .executable(name: "facegate", targets: ["facegate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C++17 shim over OpenCV + dlib. The only code that includes them.
        .target(
            name: "CFaceGate",
            path: "Sources/CFaceGate",
            sources: ["src"],
            publicHeadersPath: "include",
            cxxSettings: nativeFlags,
            linkerSettings: [
                .linkedLibrary("opencv_core"), .linkedLibrary("opencv_imgproc"), .linkedLibrary("opencv_imgcodecs"),
                .linkedLibrary("opencv_videoio"), .linkedLibrary("opencv_objdetect"), .linkedLibrary("opencv_calib3d"),
                .linkedLibrary("opencv_dnn"), .linkedLibrary("opencv_ml"), .linkedLibrary("opencv_video"),
                .linkedLibrary("dlib"), .linkedLibrary("blas"), .linkedLibrary("lapack"),
                .linkedLibrary("m"), .linkedLibrary("stdc++"),
                .linkedLibrary("jpeg"),   // image.cpp decodes JPEG frames straight to BGR with libjpeg-turbo
            ]
        ),
        // libcurl for SMTP (mail alerts).
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        // Pure Swift: geometry, liveness logic, identity matching, metrics. No native deps.
        .target(
            name: "FaceGateCore",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        // Swift layer that owns native handles.
        .target(name: "FaceGateVision", dependencies: ["CFaceGate", "FaceGateCore"]),
        // Storage: encrypted templates in SQLite (GRDB) or PostgreSQL.
        .target(
            name: "FaceGateStore",
            dependencies: [
                "FaceGateCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Settings: the TOML schema + loader (file, environment, flags) and the store/key resolution. No network, no
        // native code: a front-end that only reads configuration links this, not libcurl.
        .target(
            name: "FaceGateConfig",
            dependencies: [
                "FaceGateCore", "FaceGateStore",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Actions: overlays, voice, mail, webhooks, lock, audit, lockout.
        .target(
            name: "FaceGateActions",
            dependencies: [
                "FaceGateCore", "FaceGateStore", "FaceGateConfig", "CCurl",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The pipeline every front-end shares (the runtime: CLI authenticate/enroll, server, unlock daemon).
        .target(
            name: "FaceGate",
            dependencies: ["FaceGateCore", "FaceGateVision", "FaceGateStore", "FaceGateConfig", "FaceGateActions",
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The lab: training, export, evaluation, attack simulation, benches, plots, model installer. Only the CLI's
        // lab commands (train, gather, export, evaluate*, attack, bench, models install) link it; the runtime does not.
        .target(
            name: "FaceGateLab",
            dependencies: ["FaceGate", "FaceGateCore", "FaceGateVision",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "FaceGateServer",
            dependencies: [
                "FaceGate", "FaceGateConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            resources: [.copy("Public")]
        ),
        .executableTarget(
            name: "facegate",
            dependencies: ["FaceGate", "FaceGateConfig", "FaceGateLab", "FaceGateServer",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "FaceGateCoreTests", dependencies: ["FaceGateCore"]),
        .testTarget(name: "FaceGateVisionTests", dependencies: ["FaceGate", "FaceGateLab", "FaceGateVision", "FaceGateCore"]),
        .testTarget(name: "FaceGateStoreTests", dependencies: ["FaceGateStore", "FaceGateCore"]),
        .testTarget(name: "FaceGateActionsTests", dependencies: ["FaceGateActions", "FaceGateConfig", "FaceGate", "FaceGateCore"]),
        .testTarget(name: "FaceGateServerTests", dependencies: ["FaceGateServer", "FaceGate", "FaceGateConfig", "FaceGateLab",
                                                               .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                               .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket")]),
        // Face unlock: the C PAM module (pam/pam_facegate.c, built by the tests and `make pam`) against a fake daemon.
        .testTarget(name: "FaceUnlockTests", dependencies: [], exclude: ["Support"]),
    ],
    cxxLanguageStandard: .cxx17
)

// Benchmark suite (ordo-one/benchmark): only with FACEGATE_BENCHMARKS=1, so `make test`, CI and everyday builds never
// resolve or build it. Run: `make benchmarks` (see docs/benchmarks.md). RuntimeInterposer stays off: its package is
// not available here and it is only needed for ARC metrics, which this suite does not use.
if ProcessInfo.processInfo.environment["FACEGATE_BENCHMARKS"] == "1" {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", .upToNextMinor(from: "1.38.0"), traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "FaceGateBenchmarks",
            dependencies: ["FaceGate", "FaceGateCore", "FaceGateVision", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/FaceGateBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
}
