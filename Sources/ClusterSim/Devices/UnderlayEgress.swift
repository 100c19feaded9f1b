import PacketWire

extension Network {
    /// Sends an outer packet from a place (a node's underlay interface, a router, a switch) toward a node:
    /// the next link's MTU (a router or node fragments a packet without DF, RFC 791; with DF a router
    /// answers ICMP fragmentation needed, RFC 1191; a switch cannot fragment and drops it silently), the
    /// capture and security group on a sending node, then the link.
    func sendOnUnderlay(from place: PlaceID, toward target: PlaceID, _ buffer: PacketBuffer, _ tag: PacketTag) {
        guard let direction = underlay.nextDirection(from: place, to: target) else {
            drop(buffer, tag, at: "\(underlay[place].name) underlay", DropReason(.noRoute, "no route to \(underlay[target].name)")); return
        }
        let bytes = buffer.readableBytes
        let ipLength = bytes.count - IPv4Frame.ethernetHeaderLength
        if ipLength > underlay.mtu(of: direction) {
            // Only here, off the common path, the place and the link's spec (names: reference counted).
            let here = underlay[place]
            let link = underlay[direction].spec
            let ipv4 = IPv4Frame(bytes)
            let dontFragment = ipv4 == nil || ipv4?.dontFragment == true || here.isSwitch
            if dontFragment {
                let linkName = "\(link.a)↔\(link.b)"
                if here.isSwitch {
                    drop(buffer, tag, at: here.name, DropReason(.mtuExceeded,
                        "frame of \(bytes.count) bytes exceeds the \(link.mtu)-byte MTU of link \(linkName); a switch drops it silently, no ICMP is sent"))
                } else if here.node == nil, let ipv4 {
                    let source = ipv4.source
                    sendRouterFragmentationNeeded(from: place, offending: buffer, mtu: link.mtu, tag: tag)
                    drop(buffer, tag, at: here.name, DropReason(.mtuExceeded,
                        "outer packet of \(ipLength) bytes has DF set and exceeds the \(link.mtu)-byte MTU of link \(linkName); ICMP fragmentation needed sent to \(source)"))
                } else {
                    drop(buffer, tag, at: "\(here.name) underlay", DropReason(.mtuExceeded,
                        "outer packet of \(ipLength) bytes has DF set and exceeds the \(link.mtu)-byte MTU of link \(linkName)"))
                }
                return
            }
            var fragmentTag = tag
            fragmentTag.fragmentedOnLink = underlay[direction].link
            fragmentTag.unfragmentedLength = UInt16(truncatingIfNeeded: ipLength)
            let pieces = fragment(buffer, mtu: link.mtu)
            observers.trace(tag, here.name, "fragments the \(ipLength)-byte outer packet into \(pieces.count) for the \(link.mtu)-byte MTU of link \(link.a)↔\(link.b)", time: now)
            for piece in pieces {
                leave(place, piece, fragmentTag, on: direction)
                fragmentTag.innerLength = 0
            }
            return
        }
        leave(place, buffer, tag, on: direction)
    }

    /// The last steps out of a place: on a node, the capture (tcpdump on the interface sees the packet
    /// before the cloud's security group does) and the security group's egress rules; then the link.
    private func leave(_ place: PlaceID, _ buffer: PacketBuffer, _ tag: PacketTag, on direction: DirectionID) {
        var tag = tag
        if let node = underlay.node(at: place) {
            observers.transmitted(buffer.readableBytes, at: .underlay(node), tag: tag, time: now)
            if let group = firewalls.securityGroup(of: node) {
                guard passFirewall(group, .egress, buffer, &tag, at: "\(self[node].name) security group") else { return }
            }
        }
        transmit(buffer, tag, on: direction)
    }

    /// A frame reaches the far end of a link direction.
    func arrive(_ buffer: PacketBuffer, _ tag: PacketTag, at place: PlaceID, via direction: DirectionID) {
        lastActivity = now
        switch underlay.role(of: place) {
        case .node(let node): self[node].receiveFromUnderlay(buffer, tag)
        case .router: routerForward(at: place, buffer, tag)
        case .switch: switchForward(at: place, buffer, tag)
        }
    }
}
