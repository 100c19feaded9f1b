import ClusterSim
import Firewall
import Testing

/// Bad firewall rules are reported at their line and column; rules that can never match are warned about.
@Suite("Firewall scenario files")
struct FirewallParserTests {
    static let base = """
    name: t
    cluster:
      nodes:
        - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        - {name: b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
    underlay:
      routers: [r]
      links:
        - {between: [a, r]}
        - {between: [r, b]}
    firewalls:

    """

    func parse(_ firewalls: String) throws -> Scenario {
        try ScenarioParser.parse(yaml: Self.base + firewalls, file: "s.yaml")
    }

    func error(_ firewalls: String) -> String {
        do {
            _ = try parse(firewalls)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("a valid firewalls section: kinds, placements, chains, options")
    func parses() throws {
        let scenario = try parse("""
          - name: nft
            node: [a, b]
            input: {policy: drop, rules: [{state: [established, related], action: accept}, {protocol: udp, dport: 8472, source: a, action: accept}]}
          - {name: sg, interface: b, ingress: [{protocol: udp, dport: 4789-4790, source: 10.0.0.0/24}]}
          - {name: fw, kind: stateful, link: [a, r], policy: accept, timeouts: {udp: 10s, udpStream: 1m}, tableSize: 100, rules: [{fragment: non-first, action: drop}]}
          - {name: nat, kind: nat, link: [r, b], inside: b, randomFully: true, checksum: offload-bug, ports: 2000-3000}
          - {name: dpi, kind: dpi, link: [r, b], protocols: ["vxlan:8472", icmp]}
          - {name: icmp, kind: icmp-filter, link: [a, r], types: [fragmentation-needed], rateLimit: 5/s, burst: 2}
        """)
        #expect(scenario.firewalls.count == 7, "one host firewall per node in the list")
        #expect(scenario.firewalls.map(\.placement) == [.node("a"), .node("b"), .interface("b"), .link("a", "r"), .link("b", "r"), .link("r", "b"), .link("a", "r")])
        let host = try #require(scenario.firewalls[0].configuration.inspector as? HostFirewall)
        #expect(host.rules[.input]?.rules.map(\.description) == ["ct state established,related accept", "ip saddr 10.0.0.1 udp dport 8472 accept"])
        #expect(host.rules[.input]?.policy == .drop)
        let stateful = try #require(scenario.firewalls[3].configuration.inspector as? StatefulFirewall).conntrack
        #expect(stateful.timeouts.udp == 10_000_000_000 && stateful.timeouts.udpStream == 60_000_000_000 && stateful.tableSize == 100)
        let nat = try #require(scenario.firewalls[4].configuration.inspector as? SourceNAT)
        #expect(nat.randomFully && nat.checksum == .offloadBug && nat.ports == PortRange(2000, 3000))
        #expect((scenario.firewalls[5].configuration.inspector as? DeepPacketInspector)?.protocols.first?.ports == [8472])
        let icmp = try #require(scenario.firewalls[6].configuration.inspector as? ICMPFilter)
        #expect(icmp.types == [3] && icmp.ratePerSecond == 5)
        #expect(scenario.warnings.isEmpty)
    }

    @Test("bad rules and devices are reported at their line and column", arguments: [
        ("  - {name: x, node: a, input: {rules: [{protocol: udp, dprot: 4789, action: accept}]}}\n",
         "s.yaml:12:56: unknown field 'dprot' in a rule of the input chain; expected one of:"),
        ("  - {name: x, node: a, input: {rules: [{protocol: udp, dport: 70000, action: accept}]}}\n",
         "s.yaml:12:63: dport 70000 is out of range 0...65535"),
        ("  - {name: x, node: a, input: {rules: [{protocol: tcp, tcpFlags: [syn, sin], action: drop}]}}\n",
         "s.yaml:12:66: tcpFlags: 'sin' is not a TCP flag"),
        ("  - {name: x, node: a, input: {rules: [{dport: 1000-99999, action: accept}]}}\n",
         "s.yaml:12:48: dport 99999 in '1000-99999' is out of range 0...65535"),
        ("  - {name: x, node: a, input: {rules: [{source: 10.0.0.0/33, action: drop}]}}\n",
         "s.yaml:12:49: source '10.0.0.0/33' is not an address prefix (such as 10.0.0.0/16) or the name of a node or router"),
        ("  - {name: x, node: a, input: {rules: [{source: node-z, action: drop}]}}\n",
         "s.yaml:12:49: source 'node-z' is not an address prefix"),
        ("  - {name: x, node: c, input: {policy: drop}}\n",
         "s.yaml:12:21: firewall 'x' is on node 'c', which does not exist"),
        ("  - {name: x, kind: acl, link: [a, b]}\n",
         "s.yaml:12:32: no link joins 'a' and 'b'"),
        ("  - {name: x, kind: firewall, link: [a, r]}\n",
         "s.yaml:12:21: kind 'firewall' is not a device overlay-sim knows; expected one of: host, security-group, acl"),
        ("  - {name: x, kind: acl, link: [a, r], rules: [{state: new, action: accept}]}\n",
         "s.yaml:12:56: an ACL keeps no connection state to match"),
        ("  - {name: x, interface: a, ingress: [{protocol: udp, dport: 4789, action: accept}]}\n",
         "s.yaml:12:68: security group rules only allow traffic: remove 'action'"),
        ("  - {name: x, node: a, input: {rules: [{protocol: udp}]}}\n",
         "s.yaml:12:40: a rule of the input chain needs a 'action' field"),
        ("  - {name: x, link: [a, r]}\n",
         "s.yaml:12:5: firewall 'x' sits on a link and needs a 'kind'"),
        ("  - {name: x, kind: host, link: [a, r]}\n",
         "s.yaml:12:5: kind host cannot sit on a link"),
        ("  - {name: x, node: a, link: [a, r]}\n",
         "s.yaml:12:5: firewall 'x' needs exactly one of 'node'"),
        ("  - {name: x, node: a, input: {policy: allow}}\n",
         "s.yaml:12:40: policy 'allow' must be accept, drop or reject"),
        ("  - {name: x, node: a}\n  - {name: x, node: b}\n",
         "s.yaml:13:5: firewall 'x' is defined twice"),
        ("  - {name: x, kind: dpi, link: [a, r], protocols: [quic]}\n",
         "s.yaml:12:52: protocol 'quic' is not one the DPI box knows"),
    ])
    func reportsWhere(yaml: String, expected: String) {
        let found = error(yaml)
        #expect(found.hasPrefix(expected), "got: \(found)")
    }

    @Test("a host chain can be given on its own (chain, policy, rules), and drops.pcap can be turned off")
    func chainShortForm() throws {
        let scenario = try ScenarioParser.parse(yaml: Self.base + """
          - {name: x, node: b, chain: forward, policy: reject, rules: [{protocol: icmp, action: accept}]}
        captures: {drops: false}
        """, file: "s.yaml")
        let configuration = try #require(scenario.firewalls.first?.configuration)
        let host = try #require(configuration.inspector as? HostFirewall)
        #expect(configuration.kind == HostFirewall.kind && host.rules.keys.sorted { $0.rawValue < $1.rawValue } == [.forward])
        #expect(host.rules[.forward]?.policy == .reject)
        #expect(!scenario.captures.drops)
    }

    @Test("rules that can never match are warned about at their line")
    func warnings() throws {
        let scenario = try parse("""
          - name: x
            kind: acl
            link: [a, r]
            rules:
              - {protocol: udp, action: accept}
              - {protocol: udp, dport: 4789, action: drop}
              - {protocol: tcp, dport: 5000-4000, action: drop}
              - {innerDport: 5432, action: drop}
        """)
        let warnings = scenario.warnings.map(\.description)
        #expect(warnings.count == 3, "\(warnings)")
        #expect(warnings[0].hasPrefix("s.yaml:17:9: warning: rule 2 (`udp dport 4789 drop`) of ACL x's transit chain can never match: rule 1 (`meta l4proto udp accept`) before it matches every packet it would"))
        #expect(warnings[1].hasPrefix("s.yaml:18:9: warning: rule 3 (`tcp dport 5000-4000 drop`) of ACL x's transit chain can never match: its destination port range is empty"))
        #expect(warnings[2].contains("x is not vxlanAware"))
    }
}
