import Firewall

/// Where a firewall sits in the cluster.
public enum FirewallPlacement: Hashable, Sendable, CustomStringConvertible {
    /// A node's host firewall (nftables, iptables, firewalld): its input, output and forward chains.
    case node(String)
    /// A cloud security group on a node's underlay interface, both directions.
    case interface(String)
    /// A middlebox on a link, seeing both directions. The first end is the inside (for NAT).
    case link(String, String)

    public var description: String {
        switch self {
        case .node(let name): name
        case .interface(let name): "\(name) underlay interface"
        case let .link(a, b): "link \(a)↔\(b)"
        }
    }
}

/// A firewall as the scenario declares it: the device's configuration and where it sits, with the
/// places in the file its rules were written, for warnings.
public struct FirewallSpec: Hashable, Sendable {
    public var configuration: FirewallConfiguration
    public var placement: FirewallPlacement
    public var location: SourceLocation
    /// Where each rule of each chain was written.
    public var ruleLocations: [Chain: [SourceLocation]] = [:]

    public var name: String { configuration.name }
}

/// Something in a scenario that is legal but almost certainly not what was meant: a firewall rule that
/// can never match. Printed as `file:line:column: warning: message`.
public struct ScenarioWarning: Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): warning: \(message)" }
}
