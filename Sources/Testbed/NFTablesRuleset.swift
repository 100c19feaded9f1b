import ClusterSim
import Firewall
import PacketWire

/// A scenario's firewall rendered as an nftables ruleset for `nft -f -`, each rule with a counter and a
/// comment naming it (`r3`, the rule's 1-based index) so `nft -j list ruleset` gives back how many
/// packets each rule took. What nftables cannot say is listed in ``unsupported`` instead of being guessed.
///
/// Host firewalls and security groups live in the node's own namespace (`inet` table, hooks input, output
/// and forward, as nftables' `filter` chains do); middleboxes on a link live in a namespace of their own
/// that bridges the link's two halves, with `net.bridge.bridge-nf-call-iptables=1` so bridged packets
/// pass the inet hooks and conntrack (br_netfilter; it defragments only when conntrack is in use, so a
/// stateless fragment filter sees the fragments themselves).
struct NFTablesRuleset {
    /// The text for `nft -f -`.
    var text: String
    /// Sysctls of the namespace's conntrack the device's timeouts become
    /// (`net.netfilter.nf_conntrack_udp_timeout` ...), set after the ruleset is loaded.
    var sysctls: [(String, String)] = []
    /// Settings of the scenario that nftables cannot express, each a sentence.
    var unsupported: [String] = []
    /// The table that holds the rules, for reading counters back.
    static let table = "overlaysim"

    /// A host firewall (`kind: host`) or a security group (`kind: security-group`) of a node whose underlay
    /// interfaces are `underlayInterfaces`.
    static func host(_ spec: FirewallSpec, underlayInterfaces: [String]) -> NFTablesRuleset {
        var rendering = NFTablesRuleset(text: "")
        let configuration = spec.configuration
        var chains: [String] = []
        switch configuration.inspector {
        case let host as HostFirewall:
            for (chain, hook) in [(Chain.input, "input"), (.output, "output"), (.forward, "forward")] {
                guard let set = host.rules[chain] else { continue }
                chains.append(rendering.chain(name: chain.rawValue, hook: hook, set: set, guardLine: nil, family: .inet))
            }
        case let group as SecurityGroup:
            // A security group sees only what crosses the node's underlay interface, so everything else is
            // accepted first; its policy is deny.
            let interfaces = "{ " + underlayInterfaces.map { "\"\($0)\"" }.joined(separator: ", ") + " }"
            if let set = group.rules[.ingress] {
                chains.append(rendering.chain(name: "ingress", hook: "input", set: set,
                                              guardLine: "iifname != \(interfaces) accept", family: .inet))
            }
            if let set = group.rules[.egress] {
                chains.append(rendering.chain(name: "egress", hook: "output", set: set,
                                              guardLine: "oifname != \(interfaces) accept", family: .inet))
            }
        default:
            rendering.unsupported.append("\(configuration.title): a \(configuration.kind.displayName) cannot sit on a node")
        }
        let tracking = (configuration.inspector as? any RuleBasedInspector)?.connectionTracking
        if let notrack = tracking?.notrack, !notrack.isEmpty {
            var lines = ["  chain notrack {", "    type filter hook prerouting priority raw; policy accept;"]
            for match in notrack {
                if let words = rendering.match(match, family: .inet, what: "\(configuration.title) notrack") {
                    lines.append("    \(words) notrack")
                }
            }
            lines.append("  }")
            chains.append(lines.joined(separator: "\n"))
        }
        if let tracking { rendering.conntrackSettings(tracking, title: configuration.title) }
        rendering.text = "table inet \(table) {\n" + chains.joined(separator: "\n") + "\n}\n"
        return rendering
    }

