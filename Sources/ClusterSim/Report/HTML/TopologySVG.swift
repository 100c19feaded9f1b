/// The topology as inline SVG: nodes with their pods by workload, routers, switches, links coloured by
/// utilisation, firewalls and NetworkPolicies marked where they sit, and a red mark with the count wherever
/// packets were dropped. Every mark carries its details in an SVG `<title>` (the browser's tooltip).
struct TopologySVG {
    /// What a node's box lists: one line per workload.
    struct WorkloadLine {
        var workload: String
        var pods: Int
        /// `namespace/name` of the NetworkPolicies selecting these pods.
        var policies: [String]
        var enforced: Bool
    }

    let report: Report
    let graph: ReportGraph
    let contents: [Int: [WorkloadLine]]
    let layout: TopologyLayout

    init(report: Report, graph: ReportGraph) {
        self.report = report
        self.graph = graph
        var lines: [Int: [WorkloadLine]] = [:]
        var podPolicies: [String: [String]] = [:]
        var enforced = false
        for policy in report.topology?.networkPolicies ?? [] {
            enforced = enforced || policy.enforced
            for pod in policy.pods { podPolicies[pod, default: []].append("\(policy.namespace)/\(policy.name)") }
        }
        var counts: [Int: [String: (Int, Set<String>)]] = [:]
        for pod in report.pods where !pod.deleted {
            guard let node = graph.vertex(named: pod.node) else { continue }
            var entry = counts[node, default: [:]][pod.workload] ?? (0, [])
            entry.0 += 1
            entry.1.formUnion(podPolicies[pod.name] ?? [])
            counts[node, default: [:]][pod.workload] = entry
        }
        for (node, workloads) in counts {
            lines[node] = workloads.sorted { $0.key < $1.key }.map {
                WorkloadLine(workload: $0.key, pods: $0.value.0, policies: $0.value.1.sorted(), enforced: enforced)
            }
        }
        contents = lines
        layout = TopologyLayout(graph: graph, workloadCounts: lines.mapValues(\.count))
    }

    static func utilisationClass(packets: Int, utilisation: Double) -> String {
        if packets == 0 { return "u0" }
        switch utilisation {
        case ..<0.01: return "u1"
        case ..<0.10: return "u2"
        case ..<0.50: return "u3"
        default: return "u4"
        }
    }

    static func describe(_ link: Report.Link?) -> String {
        guard let link else { return "" }
        var text = "\(link.from) → \(link.to): \(link.packets) packets, \(link.bytes) bytes, utilisation \(HTMLText.percent(link.utilisation)), overhead \(HTMLText.percent(link.encapsulationOverhead))"
        if link.queueDrops > 0 { text += ", \(link.queueDrops) queue drops" }
        if link.lossDrops > 0 { text += ", \(link.lossDrops) lost" }
        return text
    }

