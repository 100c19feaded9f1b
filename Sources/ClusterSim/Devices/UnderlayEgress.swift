import PacketWire

extension Network {
    /// Sends an outer packet from a place (a node's underlay interface, a router, a switch) toward a node:
    /// the MTU (a router or node fragments a packet without DF, RFC 791; a router has already answered a
    /// too-big DF packet in `routerForward`; a switch cannot fragment and drops it silently), the capture
    /// and security group on a sending node, then the link.
    ///
    /// A node's own packets (the vxlan driver's, through `ip_local_out`) meet the route's MTU: the link's,
    /// or less once an ICMP error taught the route a path MTU (net/ipv4/ip_output.c `__ip_finish_output`,
    /// `ip_skb_dst_mtu`). One with DF that does not fit is refused by `ip_fragment` (IpFragFails): the
    /// ICMP error it sends goes to the node's own address, so no pod hears of it.
    func sendOnUnderlay(from place: PlaceID, toward target: PlaceID, _ buffer: PacketBuffer, _ tag: PacketTag) {
        guard let direction = underlay.nextDirection(from: place, to: target) else {
            drop(buffer, tag, at: "\(underlay[place].name) underlay", DropReason(.noRoute, "no route to \(underlay[target].name)")); return
        }
        var mtu = underlay.mtu(of: direction)
        var learned = false
        if pathMTULearned, let node = underlay.node(at: place), let remote = underlay.node(at: target),
           let pathMTU = self[node].pathMTU.mtu(toward: remote), pathMTU < mtu {
            mtu = pathMTU
            learned = true
        }
        let bytes = buffer.readableBytes
        let ipLength = bytes.count - IPv4Frame.ethernetHeaderLength
        if ipLength > mtu {
            // Only here, off the common path, the place, the link's spec and its name (reference counted,
            // and a string built).
            let here = underlay[place]
            let link = underlay[direction].spec
            let linkName = "\(link.a)↔\(link.b)"
            let ipv4 = IPv4Frame(bytes)
            let dontFragment = ipv4 == nil || ipv4?.dontFragment == true || here.isSwitch
            if dontFragment {
                if here.isSwitch {
                    drop(buffer, tag, at: here.name, DropReason(.mtuExceeded,
                        "frame of \(bytes.count) bytes exceeds the \(link.mtu)-byte MTU of link \(linkName); a switch drops it silently, no ICMP is sent"))
                } else if learned {
                    let kind = ipv4 == nil ? "IPv6 packet (a node fragments no tunnel packet over IPv6)" : "packet with DF set"
                    drop(buffer, tag, at: "\(here.name) underlay", DropReason(.mtuExceeded,
                        "its own outer \(kind) of \(ipLength) bytes exceeds the path MTU \(mtu) to \(underlay[target].name) that an ICMP error taught its route (`ip route get` shows mtu \(mtu)); ip_fragment refuses it (IpFragFails) and the ICMP it sends goes to the node itself: no pod hears of it"))
                } else {
                    let what = ipv4 == nil ? "outer IPv6 packet" : "outer packet"
                    drop(buffer, tag, at: "\(here.name) underlay", DropReason(.mtuExceeded,
                        "\(what) of \(ipLength) bytes\(ipv4 == nil ? "" : " has DF set and") exceeds the \(link.mtu)-byte MTU of link \(linkName)"))
                }
                return
            }
            var fragmentTag = tag
            fragmentTag.fragmentedOnLink = underlay[direction].link
            fragmentTag.unfragmentedLength = UInt16(truncatingIfNeeded: ipLength)
            let pieces = fragment(buffer, mtu: mtu)
            observers.trace(tag, here.name, "fragments the \(ipLength)-byte outer packet into \(pieces.count) for the \(mtu)-byte \(learned ? "path MTU" : "MTU of link \(linkName)")", time: now)
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
        scheduler.noteActivity()
        switch underlay.role(of: place) {
        case .node(let node): withNode(node) { $0.receiveFromUnderlay(buffer, tag) }
        case .router: routerForward(at: place, buffer, tag)
        case .switch: switchForward(at: place, buffer, tag)
        case .host: pool.release(buffer)
        }
    }
}
