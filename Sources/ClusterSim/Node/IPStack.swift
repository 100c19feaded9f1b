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
        if frame.isFragment, services.isServiceAddress(frame.destination) {
            guard let whole = reassemble(buffer, tag) else { return }
            guard hooks.run(hook, whole, &tag, in: self) else { return }
            for piece in network.fragment(whole, mtu: settings.podMTU) { forward(piece, tag, forwarded: forwarded) }
            return
        }
        guard hooks.run(hook, buffer, &tag, in: self) else { return }
        forward(buffer, tag, forwarded: forwarded)
    }

    /// Forwarding after NAT, in the order of net/ipv4/ip_forward.c `ip_forward`: a packet that would leave
    /// with TTL 0 is answered with ICMP time exceeded (`too_many_hops`); one larger than the route's MTU
    /// with DF set is answered with ICMP fragmentation needed (`ip_exceeds_mtu`, IpFragFails), both quoting
    /// the packet as received; then the TTL (`ip_decrease_ttl`), the FORWARD hook, and a local pod over its
    /// veth, or the VTEP for a pod on another node (fragmented first when it is larger than the route's MTU
    /// and DF is clear, `ip_fragment`). The node's own packets (`forwarded` false: its ICMP errors) skip
    /// the TTL and the FORWARD hook, as `ip_local_out` does.
    func forward(_ buffer: PacketBuffer, _ tag: PacketTag, forwarded: Bool) {
        var tag = tag
        guard let editable = MutableIPv4Frame(buffer.mutableBytes) else {
            network.drop(buffer, tag, at: routingPoint, DropReason(.malformed, "not an IPv4 packet")); return
        }
        let frame = editable.frame
        let destination = frame.destination
        if forwarded && frame.timeToLive <= 1 {
            let sent = sendError(.timeExceeded(.timeToLiveExceeded), about: buffer, tag: tag)
            network.drop(buffer, tag, at: routingPoint, DropReason(.ttlExpired,
                "TTL expired" + (sent ? "; ICMP time exceeded sent to \(frame.source)" : ""))); return
        }
        if let pod = cluster.pod(at: destination), cluster.node(of: pod) == id {
            if forwarded {
                _ = editable.decrementTimeToLive()
                guard hooks.run(.forward, buffer, &tag, in: self) else { return }
            }
            guard cluster.readyAt(pod) <= scheduler.now else {
                network.drop(buffer, tag, at: routingPoint, DropReason(.podNotRunning, "pod \(cluster[pod].name) is not running yet")); return
            }
            MutableIPv4Frame.setEthernet(buffer.mutableBytes, destination: cluster.mac(of: pod), source: gatewayMAC, etherType: .ipv4)
            scheduler.schedule(at: scheduler.now, .vethDelivery(buffer, tag, to: pod))
        } else if let remote = cluster.node(owning: destination), remote != id {
            let mtu = routeMTU(toward: remote, forwarded: forwarded)
            let length = frame.totalLength
            if length > mtu && frame.dontFragment {
                let sent = sendError(.destinationUnreachable(.fragmentationNeeded, nextHopMTU: UInt16(truncatingIfNeeded: mtu)), about: buffer, tag: tag)
                let device = !settings.bridgedVTEP ? "flannel.1" : "cni0"
                let learned = mtu < deviceMTU ? "the path MTU the vxlan driver set on the route via \(device) (ip_forward_use_pmtu=1)" : "the \(mtu)-byte MTU of \(device)"
                network.drop(buffer, tag, at: routingPoint, DropReason(.mtuExceeded,
                    "a \(length)-byte packet with DF set does not fit \(learned) toward \(network[remote].name) (IpFragFails)"
                    + (sent ? "; ICMP fragmentation needed (mtu \(mtu)) sent to \(frame.source) from \(icmpSource(toward: frame.source))" : "")))
                return
            }
            if forwarded {
                _ = editable.decrementTimeToLive()
                if settings.bridgedVTEP && spec.podCIDR.contains(frame.source) {
                    sendRedirect(about: buffer, gateway: network[remote].gatewayAddress, tag: tag)
                }
                guard hooks.run(.forward, buffer, &tag, in: self) else { return }
            }
            unretainedNetwork { network in
                network.withNode(remote) { remoteNode in
                    observers.trace(tag, routingPoint, "\(destination) is on \(remoteNode.name): to the VTEP", time: scheduler.now)
                    if length > mtu {
                        for piece in network.fragment(buffer, mtu: mtu) { overlay.transmit(piece, tag, from: self, to: remoteNode) }
                    } else {
                        overlay.transmit(buffer, tag, from: self, to: remoteNode)
                    }
                }
            }
        } else if spec.podCIDR.contains(destination) {
            network.drop(buffer, tag, at: routingPoint, DropReason(.noSuchPod, "no pod has \(destination) (deleted or not yet created)"))
        } else {
            network.drop(buffer, tag, at: routingPoint, DropReason(.noRoute, "no route to \(destination)"))
        }
    }

    /// On a bridged VTEP a local pod's packet for another node leaves by the interface it came in on
    /// (cni0), so the node tells the pod of the better next hop: ICMP redirect for host (type 5 code 1,
    /// net/ipv4/route.c `__mkroute_input` sets `IPSKB_DOREDIRECT`, `ip_forward` calls
    /// `ip_rt_send_redirect` after the TTL is decremented), limited per pod: the first at once, the n-th
    /// only `ip_rt_redirect_load` (20 ms) << n after the last, none after `ip_rt_redirect_number` (9) until
    /// `ip_rt_redirect_silence` (20 ms << 10) passes without one.
    func sendRedirect(about offending: PacketBuffer, gateway: IPv4Address, tag: PacketTag) {
        guard let frame = IPv4Frame(offending.readableBytes) else { return }
        let load: Nanoseconds = 20_000_000, silence: Nanoseconds = 20_000_000 << 10
        let now = scheduler.now
        var state = redirects[frame.source] ?? RedirectState()
        if now > state.last + silence { state.count = 0 }
        guard state.count < 9, state.count == 0 || now > state.last + (load << Nanoseconds(state.count)) else {
            if state.count >= 9 { state.last = now }
            redirects[frame.source] = state
            return
        }
        state.last = now
        state.count += 1
        redirects[frame.source] = state
        sendError(.other(type: .redirect, code: 1, restOfHeader: gateway.rawValue), about: offending, tag: tag)
    }

    /// The MTU of the device the route toward `remote`'s pods leaves by: `flannel.1` on a routed VTEP, cni0
    /// on a bridged one.
    var deviceMTU: Int { settings.bridgedVTEP ? settings.podMTU : vtepMTU }

    /// The MTU routing holds a packet toward `remote`'s pods to (include/net/ip.h
    /// `ip_dst_mtu_maybe_forward`): the device's, and for the node's own packets, or any with
    /// `ip_forward_use_pmtu=1`, the path MTU the route has learned.
    func routeMTU(toward remote: NodeID, forwarded: Bool) -> Int {
        let device = deviceMTU
        guard !forwarded || settings.forwardUsesPathMTU, let learned = innerPathMTU.mtu(toward: remote) else { return device }
        return min(device, learned)
    }

    /// The address the node's ICMP errors to `destination` come from: the one the route back selects
    /// (net/ipv4/icmp.c `__icmp_send` with no source: `inet_select_addr` on the way out): cni0's for a
    /// local pod, `flannel.1`'s (routed) or cni0's (bridged) for another node's.
    func icmpSource(toward destination: IPv4Address) -> IPv4Address {
        if spec.podCIDR.contains(destination) || settings.bridgedVTEP { return gatewayAddress }
        return overlay.vtepAddress
    }

    /// An ICMP error of `kind` about an inner packet, built by the node's ``ICMPErrorSender`` and routed
    /// back toward its source as the node's own packet. Returns whether it was sent (the rate limit may
    /// hold it back).
    @discardableResult
    func sendError(_ kind: ICMPv4Header.Kind, about offending: PacketBuffer, tag: PacketTag) -> Bool {
        let bytes = offending.readableBytes
        guard let frame = IPv4Frame(bytes) else { return false }
        let error = pool.take()
        guard network.icmpSenders[id.index].build(error, kind, about: frame.packet, from: icmpSource(toward: frame.source),
                                                  sourceMAC: gatewayMAC, nextHopMAC: IPv4Frame.sourceMAC(bytes), now: scheduler.now) else {
            pool.release(error); return false
        }
        route(error, tag.reversed, forwarded: false)
        return true
    }

    /// What the node believes the path MTU to `remote` is: its uplink MTU until an ICMP error says less.
    func pathMTU(toward remote: NodeID) -> Int {
        if let learned = pathMTU.mtu(toward: remote) { return learned }
        guard let direction = underlay.nextDirection(from: place, to: PlaceID(remote)) else { return 1500 }
        return underlay.mtu(of: direction)
    }

    // MARK: - From the underlay

    /// An outer packet reaches the node's underlay interface: the cloud's security group (outside the VM,
    /// so before tcpdump sees it), the capture, reassembly, the host firewall's input chain, then ICMP
    /// (path MTU learning) or the VTEP (decapsulation).
    func receiveFromUnderlay(_ buffer: PacketBuffer, _ tag: PacketTag) {
        var tag = tag
        if let group = securityGroup {
            guard network.passFirewall(group, .ingress, buffer, &tag, at: "\(name) security group") else { return }
        }
        observers.transmitted(buffer.readableBytes, at: .underlay(id), tag: tag, time: scheduler.now)
        var frame = buffer
        let isIPv4 = IPv4Frame.isIPv4(buffer.readableBytes)
        if isIPv4, IPv4Frame(buffer.readableBytes)?.isFragment == true {
            guard let whole = reassemble(buffer, tag) else { return }
            frame = whole
            observers.trace(tag, "\(name) IP reassembly", "reassembled \(whole.count) bytes", time: scheduler.now)
        }
        guard hooks.run(.input, frame, &tag, in: self) else { return }
        if isIPv4, IPv4Frame(frame.readableBytes)?.protocol == .icmp {
            observers.trace(tag, name, "receives \(network.describe(frame.readableBytes))", time: scheduler.now)
            learnPathMTU(from: frame, tag)
            return
        }
        if !isIPv4, let ipv6 = try? IPv6Packet(checking: frame.readableBytes.dropFirst(count: IPv4Frame.ethernetHeaderLength)),
           ipv6.nextHeader == .icmpv6 {
            learnPathMTU(fromIPv6: frame, ipv6, tag)
            return
        }
        overlay.receive(frame, tag, at: self)
    }

    /// ICMP fragmentation needed about one of this node's outer packets lowers its path MTU to that node
    /// (net/ipv4/udp.c `__udp4_lib_err` → `ipv4_sk_update_pmtu`), but only when the vxlan driver claims
    /// the error: `__udp4_lib_err_encap` asks the tunnel socket's `encap_err_lookup`, and
    /// drivers/net/vxlan/vxlan_core.c `vxlan_err_lookup` needs the quoted UDP and VXLAN headers (16 bytes
    /// after the IP header), the I flag and a VNI of its own. A quote of RFC 792's 8 bytes holds only the
    /// UDP header: the error is ignored, and the node goes on sending packets the path cannot carry.
    func learnPathMTU(from frame: PacketBuffer, _ tag: PacketTag) {
        defer { pool.release(frame) }
        guard let icmp = IPv4Frame(frame.readableBytes), icmp.icmpType == 3, icmp.icmpCode == 4,
              let quoted = try? PartialIPv4Packet(icmp.icmpQuote), let destination = quoted.destination,
              let remote = network.node(atUnderlay: .v4(destination)) else { return }
        let mtu = icmp.icmpNextHopMTU
        guard claimedByVTEP(quoted.payload) else {
            observers.dropped(frame.readableBytes, tag: tag, at: "\(name) vtep", reason: DropReason(.icmpIgnored,
                "ICMP fragmentation needed (mtu \(mtu)) from \(icmp.source) ignored: its quote holds \(quoted.payload.count) bytes after the IP header, not the UDP and VXLAN headers vxlan_err_lookup needs, so no path MTU is learned and the node keeps sending packets too big for the path"),
                time: scheduler.now)
            return
        }
        guard mtu >= 68 else { return }
        pathMTU.learn(mtu, toward: remote, current: pathMTU(toward: remote))
        network.pathMTULearned = true
    }

    /// ICMPv6 Packet Too Big about an outer packet (net/ipv6/icmp.c `icmpv6_notify` → net/ipv6/udp.c
    /// `__udp6_lib_err` → `ip6_sk_update_pmtu`), with the same `vxlan_err_lookup` test of the quote.
    func learnPathMTU(fromIPv6 frame: PacketBuffer, _ ipv6: IPv6Packet, _ tag: PacketTag) {
        defer { pool.release(frame) }
        guard let icmp = try? ICMPv6Message(checking: ipv6.payload), icmp.type == .packetTooBig,
              let quoted = try? PartialIPv6Packet(icmp.payload), quoted.hasCompleteHeader, quoted.nextHeader == .udp,
              let destination = quoted.destination, let remote = network.node(atUnderlay: .v6(destination)) else { return }
        let mtu = Int(icmp.mtu)
        guard claimedByVTEP(quoted.payload), mtu >= 1280 else { return }
        pathMTU.learn(mtu, toward: remote, current: pathMTU(toward: remote))
        network.pathMTULearned = true
    }

    /// `vxlan_err_lookup`: the quoted UDP header is to the VXLAN port, and the VXLAN header follows with
    /// the I flag and this overlay's VNI.
    func claimedByVTEP(_ quotedTransport: UnsafeRawBufferPointer) -> Bool {
        guard quotedTransport.count >= UDPDatagram.headerLength + VXLANPacket.headerLength,
              let udp = try? PartialUDPDatagram(quotedTransport), udp.destinationPort == network.scenario.overlay.destinationPort
        else { return false }
        let vxlan = quotedTransport.dropFirst(count: UDPDatagram.headerLength)
        let flags = vxlan.getInteger(at: VXLANPacket.Field.flags, as: UInt8.self)
        let vni = vxlan.getInteger(at: VXLANPacket.Field.vni.lowerBound, as: UInt32.self) >> 8
        // An `external` device (Cilium's) is found for any VNI: `vxlan_vs_find_vni` looks up VNI 0 for it.
        return flags & VXLANPacket.vniFlag != 0 && (vni == network.scenario.overlay.vni || network.ciliumIdentities != nil)
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
        expireReassembly()
        let (outcome, started) = reassembly.add(packet, frame: buffer.readableBytes, tag: tag, now: scheduler.now)
        if started { scheduler.schedule(after: reassembly.timeout, .reassemblyTimeout(.node(id))) }
        return network.reassembled(outcome, buffer, tag, at: point)
    }

    /// The reassembly timer (net/ipv4/ip_fragment.c `ip_expire`): each datagram still incomplete
    /// `ipfrag_time` after its first fragment is lost (ReasmFails, ReasmTimeout) and charged to its flow
    /// once. When the fragment at offset 0 had arrived (`INET_FRAG_FIRST_IN`) and the datagram was the
    /// node's own (an outer packet to its address), ICMP time exceeded, fragment reassembly (type 11
    /// code 1), goes back to the sender quoting that fragment (`icmp_send` → `__icmp_send`: 576 bytes,
    /// TOS 0xc0, rate-limited). Conntrack's reassembly of a forwarded (Service-bound) packet sends none
    /// (`frag_expire_skip_icmp` for `IP_DEFRAG_CONNTRACK_IN` when the route is not local).
    func expireReassembly() {
        let point = "\(name) IP reassembly"
        for item in reassembly.expire(now: network.now) {
            var answered: IPv4Address?
            if let first = item.expired.firstFragment, underlayAddress == .v4(item.expired.key.destination) {
                let offending = network.pool.take()
                let ethernet = IPv4Frame.ethernetHeaderLength
                if item.frame.count >= ethernet, (Array(item.frame[0..<ethernet]) + first).withUnsafeBytes({ offending.load($0) }),
                   network.sendRouterError(from: place, .timeExceeded(.fragmentReassemblyTimeExceeded), about: offending, tag: item.tag) {
                    answered = item.expired.key.source
                }
                network.pool.release(offending)
            }
            item.frame.withUnsafeBytes { bytes in
                network.observers.dropped(bytes, tag: item.tag, at: point, reason: DropReason(.reassemblyTimedOut,
                    item.sentence(icmpSentTo: answered, timeout: reassembly.timeout)), time: network.now)
            }
        }
    }
}

extension IPv4Packet {
    /// The destination address of the IPv4 header an ICMP error quotes (RFC 792: the header is there whole).
    static func quotedDestination(_ quote: UnsafeRawBufferPointer) -> IPv4Address {
        IPv4Address(rawValue: quote.getInteger(at: Field.destination.lowerBound, as: UInt32.self))
    }
}
