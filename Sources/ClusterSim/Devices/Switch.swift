import PacketWire

extension Network {
    /// A layer-2 switch: forwards the frame as it is toward the node its destination address belongs to
    /// (it keeps the MACs too: the nodes share one L2 segment through it) and never touches IP.
    func switchForward(at place: PlaceID, _ buffer: PacketBuffer, _ tag: PacketTag) {
        let here = underlay[place]
        let bytes = buffer.readableBytes
        let destination: NodeID?
        if let ipv4 = IPv4Frame(bytes) {
            destination = node(atUnderlay: .v4(ipv4.destination))
        } else {
            destination = (try? IPv6Packet(checking: bytes.dropFirst(count: IPv4Frame.ethernetHeaderLength)))
                .flatMap { node(atUnderlay: .v6($0.destination)) }
        }
        // A frame for no node's underlay address (a pod packet Calico CrossSubnet routes out of eth0): the
        // switch forwards by destination MAC, as any learning bridge does.
        let mac = IPv4Frame.destinationMAC(bytes)
        guard let destination = destination ?? nodes.first(where: { $0.underlayMAC == mac })?.id else {
            drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route for the outer destination")); return
        }
        guard underlay.nextDirection(from: place, to: PlaceID(destination)) != nil else {
            drop(buffer, tag, at: here.name, DropReason(.noRoute, "no route to \(self[destination].name)")); return
        }
        sendOnUnderlay(from: place, toward: PlaceID(destination), buffer, tag)
    }
}
