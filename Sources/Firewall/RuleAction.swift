/// What a rule or a chain's policy does with a packet.
public enum RuleAction: String, Hashable, Sendable, CustomStringConvertible {
    /// Let the packet through.
    case accept
    /// Discard it silently.
    case drop
    /// Discard it and tell the sender with an ICMP error (administratively prohibited).
    case reject

    public var description: String { rawValue }
    /// Whether the packet goes no further.
    public var stopsPacket: Bool { self != .accept }
}
