import PacketWire

/// A cloud security group on a node's interface: stateful allow-lists per direction (`ingress`,
/// `egress`), default deny. Return traffic of a flow it allowed passes without a rule; egress not given
/// allows everything (the cloud default). It filters outside the VM, so what it drops never reaches the
/// node's tcpdump.
public struct SecurityGroup: RuleBasedInspector {
    public static let kind = FirewallKind("security-group", displayName: "security group")
    public static let chains: [Chain] = [.ingress, .egress]
    public static let matchesConnectionState = false

    /// Allow rules per direction; the policy is always drop.
    public var rules: [Chain: RuleSet]
    public var conntrack: ConnectionTracking

    public init(rules: [Chain: RuleSet] = [:], conntrack: ConnectionTracking = ConnectionTracking()) {
        self.rules = rules
        self.conntrack = conntrack
    }

    public var connectionTracking: ConnectionTracking? { conntrack }

    static let denyAll = RuleSet(rules: [], policy: .drop)
    static let allowAll = RuleSet(rules: [Rule(match: RuleMatch(), action: .accept)], policy: .drop)

    public func ruleSet(_ chain: Chain) -> RuleSet? {
        if let set = rules[chain] { return set }
        switch chain {
        case .ingress: return Self.denyAll
        case .egress: return Self.allowAll
        default: return nil
        }
    }

    public var passesReturnTraffic: Bool { true }

    public func policyStep(_ set: RuleSet) -> String { "default deny" }

    public func ruleText(_ rule: Rule, in context: ExplanationContext) -> String {
        "allow " + Self.consoleText(rule.match, ingress: true, names: context.names)
    }

    public func policySentence(_ decision: Decision, what: String, in context: ExplanationContext) -> String {
        let chain = decision.hook.chain
        let rules = ruleSet(chain)?.rules ?? []
        let direction = chain == .egress ? "outbound" : "inbound"
        let allowed = rules.map { Self.consoleText($0.match, ingress: chain != .egress, names: context.names) }
        let summary = allowed.isEmpty ? "no \(direction) traffic at all" : ExplanationContext.list(allowed) + " only"
        let verb = chain == .egress ? "is not allowed out by" : "is not allowed by"
        var text = "\(what) \(verb) security group \(context.configuration.name) on \(context.placement); its \(direction) rules allow \(summary)"
        guard context.isVXLAN(decision.packet) else { return text }
        let port = decision.packet.destinationPort
        if let near = rules.firstIndex(where: { $0.match.firstMismatch(decision.packet, state: decision.state) == .destinationPort }),
           let allowedPorts = rules[near].match.destinationPorts {
            let ports = allowedPorts.map(\.description).joined(separator: ", ")
            text += ". Rule \(near + 1) would allow it on port \(ports): the overlay and the group disagree about the VXLAN port (Linux and Flannel default to 8472, IANA's is 4789), so open UDP \(port) or move the overlay to \(ports)"
        } else {
            text += ". The group is stateful, but VXLAN's traffic the other way is not a reply: each VTEP sends from its own hashed source port to port \(port), so each direction needs its own rule"
        }
        return text
    }

    /// A rule as a cloud console lists it: `UDP 4789 from 10.0.0.0/16`, with names for known addresses.
    static func consoleText(_ match: RuleMatch, ingress: Bool, names: AddressBook) -> String {
        var text: String
        let ports = match.destinationPorts.map { $0.map(\.description).joined(separator: ", ") }
        switch match.protocol {
        case .some(let proto):
            let name = proto.name == "unknown" ? "protocol \(proto.rawValue)" : proto.name
            if let ports { text = "\(name) \(ports)" } else if proto == .icmp || proto == .icmpv6 {
                text = match.icmpType.map { "\(name) type \($0)" } ?? "all \(name)"
            } else { text = "all \(name)" }
        case .none:
            text = ports.map { "TCP and UDP \($0)" } ?? "all traffic"
        }
        let peer = ingress ? match.source : match.destination
        if let peer { text += (ingress ? " from " : " to ") + peer.map { names[$0.network] ?? $0.description }.joined(separator: ", ") }
        return text
    }
}
