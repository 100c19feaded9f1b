import Firewall
import Foundation

/// What a run produced, as `report.json` and the table on stdout.
public struct Report: Codable, Sendable {
    public struct Latency: Codable, Sendable {
        public var minimumNanoseconds: UInt64
        public var medianNanoseconds: UInt64
        public var maximumNanoseconds: UInt64
    }
    public struct Drop: Codable, Sendable {
        public var place: String
        public var reason: String
        public var count: Int
    }
    public struct Flow: Codable, Sendable {
        public var name: String
        public var `protocol`: String
        public var from: String
        public var to: String
        public var packetsSent: Int
        public var bytesSent: Int
        public var packetsDelivered: Int
        public var bytesDelivered: Int
        /// Forward packets lost (sent − delivered, unless still in flight when the run ended); ``drops``
        /// lists every packet of the flow dropped, replies and ICMP errors included.
        public var packetsDropped: Int
        public var drops: [Drop]
        public var latency: Latency?
        public var retransmissions: Int
        public var icmpErrorsReceived: Int
        public var connections: Int?
        public var connectionsCompleted: Int?
        /// For ICMP flows: echo replies that made it back to the sender.
        public var echoReplies: Int?
        /// Connections that gave up after too many retransmission timeouts.
        public var connectionsFailed: Int?
        /// The smallest TCP MSS PMTU discovery brought a connection to.
        public var lowestMSS: Int?
        /// For flows to a Service: how many connections each endpoint got.
        public var endpoints: [String: Int]?
    }
    public struct Link: Codable, Sendable {
        public var from: String
        public var to: String
        public var packets: Int
        public var bytes: Int
        /// Share of the link's bandwidth used over the run.
        public var utilisation: Double
        /// Share of the bytes that are not the pods' frames: VXLAN outer headers, fragment headers, and
        /// underlay control traffic such as ICMP errors.
        public var encapsulationOverhead: Double
        public var queueDrops: Int
        public var lossDrops: Int
    }
    /// Packets one firewall dropped at one point for one reason: when, where, which device, which rule
    /// (index and text) or the default policy, and the sentence.
    public struct FirewallDrop: Codable, Sendable {
        /// Virtual time of the first and the last of these drops.
        public var firstNanoseconds: UInt64
        public var lastNanoseconds: UInt64
        public var count: Int
        /// The capture point: "node-b input chain", "link router→node-b", "node-b security group".
        public var point: String
        public var device: String
        public var kind: String
        public var chain: String
        public var action: String
        /// 1-based; nil when a policy or a device mechanism decided.
        public var rule: Int?
        public var ruleText: String?
        public var defaultPolicy: Bool
        public var explanation: String
        /// The traffic entry the packets belonged to (nil for underlay control traffic).
        public var flow: String?
    }
    /// Packets a NAT rewrote and let through, with one sentence saying what and why it still works.
    public struct FirewallRewrite: Codable, Sendable {
        public var firstNanoseconds: UInt64
        public var count: Int
        public var point: String
        public var device: String
        public var flow: String?
        public var explanation: String
    }
    /// The hop-by-hop trace of one flow (`--explain`).
    public struct Explanation: Codable, Sendable {
        public var flow: String
        public var lines: [String]
    }
    public struct PodEntry: Codable, Sendable {
        public var name: String
        public var workload: String
        public var node: String
        public var address: String
        public var deleted: Bool
    }