    /// A middlebox on a link (`acl`, `stateful`, `fragment-filter`, `icmp-filter`), bridged in its own namespace.
    static func middlebox(_ spec: FirewallSpec) -> NFTablesRuleset {
        var rendering = NFTablesRuleset(text: "")
        let configuration = spec.configuration
        var body: [String] = []
        switch configuration.inspector {
        case let list as AccessList:
            body.append(rendering.chain(name: "transit", hook: "forward", set: list.transit, guardLine: nil, family: .inet))
        case let stateful as StatefulFirewall:
            body.append(rendering.chain(name: "transit", hook: "forward", set: stateful.transit, guardLine: nil, family: .inet))
            rendering.conntrackSettings(stateful.conntrack, title: configuration.title)
        case let filter as FragmentFilter:
            let words: String
            switch filter.drop {
            case .any: words = "ip frag-off & 0x3fff != 0"
            case .first: words = "ip frag-off & 0x3fff == 0x2000"
            case .nonFirst: words = "ip frag-off & 0x1fff != 0"
            case .none: words = "ip frag-off & 0x3fff == 0"
            }
            body.append(["  chain transit {", "    type filter hook forward priority 0; policy accept;",
                         "    \(words) counter drop comment \"r1\"", "  }"].joined(separator: "\n"))
        case let filter as ICMPFilter:
            let types = filter.types.map { "icmp type { " + $0.map(String.init).joined(separator: ", ") + " }" }
                ?? "meta l4proto icmp"
            let rule: String
            if let rate = filter.ratePerSecond {
                // A token bucket like the simulator's: `limit rate over` drops what exceeds rate + burst.
                rule = "\(types) limit rate over \(max(1, Int(rate.rounded())))/second burst \(filter.burst) packets counter drop comment \"r1\""
            } else {
                rule = "\(types) counter drop comment \"r1\""
            }
            body.append(["  chain transit {", "    type filter hook forward priority 0; policy accept;", "    \(rule)", "  }"]
                .joined(separator: "\n"))
        case is DeepPacketInspector:
            rendering.unsupported.append("\(configuration.title): nftables cannot recognise protocols by their payload as a DPI box does; the link passes everything")
        case is SourceNAT:
            rendering.unsupported.append("\(configuration.title): a NAT on a bridged link cannot be built with nftables' bridge family (no snat to an address there); the link passes everything untranslated")
        default:
            rendering.unsupported.append("\(configuration.title): a \(configuration.kind.displayName) cannot sit on a link")
        }
        rendering.text = "table inet \(table) {\n" + body.joined(separator: "\n") + "\n}\n"
        return rendering
    }

    enum Family { case inet, bridge }

    /// One base chain with its rules and policy.
    mutating func chain(name: String, hook: String, set: RuleSet, guardLine: String?, family: Family) -> String {
        var lines = ["  chain \(name) {", "    type filter hook \(hook) priority 0; policy \(set.policy == .accept ? "accept" : "drop");"]
        if let guardLine { lines.append("    \(guardLine)") }
        for (index, rule) in set.rules.enumerated() {
            guard let words = match(rule.match, family: family, what: "rule \(index + 1) of chain \(name)") else { continue }
            lines.append("    \(words)\(words.isEmpty ? "" : " ")counter \(Self.verdict(rule.action, family: family)) comment \"r\(index + 1)\"")
        }
        // The policy as a counted last rule, so its drops are counted as the simulator counts them.
        if set.policy != .accept {
            lines.append("    counter \(Self.verdict(set.policy, family: family)) comment \"policy\"")
        }
        lines.append("  }")
        return lines.joined(separator: "\n")
    }

    /// What iptables' and firewalld's REJECT send: ICMP host prohibited (type 3 code 10); ICMPv6
    /// administratively prohibited.
    static func verdict(_ action: RuleAction, family: Family) -> String {
        switch action {
        case .accept: "accept"
        case .drop: "drop"
        case .reject: "reject with icmp type host-prohibited"
        }
    }

