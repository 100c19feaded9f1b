import PacketWire

/// A connection-tracking tuple: protocol, addresses and ports (for ICMP echo, the identifier stands in
/// for a port on the side that chose it).
public struct FlowKey: Hashable, Sendable, CustomStringConvertible {
    public var `protocol`: IPProtocol
    public var source: IPAddress
    public var sourcePort: UInt16
    public var destination: IPAddress
    public var destinationPort: UInt16

    public init(protocol: IPProtocol, source: IPAddress, sourcePort: UInt16, destination: IPAddress,
                destinationPort: UInt16) {
        self.protocol = `protocol`
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
    }

    /// Two words for an IPv4 tuple (the addresses, then the protocol and ports) rather than the synthesized
    /// hash's field by field (an enum tag and a value per address): conntrack hashes a tuple for every
    /// packet it translates. Equal tuples take the same branch, so they hash alike.
    public func hash(into hasher: inout Hasher) {
        let ports = UInt64(self.protocol.rawValue) << 32 | UInt64(sourcePort) << 16 | UInt64(destinationPort)
        if case .v4(let from) = source, case .v4(let to) = destination {
            hasher.combine(UInt64(from.rawValue) << 32 | UInt64(to.rawValue))
            hasher.combine(ports)
        } else {
            hasher.combine(ports | 1 << 40)
            hasher.combine(source)
            hasher.combine(destination)
        }
    }

    /// The tuple the other direction of the same flow carries.
    public var reversed: FlowKey {
        FlowKey(protocol: self.protocol, source: destination, sourcePort: destinationPort, destination: source,
                destinationPort: sourcePort)
    }

    /// The tuple of a packet, or nil when it cannot be tracked (not IP, a non-first fragment).
    /// Echo requests key on (identifier, 0) and replies on (0, identifier), so a reply's tuple is the
    /// request's reversed.
    public init?(_ packet: PacketFields) {
        guard packet.isIP, !packet.isNonFirstFragment else { return nil }
        var sourcePort: UInt16 = 0, destinationPort: UInt16 = 0
        if packet.protocol == .udp || packet.protocol == .tcp {
            guard packet.hasTransportHeader else { return nil }
            sourcePort = packet.sourcePort
            destinationPort = packet.destinationPort
        } else if packet.isEchoRequest {
            sourcePort = UInt16(truncatingIfNeeded: packet.icmpRest >> 16)
        } else if packet.isEchoReply {
            destinationPort = UInt16(truncatingIfNeeded: packet.icmpRest >> 16)
        }
        self.init(protocol: packet.protocol, source: packet.source, sourcePort: sourcePort,
                  destination: packet.destination, destinationPort: destinationPort)
    }

    /// `udp 10.0.0.1:51736 → 10.0.0.2:8472`.
    public var description: String {
        let name = RuleMatch.protocolName(self.protocol)
        if self.protocol == .udp || self.protocol == .tcp {
            return "\(name) \(Self.endpoint(source, sourcePort)) → \(Self.endpoint(destination, destinationPort))"
        }
        return "\(name) \(source) → \(destination)"
    }

    /// `10.0.0.1:4789`, or `[2001:db8::1]:4789` (RFC 5952 §6).
    static func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
