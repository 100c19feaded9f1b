import PacketWire
import VXLAN

/// A node's VTEP device (Flannel's `flannel.1`): the inner side of the tunnel. Frames routed to it are
/// checked against the path MTU, addressed to the remote VTEP's MAC, looked up in the forwarding database
/// and encapsulated by the overlay mode; outer packets the node receives are decapsulated and handed back
/// to the node's IP layer.
final class OverlayDevice {
    let mode: any OverlayMode
    let vtepMAC: MACAddress
    /// The MAC inner frames carry for this node: the VTEP's on a routed VTEP, cni0's on a bridged one.
    let innerMAC: MACAddress
    /// The VTEP's overlay address (the pod CIDR's network address, `flannel.1`'s address).
    let vtepAddress: IPv4Address
    private(set) var fdb: ForwardingDatabase
    /// Whether VXLAN-GBP is on (the scenario's `gbp`).
    let groupBasedPolicy: Bool

    init(mode: any OverlayMode, vtepMAC: MACAddress, innerMAC: MACAddress, vtepAddress: IPv4Address, fdb: ForwardingDatabase,
         groupBasedPolicy: Bool) {
        self.mode = mode
        self.groupBasedPolicy = groupBasedPolicy
        self.vtepMAC = vtepMAC
        self.innerMAC = innerMAC
        self.vtepAddress = vtepAddress
        self.fdb = fdb
    }

    // MARK: - Transmit

    /// An inner frame for `remote`'s pods reaches the vxlan device (`vxlan_xmit`), after the node's
    /// routing has checked it against the device's MTU (`ClusterNode.forward`).
    ///
    /// On a bridged VTEP the bridge first drops, without a word, a frame larger than the vxlan port's MTU
    /// (net/bridge/br_forward.c `br_dev_queue_push_xmit`, `is_skb_forwardable`). Then the driver's path-MTU
    /// check (drivers/net/vxlan/vxlan_core.c `vxlan_xmit_one` → net/ipv4/ip_tunnel_core.c
    /// `skb_tunnel_check_pmtu`): an inner packet larger than the outer route's MTU less the overhead lowers
    /// the inner route's MTU (``ClusterNode/innerPathMTU``) and, on a routed VTEP (`reply` is
    /// `netif_is_any_bridge_port(dev)`: false), goes on to be encapsulated. Only on a bridged VTEP does the
    /// driver answer a DF packet itself (`iptunnel_pmtud_check_icmp`). Then the inner MACs, the capture,
    /// the FDB, and encapsulation toward one VTEP or, for unknown unicast in learning mode, a copy toward each.
    func transmit(_ buffer: PacketBuffer, _ tag: PacketTag, from node: ClusterNode, to remote: ClusterNode) {
        guard let frame = IPv4Frame(buffer.readableBytes) else {
            node.network.drop(buffer, tag, at: "\(node.name) vtep", DropReason(.malformed, "not an IPv4 packet")); return
        }
        let innerLength = frame.totalLength
        let overhead = node.overhead
        let bridged = node.settings.bridgedVTEP
        if bridged && innerLength > node.vtepMTU {
            node.network.drop(buffer, tag, at: "\(node.name) cni0", DropReason(.mtuExceeded,
                "the bridge drops the \(innerLength)-byte packet silently: it is larger than the \(node.vtepMTU)-byte MTU of its port flannel.1 (br_dev_queue_push_xmit, is_skb_forwardable); no ICMP is sent"))
            return
        }
        // cni0's routing (or the neighbour entry of flannel.1) has addressed the frame, and tcpdump on
        // flannel.1 sees it before the driver does anything with it (`dev_queue_xmit_nit`).
        MutableIPv4Frame.setEthernet(buffer.mutableBytes, destination: remote.overlay.innerMAC, source: innerMAC, etherType: .ipv4)
        node.observers.transmitted(buffer.readableBytes, at: .vtep(node.id), tag: tag, time: node.scheduler.now)
        let pathMTU = node.pathMTU(toward: remote.id)
        let mtu = pathMTU - overhead
        if innerLength > mtu {
            // skb_dst_update_pmtu_no_confirm: the route toward remote's pods learns the smaller MTU.
            node.innerPathMTU.learn(mtu, toward: remote.id, current: node.innerPathMTU.mtu(toward: remote.id) ?? node.vtepMTU)
            if bridged, Self.driverAnswers(frame, mtu: mtu) {
                sendDriverFragmentationNeeded(at: node, offending: buffer, mtu: mtu, tag: tag)
                node.network.drop(buffer, tag, at: "\(node.name) vtep", DropReason(.mtuExceeded,
                    "inner packet of \(innerLength) bytes + \(overhead) bytes of VXLAN exceeds the path MTU \(pathMTU) to \(remote.name); the vxlan driver, a bridge port, answers ICMP fragmentation needed (mtu \(mtu)) as if from the destination"))
                return
            }
        }
        switch fdb.lookup(remote.overlay.innerMAC, owner: remote.id) {
        case .unicast(let target):
            encapsulateAndSend(buffer, tag, from: node, to: target == remote.id ? remote : node.network[target], innerLength: innerLength, innerSource: frame.source)
        case .flood:
            let others = node.network.nodes.filter { $0.id != node.id }
            for other in others.dropLast() {
                let copy = node.pool.take()
                _ = copy.load(buffer.readableBytes)
                encapsulateAndSend(copy, tag, from: node, to: other, innerLength: innerLength, innerSource: frame.source)
            }
            encapsulateAndSend(buffer, tag, from: node, to: others.last ?? remote, innerLength: innerLength, innerSource: frame.source)
        }
    }

