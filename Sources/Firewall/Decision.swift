import PacketWire

/// Why a device decided what it did.
public enum DecisionReason: Hashable, Sendable {
    /// The rule at this index (0-based) of the chain matched.
    case rule(Int)
    /// No rule matched: the chain's policy.
    case policy
    /// A host chain the scenario did not configure: accept.
    case noRules
    /// A security group lets return traffic of a flow it allowed through without rules.
    case returnTraffic
    /// A fragment after the first gets the first fragment's verdict.
    case followsFirstFragment
    /// A new flow found the conntrack table full.
    case conntrackTableFull
    /// A new flow found the NAT table full.
    case natTableFull
    /// The fragment filter dropped a fragment.
    case fragmentDropped
    /// The ICMP filter dropped ICMP.
    case icmpDropped
    /// The ICMP filter's rate limit was exceeded.
    case icmpRateLimited
    /// DPI recognised the protocol with this name.
    case recognised(String)
    /// DPI found no protocol it knows on this port.
    case unrecognised
    /// DPI found a known protocol's port with a payload that is not that protocol.
    case malformed(String)
    /// DPI saw a later fragment of a datagram whose first fragment it never classified.
    case unseenFirstFragment
    /// The device had nothing to do with the packet (a fragment filter and a whole packet, ...).
    case notConcerned
    /// The NAT rewrote the packet.
    case translated
}

/// A NAT's rewrite of one packet.
public struct AddressRewrite: Hashable, Sendable {
    public var outbound: Bool
    public var oldAddress: IPAddress
    public var oldPort: UInt16?
    public var newAddress: IPAddress
    public var newPort: UInt16?
    /// The UDP checksum was zero ("not computed"), so it stayed zero.
    public var checksumWasZero: Bool
    /// The checksum left on the wire is wrong (the offload bug).
    public var checksumBroken: Bool
}

/// A device's decision about one packet: the action, the reason, and what it saw, enough to write the
/// explanation later (only drops and traces pay for the sentence).
public struct Decision: Sendable {
    public var action: RuleAction
    public var reason: DecisionReason
    public var hook: Hook
    public var packet: PacketFields
    public var state: ConnectionState
    /// The conntrack lookup, on stateful devices.
    public var conntrack: ConntrackLookup?
    /// What a NAT changed.
    public var rewrite: AddressRewrite?

    public init(action: RuleAction, reason: DecisionReason, hook: Hook, packet: PacketFields,
                state: ConnectionState = .untracked, conntrack: ConntrackLookup? = nil, rewrite: AddressRewrite? = nil) {
        self.action = action
        self.reason = reason
        self.hook = hook
        self.packet = packet
        self.state = state
        self.conntrack = conntrack
        self.rewrite = rewrite
    }

    public var accepted: Bool { action == .accept }
}
