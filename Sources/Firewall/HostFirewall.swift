/// A node's own nftables / iptables / firewalld: input, output and forward chains with policies, and the
/// node's conntrack. A chain the scenario does not give accepts everything, as an empty nftables base
/// chain with policy accept does.
public struct HostFirewall: RuleBasedInspector {
    public static let kind = FirewallKind("host", displayName: "host firewall")
    public static let chains: [Chain] = [.input, .output, .forward]
    public static let matchesConnectionState = true

    public var rules: [Chain: RuleSet]
    public var conntrack: ConnectionTracking

    public init(rules: [Chain: RuleSet] = [:], conntrack: ConnectionTracking = ConnectionTracking()) {
        self.rules = rules
        self.conntrack = conntrack
    }

    public var connectionTracking: ConnectionTracking? { conntrack }

    public func chainText(_ chain: Chain, in context: ExplanationContext) -> String {
        "\(context.placement)'s \(chain) chain (\(context.configuration.name))"
    }

    public func policySentence(_ decision: Decision, what: String, in context: ExplanationContext) -> String {
        let chain = decision.hook.chain
        let set = ruleSet(chain)
        let rules = set?.rules ?? [], policy = set?.policy ?? .accept
        let ruleCount = rules.isEmpty ? "which has no rules" : "and matched none of its \(rules.count) rule\(rules.count == 1 ? "" : "s")"
        let rejectNote = policy == .reject ? ", so the sender gets ICMP host prohibited (\"No route to host\")" : ""
        return "\(what) reached \(context.placement)'s \(chain) chain (\(context.configuration.name)) \(ruleCount); the chain's policy is \(policy)\(rejectNote)"
    }
}
