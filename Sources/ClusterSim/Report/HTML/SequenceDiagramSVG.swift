/// The `--explain` trace as a sequence diagram, as Wireshark's flow graph draws a conversation: a time
/// column, one lifeline per pod, node, router or switch the packets met, an arrow wherever a packet moved
/// from one to the next (a link's line is the arrow between its ends), a dot for each decision made in
/// place, a red cross where a packet died, and the trace's sentence beside each row (whole in `<title>`).
struct SequenceDiagramSVG {
    struct Event {
        var time: String
        var place: String
        var text: String
        /// The rule-by-rule lines that followed it (`  rule 2 ...: no match`).
        var details: [String]
    }

    let explanation: Report.Explanation
    let graph: ReportGraph
    static let columnWidth = 112.0, rowHeight = 22.0, timeWidth = 96.0, top = 46.0

    /// Splits the trace's `[time] place: text` lines; a line whose text is indented belongs to the one before.
    static func events(of lines: [String]) -> (events: [Event], trailer: [String]) {
        var events: [Event] = []
        var trailer: [String] = []
        for line in lines {
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { trailer.append(line); continue }
            let time = String(line[line.index(after: line.startIndex)..<close])
            let rest = line[line.index(after: close)...].drop { $0 == " " }
            guard let colon = rest.range(of: ": ") else { trailer.append(line); continue }
            let place = String(rest[..<colon.lowerBound]), text = String(rest[colon.upperBound...])
            if text.hasPrefix("  "), !events.isEmpty, events[events.count - 1].place == place {
                events[events.count - 1].details.append(String(text.drop { $0 == " " }))
            } else {
                events.append(Event(time: time, place: place, text: text, details: []))
            }
        }
        return (events, trailer)
    }

    /// The lifeline a place belongs to: `pod NAME`, or the node, router or switch its name begins with;
    /// a link's two ends for `link A→B`.
    private func actors(of place: String) -> (from: String, to: String?) {
        if place.hasPrefix("link ") {
            let ends = place.dropFirst(5).split(whereSeparator: { $0 == "→" || $0 == "↔" }).map(String.init)
            if ends.count == 2 { return (ends[0], ends[1]) }
        }
        let words = place.split(separator: " ")
        if words.first == "pod", words.count > 1 { return ("pod \(words[1])", nil) }
        if case .vertex(let vertex) = graph.spot(of: place) { return (graph.vertices[vertex].name, nil) }
        return (words.first.map(String.init) ?? place, nil)
    }

    func render() -> String {
        let e = HTMLText.escape, n = HTMLText.number
        let (events, trailer) = Self.events(of: explanation.lines)
        var lifelines: [String] = []
        func lane(_ name: String) -> Int {
            if let index = lifelines.firstIndex(of: name) { return index }
            lifelines.append(name)
            return lifelines.count - 1
        }
        struct Row { var from: Int; var to: Int?; var event: Event; var dropped: Bool }
        var rows: [Row] = []
        var current: Int?
        for event in events {
            let (first, second) = actors(of: event.place)
            let dropped = event.text.hasPrefix("dropped")
            if let second {
                // A link: the packet moves from one end to the other.
                let from = lane(first), to = lane(second)
                rows.append(Row(from: from, to: to, event: event, dropped: dropped))
                current = to
            } else {
                let here = lane(first)
                if let current, current != here, !event.text.hasPrefix("sends") {
                    rows.append(Row(from: current, to: here, event: event, dropped: dropped))
                } else {
                    rows.append(Row(from: here, to: nil, event: event, dropped: dropped))
                }
                current = here
            }
        }
        let laneX = { (lane: Int) in Self.timeWidth + 20 + Double(lane) * Self.columnWidth + Self.columnWidth / 2 }
        let textX = Self.timeWidth + 20 + Double(max(lifelines.count, 1)) * Self.columnWidth + 10
        let width = textX + 760
        let height = Self.top + Double(rows.count + trailer.count) * Self.rowHeight + 20
        var svg = "<svg id=\"sequence-svg\" class=\"sequence zoomable\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(min(width, 1400)))\" role=\"img\" aria-label=\"\(e("sequence of \(explanation.flow)"))\"><g class=\"viewport\">"
        svg += "<text class=\"head\" x=\"10\" y=\"20\">time</text>"
        for (index, name) in lifelines.enumerated() {
            let x = laneX(index)
            svg += "<g class=\"lifeline\" data-name=\"\(e(name))\"><rect x=\"\(n(x - Self.columnWidth / 2 + 4))\" y=\"6\" width=\"\(n(Self.columnWidth - 8))\" height=\"22\" rx=\"4\"/><text x=\"\(n(x))\" y=\"21\" text-anchor=\"middle\">\(e(HTMLText.shortened(name, to: 15)))</text><title>\(e(name))</title><line x1=\"\(n(x))\" y1=\"28\" x2=\"\(n(x))\" y2=\"\(n(height - 10))\"/></g>"
        }
        for (index, row) in rows.enumerated() {
            let y = Self.top + Double(index) * Self.rowHeight
            let title = ([row.event.place + ": " + row.event.text] + row.event.details).joined(separator: "\n")
            svg += "<g class=\"step\(row.dropped ? " dropped" : "")\" data-time=\"\(e(row.event.time))\"><title>\(e("[\(row.event.time)] " + title))</title>"
            svg += "<text class=\"time\" x=\"10\" y=\"\(n(y + 4))\">\(e(row.event.time))</text>"
            let x = laneX(row.from)
            if let to = row.to {
                let x2 = laneX(to)
                let direction = x2 >= x ? 1.0 : -1.0
                svg += "<line class=\"arrow\" x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x2 - direction * 6))\" y2=\"\(n(y))\"/><path class=\"head\" d=\"M\(n(x2)) \(n(y))L\(n(x2 - direction * 8)) \(n(y - 4))L\(n(x2 - direction * 8)) \(n(y + 4))Z\"/>"
            }
            let at = row.to.map(laneX) ?? x
            if row.dropped {
                svg += "<path class=\"cross\" d=\"M\(n(at - 6)) \(n(y - 6))L\(n(at + 6)) \(n(y + 6))M\(n(at + 6)) \(n(y - 6))L\(n(at - 6)) \(n(y + 6))\"/>"
            } else if row.to == nil {
                svg += "<circle cx=\"\(n(at))\" cy=\"\(n(y))\" r=\"3.5\"/>"
            }
            let detail = row.event.details.isEmpty ? "" : " (+\(row.event.details.count) rule lines)"
            svg += "<text class=\"comment\" x=\"\(n(textX))\" y=\"\(n(y + 4))\">\(e(HTMLText.shortened(row.event.place + ": " + row.event.text, to: 120) + detail))</text></g>"
        }
        for (index, line) in trailer.enumerated() {
            let y = Self.top + Double(rows.count + index) * Self.rowHeight
            svg += "<text class=\"comment\" x=\"\(n(textX))\" y=\"\(n(y + 4))\">\(e(line))</text>"
        }
        return svg + "</g></svg>"
    }
}
