import Capture
import Firewall
import PacketWire

/// Where firewalls sit on the dataplane, and what happens when one drops a packet: the report's
/// firewall drops, `drops.pcap`, the flow's drop count, the `--explain` trace (the decision's own steps), and for `reject` an ICMP
/// error back to the sender.
extension Simulation {
    /// Runs firewall `index` on `buffer` at `hook`. Returns true when the packet goes on (a NAT may have
    /// rewritten it and marked `tag`); on a drop everything is recorded and the buffer is released.
    /// - Parameters:
    ///   - point: the capture point, as the report names it: "node-b input chain".
    ///   - rejectFrom: the place an ICMP error for `reject` is sent from (nil: none is sent).
    func passFirewall(_ index: Int, _ hook: Hook, _ buffer: PacketBuffer, _ tag: inout PacketTag, at point: String,
                      rejectFrom place: Int? = nil) throws(CaptureError) -> Bool {
        let device = firewalls.devices[index]
        let explained = isExplained(tag)
        // The explained flow's decision records its steps as it is made; no other packet has a trace.
        let trace = explained ? DecisionTrace() : nil
        if explained {
            explain(tag, point, "\(device.configuration.title) (\(hook)) checks \(device.names.describe(buffer.readableBytes, vxlanPorts: device.configuration.vxlanAware ? device.configuration.vxlanPorts : []))")
        }
        let decision = device.inspect(buffer.mutableBytes, at: hook, now: events.now, trace: trace)
        if let trace { for step in trace.steps { explain(tag, point, "  " + step) } }
        if decision.accepted {
            if decision.rewrite != nil {
                let verdict = device.verdict(for: decision)
                if decision.rewrite?.checksumBroken == true { tag.brokenChecksumBy = Int16(index) }
                recordRewrite(index, tag, at: point, verdict.explanation)
                if explained { explain(tag, point, "  " + verdict.explanation) }
            } else if explained {
                explain(tag, point, "  → accepted (\(device.verdict(for: decision).decidedBy))")
            }
            return true
        }
        let verdict = device.verdict(for: decision, fragmentationCause: decision.packet.isFragment ? fragmentationCause(tag) : nil)
        let flow = tag.flow >= 0 ? flows[Int(tag.flow)].spec : -1
        firewallDrops.record(FirewallDropLog.Key(point: point, device: index, flow: flow, verdict: verdict), at: events.now)
        let rejection = decision.action == .reject && !decision.packet.isICMPError
            ? prepareRejection(about: buffer, hook: hook, from: place, tag: tag) : nil
        drop(buffer, tag, at: point, "\(device.configuration.title), \(verdict.decidedBy): \(verdict.explanation)")
        if let rejection { try send(rejection) }
        return false
    }

    /// Why an outer packet was in pieces: the link that fragmented it and what the overlay assumed.
    func fragmentationCause(_ tag: PacketTag) -> String? {
        guard tag.fragmentedOnLink >= 0 else { return nil }
        let link = underlay.links[Int(tag.fragmentedOnLink)]
        let overlay = scenario.overlay
        return "the \(tag.unfragmentedLength)-byte outer packet was fragmented for the \(link.mtu)-byte MTU of link \(link.a)↔\(link.b): the overlay assumes a \(overlay.mtu + overhead)-byte underlay MTU (pod MTU \(overlay.mtu) + \(overhead) bytes of VXLAN encapsulation) and does not set DF on the outer header"
    }

    func recordRewrite(_ index: Int, _ tag: PacketTag, at point: String, _ sentence: String) {
        let key = FirewallRewriteLog.Key(device: index, flow: tag.flow >= 0 ? flows[Int(tag.flow)].spec : -1, point: point)
        if var entry = firewallRewrites.entries[key] {
            entry.count += 1
            firewallRewrites.entries[key] = entry
        } else if firewallRewrites.entries.count < FirewallDropLog.limit {
            firewallRewrites.entries[key] = FirewallRewriteLog.Entry(order: firewallRewrites.entries.count, first: events.now,
                                                                    count: 1, example: sentence)
        }
    }

