import ClusterSim
import Foundation
import PacketWire
import Testing
@testable import Testbed

/// The plan and the rulesets, without root: what the testbed would build for a scenario.
struct TestbedPlanTests {
    static func scenario(_ name: String) throws -> Scenario {
        let file = Suite.repository.appendingPathComponent("Scenarios/\(name).yaml").path
        return try ScenarioParser.parse(yaml: try String(contentsOfFile: file, encoding: .utf8), file: file)
    }

    static func plan(_ name: String, layout: VTEPLayout = .routed) throws -> TestbedPlan {
        let scenario = try scenario(name)
        let pods = try Simulation(scenario: scenario).run(captureDirectory: nil).pods
        var options = TestbedOptions(prefix: "t")
        options.layout = layout
        return try TestbedPlan(scenario: scenario, pods: pods, options: options)
    }

    @Test("flannel.1 gets the overlay's options as ip link words")
    func vxlanArguments() throws {
        let plan = try Self.plan("linux-pmtu-df-inherit")
        let words = plan.vxlanArguments(node: 0).joined(separator: " ")
        #expect(words == "link add flannel.1 type vxlan id 1 local 10.0.0.1 dev ul0 dstport 8472 nolearning df inherit udpcsum")
    }

    @Test("routed VTEP: Flannel's route, permanent neighbour and FDB entry for the remote node")
    func routedEntries() throws {
        let steps = try Self.plan("linux-pmtu-df-inherit").steps.map(\.description)
        #expect(steps.contains("ip -n t-n0 route replace 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink"))
        #expect(steps.contains("ip -n t-n0 neigh replace 10.244.1.0 lladdr 02:00:00:aa:00:02 dev flannel.1 nud permanent"))
        #expect(steps.contains("bridge -n t-n0 fdb append 02:00:00:aa:00:02 dev flannel.1 dst 10.0.1.1 self permanent"))
        // node-a reaches node-b through the router, whose address is ClusterSim's 198.51.100.1.
        #expect(steps.contains("ip -n t-n0 -4 route replace 10.0.1.1/32 via 198.51.100.1 dev ul0 onlink"))
    }

    @Test("bridged VTEP: flannel.1 is a port of cni0 and remote pods go through the bridge")
    func bridgedEntries() throws {
        let steps = try Self.plan("linux-pmtu-df-inherit", layout: .bridged).steps.map(\.description)
        #expect(steps.contains("ip -n t-n0 link set flannel.1 master cni0"))
        #expect(steps.contains("ip -n t-n0 route replace 10.244.1.0/24 via 10.244.1.1 dev cni0 onlink"))
        #expect(!steps.contains { $0.contains("addr add 10.244.0.0/32 dev flannel.1") })
    }

    @Test("a host input chain becomes an nft inet table with counters, the policy counted last")
    func hostRuleset() throws {
        let scenario = try Self.scenario("linux-input-no-vxlan")
        let spec = try #require(scenario.firewalls.first)
        let ruleset = NFTablesRuleset.host(spec, underlayInterfaces: ["ul0"])
        #expect(ruleset.text.contains("type filter hook input priority 0; policy drop;"))
        #expect(ruleset.text.contains("ct state { established, related } counter accept comment \"r1\""))
        #expect(ruleset.text.contains("tcp dport { 6443, 10250 } counter accept comment \"r3\""))
        #expect(ruleset.text.contains("counter drop comment \"policy\""))
        #expect(ruleset.unsupported.isEmpty)
    }

    @Test("a stateful middlebox's timeouts become its namespace's conntrack sysctls")
    func statefulTimeouts() throws {
        let scenario = try Self.scenario("linux-stateful-udp")
        let spec = try #require(scenario.firewalls.first)
        let ruleset = NFTablesRuleset.middlebox(spec)
        #expect(ruleset.sysctls.map { "\($0.0)=\($0.1)" } == ["net.netfilter.nf_conntrack_udp_timeout=2", "net.netfilter.nf_conntrack_udp_timeout_stream=5"])
        #expect(ruleset.text.contains("ip saddr { 10.0.0.1 } udp dport { 8472 } ct state { new } counter accept"))
    }

    @Test("pod MACs and source ports are the simulator's: read back from a simulated run's capture")
    func addressingMatchesSimulator() throws {
        let scenario = try Self.scenario("linux-closed-port")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-sim-plan-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let report = try Simulation(scenario: scenario).run(captureDirectory: folder)
        let frames = try FrameReader.frames(path: folder + "/pod-client.pcap", epoch: Comparison.simulatedEpoch, vxlanPorts: [8472])
        let map = FlowMap(scenario: scenario, pods: report.pods)
        let first = try #require(frames.first?.packet)
        let client = try #require(report.pods.first { $0.name == "client" })
        #expect(first.sourceMAC == SimulatorAddressing.podMAC(try #require(IPv4Address(client.address))).description)
        #expect(first.destinationMAC == SimulatorAddressing.gatewayMAC(0).description)
        // Every frame the client sent belongs to one of the scenario's flows by its source port.
        #expect(frames.compactMap(\.packet).filter { $0.source == client.address }.allSatisfy { map.classify($0) != nil })
    }
}
