import Foundation

/// Which gallery user a Linux account unlocks as. Without a map file every account maps to the gallery user of the
/// same name (`facegate enroll --user $USER`). With a map file (`--user-map`, installed as
/// /etc/facegate/unlock-users) only the accounts it lists can use face unlock:
///
///     # linux-account   gallery-user
///     alice             alice
///     bob               robert.smith
///
/// An account that maps to nobody is answered `RESULT UNKNOWN_USER` (the password follows).
public struct UnlockUserMap: Sendable, Equatable {
    public var entries: [String: String]
    /// No map file: account name = gallery user name.
    public var sameName: Bool

    public static let sameNameMap = UnlockUserMap(entries: [:], sameName: true)

    public init(entries: [String: String], sameName: Bool) { self.entries = entries; self.sameName = sameName }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var text: String
        public var description: String { "user map line \(line): \(text) — expected 'linux-account gallery-user'" }
    }

    /// Parses the map file's text: two fields per line, `#` comments, blank lines ignored; an account listed twice is
    /// an error (which one was meant?).
    public static func parse(_ text: String) throws -> UnlockUserMap {
        var entries: [String: String] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.isEmpty { continue }
            guard fields.count == 2 else { throw ParseError(line: i + 1, text: "\(fields.count) fields") }
            guard entries[fields[0]] == nil else { throw ParseError(line: i + 1, text: "'\(fields[0])' is listed twice") }
            entries[fields[0]] = fields[1]
        }
        return UnlockUserMap(entries: entries, sameName: false)
    }

    public static func load(path: String) throws -> UnlockUserMap {
        try parse(try String(contentsOfFile: path, encoding: .utf8))
    }

    /// The gallery user for a Linux account, nil when it has none.
    public func galleryUser(for account: String) -> String? {
        if let u = entries[account] { return u }
        return sameName ? account : nil
    }
}

/// One camera user at a time: an attempt holds the camera; at most `maxWaiting` more wait for it, each at most
/// `maxWait` seconds; anything beyond is answered "busy" at once (the module then falls back to the password).
public final class CameraGate: @unchecked Sendable {
    public let maxWaiting: Int
    public let maxWait: TimeInterval
    private let condition = NSCondition()
    private var busy = false
    private var waiting = 0

    public init(maxWaiting: Int, maxWait: TimeInterval) { self.maxWaiting = maxWaiting; self.maxWait = maxWait }

    /// True: the caller holds the camera and must `leave()`. False: busy (queue full, or waited too long).
    public func enter() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !busy { busy = true; return true }
        guard waiting < maxWaiting else { return false }
        waiting += 1
        defer { waiting -= 1 }
        let until = Date().addingTimeInterval(maxWait)
        while busy {
            if !condition.wait(until: until) { if busy { return false } }
        }
        busy = true
        return true
    }

    public func leave() {
        condition.lock()
        busy = false
        condition.signal()
        condition.unlock()
    }
}
