import ArgumentParser
import FaceGate
import FaceGateConfig
import FaceGateCore
import FaceGateStore
import Foundation

/// Where the gallery is (`--db`); the key and everything else come from the configuration.
struct GalleryOptions: ParsableArguments {
    @Option(help: "Gallery: SQLite path, sqlite:PATH or postgres://user:pass@host:port/db (default: [store] database, $FACEGATE_DB or ~/.local/share/facegate/facegate.sqlite).")
    var db: String?
}

/// Converts gallery and identity errors into `FaceGateError` so `reportingErrors` prints them with the documented
/// exit status (2 for the user's input, 3 for runtime failures).
func withGalleryErrors<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() }
    catch let e as GalleryError { throw e.exitCode == 2 ? FaceGateError.badInput(e.description) : FaceGateError.runtime(e.description) }
    catch let e as IdentityError { throw FaceGateError.badInput(e.description) }
}

/// Opens the gallery, key and threshold policy the way every front-end does (`RuntimeEnvironment.open`: `--db` >
/// `[store] database` > environment > data directory, the key of `[store]` / environment; no lockout store, no
/// index loaded), runs `body`, closes it; errors reported as the CLI expects.
func usingGallery(_ options: GalleryOptions, config: ConfigOptions,
                  _ body: (RuntimeEnvironment) async throws -> Void) async throws {
    try await reportingErrors {
        try await withGalleryErrors {
            let env = try await RuntimeEnvironment.open(config: try config.load(), databaseFlag: options.db, thresholdFlag: nil,
                                                        lockout: false, loadIndex: false)
            do { try await body(env) } catch { await env.close(); throw error }
            await env.close()
        }
    }
}
