extension Report {
    /// `report.html`: the report as one self-contained page (inline SVG, CSS and script; nothing fetched)
    /// with the topology, each flow's path and drops, the tables of report.json and, after `--explain`,
    /// the sequence diagram of the traced flow. Built from this value alone, with no clock, so the same
    /// run gives the same bytes.
    public func html() -> String { ReportPage(report: self).render() }
}

/// The page's parts in order; each SVG drawing is its own type.
struct ReportPage {
    let report: Report
    let graph: ReportGraph
    /// Sections with more rows than this start collapsed.
    static let openRowLimit = 40

    init(report: Report) {
        self.report = report
        graph = ReportGraph(report)
    }

    func render() -> String {
        let e = HTMLText.escape
        let topology = TopologySVG(report: report, graph: graph)
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        // Nothing may be fetched: the policy forbids every source but the page's own inline parts.
        page += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        page += "<title>\(e("overlay-sim report: \(report.scenario)"))</title>\n<style>\n\(PageStyle.css)\n</style>\n</head>\n<body>\n"
        page += header()
        page += flowTable()
        page += "<details open id=\"topology\"><summary>Topology: \(Self.counted(graph.nodes.count, "node")), \(Self.counted(graph.devices.filter { graph.vertices[$0].role == .router }.count, "router")), \(Self.counted(graph.devices.filter { graph.vertices[$0].role == .switch }.count, "switch", "switches")), \(Self.counted(graph.edges.count, "link"))</summary><div class=\"body\">\n"
        page += zoomTools(target: "topology-svg") + legend() + topology.render() + "\n</div></details>\n"
        page += flowSections()
        if let explanation = report.explanation {
            page += "<details open id=\"explain\"><summary>\(e("Trace of \(explanation.flow) (--explain): \(explanation.lines.count) lines"))</summary><div class=\"body\">\n"
            page += zoomTools(target: "sequence-svg") + SequenceDiagramSVG(explanation: explanation, graph: graph).render() + "\n</div></details>\n"
        }
        page += firewallSections()
        page += linkTable()
        page += nodeTable(groups: topology.layout.groups)
        page += podLists()
        if !report.captures.isEmpty {
            page += "<details id=\"captures\"><summary>Captures (\(report.captures.count) files)</summary><div class=\"body mono\">"
            page += report.captures.map(e).joined(separator: "<br>") + "</div></details>\n"
        }
        page += "<footer>\(e("overlay-sim, scenario \(report.scenario), seed \(report.seed)")). The same scenario and seed give this page byte for byte; every figure is in report.json beside it.</footer>\n"
        page += "<script>\n\(PageStyle.script)\n</script>\n</body>\n</html>\n"
        return page
    }

    private func header() -> String {
        let e = HTMLText.escape
        var html = "<header>\n<h1>\(e(report.scenario))</h1>\n"
        html += "<p>seed \(report.seed) · \(e(Units.format(report.durationNanoseconds))) of virtual time · \(report.packetsSimulated) packets simulated"
        if let cni = report.topology?.cni { html += " · CNI \(e(cni))" }
        html += "</p>\n<p class=\"mono\">\(e(report.overlay))</p>\n</header>\n"
        for warning in report.warnings { html += "<div class=\"warn\">\(e(warning))</div>\n" }
        html += "<nav><a href=\"#flows\">flows</a><a href=\"#topology\">topology</a><a href=\"#paths\">paths and drops</a>"
        if report.explanation != nil { html += "<a href=\"#explain\">trace</a>" }
        if !report.firewallDrops.isEmpty { html += "<a href=\"#firewall-drops\">firewall drops</a>" }
        html += "<a href=\"#links\">links</a><a href=\"#nodes\">nodes</a><a href=\"#pods\">pods</a>"
        html += "<button type=\"button\" data-details=\"open\">expand all</button><button type=\"button\" data-details=\"close\">collapse all</button></nav>\n"
        return html
    }

    static func counted(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
    }

    private func zoomTools(target: String) -> String {
        "<div class=\"tools\"><button type=\"button\" data-zoom=\"in\" data-target=\"\(target)\">+</button><button type=\"button\" data-zoom=\"out\" data-target=\"\(target)\">−</button><button type=\"button\" data-zoom=\"reset\" data-target=\"\(target)\">reset</button><span>wheel to zoom, drag to pan, double-click to reset; hover a mark for its details</span></div>\n"
    }

