import PacketWire
import VXLAN

/// A node's VTEP device (Flannel's `flannel.1`): the inner side of the tunnel. Frames routed to it are
/// checked against the path MTU, addressed to the remote VTEP's MAC, looked up in the forwarding database
/// and encapsulated by the overlay mode; outer packets the node receives are decapsulated and handed back
/// to the node's IP layer.
final class OverlayDevice {
    let mode: any OverlayMode
    let vtepMAC: MACAddress
    /// The VTEP's overlay address (the pod CIDR's network address, `flannel.1`'s address).
    let vtepAddress: IPv4Address
    private(set) var fdb: ForwardingDatabase

    init(mode: any OverlayMode, vtepMAC: MACAddress, vtepAddress: IPv4Address, fdb: ForwardingDatabase) {
        self.mode = mode
        self.vtepMAC = vtepMAC
        self.vtepAddress = vtepAddress
        self.fdb = fdb
    }

    // MARK: - Transmit

    /// An inner frame routed to the VTEP toward `remote`'s pods: the path-MTU check (Linux
    /// `skb_tunnel_check_pmtu`: an inner packet with DF that does not fit gets ICMP fragmentation needed,
    /// as if from its destination), the inner MACs rewritten to the VTEPs', the capture, the FDB, then
    /// encapsulation toward one VTEP or, for unknown unicast in learning mode, a copy toward each.
    func transmit(_ buffer: PacketBuffer, _ tag: PacketTag, from node: ClusterNode, to remote: ClusterNode) {
        let network = node.network
        let point = "\(node.name) vtep"
        guard let frame = IPv4Frame(buffer.readableBytes) else {
            network.drop(buffer, tag, at: point, DropReason(.malformed, "not an IPv4 packet")); return
        }
        let innerLength = frame.totalLength
        let overhead = network.overhead
        let pathMTU = node.pathMTU(toward: remote.id)
        if frame.dontFragment && innerLength + overhead > pathMTU {
            let mtu = pathMTU - overhead
            sendFragmentationNeeded(at: node, offending: buffer, mtu: mtu, tag: tag)
            network.drop(buffer, tag, at: point, DropReason(.mtuExceeded,
                "inner packet of \(innerLength) bytes + \(overhead) bytes of VXLAN exceeds the path MTU \(pathMTU) to \(remote.name); ICMP fragmentation needed (mtu \(mtu)) sent to the pod"))
            return
        }
        MutableIPv4Frame.setEthernet(buffer.mutableBytes, destination: remote.overlay.vtepMAC, source: vtepMAC, etherType: .ipv4)
        network.observers.transmitted(buffer.readableBytes, at: .vtep(node.id), tag: tag, time: network.now)
        switch fdb.lookup(remote.overlay.vtepMAC, owner: remote.id) {
        case .unicast(let target):
            encapsulateAndSend(buffer, tag, from: node, to: network[target], innerLength: innerLength)
        case .flood:
            let others = network.nodes.filter { $0.id != node.id }
            for other in others.dropLast() {
                let copy = network.pool.take()
                _ = copy.load(buffer.readableBytes)
                encapsulateAndSend(copy, tag, from: node, to: other, innerLength: innerLength)
            }
            encapsulateAndSend(buffer, tag, from: node, to: others.last ?? remote, innerLength: innerLength)
        }
    }