    /// Whether the driver answers a packet too big for the path itself (net/ipv4/ip_tunnel_core.c
    /// `iptunnel_pmtud_check_icmp`): only a whole DF packet (fragment field exactly DF), a path MTU of at
    /// least 576, unicast addresses, and never about an ICMP error.
    static func driverAnswers(_ frame: IPv4Frame, mtu: Int) -> Bool {
        guard mtu >= 576, frame.dontFragment, !frame.isFragment else { return false }
        let source = frame.source.rawValue, destination = frame.destination.rawValue
        if destination == 0xFFFF_FFFF || destination >> 28 == 0xE { return false }
        if source >> 24 == 0 || source >> 24 == 127 || source == 0xFFFF_FFFF || source >> 28 == 0xE { return false }
        if frame.protocol == .icmp, ICMPv4Type(rawValue: frame.icmpType).isError { return false }
        return true
    }

    /// Encapsulates an inner frame toward one VTEP, then the host's output chain and the underlay.
    private func encapsulateAndSend(_ buffer: PacketBuffer, _ tag: PacketTag, from node: ClusterNode, to target: ClusterNode,
                                    innerLength: Int, innerSource: IPv4Address) {
        let underlay = node.underlay
        guard underlay.nextDirection(from: node.place, to: target.place) != nil else {
            node.network.drop(buffer, tag, at: "\(node.name) vtep", DropReason(.noRoute, "no underlay path to \(target.name)")); return
        }
        let nextHopMAC = underlay.nextHopMAC(from: node.place, to: target.place) ?? .broadcast
        do {
            // VXLAN-GBP carries a group policy ID; the simulation gives each sender's packets their own.
            let group = groupBasedPolicy ? UInt16(truncatingIfNeeded: (tag.sender?.index ?? -1) + 1) : 0
            // Cilium: the sender's security identity goes in the VNI (bpf/lib/encap.h `__encap_with_nodeid`).
            let identity = node.settings.ciliumIdentities
                ? node.network.ciliumIdentities?.identity(ofSource: innerSource, cluster: node.cluster, node: node) : nil
            try mode.encapsulate(buffer, to: TunnelDestination(address: target.underlayAddress, nextHopMAC: nextHopMAC),
                                 groupPolicyID: group, flowHash: tag.socketHash, tunnelKey: identity)
        } catch {
            node.network.drop(buffer, tag, at: "\(node.name) vtep", DropReason(.encapsulationFailed, error.reason)); return
        }
        var outerTag = tag
        outerTag.innerLength = innerLength + IPv4Frame.ethernetHeaderLength
        node.observers.trace(tag, "\(node.name) vtep", "encapsulates: \(node.network.describe(buffer.readableBytes)), \(buffer.count) bytes",
                             time: node.scheduler.now)
        // The outer packet is the node's own (the vxlan driver sends it through `ip_local_out`).
        guard node.hooks.run(.output, buffer, &outerTag, in: node) else { return }
        node.unretainedNetwork { $0.sendOnUnderlay(from: node.place, toward: target.place, buffer, outerTag) }
    }

