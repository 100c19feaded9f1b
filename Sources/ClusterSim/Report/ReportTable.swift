import Foundation

extension Report {
    /// The readable summary: one line per flow, then the links.
    public func table() -> String {
        var lines = warnings
        lines += ["scenario \(scenario) (seed \(seed)): \(Units.format(durationNanoseconds)) of virtual time, \(packetsSimulated) packets",
                  "overlay: \(overlay)", ""]
        let header = ["flow", "proto", "from → to", "sent", "delivered", "dropped", "latency min/median/max", "retx"]
        var rows = [header]
        for flow in flows {
            let latency = flow.latency.map {
                "\(Units.format($0.minimumNanoseconds))/\(Units.format($0.medianNanoseconds))/\(Units.format($0.maximumNanoseconds))"
            } ?? "-"
            rows.append([flow.name, flow.protocol, "\(flow.from) → \(flow.to)", "\(flow.packetsSent)",
                         "\(flow.packetsDelivered)", "\(flow.packetsDropped)", latency, "\(flow.retransmissions)"])
        }
        lines += Self.align(rows)
        if !flows.isEmpty { lines.append(Self.countsNote) }
        for flow in flows where !flow.drops.isEmpty || flow.lowestMSS != nil || flow.endpoints != nil
            || (flow.echoReplies.map { $0 < flow.packetsSent } ?? false) {
            lines.append("")
            lines.append("\(flow.name):")
            for drop in flow.drops { lines.append("  " + dropLine(drop, of: flow)) }
            if let replies = flow.echoReplies, replies < flow.packetsSent {
                lines.append("  echo replies received: \(replies) of \(flow.packetsSent)")
            }
            if let mss = flow.lowestMSS { lines.append("  PMTU discovery lowered the MSS to \(mss)") }
            if let connections = flow.connections, let completed = flow.connectionsCompleted {
                lines.append("  TCP connections completed: \(completed) of \(connections)"
                             + ((flow.connectionsFailed ?? 0) > 0 ? ", \(flow.connectionsFailed ?? 0) gave up" : ""))
            }
            if let endpoints = flow.endpoints {
                lines.append("  endpoints: " + endpoints.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
        }
        if !firewallDrops.isEmpty {
            lines += ["", "firewall drops:"]
            for drop in firewallDrops {
                let when = drop.count == 1 ? "at \(Units.format(drop.firstNanoseconds))"
                    : "\(drop.count)× from \(Units.format(drop.firstNanoseconds)) to \(Units.format(drop.lastNanoseconds))"
                let rule = drop.rule.map { "rule \($0) `\(drop.ruleText ?? "")`" }
                    ?? (drop.defaultPolicy ? "default policy \(drop.action)" : drop.ruleText ?? drop.kind)
                lines.append("  \(drop.flow ?? "underlay"): \(when) at \(drop.point), \(drop.kind) \(drop.device) \(drop.chain), \(rule)")
                lines.append("    \(drop.explanation)")
            }
            if firewallDropsUnlisted > 0 { lines.append("  … and \(firewallDropsUnlisted) more drops in groups not listed") }
        }
        if !firewallRewrites.isEmpty {
            lines += ["", "firewall rewrites:"]
            for rewrite in firewallRewrites {
                lines.append("  \(rewrite.flow ?? "underlay"): \(rewrite.count)× from \(Units.format(rewrite.firstNanoseconds)) at \(rewrite.point), \(rewrite.device)")
                lines.append("    \(rewrite.explanation)")
            }
        }
        if let attacks, !attacks.isEmpty {
            lines += ["", "attacks:"]
            for attack in attacks {
                lines.append("  \(attack.name) from \(attack.attacker): \(attack.packet)")
                lines.append("    sent \(attack.packetsSent), reached the pod \(attack.packetsReachedPod), dropped \(attack.drops.reduce(0) { $0 + $1.count })")
                for drop in attack.drops {
                    lines.append("    dropped \(drop.count)× at \(drop.place) [\(drop.code.rawValue)]: \(drop.reason)")
                }
            }
        }
        lines.append("")
        var linkRows = [["link", "packets", "bytes", "utilisation", "VXLAN overhead", "queue drops", "lost"]]
        for link in links where link.packets > 0 || link.queueDrops > 0 {
            linkRows.append(["\(link.from) → \(link.to)", "\(link.packets)", "\(link.bytes)",
                             Units.decimal(link.utilisation * 100) + "%", Units.decimal(link.encapsulationOverhead * 100) + "%",
                             "\(link.queueDrops)", "\(link.lossDrops)"])
        }
        lines += Self.align(linkRows)
        if let explanation {
            lines += ["", "explain \(explanation.flow):"] + explanation.lines.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    /// What the flow table's counts are, under it.
    static let countsNote = "(sent, delivered and dropped count the packets that carry a flow forward: UDP datagrams, "
        + "echo requests, TCP SYNs and data segments, retransmissions included; a flow's drop lines below add up to its dropped)"

    /// One drop of a flow: how many, where, the code and the sentence. A firewall's sentence is printed
    /// once, under "firewall drops" with its rule and times, so here only the device and its decision are.
    /// Frames that are not the flow's forward packets (replies, acknowledgments, later fragments) are
    /// counted apart, so the counts of the flow's packets add up to its dropped column.
    func dropLine(_ drop: Drop, of flow: Flow) -> String {
        let count = drop.flowPackets == drop.count ? "\(drop.count)×"
            : "\(drop.count)× (\(drop.flowPackets) of the flow's packets, \(drop.count - drop.flowPackets) replies, acknowledgments or later fragments)"
        var sentence = drop.reason
        if drop.code == .firewallDenied,
           let logged = firewallDrops.first(where: { $0.flow == flow.name && $0.point == drop.place && drop.reason.hasSuffix(": " + $0.explanation) }) {
            sentence = String(drop.reason.dropLast(logged.explanation.count + 2)) + " (why: under firewall drops)"
        }
        return "dropped \(count) at \(drop.place) [\(drop.code.rawValue)]: \(sentence)"
    }

    static func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
