import Firewall
import PacketWire

/// What happens when a placed firewall sees a packet: the decision, the report's firewall drops and
/// rewrites, `drops.pcap`, the flow's drop count, the `--explain` trace (the decision's own steps), and for `reject` an ICMP error
/// back to the sender.
extension Network {
    /// Runs firewall `id` on `buffer` at `hook`. Returns true when the packet goes on (a NAT may have
    /// rewritten it and marked `tag`); on a drop everything is recorded and the buffer is released.
    /// - Parameters:
    ///   - point: the capture point, as the report names it: "node-b input chain".
    ///   - rejectFrom: the place an ICMP error for `reject` is sent from (nil: none is sent).
    func passFirewall(_ id: FirewallID, _ hook: Hook, _ buffer: PacketBuffer, _ tag: inout PacketTag, at point: String,
                      rejectFrom place: PlaceID? = nil) -> Bool {
        let device = firewalls[id]
        let explained = observers.isExplained(tag)
        // The explained flow's decision records its steps as it is made; no other packet has a trace.
        let trace = explained ? DecisionTrace() : nil
        if explained {
            let ports = device.configuration.vxlanAware ? device.configuration.vxlanPorts : []
            observers.trace(tag, point, "\(device.configuration.title) (\(hook)) checks \(device.names.describe(buffer.readableBytes, vxlanPorts: ports))", time: now)
        }
        let decision = device.inspect(buffer.mutableBytes, at: hook, now: now, trace: trace)
        if let trace { for step in trace.steps { observers.trace(tag, point, "  " + step, time: now) } }
        if decision.accepted {
            if decision.rewrite != nil {
                let verdict = device.verdict(for: decision)
                if decision.rewrite?.checksumBroken == true { tag.brokenChecksumBy = id }
                observers.firewallLog.recordRewrite(by: id, flow: tag.sender.map(observers.accounting.flow(of:)), at: point,
                                                    sentence: verdict.explanation, time: now)
                if explained { observers.trace(tag, point, "  " + verdict.explanation, time: now) }
            } else if explained {
                observers.trace(tag, point, "  → accepted (\(device.verdict(for: decision).decidedBy))", time: now)
            }
            return true
        }
        let verdict = device.verdict(for: decision, fragmentationCause: decision.packet.isFragment ? fragmentationCause(tag) : nil)
        observers.firewallLog.recordDrop(FirewallLog.DropKey(point: point, device: id, flow: tag.sender.map(observers.accounting.flow(of:)),
                                                             verdict: verdict), time: now)
        let rejection = decision.action == .reject && !decision.packet.isICMPError
            ? prepareRejection(about: buffer, hook: hook, from: place, tag: tag) : nil
        drop(buffer, tag, at: point, DropReason(.firewallDenied, "\(device.configuration.title), \(verdict.decidedBy): \(verdict.explanation)"))
        if let rejection { send(rejection) }
        return false
    }

    /// Why an outer packet was in pieces: the link that fragmented it and what the overlay assumed.
    func fragmentationCause(_ tag: PacketTag) -> String? {
        guard let id = tag.fragmentedOnLink else { return nil }
        let link = underlay.links[id.index]
        let overlay = scenario.overlay
        return "the \(tag.unfragmentedLength)-byte outer packet was fragmented for the \(link.mtu)-byte MTU of link \(link.a)↔\(link.b): the overlay assumes a \(overlay.mtu + overhead)-byte underlay MTU (pod MTU \(overlay.mtu) + \(overhead) bytes of VXLAN encapsulation) and does not set DF on the outer header"
    }

    /// An ICMP error built for a rejected packet, waiting to be sent once the drop is recorded.
    enum Rejection {
        /// To a pod: routed by the node.
        case toPod(node: NodeID, PacketBuffer, PacketTag)
        /// Across the underlay to the outer sender's node.
        case overUnderlay(from: PlaceID, toward: PlaceID, PacketBuffer)
    }

    /// ICMP destination unreachable, host prohibited (type 3 code 10, what iptables' and firewalld's
    /// REJECT send), for the sender of a rejected packet: the pod for the forward chain, otherwise the
    /// outer sender's node. Nil when there is no one to tell, or the rate limit holds it back.
    ///
    /// As Linux builds it: net/ipv4/netfilter/nf_reject_ipv4.c `nf_send_unreach` (nftables' `reject with
    /// icmp type host-prohibited`, iptables' REJECT) sends nothing about a non-first fragment and otherwise
    /// calls `icmp_send`, so the error is the place's ``ICMPErrorSender``'s, as every ICMP error of a node
    /// or router: as much of the packet as fits in 576 bytes, TOS 0xc0 with the packet's TOS bits, TTL 64,
    /// DF clear, a counting IP ID, `icmp_ratelimit` (6 to a peer at once, then one a second). Its source
    /// (`__icmp_send` for a packet that is not for the host: the address routing picks toward the sender)
    /// is cni0's for a local pod, flannel.1's for another node's pod (``ClusterNode/icmpSource(toward:)``);
    /// for a packet to the host itself, the address it was sent to. Measured in network namespaces with
    /// nftables: a 1000-byte UDP datagram with TOS 0x28 rejected in a forward chain came back as 590
    /// bytes, TOS 0xc8, TTL 64, DF clear, from the router's inbound address, quoting TTL 63; the seventh
    /// within a millisecond got none.
    func prepareRejection(about buffer: PacketBuffer, hook: Hook, from place: PlaceID?, tag: PacketTag) -> Rejection? {
        guard let place else { return nil }
        let bytes = buffer.readableBytes
        guard let frame = IPv4Frame(bytes), frame.fragmentOffset == 0 else { return nil }
        let source = frame.source
        let kind = ICMPv4Header.Kind.destinationUnreachable(.hostProhibited, nextHopMTU: 0)
        if hook == .forward, let node = underlay[place].node {
            let host = self[node]
            let error = pool.take()
            guard icmpSenders[node.index].build(error, kind, about: frame.packet, from: host.icmpSource(toward: source),
                                                sourceMAC: host.gatewayMAC, nextHopMAC: IPv4Frame.sourceMAC(bytes), now: now) else {
                pool.release(error); return nil
            }
            return .toPod(node: node, error, tag.reversed)
        }
        guard let sender = node(atUnderlay: .v4(source)), sender != underlay[place].node,
              let direction = underlay.nextDirection(from: place, to: PlaceID(sender)) else { return nil }
        let error = pool.take()
        guard icmpSenders[place.index].build(error, kind, about: frame.packet, from: underlay[place].address,
                                             sourceMAC: underlay[place].mac, nextHopMAC: underlay[underlay[direction].to].mac, now: now) else {
            pool.release(error); return nil
        }
        return .overUnderlay(from: place, toward: PlaceID(sender), error)
    }

    func send(_ rejection: Rejection) {
        switch rejection {
        case let .toPod(node, error, tag): self[node].route(error, tag, forwarded: false)
        case let .overUnderlay(place, sender, error): sendOnUnderlay(from: place, toward: sender, error, .none)
        }
    }
}