    /// The ICMP fragmentation needed a bridged VTEP's driver makes (net/ipv4/ip_tunnel_core.c
    /// `iptunnel_pmtud_build_icmp`): from the offending packet's destination to its source, TOS 0, ID 0,
    /// DF set, the offending packet's TTL, quoting up to 548 bytes, the Ethernet addresses swapped; the
    /// driver hands it to the stack as if received on the vxlan port (`netif_rx`), so the VTEP capture sees
    /// it and the bridge delivers it to cni0, which routes it to the pod (one more TTL off).
    private func sendDriverFragmentationNeeded(at node: ClusterNode, offending: PacketBuffer, mtu: Int, tag: PacketTag) {
        let network = node.network
        let bytes = offending.readableBytes
        guard let frame = IPv4Frame(bytes) else { return }
        let error = network.pool.take()
        PodPackets.error(error, PodPackets.Addressing(sourceMAC: IPv4Frame.destinationMAC(bytes), destinationMAC: IPv4Frame.sourceMAC(bytes),
                                                      source: frame.destination, destination: frame.source, timeToLive: frame.timeToLive,
                                                      typeOfService: 0, dontFragment: true, identification: 0),
                         .destinationUnreachable(.fragmentationNeeded, nextHopMTU: UInt16(truncatingIfNeeded: mtu)),
                         quoting: frame.packet, length: min(frame.totalLength, ICMPErrorSender.quoteLimit))
        let reply = tag.reversed
        network.observers.transmitted(error.readableBytes, at: .vtep(node.id), tag: reply, time: network.now)
        node.route(error, reply)
    }

    // MARK: - Receive

    /// An outer packet for this node that is not ICMP: decapsulate (what `vxlan_rcv` checks), learn the
    /// inner source MAC in learning mode, keep only frames for this VTEP (a replicated copy may be for
    /// another), capture, and route the inner packet.
    func receive(_ frame: PacketBuffer, _ tag: PacketTag, at node: ClusterNode) {
        var tag = tag
        let decapsulated: DecapsulatedPacket
        do {
            decapsulated = try mode.decapsulate(frame)
        } catch {
            let network = node.network
            var reason = "refused by VXLAN: \(error.reason)"
            if error.decodeError?.code == .badChecksum, let culprit = tag.brokenChecksumBy {
                let nat = network.firewalls[culprit]
                reason += ". \(nat.configuration.title) on \(nat.placement) rewrote the outer source port and, with the 2020 checksum-offload bug (kubernetes#88986), left the UDP checksum computed for the old port; the kernel logs \"UDP: bad checksum\" and drops it (workaround: noudpcsum, so the checksum is 0 and nothing needs fixing)"
            }
            network.drop(frame, tag, at: "\(node.name) vtep", DropReason(.vxlanRefused, reason)); return
        }
        if node.settings.ciliumIdentities, let identities = node.network.ciliumIdentities {
            // bpf/bpf_overlay.c: the sender's identity is the tunnel key's ID, which ingress policy uses.
            tag.tunnelIdentity = decapsulated.vni
            node.observers.trace(tag, "\(node.name) vtep", "decapsulates VNI \(decapsulated.vni) from \(decapsulated.outerSource) port \(decapsulated.outerSourcePort): the sender's security identity \(identities.describe(decapsulated.vni))", time: node.scheduler.now)
        } else {
            node.observers.trace(tag, "\(node.name) vtep", "decapsulates VNI \(decapsulated.vni) from \(decapsulated.outerSource) port \(decapsulated.outerSourcePort)", time: node.scheduler.now)
        }
        let inner = frame.readableBytes
        if fdb.learns, let sender = node.unretainedNetwork({ $0.node(atUnderlay: decapsulated.outerSource) }) {
            fdb.learn(IPv4Frame.sourceMAC(inner), behind: sender)
        }
        guard IPv4Frame.destinationMAC(inner) == innerMAC else {
            // A head-end replicated copy meant for another VTEP.
            node.pool.release(frame); return
        }
        node.observers.transmitted(inner, at: .vtep(node.id), tag: tag, time: node.scheduler.now)
        node.route(frame, tag)
    }
}
