/// A list of rules a device keeps for one kind of traffic.
public enum Chain: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Host firewall: packets for the node itself (VXLAN arriving at the VTEP, ICMP errors).
    case input
    /// Host firewall: packets the node sends (its VTEP's outer packets).
    case output
    /// Host firewall: packets the node routes (pod traffic between the veths and the VTEP).
    case forward
    /// Security group: traffic entering the interface.
    case ingress
    /// Security group: traffic leaving the interface.
    case egress
    /// A middlebox on a link: traffic passing in either direction.
    case transit

    public var description: String { rawValue }
}

/// Where on its path a device sees a packet.
public enum Hook: Hashable, Sendable, CustomStringConvertible {
    case input, output, forward, ingress, egress
    /// A middlebox on a link; `outbound` when the packet travels away from the link's first end (a NAT's
    /// inside).
    case transit(outbound: Bool)

    /// The chain of rules this hook evaluates.
    public var chain: Chain {
        switch self {
        case .input: .input
        case .output: .output
        case .forward: .forward
        case .ingress: .ingress
        case .egress: .egress
        case .transit: .transit
        }
    }

    public var description: String {
        switch self {
        case .transit(let outbound): outbound ? "transit (outbound)" : "transit (inbound)"
        default: chain.rawValue
        }
    }
}
