/// A stateless access list on a link (a router's ACL): one `transit` chain for both directions, first
/// match wins, then the policy. It keeps no state, so it cannot see ports in a fragment after the first.
public struct AccessList: RuleBasedInspector {
    public static let kind = FirewallKind("acl", displayName: "ACL")
    public static let chains: [Chain] = [.transit]
    public static let matchesConnectionState = false

    public var transit: RuleSet

    public init(transit: RuleSet = RuleSet(policy: .drop)) { self.transit = transit }

    public var rules: [Chain: RuleSet] { [.transit: transit] }
    public var connectionTracking: ConnectionTracking? { nil }
    public func ruleSet(_ chain: Chain) -> RuleSet? { chain == .transit ? transit : nil }
}
