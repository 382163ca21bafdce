import FaceGateCore
import FaceGateVision
import Foundation

/// Decision and session overlays for previews and annotated outputs: a green box with "Authorized - NAME" for an
/// authorized live person, a red box with "Unauthorized" and the reason otherwise; while a session runs, the
/// current challenge prompt and a progress bar.
public enum DecisionOverlay {
    public static let authorizedColor = Color.green
    public static let deniedColor = Color.red
    /// Banner text scale relative to a 640-px-wide frame (Hershey font 0.7 is legible on a 640x480 preview).
    static let baseTextScale = 0.7

    /// What a running session shows.
    public struct SessionProgress: Sendable, Hashable {
        /// The current prompt, e.g. "Turn your head left".
        public var prompt: String
        /// 1-based index of the current challenge and how many there are.
        public var step: Int
        public var total: Int
        /// 0…1 progress of the whole session (challenges done, or time used).
        public var fraction: Double
        /// Seconds left for the current challenge, if known.
        public var secondsLeft: Double?
        public init(prompt: String, step: Int, total: Int, fraction: Double, secondsLeft: Double? = nil) {
            self.prompt = prompt; self.step = step; self.total = total; self.fraction = fraction; self.secondsLeft = secondsLeft
        }
    }

    /// "Authorized - alice" / "Unauthorized - spoof detected" (ASCII: the overlay font has no other glyphs).
    public static func label(for d: Decision) -> String {
        switch d.outcome {
        case .authorized: return "Authorized - \(ascii(d.matchedUser ?? d.claimedUser ?? "unknown"))"
        case .denied: return "Unauthorized - \(ascii((d.reason ?? .unknownFace).text))"
        }
    }

    /// Draws the decision in place: box around the face (if known) and a banner with the label.
    public static func drawDecision(_ d: Decision, faceBox: Rect?, on img: Image) {
        let color = d.isAuthorized ? authorizedColor : deniedColor
        let scale = textScale(img)
        let thick = max(2, img.width / 213)
        let text = label(for: d)
        let textH = Int(30 * scale)
        if let box = faceBox {
            img.drawRect(box, color: color, thickness: thick)
            // Label just above the box (below it when the box touches the top).
            let w = Double(Image.textWidth(text, scale: scale, thickness: max(1, thick / 2)) + 12)
            let above = box.y - Double(textH) - 4 >= 0
            let y = above ? box.y - Double(textH) - 4 : min(Double(img.height - textH), box.maxY + 4)
            let x = max(0, min(box.x, Double(img.width) - w))
            img.fillRect(Rect(x: x, y: y, width: w, height: Double(textH)), color: color, alpha: 0.85)
            img.drawText(text, at: Point2(x + 6, y + Double(textH) * 0.75), scale: scale, color: .white, thickness: max(1, thick / 2))
        }
        // Bottom banner: always visible, even without a face box.
        let bannerH = Double(textH + 12)
        img.fillRect(Rect(x: 0, y: Double(img.height) - bannerH, width: Double(img.width), height: bannerH), color: color, alpha: 0.75)
        img.drawText(text, at: Point2(10, Double(img.height) - bannerH + Double(textH) * 0.75 + 6), scale: scale, color: .white,
                     thickness: max(1, thick / 2))
    }

    /// Draws the running session's state in place: prompt banner at the top, progress bar below it, and the face
    /// box in neutral yellow.
    public static func drawProgress(_ p: SessionProgress, faceBox: Rect?, on img: Image) {
        let scale = textScale(img)
        let thick = max(1, img.width / 320)
        let textH = Int(30 * scale)
        let bannerH = Double(textH + 12)
        img.fillRect(Rect(x: 0, y: 0, width: Double(img.width), height: bannerH), color: .black, alpha: 0.6)
        var text = ascii(p.prompt)
        if p.total > 0 { text += "  (\(p.step)/\(p.total))" }
        if let s = p.secondsLeft { text += String(format: "  %.0fs", max(0, s.rounded(.up))) }
        img.drawText(text, at: Point2(10, Double(textH) * 0.75 + 6), scale: scale, color: .white, thickness: thick)
        let barH = max(6.0, Double(img.height) / 60)
        let frac = min(1, max(0, p.fraction))
        let bar = Rect(x: 0, y: bannerH, width: Double(img.width), height: barH)
        img.fillRect(bar, color: Color(60, 60, 60), alpha: 0.8)
        if frac > 0 {
            img.fillRect(Rect(x: 0, y: bannerH, width: (Double(img.width) * frac).rounded(), height: barH), color: .cyan)
        }
        if let box = faceBox { img.drawRect(box, color: .yellow, thickness: max(2, img.width / 213)) }
    }

    static func textScale(_ img: Image) -> Double { max(0.4, min(2.0, baseTextScale * Double(img.width) / 640)) }

    /// Drops diacritics and replaces anything else outside printable ASCII with "?".
    static func ascii(_ s: String) -> String {
        let folded = s.applyingTransform(.stripDiacritics, reverse: false) ?? s
        return String(folded.map { $0.isASCII && !$0.isNewline ? $0 : "?" })
    }
}
