/// The devices the model knows, where real clusters have them.
public enum FirewallKind: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// A node's own nftables/iptables/firewalld: input, output and forward chains with policies, and
    /// the node's conntrack.
    case host
    /// A cloud security group on a node's interface: stateful allow-lists per direction, default deny.
    case securityGroup = "security-group"
    /// A stateless access list on a link: first match wins, then the policy.
    case acl
    /// A stateful firewall on a link: rules with `ct state`, per-protocol conntrack timeouts.
    case stateful
    /// A box that drops IP fragments.
    case fragmentFilter = "fragment-filter"
    /// A box that drops or rate-limits ICMP.
    case icmpFilter = "icmp-filter"
    /// Deep packet inspection: passes only protocols it recognises, on the ports it knows them on.
    case dpi
    /// Source NAT: rewrites the source address and port of packets leaving the inside.
    case nat

    public var description: String { rawValue }

    /// How a sentence names the device: "security group sg-workers".
    public var displayName: String {
        switch self {
        case .host: "host firewall"
        case .securityGroup: "security group"
        case .acl: "ACL"
        case .stateful: "stateful firewall"
        case .fragmentFilter: "fragment filter"
        case .icmpFilter: "ICMP filter"
        case .dpi: "DPI box"
        case .nat: "NAT"
        }
    }

    /// Whether the device keeps connection-tracking state.
    public var isStateful: Bool { self == .host || self == .securityGroup || self == .stateful }

    /// Whether rules may match `ct state`.
    public var matchesConnectionState: Bool { self == .host || self == .stateful }

    /// The chains this kind keeps rules in.
    public var chains: [Chain] {
        switch self {
        case .host: [.input, .output, .forward]
        case .securityGroup: [.ingress, .egress]
        case .acl, .stateful: [.transit]
        case .fragmentFilter, .icmpFilter, .dpi, .nat: []
        }
    }
}
