import PacketWire

extension Network {
    /// A router on the underlay: decrement the outer TTL (hop limit), rewrite the MACs for the next hop,
    /// and send on toward the destination node.
    func routerForward(at place: PlaceID, _ buffer: PacketBuffer, _ tag: PacketTag) {
        let here = underlay[place]
        let bytes = buffer.mutableBytes
        let etherType = IPv4Frame.etherType(buffer.readableBytes)
        let destination: NodeID?
        if let ipv4 = MutableIPv4Frame(bytes) {
            destination = node(atUnderlay: .v4(ipv4.frame.destination))
            guard let ttl = ipv4.decrementTimeToLive(), ttl > 0 else {
                drop(buffer, tag, at: here.name, DropReason(.ttlExpired, "outer TTL expired")); return
            }
        } else {
            let packet = buffer.readableBytes.dropFirst(count: IPv4Frame.ethernetHeaderLength)
            destination = (try? IPv6Packet(checking: packet)).flatMap { node(atUnderlay: .v6($0.destination)) }
            guard IPv6Packet.decrementHopLimit(in: bytes.slice(IPv4Frame.ethernetHeaderLength..<bytes.count)) else {
                drop(buffer, tag, at: here.name, DropReason(.ttlExpired, "outer hop limit expired")); return
            }
        }
        guard let destination else {
            drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route for the outer destination")); return
        }
        guard underlay.nextDirection(from: place, to: PlaceID(destination)) != nil else {
            drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route to \(self[destination].name)")); return
        }
        observers.trace(tag, here.name, "routes toward \(self[destination].name)", time: now)
        MutableIPv4Frame.setEthernet(bytes, destination: underlay.nextHopMAC(from: place, to: PlaceID(destination)) ?? .broadcast,
                                     source: here.mac, etherType: etherType)
        sendOnUnderlay(from: place, toward: PlaceID(destination), buffer, tag)
    }

    /// A router's ICMP fragmentation needed (RFC 1191) to the outer source. It carries the offending
    /// packet's flow (as control traffic), so a firewall that drops it is charged to that flow.
    func sendRouterFragmentationNeeded(from place: PlaceID, offending: PacketBuffer, mtu: Int, tag: PacketTag) {
        let bytes = offending.readableBytes
        guard let frame = IPv4Frame(bytes), let node = node(atUnderlay: .v4(frame.source)) else { return }
        let error = pool.take()
        guard underlay.nextDirection(from: place, to: PlaceID(node)) != nil else { pool.release(error); return }
        let here = underlay[place]
        PodPackets.fragmentationNeeded(
            error, PodPackets.Addressing(sourceMAC: here.mac, destinationMAC: underlay.nextHopMAC(from: place, to: PlaceID(node)) ?? .broadcast,
                                         source: here.address, destination: frame.source, dontFragment: false, identification: 0),
            nextHopMTU: mtu, quoting: frame.packet)
        var errorTag = PacketTag.none
        errorTag.sender = tag.sender
        errorTag.sentAt = now
        sendOnUnderlay(from: place, toward: PlaceID(node), error, errorTag)
    }
}
