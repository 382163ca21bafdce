import FaceGateConfig
import FaceGateCore
import Foundation
import Logging

/// Spoken confirmation through espeak-ng: "Access granted, NAME" / "Access denied".
public struct VoiceAnnouncer: Sendable {
    public var voice: String
    public var speed: Int
    public var grantedText: String
    public var deniedText: String
    public var executable: String

    public init(voice: String = "en", speed: Int = 160, grantedText: String = "Access granted, {user}",
                deniedText: String = "Access denied", executable: String = "espeak-ng") {
        self.voice = voice; self.speed = speed; self.grantedText = grantedText; self.deniedText = deniedText
        self.executable = executable
    }

    /// What to say for a decision.
    public func message(for d: Decision) -> String {
        switch d.outcome {
        case .authorized: return grantedText.replacingOccurrences(of: "{user}", with: d.matchedUser ?? d.claimedUser ?? "")
            .trimmingCharacters(in: CharacterSet(charactersIn: " ,"))
        case .denied: return deniedText.replacingOccurrences(of: "{user}", with: d.subjectUser ?? "")
        }
    }

    /// Writes the spoken text to a WAV file (works without any audio device).
    public func synthesize(_ text: String, to wav: String) throws {
        try validateVoice()
        try run(["-w", wav], text: text)
    }

    /// Speaks through the default audio output.
    public func speak(_ text: String) throws {
        try validateVoice()
        try run([], text: text)
    }

    private func run(_ extra: [String], text: String) throws {
        guard let exe = DeviceLocker.resolve(executable) else {
            throw ActionError.voice("\(executable) not found — install it (apt-get install espeak-ng) or set voice.enabled = \"off\"")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        // Text on stdin, so a name starting with "-" is never taken for an option.
        p.arguments = ["-v", voice, "-s", String(speed)] + extra + ["--stdin"]
        let input = Pipe(), err = Pipe()
        p.standardInput = input; p.standardError = err; p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { throw ActionError.voice("cannot start \(exe): \(error.localizedDescription)") }
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let msg = String(decoding: errData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0 else {
            throw ActionError.voice("espeak-ng failed (status \(p.terminationStatus)): \(msg) — check voice.voice (`espeak-ng --voices`)")
        }
    }

    /// espeak-ng silently falls back to its default for an unknown voice, so check the name first:
    /// a language code, voice name or voice file from `espeak-ng --voices`, optionally with a "+variant".
    public func validateVoice() throws {
        guard let exe = DeviceLocker.resolve(executable) else {
            throw ActionError.voice("\(executable) not found — install it (apt-get install espeak-ng) or set voice.enabled = \"off\"")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--voices"]
        let out = Pipe()
        p.standardOutput = out; p.standardError = FileHandle.nullDevice
        try? p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        var known = Set<String>()
        for line in text.split(separator: "\n").dropFirst() {
            let cols = line.split(separator: " ", omittingEmptySubsequences: true).map { $0.lowercased() }
            guard cols.count >= 5 else { continue }
            known.insert(cols[1]); known.insert(cols[3]); known.insert(cols[4])
            if let last = cols[4].split(separator: "/").last { known.insert(String(last)) }
        }
        let base = voice.split(separator: "+").first.map { $0.lowercased() } ?? ""
        guard known.contains(base) else {
            throw ActionError.voice("espeak-ng has no voice \"\(voice)\" — pick one from `espeak-ng --voices` (e.g. en, en-us, de, fr) for voice.voice")
        }
    }

    /// Whether this machine can play sound: an ALSA playback device, or a PulseAudio/PipeWire socket.
    public static func hasAudioOutput(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        let snd = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/snd")) ?? []
        if snd.contains(where: { $0.hasPrefix("pcmC") && $0.hasSuffix("p") }) { return true }
        if let s = environment["PULSE_SERVER"], !s.isEmpty { return true }
        if let rt = environment["XDG_RUNTIME_DIR"] {
            for sock in ["pulse/native", "pipewire-0"] where FileManager.default.fileExists(atPath: "\(rt)/\(sock)") { return true }
        }
        return false
    }

    /// `auto` speaks only when there is an audio output; `on` always tries; `off` never.
    public static func shouldSpeak(_ setting: FaceGateConfig.Voice.Enabled, hasAudio: Bool = hasAudioOutput()) -> Bool {
        switch setting {
        case .on: return true
        case .off: return false
        case .auto: return hasAudio
        }
    }
}

/// A PCM WAV file's samples, for checking synthesised speech.
public struct WAVAudio: Sendable {
    public var sampleRate: Int
    public var channels: Int
    /// Mono (first channel) samples scaled to -1…1.
    public var samples: [Float]

    public var duration: Double { Double(samples.count) / Double(max(sampleRate, 1)) }
    public var rms: Double {
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0.0) { $0 + Double($1 * $1) } / Double(samples.count)).squareRoot()
    }
    /// Fraction of 20 ms frames whose RMS exceeds `threshold` (speech activity).
    public func activeFraction(threshold: Double = 0.02) -> Double {
        let n = max(1, sampleRate / 50)
        var active = 0, total = 0
        var i = 0
        while i + n <= samples.count {
            var s = 0.0
            for j in i..<(i + n) { s += Double(samples[j] * samples[j]) }
            if (s / Double(n)).squareRoot() > threshold { active += 1 }
            total += 1; i += n
        }
        return total == 0 ? 0 : Double(active) / Double(total)
    }

    /// Parses RIFF/WAVE with 16-bit PCM. espeak-ng writes a streaming header with size 0x7ffffff…; the data
    /// chunk is then taken to the end of the file.
    public init(data: Data) throws {
        let b = [UInt8](data)
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        guard b.count >= 12, String(decoding: b[0..<4], as: UTF8.self) == "RIFF", String(decoding: b[8..<12], as: UTF8.self) == "WAVE" else {
            throw ActionError.voice("not a WAV file")
        }
        var o = 12
        var fmt: (rate: Int, ch: Int, bits: Int, format: Int)? = nil
        var pcm: ArraySlice<UInt8>? = nil
        while o + 8 <= b.count {
            let id = String(decoding: b[o..<(o + 4)], as: UTF8.self)
            let size = u32(o + 4)
            let start = o + 8
            let end = min(b.count, start + size)
            if id == "fmt " && end - start >= 16 {
                fmt = (u32(start + 4), u16(start + 2), u16(start + 14), u16(start))
            } else if id == "data" {
                pcm = b[start..<end]
                break
            }
            o = start + size + (size & 1)
        }
        guard let f = fmt, let pcm else { throw ActionError.voice("WAV file lacks fmt or data chunk") }
        guard f.format == 1, f.bits == 16, f.ch >= 1 else { throw ActionError.voice("WAV is not 16-bit PCM (format \(f.format), \(f.bits) bits)") }
        sampleRate = f.rate; channels = f.ch
        let frame = 2 * f.ch
        var out: [Float] = []
        out.reserveCapacity(pcm.count / frame)
        var i = pcm.startIndex
        while i + 1 < pcm.endIndex {
            let v = Int16(bitPattern: UInt16(pcm[i]) | UInt16(pcm[i + 1]) << 8)
            out.append(Float(v) / 32768)
            i += frame
        }
        samples = out
    }
}
