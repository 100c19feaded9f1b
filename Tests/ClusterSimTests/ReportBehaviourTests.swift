import ClusterSim
import Foundation
import Testing

/// The report and the scenario reader as a user meets them (issue 15, item 5): drop counts that add up,
/// drops with code, place and times, the counts explained, and errors for what a scenario cannot mean.
@Suite("Report counts and scenario errors")
struct ReportBehaviourTests {
    @Test("every flow's drops add up to its dropped count, and each has a code, a place and first ≤ last",
          arguments: SimulationTests.exampleScenarios)
    func dropsAddUp(name: String) throws {
        let report = try Simulation(scenario: try loadScenario(name)).run(captureDirectory: nil)
        for flow in report.flows {
            #expect(flow.drops.reduce(0) { $0 + $1.flowPackets } == flow.packetsDropped, "\(name)/\(flow.name)")
            for drop in flow.drops {
                #expect(drop.count >= drop.flowPackets && drop.count > 0 && !drop.place.isEmpty)
                #expect(drop.firstNanoseconds <= drop.lastNanoseconds && drop.lastNanoseconds <= max(report.durationNanoseconds, drop.lastNanoseconds))
                if drop.count == 1 { #expect(drop.firstNanoseconds == drop.lastNanoseconds) }
            }
        }
        // The table's drop lines for a flow add up to its dropped column too.
        let table = report.table()
        #expect(report.flows.isEmpty || table.contains("sent, delivered and dropped count the packets that carry a flow forward"))
    }

    @Test("report.json's drops carry code, place, count, flowPackets and the first and last time")
    func dropJSON() throws {
        let report = try Simulation(scenario: try loadScenario("fw-sg-port-mismatch")).run(captureDirectory: nil)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let flows = try #require(json["flows"] as? [[String: Any]])
        let drop = try #require((flows.first { $0["name"] as? String == "web-to-api" }?["drops"] as? [[String: Any]])?.first)
        #expect(Set(drop.keys) == ["code", "place", "reason", "count", "flowPackets", "firstNanoseconds", "lastNanoseconds"])
        #expect(drop["code"] as? String == "firewallDenied" && drop["place"] as? String == "node-b security group")
        // The SYN's eleven tries, from the first at 200 µs (one link's latency) to the last at 67 s.
        #expect(drop["count"] as? Int == 11 && drop["flowPackets"] as? Int == 11)
        #expect(drop["firstNanoseconds"] as? Int == 200_119 && (drop["lastNanoseconds"] as? Int ?? 0) > 67_000_000_000)
    }

    @Test("a line whose drops include replies says how many are the flow's packets")
    func repliesCountedApart() throws {
        let report = try Simulation(scenario: try loadScenario("default")).run(captureDirectory: nil)
        let mixed = report.flows.flatMap { flow in flow.drops.map { (flow, $0) } }.filter { $0.1.count != $0.1.flowPackets }
        for (flow, drop) in mixed {
            #expect(report.table().contains("dropped \(drop.count)× (\(drop.flowPackets) of the flow's packets"), "\(flow.name)")
        }
    }

    func error(_ yaml: String) -> ScenarioError? {
        do {
            _ = try Simulation(scenario: try ScenarioParser.parse(yaml: yaml, file: "s.yaml"))
            return nil
        } catch let error as ScenarioError {
            return error
        } catch {
            return nil
        }
    }

    static let twoNodesAndASwitch = """
        name: t
        cluster:
          overlay: {vni: 1, dstport: 8472}
          nodes:
            - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
            - {name: b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
        underlay:
          switches: [sw]
          links:
            - {between: [a, sw]}
            - {between: [b, sw]}
        workloads:
          - {kind: Pod, name: p, node: a}
          - {kind: Pod, name: q, node: b}
        traffic:
          - {name: ping, from: p, to: q, protocol: icmp, size: 56, count: 3, rate: 100/s}

        """

    /// The error points at the value that has no effect (line 18 is the firewall's).
    @Test("options that have no effect are errors at their line", arguments: [
        ("{name: f, kind: fragment-filter, link: [a, sw], drop: all, vxlanAware: true}", "s.yaml:18:76: vxlanAware has no effect on fragment-filter 'f'"),
        ("{name: f, kind: icmp-filter, link: [a, sw], vxlanAware: true}", "s.yaml:18:61: vxlanAware has no effect on icmp-filter 'f'"),
        ("{name: f, kind: dpi, link: [a, sw], protocols: [vxlan], vxlanAware: true}", "s.yaml:18:73: vxlanAware has no effect on dpi 'f': it has no rules to match inner headers (a DPI box reads inside VXLAN packets anyway)"),
        ("{name: f, kind: acl, link: [a, sw], policy: accept, vxlanPorts: [4789]}", "s.yaml:18:69: vxlanPorts has no effect on 'f' unless it is vxlanAware"),
    ])
    func noEffect(firewall: String, expected: String) throws {
        let failure = try #require(error(Self.twoNodesAndASwitch + "firewalls:\n  - \(firewall)\n"))
        #expect(failure.code == .noEffect)
        #expect(failure.description.hasPrefix(expected), "\(failure.description)")
    }

    @Test("a firewall on a node–switch link is placed and drops there")
    func firewallOnSwitchLink() throws {
        let yaml = Self.twoNodesAndASwitch + "firewalls:\n  - {name: no-icmp, kind: acl, link: [sw, b], policy: accept, rules: [{protocol: udp, dport: 8472, action: drop}]}\n"
        let report = try Simulation(scenario: try ScenarioParser.parse(yaml: yaml, file: "s.yaml")).run(captureDirectory: nil)
        let ping = try #require(report.flows.first)
        #expect(ping.packetsDelivered == 0 && ping.packetsDropped == 3)
        #expect(ping.drops.allSatisfy { $0.code == .firewallDenied && $0.place == "link sw→b" }, "\(ping.drops.map(\.place))")
        let unknown = try #require(error(Self.twoNodesAndASwitch + "firewalls:\n  - {name: x, kind: acl, link: [sw, nowhere]}\n"))
        #expect(unknown.description.contains("link end 'nowhere' is not a node, a router or a switch"), "\(unknown)")
    }

    @Test("an event after the traffic has ended is a warning at its line; one during it is not")
    func lateEvent() throws {
        let yaml = Self.twoNodesAndASwitch + "events:\n  - {at: 10ms, delete: q}\n  - {at: 100s, delete: p}\n"
        let report = try Simulation(scenario: try ScenarioParser.parse(yaml: yaml, file: "s.yaml")).run(captureDirectory: nil)
        #expect(report.warnings.count == 1)
        #expect(report.warnings.first?.hasPrefix("s.yaml:19:5: warning: the event at 100s comes after the traffic has ended (its last packet or timer was at 20ms)") == true, "\(report.warnings)")
        #expect(report.table().hasPrefix("s.yaml:19:5: warning: the event at 100s"))
    }

    @Test("a tab is reported at its real line as a tab", arguments: [
        ("name: t\nseed: 1\ncluster:\n  nodes:\n\t- {name: a}\n", "s.yaml:5:1: invalid YAML: a tab, where YAML allows only spaces for indentation"),
        (String(repeating: "# comment\n", count: 40) + "name: t\n\tseed: 1\n", "s.yaml:42:1: invalid YAML: a tab"),
    ])
    func tab(yaml: String, expected: String) throws {
        do {
            _ = try ScenarioParser.parse(yaml: yaml, file: "s.yaml")
            Issue.record("a tab was accepted")
        } catch {
            #expect(error.code == .invalidYAML)
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }
}
