/// A stateful firewall on a link: one `transit` chain whose rules may match `ct state`, connection
/// tracking with per-protocol timeouts, a bounded table and `notrack`; later fragments follow their first.
public struct StatefulFirewall: RuleBasedInspector {
    public static let kind = FirewallKind("stateful", displayName: "stateful firewall")
    public static let chains: [Chain] = [.transit]
    public static let matchesConnectionState = true

    public var transit: RuleSet
    public var conntrack: ConnectionTracking

    public init(transit: RuleSet = RuleSet(policy: .drop), conntrack: ConnectionTracking = ConnectionTracking()) {
        self.transit = transit
        self.conntrack = conntrack
    }

    public var rules: [Chain: RuleSet] { [.transit: transit] }
    public var connectionTracking: ConnectionTracking? { conntrack }
    public func ruleSet(_ chain: Chain) -> RuleSet? { chain == .transit ? transit : nil }
    public var explainsNewConnections: Bool { true }
}
