/// One flow's way through the cluster as a row of hops (client pods, their node, the routers and switches
/// between, the server's node, the server pods) with a red mark at every place its packets were dropped:
/// the count in the mark, the drop code under it, the sentence in its `<title>`.
struct FlowPathSVG {
    let flow: Report.Flow
    let graph: ReportGraph
    let ends: Report.Topology.FlowEnds?
    /// Node pairs drawn per flow; the rest are counted.
    static let pairLimit = 3
    static let hopWidth = 118.0, hopGap = 54.0, rowHeight = 96.0

    private enum Hop {
        case endpoint(String)
        case vertex(Int)
    }

    func render() -> String {
        let e = HTMLText.escape, n = HTMLText.number
        var pairs: [(Int, Int)] = []
        for client in ends?.clientNodes ?? [] {
            for server in ends?.serverNodes ?? [] {
                if let a = graph.vertex(named: client), let b = graph.vertex(named: server) { pairs.append((a, b)) }
            }
        }
        let allPairs = pairs.count
        // Pairs whose path holds a drop first, so the drawing shows where packets died.
        let spots = flow.drops.map { graph.spot(of: $0.place) }
        var paths = pairs.compactMap { pair in graph.path(from: pair.0, to: pair.1) }
        let holdsDrop = { (path: [Int]) -> Bool in spots.contains { self.onPath($0, path) } }
        paths = paths.filter(holdsDrop) + paths.filter { !holdsDrop($0) }
        paths = Array(paths.prefix(Self.pairLimit))

        var rows: [[Hop]] = paths.map { [.endpoint(flow.from)] + $0.map(Hop.vertex) + [.endpoint(flow.to)] }
        let placed = flow.drops.indices.filter { index in paths.contains { onPath(spots[index], $0) } }
        let elsewhere = flow.drops.indices.filter { !placed.contains($0) }
        if rows.isEmpty { rows = [[.endpoint(flow.from), .endpoint(flow.to)]] }
        let columns = rows.map(\.count).max() ?? 2
        let width = Double(columns) * (Self.hopWidth + Self.hopGap) + 20
        let height = Double(rows.count) * Self.rowHeight + (elsewhere.isEmpty ? 0 : 60) + (allPairs > paths.count ? 18 : 0) + 10
        var svg = "<svg class=\"path zoomable\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(min(width, 1400)))\" role=\"img\" aria-label=\"\(e("path of \(flow.name)"))\"><g class=\"viewport\">"
        for (rowIndex, row) in rows.enumerated() {
            let top = 30 + Double(rowIndex) * Self.rowHeight
            let x = { (column: Int) in 10 + Double(column) * (Self.hopWidth + Self.hopGap) }
            for column in row.indices.dropLast() {
                svg += "<line class=\"hop-link\" x1=\"\(n(x(column) + Self.hopWidth))\" y1=\"\(n(top + 14))\" x2=\"\(n(x(column + 1)))\" y2=\"\(n(top + 14))\"/>"
            }
            var marksAt: [Double: Int] = [:]
            for (column, hop) in row.enumerated() {
                let label: String, kind: String
                switch hop {
                case .endpoint(let name): (label, kind) = (name, "endpoint")
                case .vertex(let vertex): (label, kind) = (graph.vertices[vertex].name, graph.vertices[vertex].role.rawValue)
                }
                svg += "<g class=\"hop \(kind)\"><rect x=\"\(n(x(column)))\" y=\"\(n(top))\" width=\"\(n(Self.hopWidth))\" height=\"28\" rx=\"5\"/><text x=\"\(n(x(column) + Self.hopWidth / 2))\" y=\"\(n(top + 18))\" text-anchor=\"middle\">\(e(HTMLText.shortened(label, to: 17)))</text><title>\(e(label))</title></g>"
            }
            let vertexColumns = row.enumerated().compactMap { column, hop -> (Int, Int)? in
                if case .vertex(let vertex) = hop { (column, vertex) } else { nil }
            }
            for index in placed {
                var centre: Double?
                switch spots[index] {
                case .vertex(let vertex):
                    if let column = vertexColumns.first(where: { $0.1 == vertex })?.0 { centre = x(column) + Self.hopWidth / 2 }
                case .edge(let edge):
                    for (position, entry) in vertexColumns.enumerated().dropLast() {
                        let next = vertexColumns[position + 1]
                        if graph.edge(between: entry.1, next.1) == edge { centre = x(entry.0) + Self.hopWidth + Self.hopGap / 2 }
                    }
                case .nowhere: break
                }
                guard let centre else { continue }
                // A second drop at the same hop sits beside the first, its code on the line below.
                let stacked = marksAt[centre, default: 0]
                marksAt[centre, default: 0] += 1
                svg += dropMark(flow.drops[index], x: centre + Double(stacked) * 26, y: top - 12, codeLine: stacked)
            }
        }
        if !elsewhere.isEmpty {
            let top = 30 + Double(rows.count) * Self.rowHeight
            svg += "<text class=\"sub\" x=\"10\" y=\"\(n(top))\">dropped off the drawn path:</text>"
            for (position, index) in elsewhere.enumerated() {
                svg += dropMark(flow.drops[index], x: 24 + Double(position) * 120, y: top + 22, codeLine: 0, codeBelow: 24)
            }
        }
        if allPairs > paths.count {
            svg += "<text class=\"sub\" x=\"10\" y=\"\(n(height - 8))\">\(e("\(paths.count) of \(allPairs) client-node → server-node pairs drawn"))</text>"
        }
        return svg + "</g></svg>"
    }

    private func onPath(_ spot: ReportGraph.Spot, _ path: [Int]) -> Bool {
        switch spot {
        case .vertex(let vertex): return path.contains(vertex)
        case .edge(let edge): return zip(path, path.dropFirst()).contains { graph.edge(between: $0, $1) == edge }
        case .nowhere: return false
        }
    }

    private func dropMark(_ drop: Report.Drop, x: Double, y: Double, codeLine: Int, codeBelow: Double = 58) -> String {
        let e = HTMLText.escape, n = HTMLText.number
        let title = "\(drop.count)× dropped at \(drop.place) [\(drop.code.rawValue)]: \(drop.reason)"
        return "<g class=\"drop\" data-flow=\"\(e(flow.name))\" data-place=\"\(e(drop.place))\" data-code=\"\(e(drop.code.rawValue))\" data-count=\"\(drop.count)\"><circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"11\"/><text x=\"\(n(x))\" y=\"\(n(y + 4))\" text-anchor=\"middle\">\(TopologySVG.shortCount(drop.count))</text><text class=\"code\" x=\"\(n(x - Double(codeLine) * 26))\" y=\"\(n(y + codeBelow + Double(codeLine) * 11))\" text-anchor=\"middle\">\(e(HTMLText.shortened(drop.code.rawValue, to: 20)))</text><title>\(e(title))</title></g>"
    }
}
