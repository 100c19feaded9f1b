import ClusterSim
import Testing

/// Invalid scenarios are reported as `file:line:column: what is wrong`, pointing at the offending text.
@Suite("Scenario files")
struct ScenarioParserTests {
    static let valid = """
    name: t
    cluster:
      nodes:
        - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        - {name: b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
    workloads:
      - {kind: Pod, name: p1, node: a, labels: {app: x}}
      - {kind: Pod, name: p2, node: b, labels: {app: y}}
    """

    func error(_ yaml: String) -> ScenarioError? {
        do {
            _ = try ScenarioParser.parse(yaml: yaml, file: "s.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test("the example scenarios and the built-in default all load")
    func examplesLoad() throws {
        for name in ["default", "flannel-two-nodes", "service-spread", "learning-fdb", "rollout-replacement", "large-100-nodes", "switch-mtu-blackhole"] {
            #expect(throws: Never.self) { try loadScenario(name) }
        }
    }

    @Test("a valid scenario parses with its values")
    func parsesValues() throws {
        let scenario = try ScenarioParser.parse(yaml: Self.valid, file: "s.yaml")
        #expect(scenario.nodes.map(\.name) == ["a", "b"])
        #expect(scenario.nodes[1].podCIDR.description == "10.244.1.0/24")
        #expect(scenario.overlay.destinationPort == 8472 && scenario.overlay.mtu == 1450)
    }

    @Test("problems are reported at their line and column", arguments: [
        (valid + "\nclustr: {}\n", "s.yaml:9:1: unknown field 'clustr' in the scenario"),
        ("name: t\n", "s.yaml:1:1: the scenario needs a 'cluster' field"),
        (valid.replacingOccurrences(of: "10.244.1.0/24", with: "10.244.0.128/25"), "s.yaml:5:7: podCIDR 10.244.0.128/25 of 'b' overlaps 10.244.0.0/24 of 'a'"),
        (valid.replacingOccurrences(of: "node: b,", with: "node: c,"), "s.yaml:8:5: pod 'p2' names node 'c', which does not exist"),
        (valid + "\nservices:\n  - {name: s, clusterIP: 10.96.0.1, selector: {app: nope}, ports: [{port: 80}]}\n",
         "s.yaml:10:5: the selector app=nope of service 's' matches no workload"),
        (valid + "\nunderlay:\n  links:\n    - {between: [a, b], mtu: 100}\n",
         "s.yaml:11:17: link mtu 100 leaves 50 bytes after the overlay's 50 bytes of VXLAN headers; IPv4 needs at least 68"),
        (valid.replacingOccurrences(of: "address: 10.0.0.2", with: "address: 10.0.0.300"), "s.yaml:5:26: address '10.0.0.300' is not an IPv4 or IPv6 address"),
        (valid + "\ntraffic:\n  - {from: p1, to: p2, protocol: quic}\n", "s.yaml:10:34: protocol 'quic' must be icmp, udp, tcp or sctp"),
        (valid + "\ntraffic:\n  - {from: p1, to: p3, protocol: udp}\n", "s.yaml:10:5: flow 'flow-1' names pod 'p3'"),
        ("name: t\ncluster:\n  nodes: [\n", "s.yaml:4:1: invalid YAML"),
        ("name: t\ncluster:\n  overlay: {vni: 16777216}\n  nodes: []\n", "s.yaml:3:18: vni 16777216 is out of range 0...16777215"),
    ])
    func reportsWhere(yaml: String, expected: String) {
        let found = error(yaml)
        #expect(found?.description.hasPrefix(expected) == true, "got: \(found?.description ?? "no error")")
    }
}