    /// An ICMP error built for a rejected packet, waiting to be sent once the drop is recorded.
    enum Rejection {
        /// To a pod: routed by the node.
        case toPod(node: Int, PacketBuffer, PacketTag)
        /// Across the underlay to the outer sender's node.
        case overUnderlay(from: Int, toward: Int, PacketBuffer)
    }

    /// ICMP destination unreachable, host prohibited (type 3 code 10, what iptables' and firewalld's
    /// REJECT send), for the sender of a rejected packet: the pod for the forward chain, otherwise the
    /// outer sender's node. Nil when there is no one to tell.
    func prepareRejection(about buffer: PacketBuffer, hook: Hook, from place: Int?, tag: PacketTag) -> Rejection? {
        guard let place else { return nil }
        let bytes = buffer.readableBytes
        guard bytes.count >= 34, bytes.getInteger(at: 12, as: UInt16.self) == EtherType.ipv4.rawValue else { return nil }
        let source = IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self))
        if hook == .forward, let node = underlay.places[place].node {
            let error = takeBuffer()
            PodPackets.destinationUnreachable(
                error, PodPackets.Addressing(sourceMAC: cluster.nodes[node].gatewayMAC, destinationMAC: bytes.readMAC(at: 6),
                                             source: cluster.nodes[node].spec.podCIDR.address(1), destination: source,
                                             dontFragment: false, identification: 0),
                code: ICMPv4UnreachableCode.hostProhibited.rawValue, quoting: bytes.slice(14..<bytes.count))
            var errorTag = tag
            errorTag.role = tag.role == .toServer ? .toClient : .toServer
            errorTag.isData = false
            return .toPod(node: node, error, errorTag)
        }
        guard let sender = nodeByUnderlayAddress[.v4(source)], sender != underlay.places[place].node else { return nil }
        let direction = underlay.nextDirection[place][sender]
        guard direction >= 0 else { return nil }
        let error = takeBuffer()
        PodPackets.destinationUnreachable(
            error, PodPackets.Addressing(sourceMAC: underlay.places[place].mac, destinationMAC: underlay.places[underlay.directions[direction].to].mac,
                                         source: underlay.places[place].address, destination: source,
                                         dontFragment: false, identification: 0),
            code: ICMPv4UnreachableCode.hostProhibited.rawValue, quoting: bytes.slice(14..<bytes.count))
        return .overUnderlay(from: place, toward: sender, error)
    }

    func send(_ rejection: Rejection) throws(CaptureError) {
        switch rejection {
        case let .toPod(node, error, tag): try route(at: node, error, tag, forwarded: false)
        case let .overUnderlay(place, sender, error): try underlayTransmit(from: place, toward: sender, error, .none)
        }
    }

    // MARK: - Explaining one flow

    /// Whether `tag` belongs to the flow `--explain` follows.
    @inline(__always)
    func isExplained(_ tag: PacketTag) -> Bool {
        explainSpec >= 0 && tag.flow >= 0 && flows[Int(tag.flow)].spec == explainSpec
    }

    /// Adds a line to the trace of the explained flow (the text is built only for that flow).
    func explain(_ tag: PacketTag, _ point: String, _ text: @autoclosure () -> String) {
        guard isExplained(tag) else { return }
        guard explanation.count < Self.explanationLimit else {
            if explanation.count == Self.explanationLimit {
                explanation.append("… trace stops after \(Self.explanationLimit) lines")
            }
            return
        }
        explanation.append("[\(Units.exact(events.now))] \(point): \(text())")
    }

    static let explanationLimit = 600

    /// The explained flow's description of a frame (with VXLAN contents when it is one).
    func describe(_ bytes: UnsafeRawBufferPointer) -> String {
        addressNames.describe(bytes, vxlanPorts: [scenario.overlay.destinationPort])
    }
}
