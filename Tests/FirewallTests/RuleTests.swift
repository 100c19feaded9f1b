import Firewall
import PacketWire
import Testing

@Suite("Rules")
struct RuleTests {
    @Test("rules print as nft lists them")
    func text() {
        #expect(rule(.accept) { $0.protocol = .udp; $0.destinationPorts = [PortRange(4789)] }.description == "udp dport 4789 accept")
        #expect(rule(.drop) { $0.source = prefix("10.0.0.0/16"); $0.protocol = .tcp; $0.destinationPorts = [PortRange(30000, 32767), PortRange(80)] }.description
                == "ip saddr 10.0.0.0/16 tcp dport { 30000-32767, 80 } drop")
        #expect(rule(.drop) { $0.fragment = .nonFirst }.description == "ip frag-off & 0x1fff != 0 drop")
        #expect(rule(.accept) { $0.states = [.established, .related] }.description == "ct state established,related accept")
        #expect(rule(.reject) { $0.protocol = .icmp; $0.icmpType = 3; $0.icmpCode = 4 }.description == "icmp type 3 icmp code 4 reject")
        #expect(rule(.drop) { $0.vni = [ValueRange(42)]; $0.innerDestination = prefix("10.244.1.0/24") }.description
                == "vxlan vni 42 vxlan ip daddr 10.244.1.0/24 drop")
        #expect(Rule(match: RuleMatch(), action: .drop, comment: "catch-all").description == "drop comment \"catch-all\"")
    }

    @Test("prefixes parse, normalise and contain", arguments: [
        ("10.0.0.7/24", "10.0.0.0/24", "10.0.0.200", true), ("10.0.0.7", "10.0.0.7", "10.0.0.8", false),
        ("0.0.0.0/0", "0.0.0.0/0", "203.0.113.1", true), ("fd00::1/64", "fd00::/64", "fd00::beef", true),
        ("fd00::/64", "fd00::/64", "10.0.0.1", false),
    ])
    func prefixes(text: String, normal: String, address: String, inside: Bool) throws {
        let parsed = try #require(IPPrefix(text))
        #expect(parsed.description == normal)
        #expect(parsed.contains(try #require(IPAddress(address))) == inside)
    }

    @Test("malformed prefixes are refused", arguments: ["10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "fd00::/129", "node-b", "10.0.0.0/8/8"])
    func badPrefixes(text: String) {
        #expect(IPPrefix(text) == nil)
    }

    @Test("rules that can never match are found, each with the reason")
    func lint() {
        let configuration = FirewallConfiguration(name: "fw", AccessList(transit: RuleSet(rules: [
            rule(.accept) { $0.protocol = .udp },                                              // 1
            rule(.drop) { $0.protocol = .udp; $0.destinationPorts = [PortRange(4789)] },       // 2 shadowed by 1
            rule(.accept) { $0.protocol = .tcp; $0.destinationPorts = [PortRange(5000, 4000)] }, // 3 empty range
            rule(.accept) { $0.states = [.established] },                                      // 4 stateless
            rule(.drop) { $0.fragment = .nonFirst; $0.protocol = .tcp; $0.destinationPorts = [PortRange(80)] }, // 5
            rule(.drop) { $0.protocol = .icmp; $0.destinationPorts = [PortRange(1)] },          // 6
            rule(.drop) { $0.innerDestinationPorts = [PortRange(5432)] },                       // 7 not vxlanAware
        ], policy: .drop)))
        let warnings = RuleLint.warnings(for: configuration)
        #expect(warnings.map(\.ruleIndex) == [1, 2, 3, 4, 5, 6])
        #expect(warnings[0].message == "rule 2 (`udp dport 4789 drop`) of ACL fw's transit chain can never match: rule 1 (`meta l4proto udp accept`) before it matches every packet it would, so its drop never happens")
        #expect(warnings[1].message.contains("its destination port range is empty"))
        #expect(warnings[2].message.contains("ACL fw keeps no connection state"))
        #expect(warnings[3].message.contains("a non-first fragment carries no transport header"))
        #expect(warnings[4].message.contains("it asks for ports, which ICMP does not have"))
        #expect(warnings[5].message.contains("not vxlanAware"))
    }

    @Test("coverage is about packets: a wider prefix or port range covers a narrower one, not the reverse")
    func covers() {
        let wide = rule(.accept) { $0.source = prefix("10.0.0.0/8"); $0.protocol = .udp; $0.destinationPorts = [PortRange(4000, 9000)] }.match
        let narrow = rule(.accept) { $0.source = prefix("10.1.0.0/16"); $0.protocol = .udp; $0.destinationPorts = [PortRange(8472)] }.match
        #expect(wide.covers(narrow) && !narrow.covers(wide))
        let anyProtocol = rule(.accept) { $0.destinationPorts = [PortRange(8472)] }.match
        #expect(anyProtocol.covers(narrow) && !narrow.covers(anyProtocol), "ports without a protocol mean TCP or UDP")
    }
}
