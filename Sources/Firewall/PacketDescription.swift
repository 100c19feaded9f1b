import PacketWire

/// Writes a packet the way a network engineer would in a ticket: "UDP 8472 (Flannel VXLAN) from node-b
/// (10.0.0.2) to node-a (10.0.0.1)", "ICMP fragmentation needed (next-hop MTU 1400) from tor (198.51.100.1)
/// to node-a (10.0.0.1)", "a non-first fragment (offset 1480) of a UDP datagram from ...".
struct PacketDescription {
    let names: AddressBook

    func describe(_ packet: PacketFields) -> String {
        guard packet.isIP else {
            return "a non-IP frame (ethertype 0x\(String(packet.etherType.rawValue, radix: 16))) from \(packet.sourceMAC)"
        }
        let ends = "from \(names.label(packet.source)) to \(names.label(packet.destination))"
        let protocolName = packet.protocol.name == "unknown" ? "protocol \(packet.protocol.rawValue)" : packet.protocol.name
        if packet.isNonFirstFragment {
            return "a non-first fragment (offset \(packet.fragmentOffset), \(packet.ipLength) bytes) of a \(protocolName) datagram \(ends)"
        }
        var text: String
        switch packet.protocol {
        case .udp where packet.hasTransportHeader:
            text = "UDP \(port(packet.destinationPort, .udp)) \(ends)"
        case .tcp where packet.hasTransportHeader:
            let flags = packet.tcpFlags.contains(.syn) && !packet.tcpFlags.contains(.ack) ? " SYN" : ""
            text = "TCP\(flags) \(port(packet.destinationPort, .tcp)) \(ends)"
        case .icmp where packet.hasTransportHeader, .icmpv6 where packet.hasTransportHeader:
            text = "\(icmpName(packet)) \(ends)"
            if let quoted = packet.quoted {
                text += ", about \(quotedDescription(quoted))"
            }
        default:
            text = "\(protocolName) \(ends)"
        }
        if packet.moreFragments { text = "the first fragment (\(packet.ipLength) bytes) of " + text }
        if let inner = packet.encapsulated { text += ", carrying \(innerDescription(inner))" }
        return text
    }

    /// `8472 (Flannel VXLAN)` or `9000`.
    func port(_ port: UInt16, _ proto: IPProtocol) -> String {
        WellKnownPorts.name(port, protocol: proto).map { "\(port) (\($0))" } ?? "\(port)"
    }

    func icmpName(_ packet: PacketFields) -> String {
        if packet.protocol == .icmp {
            switch (packet.icmpType, packet.icmpCode) {
            case (0, _): return "ICMP echo reply"
            case (8, _): return "ICMP echo request"
            case (3, 4): return "ICMP fragmentation needed (next-hop MTU \(packet.icmpRest & 0xFFFF))"
            case (3, let code): return "ICMP destination unreachable (\(ICMPv4UnreachableCode(rawValue: code).name))"
            case (11, _): return "ICMP time exceeded"
            default: return "ICMP type \(packet.icmpType) code \(packet.icmpCode)"
            }
        }
        switch packet.icmpType {
        case 2: return "ICMPv6 packet too big (MTU \(packet.icmpRest))"
        case 128: return "ICMPv6 echo request"
        case 129: return "ICMPv6 echo reply"
        default: return "ICMPv6 type \(packet.icmpType) code \(packet.icmpCode)"
        }
    }

    func quotedDescription(_ quoted: QuotedPacket) -> String {
        let what: String
        if quoted.hasPorts {
            what = "\(quoted.protocol.name) \(port(quoted.destinationPort, quoted.protocol)) packet"
        } else {
            what = "\(quoted.protocol.name) packet"
        }
        return "a \(quoted.length)-byte \(what) from \(names.shortLabel(quoted.source)) to \(names.shortLabel(quoted.destination))"
    }

    func innerDescription(_ inner: EncapsulatedFields) -> String {
        guard inner.innerIsIP else { return "a non-IP frame (ethertype 0x\(String(inner.innerEtherType.rawValue, radix: 16))) in VNI \(inner.vni)" }
        let proto = inner.innerProtocol.name == "unknown" ? "protocol \(inner.innerProtocol.rawValue)" : inner.innerProtocol.name
        let source = names.shortLabel(inner.innerSource), destination = names.shortLabel(inner.innerDestination)
        if inner.innerHasPorts {
            return "\(proto) \(source) → \(destination) port \(inner.innerDestinationPort) in VNI \(inner.vni)"
        }
        return "\(proto) \(source) → \(destination) in VNI \(inner.vni)"
    }
}
