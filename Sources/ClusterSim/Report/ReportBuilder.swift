import Firewall
import Foundation

/// Builds the report of a finished run from what the observers recorded and what the network's parts counted.
enum ReportBuilder {
    static func report(of network: Network, captures: [String], warnings: [ScenarioWarning]) -> Report {
        let scenario = network.scenario
        let duration = max(network.lastActivity, 1)
        let accounting = network.observers.accounting
        let flows = accounting.flows.map { stat -> Report.Flow in
            let drops = stat.drops.map { key, tally in
                Report.Drop(place: key.place, code: key.reason.code, reason: key.reason.sentence, count: tally.count,
                            flowPackets: tally.flowPackets, firstNanoseconds: tally.first, lastNanoseconds: tally.last)
            }
                .sorted { ($0.place, $0.reason) < ($1.place, $1.reason) }
            let latency = stat.latency.median.map {
                Report.Latency(minimumNanoseconds: stat.latency.minimum, medianNanoseconds: $0, maximumNanoseconds: stat.latency.maximum)
            }
            let isTCP = stat.spec.protocol == .tcp
            let namesPods = { switch stat.spec.to { case .service, .selector: true; case .pod: false } }()
            return Report.Flow(name: stat.spec.name, protocol: stat.spec.protocol.rawValue, from: stat.spec.from.description,
                               to: { if case .selector = stat.spec.to { "\(stat.spec.to) (one pod)" } else { stat.spec.to.description } }(), packetsSent: stat.packetsSent, bytesSent: stat.bytesSent,
                               packetsDelivered: stat.packetsDelivered, bytesDelivered: stat.bytesDelivered,
                               packetsDropped: stat.packetsDropped, drops: drops, latency: latency,
                               retransmissions: stat.retransmissions, icmpErrorsReceived: stat.icmpErrors,
                               connections: isTCP ? stat.connections : nil,
                               connectionsCompleted: isTCP ? stat.connectionsCompleted : nil,
                               echoReplies: stat.spec.protocol == .icmp ? stat.echoReplies : nil,
                               connectionsFailed: isTCP ? stat.connectionsFailed : nil,
                               lowestMSS: stat.lowestMSS, endpoints: namesPods ? stat.endpoints : nil)
        }
        let underlay = network.underlay
        let links = underlay.directions.map { direction -> Report.Link in
            let link = direction.spec
            let bits = Double(direction.bytes + 24 * direction.packets) * 8
            let overheadBytes = direction.bytes - direction.innerBytes
            return Report.Link(from: underlay[direction.from].name, to: underlay[direction.to].name,
                               packets: direction.packets, bytes: direction.bytes,
                               utilisation: ((bits / (Double(link.bandwidth) * Double(duration) / 1e9)) * 1e6).rounded() / 1e6,
                               encapsulationOverhead: direction.bytes == 0 ? 0 : (Double(overheadBytes) / Double(direction.bytes) * 1e6).rounded() / 1e6,
                               queueDrops: direction.queueDrops, lossDrops: direction.lossDrops)
        }
        let cluster = network.cluster
        let pods = cluster.pods.map {
            Report.PodEntry(name: $0.name, workload: $0.workload, node: cluster.nodes[$0.node.index].name,
                            address: $0.address.description, deleted: $0.deleted)
        }
        var report = Report(scenario: scenario.name, seed: scenario.seed,
                            overlay: network.nodes.first?.overlay.mode.description ?? "",
                            durationNanoseconds: network.lastActivity, packetsSimulated: network.pool.taken, flows: flows,
                            links: links, pods: pods, captures: captures)
        report.warnings = warnings.map(\.description)
        report.topology = topology(of: network)
        let flowName = { (flow: FlowID?) -> String? in flow.map { scenario.traffic[$0.index].name } }
        let log = network.observers.firewallLog
        report.firewallDrops = log.drops.sorted { ($0.value.first, $0.value.order) < ($1.value.first, $1.value.order) }
            .map { key, entry in
                Report.FirewallDrop(firstNanoseconds: entry.first, lastNanoseconds: entry.last, count: entry.count, point: key.point,
                                    device: key.verdict.device, kind: key.verdict.kind.rawValue, chain: key.verdict.chain.rawValue,
                                    action: key.verdict.action.rawValue, rule: key.verdict.ruleIndex, ruleText: key.verdict.ruleText,
                                    defaultPolicy: key.verdict.defaultPolicy, explanation: key.verdict.explanation, flow: flowName(key.flow))
            }
        report.firewallDropsUnlisted = log.unlisted
        report.firewallRewrites = log.rewrites.sorted { ($0.value.first, $0.value.order) < ($1.value.first, $1.value.order) }
            .map { key, entry in
                Report.FirewallRewrite(firstNanoseconds: entry.first, count: entry.count, point: key.point,
                                       device: network.firewalls[key.device].configuration.name, flow: flowName(key.flow),
                                       explanation: entry.example)
            }
        if !network.injectors.isEmpty {
            let streams = network.observers.attacks.streams
            report.attacks = network.injectors.map { injector in
                let stats = streams[injector.id.index]
                let spec = injector.spec
                let drops = stats.drops.map { key, tally in
                    Report.Drop(place: key.place, code: key.reason.code, reason: key.reason.sentence, count: tally.count,
                                flowPackets: tally.flowPackets, firstNanoseconds: tally.first, lastNanoseconds: tally.last)
                }.sorted { ($0.firstNanoseconds, $0.place, $0.reason) < ($1.firstNanoseconds, $1.place, $1.reason) }
                let outerSource = spec.outerSource ?? injector.attacker.address
                let spoof = spec.outerSource.map { $0 == injector.attacker.address ? "" : " (spoofed)" } ?? ""
                let packet = "outer \(outerSource)\(spoof) → \(network[injector.target].underlayAddress) VXLAN VNI \(injector.vni), "
                    + "inner \(injector.innerSource) → \(injector.innerDestination) \(spec.protocol.rawValue.uppercased()) \(spec.destinationPort)"
                return Report.Attack(name: spec.name, attacker: injector.attacker.name, packet: packet, packetsSent: stats.sent,
                                     packetsReachedPod: stats.reachedPod, packetsDelivered: stats.delivered, drops: drops)
            }
        }
        if let explainer = network.observers.explainer {
            report.explanation = Report.Explanation(flow: scenario.traffic[explainer.flow.index].name, lines: explainer.lines)
        }
        return report
    }
}