    private func legend() -> String {
        "<div class=\"tools legend\"><span><i class=\"u0\"></i>idle</span><span><i class=\"u1\"></i>&lt;1%</span><span><i class=\"u2\"></i>&lt;10%</span><span><i class=\"u3\"></i>&lt;50%</span><span><i class=\"u4\"></i>≥50% utilisation</span><span>FW firewall</span><span>NP NetworkPolicy</span><span>red circle: packets dropped there</span></div>\n"
    }

    private static func latency(_ latency: Report.Latency?) -> String {
        guard let latency else { return "–" }
        return "\(Units.format(latency.minimumNanoseconds)) / \(Units.format(latency.medianNanoseconds)) / \(Units.format(latency.maximumNanoseconds))"
    }

    private static func delivery(_ flow: Report.Flow) -> String {
        guard flow.packetsSent > 0 else { return "–" }
        let share = Double(flow.packetsDelivered) / Double(flow.packetsSent)
        return "<span class=\"bar\"><i style=\"width:\(HTMLText.number(min(share, 1) * 100))%\"></i></span>\(HTMLText.percent(share))"
    }

    private func flowTable() -> String {
        let e = HTMLText.escape
        var html = "<details open id=\"flows\"><summary>Flows (\(report.flows.count))</summary><div class=\"body\"><table>\n"
        html += "<tr><th>flow</th><th>proto</th><th>from → to</th><th class=\"n\">sent</th><th class=\"n\">delivered</th><th>delivery</th><th class=\"n\">dropped</th><th>latency min / median / max</th><th class=\"n\">retx</th><th class=\"n\">ICMP errors</th></tr>\n"
        for flow in report.flows {
            html += "<tr data-flow=\"\(e(flow.name))\"><td><a href=\"#flow-\(e(Self.anchor(flow.name)))\">\(e(flow.name))</a></td><td>\(e(flow.protocol))</td><td>\(e(flow.from)) → \(e(flow.to))</td>"
            html += "<td class=\"n\">\(flow.packetsSent)</td><td class=\"n\">\(flow.packetsDelivered)</td><td>\(Self.delivery(flow))</td>"
            html += "<td class=\"n\(flow.packetsDropped > 0 ? " bad" : "")\">\(flow.packetsDropped)</td><td class=\"mono\">\(e(Self.latency(flow.latency)))</td>"
            html += "<td class=\"n\">\(flow.retransmissions)</td><td class=\"n\">\(flow.icmpErrorsReceived)</td></tr>\n"
        }
        return html + "</table></div></details>\n"
    }