    /// The match in nftables' words, or nil (and a sentence in ``unsupported``) when it cannot be said.
    mutating func match(_ match: RuleMatch, family: Family, what: String) -> String? {
        var words: [String] = []
        if match.usesInnerFields {
            unsupported.append("\(what): matches inside VXLAN (vni, inner addresses or ports) need nftables' inner header matching (nft 1.0.7 and later); the rule is left out")
            return nil
        }
        if let etherType = match.etherType {
            switch etherType {
            case .ipv4: words.append("meta protocol ip")
            case .ipv6: words.append("meta protocol ip6")
            default:
                if family == .bridge { words.append("ether type 0x" + String(etherType.rawValue, radix: 16)) } else {
                    unsupported.append("\(what): an inet table never sees ether type 0x\(String(etherType.rawValue, radix: 16)); the rule is left out")
                    return nil
                }
            }
        }
        if let mac = match.sourceMAC { words.append("ether saddr \(mac)") }
        if let mac = match.destinationMAC { words.append("ether daddr \(mac)") }
        for (prefixes, direction) in [(match.source, "saddr"), (match.destination, "daddr")] {
            guard let prefixes else { continue }
            let families = Set(prefixes.map(\.isIPv6))
            guard families.count == 1, let v6 = families.first else {
                unsupported.append("\(what): one rule matches IPv4 and IPv6 addresses together; the rule is left out")
                return nil
            }
            words.append("\(v6 ? "ip6" : "ip") \(direction) { " + prefixes.map(\.description).joined(separator: ", ") + " }")
        }
        if let fragment = match.fragment {
            switch fragment {
            case .none: words.append("ip frag-off & 0x3fff == 0")
            case .any: words.append("ip frag-off & 0x3fff != 0")
            case .first: words.append("ip frag-off & 0x3fff == 0x2000")
            case .nonFirst: words.append("ip frag-off & 0x1fff != 0")
            }
        }
        if let df = match.dontFragment { words.append(df ? "ip frag-off & 0x4000 != 0" : "ip frag-off & 0x4000 == 0") }
        if let length = match.length { words.append("ip length \(length)") }
        if let offset = match.fragmentOffset {
            words.append("ip frag-off & 0x1fff \(offset.lower / 8)-\(max(offset.lower, offset.upper) / 8)")
        }
        let protocolName = match.protocol.map(RuleMatch.protocolName)
        if match.sourcePorts != nil || match.destinationPorts != nil {
            let prefix: String
            if let protocolName, protocolName == "udp" || protocolName == "tcp" { prefix = protocolName } else {
                words.append("meta l4proto { tcp, udp }")
                prefix = "th"
            }
            if let ports = match.sourcePorts { words.append("\(prefix) sport { " + ports.map(\.description).joined(separator: ", ") + " }") }
            if let ports = match.destinationPorts { words.append("\(prefix) dport { " + ports.map(\.description).joined(separator: ", ") + " }") }
        } else if match.icmpType != nil || match.icmpCode != nil {
            let prefix = protocolName == "icmpv6" ? "icmpv6" : "icmp"
            if let type = match.icmpType { words.append("\(prefix) type \(type)") }
            if let code = match.icmpCode { words.append("\(prefix) code \(code)") }
        } else if let protocolName {
            words.append("meta l4proto \(protocolName)")
        }
        if let flags = match.tcpFlags { words.append(flags.description) }
        if let states = match.states { words.append("ct state { " + states.description.split(separator: ",").joined(separator: ", ") + " }") }
        return words.joined(separator: " ")
    }

    /// The device's conntrack timeouts as the namespace's sysctls (they are per network namespace).
    mutating func conntrackSettings(_ tracking: ConnectionTracking, title: String) {
        let defaults = ConntrackTimeouts()
        let names: [(String, KeyPath<ConntrackTimeouts, UInt64>)] = [
            ("nf_conntrack_udp_timeout", \.udp), ("nf_conntrack_udp_timeout_stream", \.udpStream),
            ("nf_conntrack_tcp_timeout_established", \.tcpEstablished), ("nf_conntrack_tcp_timeout_syn_sent", \.tcpUnestablished),
            ("nf_conntrack_tcp_timeout_time_wait", \.tcpClosing), ("nf_conntrack_icmp_timeout", \.icmp),
            ("nf_conntrack_generic_timeout", \.other),
        ]
        for (name, path) in names where tracking.timeouts[keyPath: path] != defaults[keyPath: path] {
            let seconds = max(1, (tracking.timeouts[keyPath: path] + 500_000_000) / 1_000_000_000)
            sysctls.append(("net.netfilter.\(name)", "\(seconds)"))
        }
        if tracking.tableSize != ConnectionTracking().tableSize {
            unsupported.append("\(title): tableSize \(tracking.tableSize): nf_conntrack_max is one number for the whole machine, not per device; left at the kernel's")
        }
    }
}
