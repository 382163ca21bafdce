import Foundation
import Testing

/// `make install-unlock` / `uninstall-unlock` (pam/unlock/install.sh) staged into a temporary root (DESTDIR): never
/// the machine's /etc. What lands where, with which mode; the unit runs the daemon on the module's socket as the
/// facegate account with the video group; the pam-auth-update profile puts face unlock before the password; the
/// administrator's configuration survives a re-install and an uninstall; uninstall (PURGE=1) leaves nothing.
@Suite(.serialized, .enabled(if: PamTools.available, "needs cc and libpam0g-dev (scripts/install-deps.sh)"))
final class UnlockInstallTests {
    let root: String
    let script = PamTools.repo.appendingPathComponent("pam/unlock/install.sh").path
    let bin: String

    init() throws {
        root = NSTemporaryDirectory() + "fg-install-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: root + "/stage", withIntermediateDirectories: true)
        // a stand-in for the facegate binary (the script only copies it)
        bin = root + "/facegate"
        try "#!/bin/sh\necho facegate\n".write(toFile: bin, atomically: true, encoding: .utf8)
        chmod(bin, 0o755)
    }
    deinit { try? FileManager.default.removeItem(atPath: root) }

    private var stage: String { root + "/stage" }

    private func run(_ action: String, _ extra: [String: String] = [:]) throws -> (status: Int32, out: String) {
        try PamTools.run("/bin/bash", [script, action],
                         env: ["DESTDIR": stage, "PREFIX": "/usr/local", "FACEGATE_BIN": bin, "MODULE": try PamModuleTests.built.get(),
                               "MULTIARCH": "x86_64-linux-gnu", "FACEGATE_NO_SYSTEM": "1", "PURGE": "0"].merging(extra) { $1 })
    }

    private func files() -> [String] {
        (FileManager.default.enumerator(atPath: stage)?.allObjects as? [String] ?? [])
            .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: stage + "/" + $0, isDirectory: &d) && !d.boolValue }
            .sorted()
    }

    private func mode(_ p: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: stage + p))?[.posixPermissions] as? Int) ?? -1 }

    @Test func installStagesEveryPieceAndUninstallRemovesThem() throws {
        let r = try run("install")
        #expect(r.status == 0, "\(r.out)")
        #expect(files() == ["etc/facegate/unlock-users", "etc/facegate/unlock.toml", "etc/systemd/system/facegate-unlock.service",
                            "lib/x86_64-linux-gnu/security/pam_facegate.so", "usr/local/bin/facegate",
                            "usr/local/share/doc/facegate/face-unlock.md", "usr/share/pam-configs/facegate"], "\(files())")
        #expect(mode("/lib/x86_64-linux-gnu/security/pam_facegate.so") == 0o644)
        #expect(mode("/usr/local/bin/facegate") == 0o755)

        // the unit: the daemon on the module's default socket, a dedicated account with the camera group
        let unit = try String(contentsOfFile: stage + "/etc/systemd/system/facegate-unlock.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/facegate daemon --config /etc/facegate/unlock.toml --socket /run/facegate/pam.sock"))
        #expect(unit.contains("User=facegate") && unit.contains("SupplementaryGroups=video") && unit.contains("RuntimeDirectory=facegate"))
        #expect(!unit.contains("@BINDIR@") && !unit.contains("--test-video"), "production unit: \(unit)")
        #expect(unit.contains("Type=notify") && unit.contains("NotifyAccess=main"), "the daemon reports READY=1 itself: \(unit)")
        let module = try String(contentsOfFile: PamTools.repo.appendingPathComponent("pam/pam_facegate.c").path, encoding: .utf8)
        #expect(module.contains("#define FG_DEFAULT_SOCKET \"/run/facegate/pam.sock\""), "the unit's socket is the module's default")

        // the profile: a primary auth module ahead of pam_unix (priority 256), success ends the stack, anything else
        // falls through to the password
        let profile = try String(contentsOfFile: stage + "/usr/share/pam-configs/facegate", encoding: .utf8)
        let priority = profile.split(separator: "\n").first { $0.hasPrefix("Priority:") }.flatMap { Int($0.dropFirst(9).trimmingCharacters(in: .whitespaces)) }
        #expect((priority ?? 0) > 256, "\(profile)")
        #expect(profile.contains("Auth-Type: Primary") && profile.contains("Default: no"))
        #expect(profile.contains("[success=end default=ignore]\tpam_facegate.so"))

        // the administrator's edits survive a re-install and an uninstall
        try "alice alice\n".write(toFile: stage + "/etc/facegate/unlock-users", atomically: true, encoding: .utf8)
        #expect(try run("install").status == 0)
        #expect(try String(contentsOfFile: stage + "/etc/facegate/unlock-users", encoding: .utf8) == "alice alice\n")
        let u = try run("uninstall")
        #expect(u.status == 0, "\(u.out)")
        #expect(files() == ["etc/facegate/unlock-users", "etc/facegate/unlock.toml"], "\(files())")
        try FileManager.default.createDirectory(atPath: stage + "/var/lib/facegate", withIntermediateDirectories: true)
        try "gallery".write(toFile: stage + "/var/lib/facegate/facegate.sqlite", atomically: true, encoding: .utf8)
        #expect(try run("uninstall", ["PURGE": "1"]).status == 0)
        #expect(files().isEmpty, "\(files())")
    }

    /// The staged unit and the user map are what the daemon reads: the user map parses (no entries), the config is
    /// valid for `facegate config check`.
    @Test func theInstalledConfigurationIsValid() throws {
        #expect(try run("install").status == 0)
        let cli = UnlockE2E.cli
        try #require(FileManager.default.isExecutableFile(atPath: cli), "facegate not built")
        let r = try PamTools.run(cli, ["config", "check", stage + "/etc/facegate/unlock.toml"])
        #expect(r.status == 0, "\(r.out)")
    }

    /// Without DESTDIR the tests' guard refuses (the script would otherwise install into this machine).
    @Test func noDestdirNeverTouchesTheSystem() throws {
        let r = try PamTools.run("/bin/bash", [script, "install"], env: ["DESTDIR": "", "FACEGATE_NO_SYSTEM": "1"])
        #expect(r.status == 2 && r.out.contains("refusing"), "\(r.out)")
    }
}
