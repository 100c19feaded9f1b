/// The underlay of a report as a graph: nodes, routers and switches joined by links, with the place
/// names the report's drops use resolved to the part of the graph they name. `report.html` draws from it;
/// it is rebuilt from ``Report`` alone, so the page shows exactly what report.json says.
struct ReportGraph {
    enum Role: String { case node, router, `switch` }
    struct Vertex {
        var name: String
        var role: Role
    }
    /// One link, both directions: `a` is the first end report.json names.
    struct Edge {
        var a: Int
        var b: Int
        var forward: Report.Link?
        var backward: Report.Link?
        var utilisation: Double { max(forward?.utilisation ?? 0, backward?.utilisation ?? 0) }
        var packets: Int { (forward?.packets ?? 0) + (backward?.packets ?? 0) }
        var queueDrops: Int { (forward?.queueDrops ?? 0) + (backward?.queueDrops ?? 0) }
        var lossDrops: Int { (forward?.lossDrops ?? 0) + (backward?.lossDrops ?? 0) }
    }
    /// What a drop's place names.
    enum Spot: Equatable {
        case vertex(Int)
        case edge(Int)
        case nowhere
    }

    private(set) var vertices: [Vertex] = []
    private(set) var edges: [Edge] = []
    private var index: [String: Int] = [:]
    private var edgeIndex: [Pair: Int] = [:]
    private(set) var neighbours: [[Int]] = []
    /// Pod name → its node's vertex.
    private var podNodes: [String: Int] = [:]
    let fullMesh: Bool

    private struct Pair: Hashable {
        var low: Int, high: Int
        init(_ a: Int, _ b: Int) { (low, high) = a < b ? (a, b) : (b, a) }
    }

    init(_ report: Report) {
        let topology = report.topology
        fullMesh = topology?.fullMesh ?? false
        var nodeNames = topology?.nodes.map(\.name) ?? []
        // A report without a topology (one written by an older version) still names nodes in its pods.
        for pod in report.pods where !nodeNames.contains(pod.node) { nodeNames.append(pod.node) }
        for name in nodeNames { add(name, .node) }
        for name in topology?.routers ?? [] { add(name, .router) }
        for name in topology?.switches ?? [] { add(name, .switch) }
        for link in report.links {
            for end in [link.from, link.to] where index[end] == nil { add(end, .router) }
            guard let from = index[link.from], let to = index[link.to] else { continue }
            let pair = Pair(from, to)
            if let existing = edgeIndex[pair] {
                if edges[existing].a == from { edges[existing].forward = link } else { edges[existing].backward = link }
            } else {
                edgeIndex[pair] = edges.count
                edges.append(Edge(a: from, b: to, forward: link, backward: nil))
                neighbours[from].append(to)
                neighbours[to].append(from)
            }
        }
        for pod in report.pods { podNodes[pod.name] = index[pod.node] }
    }

    private mutating func add(_ name: String, _ role: Role) {
        guard index[name] == nil else { return }
        index[name] = vertices.count
        vertices.append(Vertex(name: name, role: role))
        neighbours.append([])
    }

    func vertex(named name: String) -> Int? { index[name] }
    func edge(between a: Int, _ b: Int) -> Int? { edgeIndex[Pair(a, b)] }
    var nodes: [Int] { vertices.indices.filter { vertices[$0].role == .node } }
    var devices: [Int] { vertices.indices.filter { vertices[$0].role != .node } }

    /// The part of the cluster a drop's place names: `link A→B` a link; `pod NAME` or a pod's name its node;
    /// otherwise the node, router or switch whose name begins the place ("node-b input chain", "tor").
    func spot(of place: String) -> Spot {
        if place.hasPrefix("link ") {
            let ends = place.dropFirst(5).split(whereSeparator: { $0 == "→" || $0 == "↔" }).map(String.init)
            if ends.count == 2, let a = index[ends[0]], let b = index[ends[1]], let edge = edge(between: a, b) { return .edge(edge) }
            return .nowhere
        }
        let words = place.split(separator: " ").map(String.init)
        guard let first = words.first else { return .nowhere }
        if first == "pod", words.count > 1, let node = podNodes[words[1]] { return .vertex(node) }
        if let vertex = index[first] { return .vertex(vertex) }
        if let node = podNodes[first] { return .vertex(node) }
        // Names with spaces are not made by any scenario, but a longest-prefix match costs little.
        for vertex in vertices.indices.sorted(by: { vertices[$0].name.count > vertices[$1].name.count })
        where place.hasPrefix(vertices[vertex].name + " ") { return .vertex(vertex) }
        return .nowhere
    }

    /// A shortest path of vertices from `source` to `destination` by breadth-first search, neighbours in the
    /// order report.json lists the links (the drawing's path; the simulation's routes choose the same hops
    /// wherever there is one shortest path). Direct when the network is a full mesh.
    func path(from source: Int, to destination: Int) -> [Int]? {
        if source == destination { return [source] }
        var previous = [Int?](repeating: nil, count: vertices.count)
        var seen = [Bool](repeating: false, count: vertices.count)
        var queue = [source], head = 0
        seen[source] = true
        while head < queue.count {
            let current = queue[head]
            head += 1
            for next in neighbours[current] where !seen[next] {
                // A path may pass through routers and switches, not through another node.
                guard next == destination || vertices[next].role != .node else { continue }
                seen[next] = true
                previous[next] = current
                if next == destination {
                    var path = [destination], step = current
                    while step != source { path.append(step); step = previous[step] ?? source }
                    path.append(source)
                    return path.reversed()
                }
                queue.append(next)
            }
        }
        return nil
    }
}