    func render() -> String {
        let e = HTMLText.escape, n = HTMLText.number
        var svg = "<svg id=\"topology-svg\" class=\"zoomable\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(layout.width)) \(n(layout.height))\" width=\"\(n(min(layout.width * 1.3, 1400)))\" role=\"img\" aria-label=\"cluster topology\">\n<g class=\"viewport\">\n"
        for group in layout.groups {
            let f = group.frame
            svg += "<g class=\"group\"><rect x=\"\(n(f.x))\" y=\"\(n(f.y))\" width=\"\(n(f.width))\" height=\"\(n(f.height))\" rx=\"8\"/><text x=\"\(n(f.x + 10))\" y=\"\(n(f.y + 13))\">\(e(group.label))</text></g>\n"
        }
        // Links under the boxes, so a line ends at a box's edge.
        if let hub = layout.hub {
            // A full mesh as a bus: a trunk from the hub down the left side, a bar above each row of nodes,
            // and a short stub from the bar to each node, coloured by that node's busiest link.
            let rows = Set(graph.nodes.compactMap { layout.boxes[$0]?.y }).sorted()
            let trunkX = TopologyLayout.margin / 2
            if let last = rows.last {
                svg += "<path class=\"bus\" d=\"M\(n(hub.x)) \(n(hub.centreY))H\(n(trunkX))V\(n(last - 12))\"/>\n"
            }
            for row in rows {
                let boxes = graph.nodes.compactMap { layout.boxes[$0] }.filter { $0.y == row }
                let right = boxes.map(\.centreX).max() ?? trunkX
                svg += "<path class=\"bus\" d=\"M\(n(trunkX)) \(n(row - 12))H\(n(right))\"/>\n"
            }
            var edgesOf = [[Int]](repeating: [], count: graph.vertices.count)
            for (index, edge) in graph.edges.enumerated() {
                edgesOf[edge.a].append(index)
                edgesOf[edge.b].append(index)
            }
            for node in graph.nodes {
                guard let box = layout.boxes[node] else { continue }
                let edges = edgesOf[node].map { graph.edges[$0] }
                let busiest = edges.map(\.utilisation).max() ?? 0
                let packets = edges.map(\.packets).reduce(0, +)
                let title = "\(graph.vertices[node].name): \(edges.count) links of the mesh, \(packets) packets, busiest \(HTMLText.percent(busiest))"
                svg += "<line class=\"spoke \(Self.utilisationClass(packets: packets, utilisation: busiest))\" data-node=\"\(e(graph.vertices[node].name))\" x1=\"\(n(box.centreX))\" y1=\"\(n(box.y - 12))\" x2=\"\(n(box.centreX))\" y2=\"\(n(box.y))\"><title>\(e(title))</title></line>\n"
            }
        } else {
            for edge in graph.edges {
                guard let a = layout.boxes[edge.a], let b = layout.boxes[edge.b] else { continue }
                let lossy = edge.queueDrops + edge.lossDrops > 0 ? " lossy" : ""
                let title = [Self.describe(edge.forward), Self.describe(edge.backward)].filter { !$0.isEmpty }.joined(separator: "\n")
                svg += "<line class=\"link \(Self.utilisationClass(packets: edge.packets, utilisation: edge.utilisation))\(lossy)\" data-link=\"\(e(graph.vertices[edge.a].name))|\(e(graph.vertices[edge.b].name))\" x1=\"\(n(a.centreX))\" y1=\"\(n(a.centreY))\" x2=\"\(n(b.centreX))\" y2=\"\(n(b.centreY))\"><title>\(e(title))</title></line>\n"
            }
        }
        if let hub = layout.hub {
            svg += "<g class=\"device hub\"><rect x=\"\(n(hub.x))\" y=\"\(n(hub.y))\" width=\"\(n(hub.width))\" height=\"\(n(hub.height))\" rx=\"17\"/><text x=\"\(n(hub.centreX))\" y=\"\(n(hub.y + 21))\" text-anchor=\"middle\">underlay (full mesh)</text><title>\(e("no links in the scenario: every node pair has a direct link (\(graph.edges.count) links); the links table lists them"))</title></g>\n"
        }
        for device in graph.devices {
            guard let box = layout.boxes[device] else { continue }
            let vertex = graph.vertices[device]
            svg += "<g class=\"device \(vertex.role.rawValue)\" data-name=\"\(e(vertex.name))\"><rect x=\"\(n(box.x))\" y=\"\(n(box.y))\" width=\"\(n(box.width))\" height=\"\(n(box.height))\" rx=\"\(vertex.role == .router ? 17 : 3)\"/><text x=\"\(n(box.centreX))\" y=\"\(n(box.y + 15))\" text-anchor=\"middle\">\(e(HTMLText.shortened(vertex.name, to: 16)))</text><text class=\"sub\" x=\"\(n(box.centreX))\" y=\"\(n(box.y + 28))\" text-anchor=\"middle\">\(vertex.role.rawValue)</text><title>\(e("\(vertex.role.rawValue) \(vertex.name)"))</title></g>\n"
        }
        let nodeInfo = Dictionary((report.topology?.nodes ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for node in graph.nodes {
            guard let box = layout.boxes[node] else { continue }
            let name = graph.vertices[node].name
            let info = nodeInfo[name]
            svg += "<g class=\"node\" data-name=\"\(e(name))\"><rect x=\"\(n(box.x))\" y=\"\(n(box.y))\" width=\"\(n(box.width))\" height=\"\(n(box.height))\" rx=\"6\"><title>\(e("node \(name)" + (info.map { " \($0.address), pod CIDR \($0.podCIDR)" } ?? "")))</title></rect>"
            svg += "<text class=\"name\" x=\"\(n(box.x + 8))\" y=\"\(n(box.y + 17))\">\(e(HTMLText.shortened(name, to: 22)))</text>"
            if let info { svg += "<text class=\"sub\" x=\"\(n(box.x + 8))\" y=\"\(n(box.y + 32))\">\(e("\(info.address) · \(info.podCIDR)"))</text>" }
            let lines = contents[node] ?? []
            for (position, line) in lines.prefix(TopologyLayout.workloadLines).enumerated() {
                let y = box.y + 48 + Double(position) * TopologyLayout.lineHeight
                svg += "<text class=\"workload\" x=\"\(n(box.x + 8))\" y=\"\(n(y))\">\(e(HTMLText.shortened(line.workload, to: 18))) ×\(line.pods)<title>\(e("\(line.workload): \(line.pods) pod\(line.pods == 1 ? "" : "s") on \(name)"))</title></text>"
                if !line.policies.isEmpty {
                    let title = "NetworkPolicy \(line.policies.joined(separator: ", ")) selects these pods" + (line.enforced ? "" : " (not enforced: the CNI enforces no NetworkPolicy)")
                    svg += "<g class=\"policy\(line.enforced ? "" : " unenforced")\" data-policies=\"\(e(line.policies.joined(separator: " ")))\"><rect x=\"\(n(box.x + box.width - 30))\" y=\"\(n(y - 10))\" width=\"24\" height=\"12\" rx=\"2\"/><text x=\"\(n(box.x + box.width - 18))\" y=\"\(n(y))\" text-anchor=\"middle\">NP</text><title>\(e(title))</title></g>"
                }
            }
            if lines.count > TopologyLayout.workloadLines {
                let rest = lines.dropFirst(TopologyLayout.workloadLines)
                let y = box.y + 48 + Double(TopologyLayout.workloadLines) * TopologyLayout.lineHeight
                svg += "<text class=\"workload more\" x=\"\(n(box.x + 8))\" y=\"\(n(y))\">+\(rest.count) more workloads<title>\(e(rest.map { "\($0.workload) ×\($0.pods)" }.joined(separator: "\n")))</title></text>"
            }
            svg += "</g>\n"
        }
        svg += firewallMarks()
        svg += dropMarks()
        svg += "</g>\n</svg>"
        return svg
    }

    /// A red "FW" tag at the node (host firewall, security group on its interface) or on the link
    /// (a middlebox), naming the device and its kind.
    private func firewallMarks() -> String {
        let e = HTMLText.escape, n = HTMLText.number
        var svg = ""
        var perNode: [Int: Int] = [:]
        for firewall in report.topology?.firewalls ?? [] {
            var x: Double, y: Double
            if firewall.placement == "link", firewall.at.count == 2,
               let a = graph.vertex(named: firewall.at[0]), let b = graph.vertex(named: firewall.at[1]),
               let boxA = layout.boxes[a], let boxB = layout.boxes[b] {
                x = (boxA.centreX + boxB.centreX) / 2 - 14
                y = (boxA.centreY + boxB.centreY) / 2 - 8
            } else if let name = firewall.at.first, let vertex = graph.vertex(named: name), let box = layout.boxes[vertex] {
                let stacked = perNode[vertex, default: 0]
                perNode[vertex] = stacked + 1
                // Top left, leaving the top right corner to the drop mark.
                x = box.x + 6 + Double(stacked) * 32
                y = box.y - 9
                if firewall.placement == "interface" { y = box.y + box.height - 7 }
            } else {
                continue
            }
            let where_ = firewall.placement == "link" ? "on link \(firewall.at.joined(separator: "↔"))"
                : firewall.placement == "interface" ? "on \(firewall.at.first ?? "")'s underlay interface" : "on node \(firewall.at.first ?? "")"
            svg += "<g class=\"firewall\" data-name=\"\(e(firewall.name))\" data-placement=\"\(e(firewall.placement))\"><rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"28\" height=\"16\" rx=\"3\"/><text x=\"\(n(x + 14))\" y=\"\(n(y + 12))\" text-anchor=\"middle\">FW</text><title>\(e("\(firewall.kind) firewall \(firewall.name) \(where_)"))</title></g>\n"
        }
        return svg
    }

    /// One mark per place where packets died, with the total and, on hover, every flow's drops there.
    private func dropMarks() -> String {
        let e = HTMLText.escape, n = HTMLText.number
        var bySpot: [(spot: ReportGraph.Spot, count: Int, lines: [String])] = []
        func add(_ spot: ReportGraph.Spot, _ count: Int, _ line: String) {
            if let existing = bySpot.firstIndex(where: { $0.spot == spot }) {
                bySpot[existing].count += count
                bySpot[existing].lines.append(line)
            } else {
                bySpot.append((spot, count, [line]))
            }
        }
        for flow in report.flows {
            for drop in flow.drops {
                add(graph.spot(of: drop.place), drop.count, "\(flow.name): \(drop.count)× at \(drop.place) [\(drop.code.rawValue)] \(drop.reason)")
            }
        }
        for (index, edge) in graph.edges.enumerated() {
            for link in [edge.forward, edge.backward].compactMap({ $0 }) where link.queueDrops + link.lossDrops > 0 {
                add(.edge(index), link.queueDrops + link.lossDrops,
                    "link \(link.from)→\(link.to): \(link.queueDrops) queue drops, \(link.lossDrops) lost")
            }
        }
        var svg = ""
        for entry in bySpot {
            let x: Double, y: Double, label: String
            switch entry.spot {
            case .vertex(let vertex):
                guard let box = layout.boxes[vertex] else { continue }
                (x, y, label) = (box.x + box.width - 2, box.y + 2, graph.vertices[vertex].name)
            case .edge(let index):
                let edge = graph.edges[index]
                if let a = layout.boxes[edge.a], let b = layout.boxes[edge.b], layout.hub == nil {
                    (x, y) = ((a.centreX + b.centreX) / 2 + 18, (a.centreY + b.centreY) / 2)
                } else if let hub = layout.hub {
                    (x, y) = (hub.x + hub.width, hub.y)
                } else { continue }
                label = "\(graph.vertices[edge.a].name)|\(graph.vertices[edge.b].name)"
            case .nowhere:
                (x, y, label) = (14, 14, "elsewhere")
            }
            svg += "<g class=\"drop-mark\" data-spot=\"\(e(label))\" data-count=\"\(entry.count)\"><circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"11\"/><text x=\"\(n(x))\" y=\"\(n(y + 4))\" text-anchor=\"middle\">\(Self.shortCount(entry.count))</text><title>\(e(entry.lines.joined(separator: "\n")))</title></g>\n"
        }
        return svg
    }

    /// 1234 → "1.2k": the mark is small; the exact count is in its title and the tables.
    static func shortCount(_ count: Int) -> String {
        switch count {
        case ..<1000: return "\(count)"
        case ..<1_000_000: return Units.decimal((Double(count) / 100).rounded() / 10) + "k"
        default: return Units.decimal((Double(count) / 100_000).rounded() / 10) + "M"
        }
    }
}
