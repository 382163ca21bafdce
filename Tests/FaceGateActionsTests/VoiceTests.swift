import FaceGateActions
import FaceGateCore
import Foundation
import Testing

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng"), "espeak-ng missing: apt-get install espeak-ng"))
struct VoiceTests {
    @Test func grantedMessageIsPlausibleSpeech() throws {
        let dir = TestPaths.tempDir("voice")
        let v = VoiceAnnouncer()
        let text = v.message(for: .authorized(user: "Alice", source: "camera:0"))
        #expect(text == "Access granted, Alice")
        let wav = dir.appendingPathComponent("granted.wav").path
        try v.synthesize(text, to: wav)
        let audio = try WAVAudio(data: Data(contentsOf: URL(fileURLWithPath: wav)))
        // Four words at 160 wpm: about 1.5 s plus pauses. Bounds are generous but exclude silence or garbage.
        #expect(audio.duration > 0.8 && audio.duration < 5, "duration \(audio.duration)")
        #expect(audio.rms > 0.02, "rms \(audio.rms)")
        #expect(audio.activeFraction() > 0.4, "active \(audio.activeFraction())")
        #expect(audio.sampleRate >= 8000)
    }

    @Test func deniedIsShorterThanGrantedAndSpeedMatters() throws {
        let dir = TestPaths.tempDir("voice2")
        let v = VoiceAnnouncer()
        let denied = dir.appendingPathComponent("denied.wav").path
        try v.synthesize(v.message(for: .denied(.spoof, source: "camera:0")), to: denied)
        let granted = dir.appendingPathComponent("granted.wav").path
        try v.synthesize(v.message(for: .authorized(user: "Maximilian Alexander", source: "camera:0")), to: granted)
        let d = try WAVAudio(data: Data(contentsOf: URL(fileURLWithPath: denied)))
        let g = try WAVAudio(data: Data(contentsOf: URL(fileURLWithPath: granted)))
        #expect(d.duration > 0.4 && d.duration < g.duration)
        let fast = dir.appendingPathComponent("fast.wav").path
        try VoiceAnnouncer(speed: 320).synthesize("Access denied", to: fast)
        #expect(try WAVAudio(data: Data(contentsOf: URL(fileURLWithPath: fast))).duration < d.duration)
    }

    @Test func otherLanguageAndBadVoice() throws {
        let dir = TestPaths.tempDir("voice3")
        let de = dir.appendingPathComponent("de.wav").path
        try VoiceAnnouncer(voice: "de").synthesize("Zugang gewährt", to: de)
        #expect(try WAVAudio(data: Data(contentsOf: URL(fileURLWithPath: de))).activeFraction() > 0.3)
        #expect(throws: ActionError.self) {
            try VoiceAnnouncer(voice: "no-such-voice-xx").synthesize("x", to: dir.appendingPathComponent("x.wav").path)
        }
    }

    @Test func autoModeFollowsAudioDevice() {
        #expect(!VoiceAnnouncer.shouldSpeak(.auto, hasAudio: false))
        #expect(VoiceAnnouncer.shouldSpeak(.auto, hasAudio: true))
        #expect(VoiceAnnouncer.shouldSpeak(.on, hasAudio: false))
        #expect(!VoiceAnnouncer.shouldSpeak(.off, hasAudio: true))
    }

    @Test func silenceIsNotSpeech() throws {
        // A WAV of pure silence must fail the same checks.
        var d = Data("RIFF".utf8); d.append(contentsOf: [0, 0, 0, 0]); d.append(Data("WAVEfmt ".utf8))
        d.append(contentsOf: [16, 0, 0, 0, 1, 0, 1, 0, 0x22, 0x56, 0, 0, 0x44, 0xAC, 0, 0, 2, 0, 16, 0])
        d.append(Data("data".utf8)); d.append(contentsOf: [0x20, 0x4E, 0, 0]); d.append(Data(count: 20000))
        let a = try WAVAudio(data: d)
        #expect(abs(a.duration - 10000.0 / 22050) < 0.001)
        #expect(a.rms == 0 && a.activeFraction() == 0)
    }
}
