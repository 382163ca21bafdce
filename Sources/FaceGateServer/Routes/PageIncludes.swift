import Foundation

/// Server-side includes for the browser pages, so `index.html` and `enroll.html` share one copy of their head, camera
/// stage and progress markup. A line `<!--#include _NAME.html key="value" …-->` is replaced by the fragment file
/// `Public/_NAME.html` with every `{{key}}` in it replaced by its value. Pages are expanded once, when the assets load;
/// fragments are not served on their own.
enum PageIncludes {
    /// Expands every include line of `page` (named `name`, for errors); `fragment` reads a fragment by file name.
    static func expand(_ page: String, name: String, fragment: (String) -> String?) throws -> String {
        var out = ""
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("<!--#include "), trimmed.hasSuffix("-->") else {
                out += line + "\n"
                continue
            }
            let (file, params) = try parse(String(trimmed.dropFirst("<!--#include ".count).dropLast("-->".count)), page: name)
            guard var text = fragment(file) else {
                throw ServerStartError.resourcesMissing("\(file), included by \(name)")
            }
            for (key, value) in params { text = text.replacingOccurrences(of: "{{\(key)}}", with: value) }
            if text.contains("{{") { throw ServerStartError.resourcesMissing("a value for \(file) in \(name): \(text)") }
            out += text.hasSuffix("\n") ? text : text + "\n"
        }
        // Every line got a newline back, one more than the page had.
        return String(out.dropLast())
    }

    /// `_camera.html prompt="Press Start"` → ("_camera.html", ["prompt": "Press Start"]).
    static func parse(_ directive: String, page: String) throws -> (String, [(String, String)]) {
        let text = directive.trimmingCharacters(in: .whitespaces)
        let file = String(text.prefix { $0 != " " })
        var rest = text.dropFirst(file.count)
        var params: [(String, String)] = []
        while true {
            rest = rest.drop { $0 == " " }
            if rest.isEmpty { break }
            guard let eq = rest.firstIndex(of: "="), rest[rest.index(after: eq)...].first == "\"",
                  let close = rest[rest.index(eq, offsetBy: 2)...].firstIndex(of: "\"") else {
                throw ServerStartError.resourcesMissing("a well-formed include in \(page): <!--#include \(directive)-->")
            }
            params.append((String(rest[..<eq]), String(rest[rest.index(eq, offsetBy: 2)..<close])))
            rest = rest[rest.index(after: close)...]
        }
        guard file.hasPrefix("_"), file.hasSuffix(".html"), !file.contains("/") else {
            throw ServerStartError.resourcesMissing("an include of a fragment file (_NAME.html) in \(page), not \(file)")
        }
        return (file, params)
    }
}
