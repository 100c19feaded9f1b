import PacketWire

extension Network {
    /// A Linux router on the underlay, in the order of net/ipv4/ip_forward.c `ip_forward`: a packet that
    /// would leave with TTL 0 is answered with ICMP time exceeded (`too_many_hops`); one too big for the
    /// next link with DF set is answered with ICMP fragmentation needed (`ip_exceeds_mtu`); both before
    /// `ip_decrease_ttl`, so the error quotes the TTL as received. Then new MACs and the link (which
    /// fragments a packet without DF, RFC 791). Over IPv6 (net/ipv6/ip6_output.c `ip6_forward`) a router
    /// never fragments: every packet too big for the link is answered with ICMPv6 Packet Too Big.
    func routerForward(at place: PlaceID, _ buffer: PacketBuffer, _ tag: PacketTag) {
        let here = underlay[place]
        let bytes = buffer.mutableBytes
        let etherType = IPv4Frame.etherType(buffer.readableBytes)
        let ipLength = bytes.count - IPv4Frame.ethernetHeaderLength
        let destination: NodeID
        if let ipv4 = MutableIPv4Frame(bytes) {
            let frame = ipv4.frame
            guard let target = node(atUnderlay: .v4(frame.destination)) else {
                drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route for the outer destination")); return
            }
            guard let direction = underlay.nextDirection(from: place, to: PlaceID(target)) else {
                drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route to \(self[target].name)")); return
            }
            guard frame.timeToLive > 1 else {
                let sent = sendRouterError(from: place, .timeExceeded(.timeToLiveExceeded), about: buffer, tag: tag)
                drop(buffer, tag, at: here.name, DropReason(.ttlExpired,
                    "outer TTL expired" + (sent ? "; ICMP time exceeded sent to \(frame.source)" : "")))
                return
            }
            let link = underlay[direction].spec
            if ipLength > link.mtu && frame.dontFragment {
                let sent = sendRouterError(from: place, .destinationUnreachable(.fragmentationNeeded, nextHopMTU: UInt16(truncatingIfNeeded: link.mtu)),
                                           about: buffer, tag: tag)
                let quote = scenario.minimalQuoteRouters.contains(here.name) ? "quoting only the IP header and 8 bytes (RFC 792)" : "quoting \(min(ipLength, ICMPErrorSender.quoteLimit)) bytes"
                drop(buffer, tag, at: here.name, DropReason(.mtuExceeded,
                    "outer packet of \(ipLength) bytes has DF set and exceeds the \(link.mtu)-byte MTU of link \(link.a)↔\(link.b)"
                    + (sent ? "; ICMP fragmentation needed (mtu \(link.mtu)) sent to \(frame.source), \(quote)" : "")))
                return
            }
            _ = ipv4.decrementTimeToLive()
            destination = target
        } else {
            let packet = buffer.readableBytes.dropFirst(count: IPv4Frame.ethernetHeaderLength)
            guard let ipv6 = try? IPv6Packet(checking: packet), let target = node(atUnderlay: .v6(ipv6.destination)) else {
                drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route for the outer destination")); return
            }
            guard let direction = underlay.nextDirection(from: place, to: PlaceID(target)) else {
                drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route to \(self[target].name)")); return
            }
            let link = underlay[direction].spec
            if ipLength > link.mtu {
                let sent = sendRouterPacketTooBig(from: place, about: buffer, mtu: link.mtu, tag: tag)
                drop(buffer, tag, at: here.name, DropReason(.mtuExceeded,
                    "outer IPv6 packet of \(ipLength) bytes exceeds the \(link.mtu)-byte MTU of link \(link.a)↔\(link.b); routers never fragment IPv6 (RFC 8200 §5)"
                    + (sent ? "; ICMPv6 Packet Too Big (mtu \(link.mtu)) sent to \(ipv6.source)" : "")))
                return
            }
            guard IPv6Packet.decrementHopLimit(in: bytes.slice(IPv4Frame.ethernetHeaderLength..<bytes.count)) else {
                drop(buffer, tag, at: here.name, DropReason(.ttlExpired, "outer hop limit expired")); return
            }
            destination = target
        }
        observers.trace(tag, here.name, "routes toward \(self[destination].name)", time: now)
        MutableIPv4Frame.setEthernet(bytes, destination: underlay.nextHopMAC(from: place, to: PlaceID(destination)) ?? .broadcast,
                                     source: here.mac, etherType: etherType)
        sendOnUnderlay(from: place, toward: PlaceID(destination), buffer, tag)
    }

    /// A router's ICMP error about `offending` (an outer IPv4 packet) to its source node, built by the
    /// router's ``ICMPErrorSender`` (net/ipv4/icmp.c `__icmp_send`: a 576-byte quote, TOS 0xc0, TTL 64, a
    /// counting identification, rate limits), or with RFC 792's 8-byte quote for a router configured so.
    /// It carries the offending packet's flow (as control traffic), so a firewall that drops it is
    /// charged to that flow. Returns whether it was sent.
    @discardableResult
    func sendRouterError(from place: PlaceID, _ kind: ICMPv4Header.Kind, about offending: PacketBuffer, tag: PacketTag) -> Bool {
        let bytes = offending.readableBytes
        guard let frame = IPv4Frame(bytes), let node = node(atUnderlay: .v4(frame.source)),
              underlay.nextDirection(from: place, to: PlaceID(node)) != nil else { return false }
        let here = underlay[place]
        let limit = scenario.minimalQuoteRouters.contains(here.name)
            ? ICMPErrorSender.minimalQuote(of: frame.packet) : ICMPErrorSender.quoteLimit
        let error = pool.take()
        guard icmpSenders[place.index].build(error, kind, about: frame.packet, from: here.address, sourceMAC: here.mac,
                                             nextHopMAC: underlay.nextHopMAC(from: place, to: PlaceID(node)) ?? .broadcast,
                                             now: now, quoteLimit: limit) else {
            pool.release(error); return false
        }
        sendOnUnderlay(from: place, toward: PlaceID(node), error, Self.errorTag(for: tag, now: now))
        return true
    }

    /// A router's ICMPv6 Packet Too Big (RFC 4443 §3.2) to the source node of an outer IPv6 packet.
    func sendRouterPacketTooBig(from place: PlaceID, about offending: PacketBuffer, mtu: Int, tag: PacketTag) -> Bool {
        let packet = offending.readableBytes.dropFirst(count: IPv4Frame.ethernetHeaderLength)
        guard let ipv6 = try? IPv6Packet(checking: packet), let node = node(atUnderlay: .v6(ipv6.source)),
              underlay.nextDirection(from: place, to: PlaceID(node)) != nil else { return false }
        let here = underlay[place]
        let error = pool.take()
        guard ICMPErrorSender.packetTooBig(error, about: packet, mtu: mtu, from: Underlay.routerAddressV6(place.index - nodes.count),
                                           sourceMAC: here.mac, nextHopMAC: underlay.nextHopMAC(from: place, to: PlaceID(node)) ?? .broadcast) else {
            pool.release(error); return false
        }
        sendOnUnderlay(from: place, toward: PlaceID(node), error, Self.errorTag(for: tag, now: now))
        return true
    }

    /// The tag of an underlay ICMP error: control traffic of the offending packet's flow.
    static func errorTag(for tag: PacketTag, now: Nanoseconds) -> PacketTag {
        var errorTag = PacketTag.none
        errorTag.sender = tag.sender
        errorTag.sentAt = now
        return errorTag
    }
}
