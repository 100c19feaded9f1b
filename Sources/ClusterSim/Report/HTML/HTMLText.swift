/// Text made safe for HTML and SVG: every string a scenario wrote (names, labels, rule text, sentences)
/// goes through ``escape(_:)`` before it is put in the page, in element content and in attribute values
/// alike (HTML Living Standard §13.1.2.6, "escaping a string": `&`, `<`, `>`, `"`; `'` too, so an
/// attribute may be quoted either way).
enum HTMLText {
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            // C0 controls other than tab, newline and return are not allowed in HTML text (§13.2.5 "control
            // character in input stream"); a scenario name could carry one.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}": escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// `text` cut to `limit` characters with an ellipsis, for labels whose whole text is in a `<title>`.
    static func shortened(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(1, limit - 1))) + "…"
    }

    /// A coordinate with at most one decimal, so the page does not depend on how a Double prints.
    static func number(_ value: Double) -> String {
        if value < 0 { return "-" + number(-value) }
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(abs(tenths % 10))"
    }

    static func percent(_ share: Double) -> String { Units.decimal(share * 100) + "%" }
}
