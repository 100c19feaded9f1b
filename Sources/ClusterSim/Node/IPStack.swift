import PacketWire

/// The node's IP layer, after Linux's `ip_rcv` → PREROUTING → routing → `ip_forward` (TTL) → FORWARD →
/// output, with ns-3's `Ipv4L3Protocol` as the model of the split: one place routes, forwards, delivers
/// locally, fragments and reassembles.
extension ClusterNode {
    /// A packet enters the IP layer: from a pod's veth, from the VTEP after decapsulation (both
    /// `forwarded`: the PREROUTING hook), or made by the node itself (an ICMP error: the OUTPUT hook; the
    /// FORWARD hook does not see it).
    ///
    /// With conntrack loaded (kube-proxy loads it), netfilter reassembles fragments before NAT
    /// (`nf_defrag_ipv4`); the model does so for packets to a Service, and fragments the whole datagram
    /// again to the pod MTU on the way out.
    func route(_ buffer: PacketBuffer, _ tag: PacketTag, forwarded: Bool = true) {
        guard let frame = IPv4Frame(buffer.readableBytes), (try? IPv4Packet(checking: frame.packet)) != nil else {
            network.drop(buffer, tag, at: routingPoint, DropReason(.malformed, "not an IPv4 packet")); return
        }
        var tag = tag
        let hook: NetfilterHook = forwarded ? .prerouting : .output
        if frame.isFragment, network.services.isServiceAddress(frame.destination) {
            guard let whole = reassemble(buffer, tag) else { return }
            guard hooks.run(hook, whole, &tag, in: self) else { return }
            for piece in network.fragment(whole, mtu: network.scenario.overlay.mtu) { forward(piece, tag, forwarded: forwarded) }
            return
        }
        guard hooks.run(hook, buffer, &tag, in: self) else { return }
        forward(buffer, tag, forwarded: forwarded)
    }

    /// Forwarding after NAT: the TTL (decremented before the FORWARD hook, as `ip_forward` does), the
    /// FORWARD hook, then a local pod over its veth, or the VTEP for a pod on another node.
    func forward(_ buffer: PacketBuffer, _ tag: PacketTag, forwarded: Bool) {
        var tag = tag
        guard let editable = MutableIPv4Frame(buffer.mutableBytes) else {
            network.drop(buffer, tag, at: routingPoint, DropReason(.malformed, "not an IPv4 packet")); return
        }
        let destination = editable.frame.destination
        guard let ttl = editable.decrementTimeToLive(), ttl > 0 else {
            network.drop(buffer, tag, at: routingPoint, DropReason(.ttlExpired, "TTL expired")); return
        }
        if forwarded {
            guard hooks.run(.forward, buffer, &tag, in: self) else { return }
        }
        let cluster = network.cluster
        if let pod = cluster.pod(at: destination), cluster.node(of: pod) == id {
            guard cluster.readyAt(pod) <= network.now else {
                network.drop(buffer, tag, at: routingPoint, DropReason(.podNotRunning, "pod \(cluster[pod].name) is not running yet")); return
            }
            MutableIPv4Frame.setEthernet(buffer.mutableBytes, destination: cluster.mac(of: pod), source: gatewayMAC, etherType: .ipv4)
            network.scheduler.schedule(at: network.now, .vethDelivery(buffer, tag, to: pod))
        } else if let remote = cluster.node(owning: destination), remote != id {
            network.observers.trace(tag, routingPoint, "\(destination) is on \(network[remote].name): to the VTEP", time: network.now)
            overlay.transmit(buffer, tag, from: self, to: network[remote])
        } else if spec.podCIDR.contains(destination) {
            network.drop(buffer, tag, at: routingPoint, DropReason(.noSuchPod, "no pod has \(destination) (deleted or not yet created)"))
        } else {
            network.drop(buffer, tag, at: routingPoint, DropReason(.noRoute, "no route to \(destination)"))
        }
    }

