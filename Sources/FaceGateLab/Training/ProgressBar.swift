import FaceGate
import Foundation

/// A one-line text progress bar: `[#########.........]  45/140 frames  12 faces  ETA 0:07`.
public struct ProgressBar: Sendable {
    public var total: Int?
    public var width: Int
    public let started: Date

    public init(total: Int?, width: Int = 24, started: Date = Date()) {
        self.total = total; self.width = width; self.started = started
    }

    /// Seconds left at the current rate, nil when unknown.
    public func eta(done: Int, now: Date = Date()) -> Double? {
        guard let total, total > 0, done > 0, done <= total else { return nil }
        let elapsed = now.timeIntervalSince(started)
        return elapsed / Double(done) * Double(total - done)
    }

    public func render(done: Int, unit: String, extra: String = "", now: Date = Date()) -> String {
        var s = ""
        if let total, total > 0 {
            let frac = min(1, max(0, Double(done) / Double(total)))
            let filled = Int((frac * Double(width)).rounded(.down))
            s += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            s += "\(done)/\(total) \(unit)"
        } else {
            s += "\(done) \(unit)"
        }
        if !extra.isEmpty { s += "  " + extra }
        if let e = eta(done: done, now: now), done < (total ?? 0) {
            s += "  ETA " + Self.clock(e)
        } else {
            s += "  " + Self.clock(now.timeIntervalSince(started))
        }
        return s
    }

    /// 75 → "1:15", 3725 → "1:02:05".
    public static func clock(_ seconds: Double) -> String {
        let t = Int(max(0, seconds).rounded())
        let h = t / 3600, m = (t % 3600) / 60, s = t % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}

/// Writes progress lines to standard error: redrawn in place on a terminal, at most every few seconds otherwise
/// (so logs of CI runs stay short).
public final class ProgressPrinter: @unchecked Sendable {
    private let isTTY: Bool
    private var lastPrint = Date.distantPast
    private var lastLength = 0
    private let quiet: Bool
    /// Shortest gap between two progress lines when standard error is not a terminal.
    public static let logInterval = 5.0
    /// Shortest gap between redraws on a terminal (smooth without flooding the terminal).
    public static let ttyInterval = 0.1

    public init(quiet: Bool = false) {
        self.quiet = quiet
        isTTY = isatty(STDERR_FILENO) != 0
    }

    /// Shows a line; `force` prints even if one was printed very recently (e.g. the last update).
    public func update(_ line: String, force: Bool = false) {
        guard !quiet else { return }
        let now = Date()
        let gap = isTTY ? Self.ttyInterval : Self.logInterval
        guard force || now.timeIntervalSince(lastPrint) >= gap else { return }
        lastPrint = now
        if isTTY {
            let pad = max(0, lastLength - line.count)
            write("\r" + line + String(repeating: " ", count: pad))
            lastLength = line.count
        } else {
            write(line + "\n")
        }
    }

    /// Ends the in-place line (prints a newline on a terminal).
    public func finish(_ line: String? = nil) {
        guard !quiet else { return }
        if let line { update(line, force: true) }
        if isTTY && lastLength > 0 { write("\n") }
        lastLength = 0
    }

    /// A message on its own line (ends any in-place line first).
    public func message(_ text: String) {
        guard !quiet else { return }
        if isTTY && lastLength > 0 { write("\n"); lastLength = 0 }
        write(text + "\n")
    }

    private func write(_ s: String) {
        FileHandle.standardError.write(s.data(using: .utf8)!)
    }
}
