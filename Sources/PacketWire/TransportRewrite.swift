// The transport half of a NAT rewrite: what Linux's `l4proto_manip_pkt` (net/netfilter/nf_nat_proto.c)
// does to the TCP, UDP or ICMP header after an IP address changes. Shared by ``MutableIPv4Packet`` and
// ``MutableIPv6Packet``; not public, because a caller rewrites through the IP view, which knows where the
// transport header is and whether this packet carries it.

@usableFromInline
enum TransportRewrite {
    /// The pseudo-header address that changed, old then new.
    @usableFromInline
    enum AddressChange {
        case v4(IPv4Address, IPv4Address)
        case v6(IPv6Address, IPv6Address)
    }

    /// Patches `transport` (the bytes after the IP header and any extension headers) for `address`
    /// and, when `port` is given, rewrites the source or destination port (the echo identifier for
    /// ICMP). Bounds: each header is touched only when the bytes it needs are present.
    /// - Returns: whether `port` was written.
    @inlinable
    static func apply(to transport: UnsafeMutableRawBufferPointer, protocol: IPProtocol, address: AddressChange,
                      port: UInt16?, isDestination: Bool) -> Bool {
        switch `protocol` {
        case .udp:
            // `udp_manip_pkt`: the 8-byte header must be there; a zero checksum is left alone.
            guard transport.count >= UDPDatagram.headerLength else { return false }
            let datagram = MutableUDPDatagram(header: transport)
            switch address {
            case let .v4(old, new): datagram.updateChecksum(replacingAddress: old, with: new)
            case let .v6(old, new): datagram.updateChecksum(replacingAddress: old, with: new)
            }
            guard let port else { return false }
            if isDestination { datagram.rewriteDestinationPort(port) } else { datagram.rewriteSourcePort(port) }
            return true
        case .tcp:
            // `tcp_manip_pkt`: with fewer than 20 bytes (a header cut short) the port is written and the
            // checksum, which is not there, is not.
            if transport.count >= TCPSegment.minimumHeaderLength {
                let segment = MutableTCPSegment(header: transport)
                switch address {
                case let .v4(old, new): segment.updateChecksum(replacingAddress: old, with: new)
                case let .v6(old, new): segment.updateChecksum(replacingAddress: old, with: new)
                }
                guard let port else { return false }
                if isDestination { segment.rewriteDestinationPort(port) } else { segment.rewriteSourcePort(port) }
                return true
            }
            guard let port, transport.count >= 4 else { return false }
            transport.setInteger(port, at: isDestination ? 2 : 0, as: UInt16.self)
            return true
        case .icmp:
            // No pseudo-header in ICMPv4's checksum: only the echo identifier, when asked, changes it.
            guard let port, transport.count >= ICMPv4Message.headerLength else { return false }
            let message = MutableICMPv4Message(header: transport)
            guard message.type == .echoRequest || message.type == .echoReply else { return false }
            message.rewriteIdentifier(port)
            return true
        case .icmpv6:
            // `icmpv6_manip_pkt`: the pseudo-header always, the identifier for an echo.
            guard transport.count >= ICMPv6Message.headerLength else { return false }
            let message = MutableICMPv6Message(header: transport)
            if case let .v6(old, new) = address { message.updateChecksum(replacingAddress: old, with: new) }
            guard let port, message.type == .echoRequest || message.type == .echoReply else { return false }
            message.rewriteIdentifier(port)
            return true
        default:
            return false
        }
    }
}