    /// What the node believes the path MTU to `remote` is: its uplink MTU until an ICMP error says less.
    func pathMTU(toward remote: NodeID) -> Int {
        if let learned = pathMTU.mtu(toward: remote) { return learned }
        guard let direction = network.underlay.nextDirection(from: place, to: PlaceID(remote)) else { return 1500 }
        return network.underlay.mtu(of: direction)
    }

    // MARK: - From the underlay

    /// An outer packet reaches the node's underlay interface: the cloud's security group (outside the VM,
    /// so before tcpdump sees it), the capture, reassembly, the host firewall's input chain, then ICMP
    /// (path MTU learning) or the VTEP (decapsulation).
    func receiveFromUnderlay(_ buffer: PacketBuffer, _ tag: PacketTag) {
        var tag = tag
        if let group = network.firewalls.securityGroup(of: id) {
            guard network.passFirewall(group, .ingress, buffer, &tag, at: "\(name) security group") else { return }
        }
        network.observers.transmitted(buffer.readableBytes, at: .underlay(id), tag: tag, time: network.now)
        var frame = buffer
        let isIPv4 = IPv4Frame.isIPv4(buffer.readableBytes)
        if isIPv4, IPv4Frame(buffer.readableBytes)?.isFragment == true {
            guard let whole = reassemble(buffer, tag) else { return }
            frame = whole
            network.observers.trace(tag, "\(name) IP reassembly", "reassembled \(whole.count) bytes", time: network.now)
        }
        guard hooks.run(.input, frame, &tag, in: self) else { return }
        if isIPv4, IPv4Frame(frame.readableBytes)?.protocol == .icmp {
            network.observers.trace(tag, name, "receives \(network.describe(frame.readableBytes))", time: network.now)
            learnPathMTU(from: frame.readableBytes)
            network.pool.release(frame)
            return
        }
        overlay.receive(frame, tag, at: self)
    }

    /// ICMP fragmentation needed about one of this node's outer packets lowers its path MTU to that VTEP.
    func learnPathMTU(from bytes: UnsafeRawBufferPointer) {
        guard let icmp = IPv4Frame(bytes), icmp.hasTransport(8 + IPv4Packet.minimumHeaderLength),
              icmp.icmpType == 3, icmp.icmpCode == 4 else { return }
        let mtu = icmp.icmpNextHopMTU
        let quotedDestination = IPv4Packet.quotedDestination(icmp.icmpQuote)
        guard let remote = network.node(atUnderlay: .v4(quotedDestination)), mtu >= 68 else { return }
        pathMTU.learn(mtu, toward: remote, current: pathMTU(toward: remote))
    }

    // MARK: - Reassembly

    /// Gives an IPv4 fragment to the node's reassembler, as its IP layer does before the VTEP (or
    /// conntrack) sees the packet; returns the whole frame once the last piece is in.
    func reassemble(_ buffer: PacketBuffer, _ tag: PacketTag) -> PacketBuffer? {
        let point = "\(name) IP reassembly"
        guard let packet = try? IPv4Packet(checking: buffer.readableBytes.dropFirst(count: IPv4Frame.ethernetHeaderLength),
                                           frameOffset: IPv4Frame.ethernetHeaderLength) else {
            network.drop(buffer, tag, at: point, DropReason(.malformed, "malformed fragment")); return nil
        }
        _ = reassembly.expire(now: network.now)
        let outcome = reassembly.add(packet, time: network.now)
        return network.reassembled(outcome, buffer, tag, at: point)
    }
}

extension IPv4Packet {
    /// The destination address of the IPv4 header an ICMP error quotes (RFC 792: the header is there whole).
    static func quotedDestination(_ quote: UnsafeRawBufferPointer) -> IPv4Address {
        IPv4Address(rawValue: quote.getInteger(at: Field.destination.lowerBound, as: UInt32.self))
    }
}
