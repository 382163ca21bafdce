import FaceGateActions
import FaceGateConfig
import Foundation
import Logging
import Testing

/// The spool's failed/ directory is bounded (#17): a mail alert given up carries the attempt's face snapshot, so
/// expired items are kept for inspection only within `FailedRetention` (count and age), never forever.
@Suite("Spool failed/ retention (#17)", .serialized)
struct SpoolRetentionTests {
    struct AlwaysFails: SpoolDeliverer {
        func deliver(_ item: SpoolItem) async throws { throw ActionError.mail(code: 7, detail: "connection refused (test)") }
    }

    @Test("items given up beyond the newest maxItems, or older than maxAge, are deleted from failed/")
    func failedIsBounded() async throws {
        let dir = TestPaths.tempDir("spool-retention")
        let spool = try Spool(directory: dir.appendingPathComponent("mail"), failedRetention: FailedRetention(maxItems: 3, maxAge: 3600))
        let worker = SpoolWorker(spool: spool, policy: RetryPolicy(initialDelay: 0.01, maxDelay: 0.01, maxAge: 1),
                                 deliverer: AlwaysFails(), logger: Logger(label: "t"))
        // Five alerts queued two minutes ago (past maxAge 1 s): the worker gives every one up.
        var labels: [String] = []
        for i in 0..<5 {
            let item = try spool.enqueue(kind: "mail", label: "alert \(i)", payload: Data("snapshot \(i)".utf8), now: Date().addingTimeInterval(-120 + Double(i)))
            labels.append(item.label)
        }
        await worker.drainOnce()
        #expect(spool.pending().isEmpty)
        #expect(await worker.expired == 5)
        let kept = spool.failed()
        #expect(kept.count == 3, "failed/ holds \(kept.count) items")
        #expect(kept.map(\.label) == Array(labels.suffix(3)), "the newest are kept: \(kept.map(\.label))")

        // An item given up 8 days ago (file time) is deleted at the next pass, even with room under maxItems.
        let old = try #require(try FileManager.default.contentsOfDirectory(atPath: spool.failedDirectory.path).filter { $0.hasSuffix(".json") }.sorted().first)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-8 * 86_400)],
                                              ofItemAtPath: spool.failedDirectory.appendingPathComponent(old).path)
        await worker.drainOnce()
        #expect(spool.failed().count == 2)
        #expect(!FileManager.default.fileExists(atPath: spool.failedDirectory.appendingPathComponent(old).path))
    }

    @Test("the default keeps at most 100 items for 7 days")
    func defaults() throws {
        let spool = try Spool(directory: TestPaths.tempDir("spool-default").appendingPathComponent("mail"))
        #expect(spool.failedRetention.maxItems == 100)
        #expect(spool.failedRetention.maxAge == 7 * 86_400)
    }
}

/// The retention is configurable (`[actions] spool_failed_keep`, `spool_failed_max_age`), defaults 100 items / 7 days.
@Suite("Spool failed/ retention from the configuration (#17)")
struct SpoolRetentionConfigTests {
    @Test("defaults equal FailedRetention's; the keys and FACEGATE_ACTIONS_* override them")
    func configurable() throws {
        let d = try FaceGateConfig(ConfigLoader.resolve(text: nil, path: nil, environment: [:], overrides: [:]), environment: [:])
        #expect(d.spoolFailedKeep == FailedRetention.defaultMaxItems && d.spoolFailedMaxAge == FailedRetention.defaultMaxAge)
        let text = "[actions]\nspool_failed_keep = 3\nspool_failed_max_age = \"2h\"\n"
        let c = try FaceGateConfig(ConfigLoader.resolve(text: text, path: nil, environment: [:], overrides: [:]), environment: [:])
        #expect(c.spoolFailedKeep == 3 && c.spoolFailedMaxAge == 7200)
        let env = ["FACEGATE_ACTIONS_SPOOL_FAILED_KEEP": "0"]
        let e = try FaceGateConfig(ConfigLoader.resolve(text: text, path: nil, environment: env, overrides: [:]), environment: env)
        #expect(e.spoolFailedKeep == 0)
        #expect(!ConfigLoader.resolve(text: "[actions]\nspool_failed_keep = -1\n", path: nil, environment: [:], overrides: [:]).isValid)
    }
}