    public var scenario: String
    public var seed: UInt64
    public var overlay: String
    public var durationNanoseconds: UInt64
    public var packetsSimulated: Int
    public var flows: [Flow]
    public var links: [Link]
    public var pods: [PodEntry]
    public var captures: [String]
    /// Suspicious but legal things in the scenario: firewall rules that can never match.
    public var warnings: [String] = []
    public var firewallDrops: [FirewallDrop] = []
    /// Drops in groups past the report's limit, counted but not listed.
    public var firewallDropsUnlisted = 0
    public var firewallRewrites: [FirewallRewrite] = []
    public var explanation: Explanation?

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

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
        for flow in flows where !flow.drops.isEmpty || flow.lowestMSS != nil || flow.endpoints != nil
            || (flow.echoReplies.map { $0 < flow.packetsSent } ?? false) {
            lines.append("")
            lines.append("\(flow.name):")
            for drop in flow.drops { lines.append("  dropped \(drop.count)× at \(drop.place): \(drop.reason)") }
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

    static func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}

extension Simulation {
    func makeReport() -> Report {
        let duration = max(lastActivity, 1)
        let flowsReport = stats.map { stat -> Report.Flow in
            let drops = stat.drops.map { Report.Drop(place: $0.key.place, reason: $0.key.reason, count: $0.value) }.sorted { ($0.place, $0.reason) < ($1.place, $1.reason) }
            let latency = stat.latency.median.map {
                Report.Latency(minimumNanoseconds: stat.latency.minimum, medianNanoseconds: $0, maximumNanoseconds: stat.latency.maximum)
            }
            let isTCP = stat.spec.protocol == .tcp
            let isService = { if case .service = stat.spec.to { true } else { false } }()
            return Report.Flow(name: stat.spec.name, protocol: stat.spec.protocol.rawValue, from: stat.spec.from.description,
                               to: stat.spec.to.description, packetsSent: stat.packetsSent, bytesSent: stat.bytesSent,
                               packetsDelivered: stat.packetsDelivered, bytesDelivered: stat.bytesDelivered,
                               packetsDropped: stat.packetsDropped, drops: drops, latency: latency,
                               retransmissions: stat.retransmissions, icmpErrorsReceived: stat.icmpErrors,
                               connections: isTCP ? stat.connections : nil,
                               connectionsCompleted: isTCP ? stat.connectionsCompleted : nil,
                               echoReplies: stat.spec.protocol == .icmp ? stat.echoReplies : nil,
                               connectionsFailed: isTCP ? stat.connectionsFailed : nil,
                               lowestMSS: stat.lowestMSS, endpoints: isService ? stat.endpoints : nil)
        }
        let linksReport = underlay.directions.map { direction -> Report.Link in
            let link = underlay.links[direction.link]
            let bits = Double(direction.bytes + 24 * direction.packets) * 8
            let overheadBytes = direction.bytes - direction.innerBytes
            return Report.Link(from: underlay.places[direction.from].name, to: underlay.places[direction.to].name,
                               packets: direction.packets, bytes: direction.bytes,
                               utilisation: ((bits / (Double(link.bandwidth) * Double(duration) / 1e9)) * 1e6).rounded() / 1e6,
                               encapsulationOverhead: direction.bytes == 0 ? 0 : (Double(overheadBytes) / Double(direction.bytes) * 1e6).rounded() / 1e6,
                               queueDrops: direction.queueDrops, lossDrops: direction.lossDrops)
        }
        let pods = cluster.pods.map {
            Report.PodEntry(name: $0.name, workload: $0.workload, node: cluster.nodes[$0.node].spec.name,
                            address: $0.address.description, deleted: $0.deleted)
        }
        var report = Report(scenario: scenario.name, seed: scenario.seed,
                            overlay: nodes.first?.endpoint.configuration.ipLinkDescription ?? "",
                            durationNanoseconds: lastActivity, packetsSimulated: packetsSimulated, flows: flowsReport,
                            links: linksReport, pods: pods, captures: captures?.files ?? [])
        report.warnings = scenario.warnings.map(\.description)
        let flowName = { (spec: Int) -> String? in spec >= 0 ? self.scenario.traffic[spec].name : nil }
        report.firewallDrops = firewallDrops.entries.sorted { ($0.value.first, $0.value.order) < ($1.value.first, $1.value.order) }
            .map { key, entry in
                Report.FirewallDrop(firstNanoseconds: entry.first, lastNanoseconds: entry.last, count: entry.count, point: key.point,
                                    device: key.verdict.device, kind: key.verdict.kind.rawValue, chain: key.verdict.chain.rawValue,
                                    action: key.verdict.action.rawValue, rule: key.verdict.ruleIndex, ruleText: key.verdict.ruleText,
                                    defaultPolicy: key.verdict.defaultPolicy, explanation: key.verdict.explanation, flow: flowName(key.flow))
            }
        report.firewallDropsUnlisted = firewallDrops.unlisted
        report.firewallRewrites = firewallRewrites.entries.sorted { ($0.value.first, $0.value.order) < ($1.value.first, $1.value.order) }
            .map { key, entry in
                Report.FirewallRewrite(firstNanoseconds: entry.first, count: entry.count, point: key.point,
                                       device: firewalls.devices[key.device].configuration.name, flow: flowName(key.flow),
                                       explanation: entry.example)
            }
        if explainSpec >= 0 { report.explanation = Report.Explanation(flow: scenario.traffic[explainSpec].name, lines: explanation) }
        return report
    }
}
