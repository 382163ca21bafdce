@testable import FaceGateServer
import Foundation
import Testing

/// The browser pages share their head, camera stage and progress markup through page includes.
@Suite struct PageIncludesTests {
    @Test func includeLinesAreReplacedByFragmentsWithTheirValues() throws {
        let fragments = ["_a.html": "<title>{{t}}</title>\n", "_b.html": "  <p>{{x}} and {{y}}</p>\n"]
        let page = "<head>\n<!--#include _a.html t=\"Hello — world\"-->\n</head>\n  <!--#include _b.html x=\"1\" y=\"two words\"-->\nend\n"
        let out = try PageIncludes.expand(page, name: "p.html") { fragments[$0] }
        #expect(out == "<head>\n<title>Hello — world</title>\n</head>\n  <p>1 and two words</p>\nend\n")
        #expect(try PageIncludes.expand("no includes", name: "p.html") { _ in nil } == "no includes")
    }

    @Test func missingFragmentsValuesAndBadDirectivesAreErrors() {
        let fragments = ["_a.html": "<title>{{t}}</title>\n"]
        #expect(throws: ServerStartError.self) { try PageIncludes.expand("<!--#include _gone.html-->\n", name: "p") { fragments[$0] } }
        #expect(throws: ServerStartError.self) { try PageIncludes.expand("<!--#include _a.html-->\n", name: "p") { fragments[$0] } }
        #expect(throws: ServerStartError.self) { try PageIncludes.expand("<!--#include _a.html t=oops-->\n", name: "p") { fragments[$0] } }
        #expect(throws: ServerStartError.self) { try PageIncludes.expand("<!--#include ../etc/passwd-->\n", name: "p") { _ in "x" } }
    }

    @Test func servedPagesAreCompleteAndShareTheCameraMarkup() throws {
        let assets = try Assets.load()
        for (page, title, prompt) in [("index.html", "live face check", "Press “Start” and allow the camera."),
                                      ("enroll.html", "enroll your face", "Checking your enrollment link…")] {
            let html = String(decoding: try #require(assets.files[page]).data, as: UTF8.self)
            #expect(!html.contains("<!--#include") && !html.contains("{{"), "\(page) has unexpanded includes")
            #expect(html.contains("<title>FaceGate — \(title)</title>"))
            #expect(html.contains("<p id=\"prompt\" class=\"prompt\" aria-live=\"polite\">\(prompt)</p>"))
            for id in ["preview", "oval", "progress", "steps", "guidance", "result", "setup", "start"] {
                #expect(html.contains("id=\"\(id)\""), "\(page) lacks #\(id)")
            }
            #expect(html.hasPrefix("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"))
        }
        #expect(assets.files["_camera.html"] == nil, "fragments are not served")
    }
}
