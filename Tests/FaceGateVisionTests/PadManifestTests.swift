import FaceGateLab
import Testing

/// `evaluate-pad --manifest M`: row paths are relative to the manifest, wherever it was named from.
struct PadManifestTests {
    let text = "path\tlabel\nclips/a.mp4\tbona-fide\n/abs/b.mp4\treplay\n"

    @Test func rowsOfAManifestNamedWithoutAFolderStayRelativeToTheWorkingDirectory() throws {
        // Session 10: "clips.tsv" resolved every row against "/" ("/clips/a.mp4"), so the run found no file.
        let rows = try PadManifest.parse(text, manifestPath: "clips.tsv")
        #expect(rows.map(\.path) == ["clips/a.mp4", "/abs/b.mp4"])
    }

    @Test func rowsAreRelativeToTheManifestsFolder() throws {
        #expect(try PadManifest.parse(text, manifestPath: "work/clips.tsv").map(\.path) == ["work/clips/a.mp4", "/abs/b.mp4"])
        #expect(try PadManifest.parse(text, manifestPath: "/data/m.tsv").map(\.path) == ["/data/clips/a.mp4", "/abs/b.mp4"])
    }

    @Test func aManifestWithoutRowsIsRefused() {
        #expect(throws: (any Error).self) { try PadManifest.parse("# nothing\n", manifestPath: "m.tsv") }
    }
}