    /// Encapsulates an inner frame toward one VTEP, then the host's output chain and the underlay.
    private func encapsulateAndSend(_ buffer: PacketBuffer, _ tag: PacketTag, from node: ClusterNode, to target: ClusterNode, innerLength: Int) {
        let network = node.network
        let point = "\(node.name) vtep"
        guard network.underlay.nextDirection(from: node.place, to: target.place) != nil else {
            network.drop(buffer, tag, at: point, DropReason(.noRoute, "no underlay path to \(target.name)")); return
        }
        let nextHopMAC = network.underlay.nextHopMAC(from: node.place, to: target.place) ?? .broadcast
        do {
            // VXLAN-GBP carries a group policy ID; the simulation gives each sender's packets their own.
            let group = network.groupBasedPolicy ? UInt16(truncatingIfNeeded: (tag.sender?.index ?? -1) + 1) : 0
            try mode.encapsulate(buffer, to: TunnelDestination(address: target.underlayAddress, nextHopMAC: nextHopMAC),
                                 groupPolicyID: group)
        } catch {
            network.drop(buffer, tag, at: point, DropReason(.encapsulationFailed, error.reason)); return
        }
        var outerTag = tag
        outerTag.innerLength = innerLength + IPv4Frame.ethernetHeaderLength
        network.observers.trace(tag, point, "encapsulates: \(network.describe(buffer.readableBytes)), \(buffer.count) bytes", time: network.now)
        // The outer packet is the node's own (the vxlan driver sends it through `ip_local_out`).
        guard node.hooks.run(.output, buffer, &outerTag, in: node) else { return }
        network.sendOnUnderlay(from: node.place, toward: target.place, buffer, outerTag)
    }

    /// ICMP fragmentation needed to the sender of `offending` (an inner frame), as if from its
    /// destination, routed back through the node.
    private func sendFragmentationNeeded(at node: ClusterNode, offending: PacketBuffer, mtu: Int, tag: PacketTag) {
        let network = node.network
        let bytes = offending.readableBytes
        guard let frame = IPv4Frame(bytes) else { return }
        let error = network.pool.take()
        PodPackets.fragmentationNeeded(
            error, PodPackets.Addressing(sourceMAC: IPv4Frame.destinationMAC(bytes), destinationMAC: IPv4Frame.sourceMAC(bytes),
                                         source: frame.destination, destination: frame.source, dontFragment: true, identification: 0),
            nextHopMTU: mtu, quoting: frame.packet)
        node.route(error, tag.reversed, forwarded: false)
    }

    // MARK: - Receive

    /// An outer packet for this node that is not ICMP: decapsulate (what `vxlan_rcv` checks), learn the
    /// inner source MAC in learning mode, keep only frames for this VTEP (a replicated copy may be for
    /// another), capture, and route the inner packet.
    func receive(_ frame: PacketBuffer, _ tag: PacketTag, at node: ClusterNode) {
        let network = node.network
        let decapsulated: DecapsulatedPacket
        do {
            decapsulated = try mode.decapsulate(frame)
        } catch {
            var reason = "refused by VXLAN: \(error.reason)"
            if error.decodeError?.code == .badChecksum, let culprit = tag.brokenChecksumBy {
                let nat = network.firewalls[culprit]
                reason += ". \(nat.configuration.title) on \(nat.placement) rewrote the outer source port and, with the 2020 checksum-offload bug (kubernetes#88986), left the UDP checksum computed for the old port; the kernel logs \"UDP: bad checksum\" and drops it (workaround: noudpcsum, so the checksum is 0 and nothing needs fixing)"
            }
            network.drop(frame, tag, at: "\(node.name) vtep", DropReason(.vxlanRefused, reason)); return
        }
        network.observers.trace(tag, "\(node.name) vtep", "decapsulates VNI \(decapsulated.vni) from \(decapsulated.outerSource) port \(decapsulated.outerSourcePort)", time: network.now)
        let inner = frame.readableBytes
        if let sender = network.node(atUnderlay: decapsulated.outerSource) {
            fdb.learn(IPv4Frame.sourceMAC(inner), behind: sender)
        }
        guard IPv4Frame.destinationMAC(inner) == vtepMAC else {
            // A head-end replicated copy meant for another VTEP.
            network.pool.release(frame); return
        }
        network.observers.transmitted(inner, at: .vtep(node.id), tag: tag, time: network.now)
        node.route(frame, tag)
    }
}