    /// An anchor made of the name's letters and digits, with the index of the flow to keep it unique.
    static func anchor(_ name: String) -> String {
        String(name.unicodeScalars.map { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" ? Character($0) : "_" })
    }

    private func flowSections() -> String {
        let e = HTMLText.escape
        let ends = Dictionary((report.topology?.flowEnds ?? []).map { ($0.flow, $0) }, uniquingKeysWith: { first, _ in first })
        var html = "<details open id=\"paths\"><summary>Paths and drops</summary><div class=\"body\">\n"
        for flow in report.flows {
            let open = report.flows.count <= 8 || !flow.drops.isEmpty
            html += "<details\(open ? " open" : "") class=\"flow\" id=\"flow-\(e(Self.anchor(flow.name)))\" data-flow=\"\(e(flow.name))\"><summary>\(e(flow.name)): \(e(flow.protocol)) \(e(flow.from)) → \(e(flow.to)) · delivered \(flow.packetsDelivered) of \(flow.packetsSent)"
            html += flow.packetsDropped > 0 ? " · <span class=\"bad\">\(flow.packetsDropped) lost</span>" : ""
            html += " · latency \(e(Self.latency(flow.latency)))</summary><div class=\"body\">\n"
            html += FlowPathSVG(flow: flow, graph: graph, ends: ends[flow.name]).render() + "\n"
            var facts: [String] = []
            if let replies = flow.echoReplies { facts.append("echo replies \(replies) of \(flow.packetsSent)") }
            if let connections = flow.connections, let completed = flow.connectionsCompleted {
                facts.append("TCP connections completed \(completed) of \(connections)" + ((flow.connectionsFailed ?? 0) > 0 ? ", \(flow.connectionsFailed ?? 0) gave up" : ""))
            }
            if let mss = flow.lowestMSS { facts.append("PMTU discovery lowered the MSS to \(mss)") }
            facts.append("\(flow.bytesSent) bytes sent, \(flow.bytesDelivered) delivered")
            html += "<p>" + facts.map(e).joined(separator: " · ") + "</p>\n"
            if let endpoints = flow.endpoints, !endpoints.isEmpty {
                let counts = endpoints.values
                let list = endpoints.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                html += "<details class=\"endpoints\"\(endpoints.count <= 10 ? " open" : "")><summary>\(Self.counted(endpoints.count, "Service endpoint")), \(counts.min() ?? 0)–\(counts.max() ?? 0) each</summary><div class=\"body mono\">\(e(list))</div></details>\n"
            }
            if !flow.drops.isEmpty {
                html += "<table class=\"drops\"><tr><th class=\"n\">count</th><th>code</th><th>place</th><th>reason</th></tr>\n"
                for drop in flow.drops {
                    html += "<tr><td class=\"n bad\">\(drop.count)</td><td class=\"mono\">\(e(drop.code.rawValue))</td><td>\(e(drop.place))</td><td>\(e(drop.reason))</td></tr>\n"
                }
                html += "</table>\n"
            }
            html += "</div></details>\n"
        }
        return html + "</div></details>\n"
    }

    private func firewallSections() -> String {
        let e = HTMLText.escape
        var html = ""
        if !report.firewallDrops.isEmpty {
            html += "<details open id=\"firewall-drops\"><summary>Firewall drops (\(report.firewallDrops.count) groups)</summary><div class=\"body\"><table>\n"
            html += "<tr><th>flow</th><th class=\"n\">count</th><th>first – last</th><th>point</th><th>device</th><th>rule</th><th>explanation</th></tr>\n"
            for drop in report.firewallDrops {
                let rule = drop.rule.map { "rule \($0) `\(drop.ruleText ?? "")`" } ?? (drop.defaultPolicy ? "default policy \(drop.action)" : drop.ruleText ?? drop.kind)
                html += "<tr><td>\(e(drop.flow ?? "underlay"))</td><td class=\"n bad\">\(drop.count)</td><td class=\"mono\">\(e(Units.format(drop.firstNanoseconds))) – \(e(Units.format(drop.lastNanoseconds)))</td>"
                html += "<td>\(e(drop.point))</td><td>\(e("\(drop.kind) \(drop.device) \(drop.chain)"))</td><td class=\"mono\">\(e(rule))</td><td>\(e(drop.explanation))</td></tr>\n"
            }
            if report.firewallDropsUnlisted > 0 {
                html += "<tr><td colspan=\"7\">… and \(report.firewallDropsUnlisted) more drops in groups not listed</td></tr>\n"
            }
            html += "</table></div></details>\n"
        }
        if !report.firewallRewrites.isEmpty {
            html += "<details id=\"firewall-rewrites\"><summary>Firewall rewrites (\(report.firewallRewrites.count))</summary><div class=\"body\"><table>\n"
            html += "<tr><th>flow</th><th class=\"n\">count</th><th>from</th><th>point</th><th>device</th><th>explanation</th></tr>\n"
            for rewrite in report.firewallRewrites {
                html += "<tr><td>\(e(rewrite.flow ?? "underlay"))</td><td class=\"n\">\(rewrite.count)</td><td class=\"mono\">\(e(Units.format(rewrite.firstNanoseconds)))</td><td>\(e(rewrite.point))</td><td>\(e(rewrite.device))</td><td>\(e(rewrite.explanation))</td></tr>\n"
            }
            html += "</table></div></details>\n"
        }
        let policies = report.topology?.networkPolicies ?? []
        if !policies.isEmpty {
            html += "<details id=\"policies\"><summary>NetworkPolicies (\(policies.count))</summary><div class=\"body\"><table>\n"
            html += "<tr><th>policy</th><th>enforced</th><th>selects</th></tr>\n"
            for policy in policies {
                html += "<tr data-policy=\"\(e("\(policy.namespace)/\(policy.name)"))\"><td>\(e("\(policy.namespace)/\(policy.name)"))</td><td>\(policy.enforced ? "yes" : "no (the CNI enforces none)")</td><td>\(e(policy.pods.isEmpty ? "no pods" : policy.pods.joined(separator: ", ")))</td></tr>\n"
            }
            html += "</table></div></details>\n"
        }
        return html
    }

    /// Each link once, both directions in one row; idle links of a full mesh are counted, not listed.
    private func linkTable() -> String {
        let e = HTMLText.escape
        let listed = graph.edges.filter { !graph.fullMesh || $0.packets > 0 || $0.queueDrops + $0.lossDrops > 0 }
        let open = listed.count <= Self.openRowLimit
        var html = "<details\(open ? " open" : "") id=\"links\"><summary>Links (\(graph.edges.count))</summary><div class=\"body\"><table>\n"
        html += "<tr><th>link</th><th class=\"n\">packets →</th><th class=\"n\">packets ←</th><th class=\"n\">bytes → / ←</th><th class=\"n\">utilisation → / ←</th><th class=\"n\">overhead → / ←</th><th class=\"n\">queue drops</th><th class=\"n\">lost</th></tr>\n"
        for edge in listed {
            let a = graph.vertices[edge.a].name, b = graph.vertices[edge.b].name
            let forward = edge.forward, backward = edge.backward
            html += "<tr data-link=\"\(e(a))|\(e(b))\"><td>\(e(a)) ↔ \(e(b))</td><td class=\"n\">\(forward?.packets ?? 0)</td><td class=\"n\">\(backward?.packets ?? 0)</td>"
            html += "<td class=\"n\">\(forward?.bytes ?? 0) / \(backward?.bytes ?? 0)</td><td class=\"n\">\(HTMLText.percent(forward?.utilisation ?? 0)) / \(HTMLText.percent(backward?.utilisation ?? 0))</td>"
            html += "<td class=\"n\">\(HTMLText.percent(forward?.encapsulationOverhead ?? 0)) / \(HTMLText.percent(backward?.encapsulationOverhead ?? 0))</td>"
            html += "<td class=\"n\(edge.queueDrops > 0 ? " bad" : "")\">\(edge.queueDrops)</td><td class=\"n\(edge.lossDrops > 0 ? " bad" : "")\">\(edge.lossDrops)</td></tr>\n"
        }
        if listed.count < graph.edges.count {
            html += "<tr><td colspan=\"8\">… and \(graph.edges.count - listed.count) idle links of the mesh (no packets)</td></tr>\n"
        }
        return html + "</table></div></details>\n"
    }

    private func nodeTable(groups: [TopologyLayout.Group]) -> String {
        let e = HTMLText.escape
        let info = Dictionary((report.topology?.nodes ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var podCounts: [String: Int] = [:]
        for pod in report.pods where !pod.deleted { podCounts[pod.node, default: 0] += 1 }
        var html = "<details\(graph.nodes.count <= Self.openRowLimit ? " open" : "") id=\"nodes\"><summary>Nodes (\(graph.nodes.count))</summary><div class=\"body\">\n"
        for group in groups {
            html += "<details\(groups.count == 1 && group.nodes.count <= Self.openRowLimit ? " open" : "")><summary>\(e(group.label))</summary><div class=\"body\"><table>\n"
            html += "<tr><th>node</th><th>address</th><th>pod CIDR</th><th class=\"n\">pods</th><th>firewalls</th></tr>\n"
            for node in group.nodes {
                let name = graph.vertices[node].name
                let firewalls = (report.topology?.firewalls ?? []).filter { $0.placement != "link" && $0.at.first == name }.map { "\($0.kind) \($0.name)" }
                html += "<tr data-node=\"\(e(name))\"><td>\(e(name))</td><td class=\"mono\">\(e(info[name]?.address ?? ""))</td><td class=\"mono\">\(e(info[name]?.podCIDR ?? ""))</td><td class=\"n\">\(podCounts[name] ?? 0)</td><td>\(e(firewalls.joined(separator: ", ")))</td></tr>\n"
            }
            html += "</table></div></details>\n"
        }
        return html + "</div></details>\n"
    }

    /// Pods by workload, each workload collapsible: 5,000 pods stay one click away, not a scroll.
    private func podLists() -> String {
        let e = HTMLText.escape
        var order: [String] = []
        var byWorkload: [String: [Report.PodEntry]] = [:]
        for pod in report.pods {
            if byWorkload[pod.workload] == nil { order.append(pod.workload) }
            byWorkload[pod.workload, default: []].append(pod)
        }
        var html = "<details id=\"pods\"><summary>Pods (\(report.pods.count)) in \(order.count) workloads</summary><div class=\"body\">\n"
        for workload in order.sorted() {
            let pods = byWorkload[workload] ?? []
            html += "<details data-workload=\"\(e(workload))\"><summary>\(e(workload)) (\(pods.count) pod\(pods.count == 1 ? "" : "s"))</summary><div class=\"body podlist mono\">"
            for pod in pods {
                html += "<div>\(e(pod.name)) · \(e(pod.node)) · \(e(pod.address))\(pod.deleted ? " (deleted)" : "")</div>"
            }
            html += "</div></details>\n"
        }
        return html + "</div></details>\n"
    }
}
