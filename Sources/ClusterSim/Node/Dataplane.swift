import Capture
import PacketWire
import VXLAN

/// The path of a packet through a Linux Flannel node: pod veth → routing (kube-proxy NAT, TTL) → local pod,
/// or VTEP encapsulation → underlay (MTU, fragmentation, queues, routers) → remote decapsulation → pod.
extension Simulation {
    // MARK: Pod → node

    /// A pod puts a frame on its interface.
    func podSend(_ pod: Int, _ buffer: PacketBuffer, _ tag: PacketTag) throws(CaptureError) {
        let podInfo = cluster.pods[pod]
        lastActivity = events.now
        try captures?.pod(podInfo.name, buffer.readableBytes, at: events.now)
        if explainSpec >= 0 { explain(tag, "pod \(podInfo.name)", "sends \(describe(buffer.readableBytes)) (\(buffer.count) bytes)") }
        try route(at: podInfo.node, buffer, tag)
    }

    /// The node's IP layer: reverse NAT for Service replies, DNAT for Service traffic, TTL, the host
    /// firewall's forward chain (for `forwarded` packets, not the node's own), then local delivery or the VTEP.
    func route(at node: Int, _ buffer: PacketBuffer, _ tag: PacketTag, forwarded: Bool = true) throws(CaptureError) {
        func point() -> String { "\(cluster.nodes[node].spec.name) routing" }
        let bytes = buffer.mutableBytes
        guard bytes.count >= 34, bytes.getInteger(at: 12, as: UInt16.self) == EtherType.ipv4.rawValue,
              (try? IPv4Packet(checking: UnsafeRawBufferPointer(bytes.slice(14..<bytes.count)))) != nil else {
            drop(buffer, tag, at: point(), "not an IPv4 packet"); return
        }
        let destination = IPv4Address(rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 30, as: UInt32.self)))
        if UnsafeRawBufferPointer(bytes).isIPv4FragmentFrame, serviceByAddress[destination] != nil {
            // Conntrack (loaded by kube-proxy) reassembles fragments before NAT, as nf_defrag_ipv4 does,
            // and the whole datagram is fragmented again to the pod MTU on the way out.
            guard let whole = reassemble(buffer, tag, at: node) else { return }
            applyServiceNAT(at: node, whole.mutableBytes, tag)
            for piece in fragment(whole, mtu: scenario.overlay.mtu) { try forward(at: node, piece, tag, forwarded: forwarded) }
            return
        }
        applyServiceNAT(at: node, bytes, tag)
        try forward(at: node, buffer, tag, forwarded: forwarded)
    }

    /// The node's forwarding after NAT: TTL, the forward chain, then a local pod or the VTEP.
    func forward(at node: Int, _ buffer: PacketBuffer, _ tag: PacketTag, forwarded: Bool) throws(CaptureError) {
        var tag = tag
        func point() -> String { "\(cluster.nodes[node].spec.name) routing" }
        let bytes = buffer.mutableBytes
        let destination = IPv4Address(rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 30, as: UInt32.self)))
        guard let ttl = IPv4Packet.decrementTimeToLive(in: bytes.slice(14..<bytes.count)), ttl > 0 else {
            drop(buffer, tag, at: point(), "TTL expired"); return
        }
        let host = firewalls.hostByNode[node]
        if forwarded, host >= 0 {
            guard try passFirewall(host, .forward, buffer, &tag, at: "\(cluster.nodes[node].spec.name) forward chain",
                                   rejectFrom: node) else { return }
        }
        if let pod = cluster.podIndex(at: destination), cluster.pods[pod].node == node {
            guard cluster.pods[pod].readyAt <= events.now else {
                drop(buffer, tag, at: point(), "pod \(cluster.pods[pod].name) is not running yet"); return
            }
            EthernetHeader(destination: cluster.pods[pod].mac, source: cluster.nodes[node].gatewayMAC, etherType: .ipv4)
                .emit(into: bytes.slice(0..<14))
            try podReceive(pod, buffer, tag)
        } else if let remote = cluster.node(owning: destination), remote != node {
            if explainSpec >= 0 { explain(tag, point(), "\(destination) is on \(cluster.nodes[remote].spec.name): to the VTEP") }
            try vtepTransmit(from: node, to: remote, buffer, tag)
        } else if cluster.nodes[node].spec.podCIDR.contains(destination) {
            drop(buffer, tag, at: point(), "no pod has \(destination) (deleted or not yet created)")
        } else {
            drop(buffer, tag, at: point(), "no route to \(destination)")
        }
    }

    /// kube-proxy: replies from an endpoint get the Service address back as their source; new traffic
    /// to a ClusterIP port is DNATed to one endpoint chosen by flow hash and remembered.
    func applyServiceNAT(at node: Int, _ bytes: UnsafeMutableRawBufferPointer, _ tag: PacketTag) {
        let ipHeader = Int(bytes[14] & 0x0F) * 4
        let proto = bytes[23]
        guard proto == IPProtocol.tcp.rawValue || proto == IPProtocol.udp.rawValue, bytes.count >= 14 + ipHeader + 4 else { return }
        let l4 = 14 + ipHeader
        let source = IPv4Address(rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 26, as: UInt32.self)))
        let destination = IPv4Address(rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 30, as: UInt32.self)))
        let sourcePort = bytes.getInteger(at: l4, as: UInt16.self), destinationPort = bytes.getInteger(at: l4 + 2, as: UInt16.self)
        let key = NATKey(proto: proto, source: source, sourcePort: sourcePort, destination: destination, destinationPort: destinationPort)
        if let original = nodes[node].natReverse[key] {
            rewrite(bytes, source: original.address, sourcePort: original.port)
            return
        }
        guard let serviceIndex = serviceByAddress[destination] else { return }
        let target: NATTarget
        if let existing = nodes[node].natForward[key],
           proto != IPProtocol.udp.rawValue || cluster.podIndex(at: existing.address) != nil {
            target = existing
        } else {
            // New, or UDP to an endpoint that is gone: kube-proxy deletes a removed endpoint's UDP
            // conntrack entries (TCP entries stay and time out), so the next datagram picks a live one.
            let service = scenario.services[serviceIndex]
            guard let port = service.ports.first(where: { $0.port == destinationPort && $0.protocol.ipProtocol == proto }) else { return }
            let endpoints = cluster.pods(matching: service.selector, at: events.now)
            guard !endpoints.isEmpty else { return }
            var hasher = SplitMix64(seed: scenario.seed ^ (UInt64(source.rawValue) << 24 | UInt64(sourcePort) << 8 | UInt64(proto)))
            let chosen = endpoints[Int(hasher.next() % UInt64(endpoints.count))]
            target = NATTarget(address: cluster.pods[chosen].address, port: port.targetPort)
            nodes[node].natForward[key] = target
            let replyKey = NATKey(proto: proto, source: target.address, sourcePort: target.port, destination: source, destinationPort: sourcePort)
            nodes[node].natReverse[replyKey] = NATTarget(address: destination, port: destinationPort)
            if tag.flow >= 0 { stats[flows[Int(tag.flow)].spec].endpoints[cluster.pods[chosen].name, default: 0] += 1 }
        }
        rewrite(bytes, destination: target.address, destinationPort: target.port)
    }

    /// Rewrites addresses and ports and recomputes the IPv4 and TCP/UDP checksums.
    func rewrite(_ bytes: UnsafeMutableRawBufferPointer, source: IPv4Address? = nil, sourcePort: UInt16? = nil,
                 destination: IPv4Address? = nil, destinationPort: UInt16? = nil) {
        let ipHeader = Int(bytes[14] & 0x0F) * 4
        let l4 = 14 + ipHeader
        if let source { bytes.setInteger(source.rawValue, at: 26, as: UInt32.self) }
        if let destination { bytes.setInteger(destination.rawValue, at: 30, as: UInt32.self) }
        if let sourcePort { bytes.setInteger(sourcePort, at: l4, as: UInt16.self) }
        if let destinationPort { bytes.setInteger(destinationPort, at: l4 + 2, as: UInt16.self) }
        bytes.setInteger(0, at: 24, as: UInt16.self)
        bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(14..<l4))), at: 24, as: UInt16.self)
        let totalLength = Int(bytes.getInteger(at: 16, as: UInt16.self))
        let segment = bytes.slice(l4..<(14 + totalLength))
        let pseudo = PseudoHeader.ipv4(source: IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self)),
                                       destination: IPv4Address(rawValue: bytes.getInteger(at: 30, as: UInt32.self)))
        let proto = IPProtocol(rawValue: bytes[23])
        let checksumOffset = proto == .tcp ? 16 : 6
        guard segment.count >= checksumOffset + 2 else { return }
        if proto == .udp && segment.getInteger(at: 6, as: UInt16.self) == 0 { return }
        segment.setInteger(0, at: checksumOffset, as: UInt16.self)
        let sum = pseudo.checksum(of: UnsafeRawBufferPointer(segment), protocol: proto)
        segment.setInteger(proto == .udp && sum == 0 ? 0xFFFF : sum, at: checksumOffset, as: UInt16.self)
    }

    // MARK: VTEP

    /// Flannel's flannel.1: PMTU check, inner MAC rewrite to the VTEPs, FDB lookup, encapsulation.
    func vtepTransmit(from node: Int, to remote: Int, _ buffer: PacketBuffer, _ tag: PacketTag) throws(CaptureError) {
        let nodeName = cluster.nodes[node].spec.name
        func point() -> String { "\(nodeName) vtep" }
        let bytes = buffer.mutableBytes
        let innerLength = Int(bytes.getInteger(at: 16, as: UInt16.self))
        let innerDF = bytes[20] & 0x40 != 0
        let pathMTU = pathMTU(from: node, to: remote)
        if innerDF && innerLength + overhead > pathMTU {
            // Linux skb_tunnel_check_pmtu: tell the inner sender, as if from its destination.
            let mtu = pathMTU - overhead
            try sendFragmentationNeeded(at: node, offending: buffer, mtu: mtu, tag: tag)
            drop(buffer, tag, at: point(),
                 "inner packet of \(innerLength) bytes + \(overhead) bytes of VXLAN exceeds the path MTU \(pathMTU) to \(cluster.nodes[remote].spec.name); ICMP fragmentation needed (mtu \(mtu)) sent to the pod")
            return
        }
        EthernetHeader(destination: cluster.nodes[remote].vtepMAC, source: cluster.nodes[node].vtepMAC, etherType: .ipv4)
            .emit(into: bytes.slice(0..<14))
        try captures?.vtep(node, buffer.readableBytes, at: events.now)

        // One VTEP, from the static FDB or a learned entry; unknown unicast in learning mode goes to every
        // other VTEP (head-end replication), each copy its own packet.
        var target = remote
        if scenario.overlay.fdb == .learning {
            if let known = nodes[node].learned[cluster.nodes[remote].vtepMAC] {
                target = known
            } else {
                let others = cluster.nodes.indices.filter { $0 != node }
                for other in others.dropLast() {
                    let copy = takeBuffer()
                    copy.load(buffer.readableBytes)
                    try encapsulateAndSend(copy, from: node, to: other, tag, innerLength: innerLength)
                }
                target = others.last ?? remote
            }
        }
        try encapsulateAndSend(buffer, from: node, to: target, tag, innerLength: innerLength)
    }

    /// Encapsulates an inner frame toward one VTEP, then the host's output chain and the underlay.
    func encapsulateAndSend(_ buffer: PacketBuffer, from node: Int, to target: Int, _ tag: PacketTag,
                            innerLength: Int) throws(CaptureError) {
        let nodeName = cluster.nodes[node].spec.name
        func point() -> String { "\(nodeName) vtep" }
        guard underlay.nextDirection[node][target] >= 0 else {
            drop(buffer, tag, at: point(), "no underlay path to \(cluster.nodes[target].spec.name)"); return
        }
        let nextHopMAC = underlay.nextHopMAC(from: node, to: target) ?? .broadcast
        do {
            try nodes[node].endpoint.encapsulate(
                buffer, to: TunnelDestination(address: cluster.nodes[target].spec.address, nextHopMAC: nextHopMAC),
                groupPolicyID: scenario.overlay.groupBasedPolicy ? UInt16(truncatingIfNeeded: tag.flow + 1) : 0)
        } catch {
            drop(buffer, tag, at: point(), error.reason); return
        }
        var outerTag = tag
        outerTag.innerLength = innerLength + 14
        if explainSpec >= 0 { explain(tag, point(), "encapsulates: \(describe(buffer.readableBytes)), \(buffer.count) bytes") }
        let host = firewalls.hostByNode[node]
        if host >= 0 {
            guard try passFirewall(host, .output, buffer, &outerTag, at: "\(nodeName) output chain") else { return }
        }
        try underlayTransmit(from: node, toward: target, buffer, outerTag)
    }

    /// What the node believes the path MTU to `remote` is: its uplink MTU until an ICMP error says less.
    func pathMTU(from node: Int, to remote: Int) -> Int {
        if let learned = nodes[node].pathMTU[remote] { return learned }
        let direction = underlay.nextDirection[node][remote]
        return direction >= 0 ? underlay.links[underlay.directions[direction].link].mtu : 1500
    }

    /// An ICMP fragmentation-needed to the sender of `offending` (an inner frame), routed back through the node.
    func sendFragmentationNeeded(at node: Int, offending: PacketBuffer, mtu: Int, tag: PacketTag) throws(CaptureError) {
        let bytes = offending.readableBytes
        let error = takeBuffer()
        let source = IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self))
        let destination = IPv4Address(rawValue: bytes.getInteger(at: 30, as: UInt32.self))
        PodPackets.fragmentationNeeded(
            error, PodPackets.Addressing(sourceMAC: bytes.readMAC(at: 0), destinationMAC: bytes.readMAC(at: 6),
                                         source: destination, destination: source, dontFragment: true, identification: 0),
            nextHopMTU: mtu, quoting: bytes.slice(14..<bytes.count))
        var errorTag = tag
        errorTag.role = tag.role == .toServer ? .toClient : .toServer
        errorTag.isData = false
        try route(at: node, error, errorTag, forwarded: false)
    }

    // MARK: Underlay

    /// Sends an outer packet from a place toward a node: MTU (fragmenting, or refusing with DF), capture
    /// on a sending node, then the link's queue.
    func underlayTransmit(from place: Int, toward target: Int, _ buffer: PacketBuffer, _ tag: PacketTag) throws(CaptureError) {
        let direction = underlay.nextDirection[place][target]
        let placeName = underlay.places[place].name
        guard direction >= 0 else { drop(buffer, tag, at: "\(placeName) underlay", "no route to \(underlay.places[target].name)"); return }
        let link = underlay.links[underlay.directions[direction].link]
        let bytes = buffer.mutableBytes
        let isIPv4 = bytes.getInteger(at: 12, as: UInt16.self) == EtherType.ipv4.rawValue
        let ipLength = bytes.count - 14
        if ipLength > link.mtu {
            // A switch cannot fragment: to it, every oversized frame is as good as DF.
            let dontFragment = !isIPv4 || bytes[20] & 0x40 != 0 || underlay.places[place].isSwitch
            if dontFragment {
                let linkName = "\(link.a)↔\(link.b)"
                if underlay.places[place].isSwitch {
                    drop(buffer, tag, at: placeName,
                         "frame of \(bytes.count) bytes exceeds the \(link.mtu)-byte MTU of link \(linkName); a switch drops it silently, no ICMP is sent")
                } else if underlay.places[place].node == nil, isIPv4 {
                    try sendRouterFragmentationNeeded(from: place, offending: buffer, mtu: link.mtu, tag: tag)
                    drop(buffer, tag, at: "\(placeName)",
                         "outer packet of \(ipLength) bytes has DF set and exceeds the \(link.mtu)-byte MTU of link \(linkName); ICMP fragmentation needed sent to \(IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self)))")
                } else {
                    drop(buffer, tag, at: "\(placeName) underlay",
                         "outer packet of \(ipLength) bytes has DF set and exceeds the \(link.mtu)-byte MTU of link \(linkName)")
                }
                return
            }
            var fragmentTag = tag
            fragmentTag.fragmentedOnLink = Int16(truncatingIfNeeded: underlay.directions[direction].link)
            fragmentTag.unfragmentedLength = UInt16(truncatingIfNeeded: ipLength)
            let pieces = fragment(buffer, mtu: link.mtu)
            if explainSpec >= 0 { explain(tag, placeName, "fragments the \(ipLength)-byte outer packet into \(pieces.count) for the \(link.mtu)-byte MTU of link \(link.a)↔\(link.b)") }
            for piece in pieces {
                try leave(place, piece, fragmentTag, on: direction)
                fragmentTag.innerLength = 0
            }
            return
        }
        try leave(place, buffer, tag, on: direction)
    }

    /// The last steps out of a place: on a node, the capture (tcpdump on the interface sees the packet
    /// before the cloud's security group does) and the security group's egress rules; then the link.
    func leave(_ place: Int, _ buffer: PacketBuffer, _ tag: PacketTag, on direction: Int) throws(CaptureError) {
        var tag = tag
        if let node = underlay.places[place].node {
            try captures?.underlay(node, buffer.readableBytes, at: events.now)
            let group = firewalls.groupByNode[node]
            if group >= 0 {
                guard try passFirewall(group, .egress, buffer, &tag, at: "\(cluster.nodes[node].spec.name) security group") else { return }
            }
        }
        try enqueue(buffer, tag, on: direction)
    }

    /// RFC 791 fragmentation of an IPv4 packet (outer, or a pod's) into pieces that fit `mtu`; the first
    /// piece reuses the buffer. Fragments carry copies of the header, options included, and keep the
    /// more-fragments flag of a packet that was itself a fragment.
    func fragment(_ buffer: PacketBuffer, mtu: Int) -> [PacketBuffer] {
        let original = buffer.bytes
        let headerLength = Int(original[14] & 0x0F) * 4
        let payload = original.count - 14 - headerLength
        let chunk = (mtu - headerLength) / 8 * 8
        let originalMore = original[20] & 0x20 != 0
        let originalOffset = Int(original[20] & 0x1F) << 8 | Int(original[21])
        var pieces: [PacketBuffer] = []
        var offset = 0
        while offset < payload {
            let size = min(chunk, payload - offset)
            let piece = offset == 0 ? buffer : takeBuffer()
            piece.reset()
            original.withUnsafeBytes { raw in
                _ = piece.append(14 + headerLength).map { $0.copyMemory(from: raw.slice(0..<(14 + headerLength))) }
                _ = piece.append(size).map { $0.copyMemory(from: raw.slice((14 + headerLength + offset)..<(14 + headerLength + offset + size))) }
            }
            let bytes = piece.mutableBytes
            let more = offset + size < payload || originalMore
            bytes.setInteger(UInt16(headerLength + size), at: 16, as: UInt16.self)
            bytes.setInteger((more ? 0x2000 : 0) | UInt16(originalOffset + offset / 8), at: 20, as: UInt16.self)
            bytes.setInteger(0, at: 24, as: UInt16.self)
            bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(14..<(14 + headerLength)))), at: 24, as: UInt16.self)
            pieces.append(piece)
            offset += size
        }
        return pieces
    }

    /// Puts a frame on one direction of a link: the link's middleboxes, tail drop when the queue is full,
    /// serialisation at the link's bandwidth, propagation latency, and seeded random loss.
    func enqueue(_ buffer: PacketBuffer, _ tag: PacketTag, on index: Int) throws(CaptureError) {
        var tag = tag
        if firewalls.directionHasBoxes[index] {
            let sides = underlay.directions[index]
            let point = "link \(underlay.places[sides.from].name)→\(underlay.places[sides.to].name)"
            for box in firewalls.boxesByDirection[index] {
                guard try passFirewall(box.device, .transit(outbound: box.outbound), buffer, &tag, at: point,
                                       rejectFrom: sides.from) else { return }
            }
        }
        let now = events.now
        var direction = underlay.directions[index]
        let link = underlay.links[direction.link]
        while let first = direction.waiting.first, first <= now { direction.waiting.removeFirst() }
        let from = underlay.places[direction.from].name, to = underlay.places[direction.to].name
        if direction.waiting.count >= link.queue {
            direction.queueDrops += 1
            underlay.directions[index] = direction
            drop(buffer, tag, at: "link \(from)→\(to)", "queue of \(link.queue) packets full (tail drop)")
            return
        }
        // Ethernet on the wire adds preamble, FCS and inter-frame gap: 24 bytes per frame.
        let wireBits = UInt64(buffer.count + 24) * 8
        let serialisation = (wireBits * 1_000_000_000 + link.bandwidth - 1) / max(1, link.bandwidth)
        let start = max(now, direction.busyUntil)
        if start > now { direction.waiting.append(start) }
        direction.busyUntil = start.addingSaturating(serialisation)
        direction.packets += 1
        direction.bytes += buffer.count
        direction.innerBytes += tag.innerLength
        let lost = link.loss > 0 && random.nextUnit() < link.loss
        if lost { direction.lossDrops += 1 }
        underlay.directions[index] = direction
        if lost {
            drop(buffer, tag, at: "link \(from)→\(to)", "lost on the link (loss \(link.loss))")
            return
        }
        if explainSpec >= 0 { explain(tag, "link \(from)→\(to)", "\(buffer.count) bytes on the wire, arriving at \(Units.exact(direction.busyUntil.addingSaturating(link.latency)))") }
        events.schedule(at: direction.busyUntil.addingSaturating(link.latency), .arrive(buffer, tag, place: direction.to, direction: index))
    }

    /// A router's ICMP fragmentation needed (RFC 1191) to the outer source. It carries the offending
    /// packet's flow (as control traffic), so a firewall that drops it is charged to that flow.
    func sendRouterFragmentationNeeded(from place: Int, offending: PacketBuffer, mtu: Int, tag: PacketTag) throws(CaptureError) {
        let bytes = offending.readableBytes
        let source = IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self))
        guard let node = nodeByUnderlayAddress[.v4(source)] else { return }
        let error = takeBuffer()
        let direction = underlay.nextDirection[place][node]
        guard direction >= 0 else { release(error); return }
        PodPackets.fragmentationNeeded(
            error, PodPackets.Addressing(sourceMAC: underlay.places[place].mac, destinationMAC: underlay.nextHopMAC(from: place, to: node) ?? .broadcast,
                                         source: underlay.places[place].address, destination: source,
                                         dontFragment: false, identification: 0),
            nextHopMTU: mtu, quoting: bytes.slice(14..<bytes.count))
        var errorTag = PacketTag.none
        errorTag.flow = tag.flow
        errorTag.sentAt = events.now
        try underlayTransmit(from: place, toward: node, error, errorTag)
    }

    // MARK: Arrival

    /// A frame reaches a place: a router forwards it; a node runs its security group (before the
    /// capture: the cloud filters outside the VM), captures, reassembles, runs its input chain, then
    /// learns from an ICMP error or decapsulates.
    func arrive(_ buffer: PacketBuffer, _ tag: PacketTag, at place: Int, via direction: Int) throws(CaptureError) {
        guard let node = underlay.places[place].node else {
            try routerForward(at: place, buffer, tag)
            return
        }
        var tag = tag
        let name = cluster.nodes[node].spec.name
        let group = firewalls.groupByNode[node]
        if group >= 0 {
            guard try passFirewall(group, .ingress, buffer, &tag, at: "\(name) security group") else { return }
        }
        try captures?.underlay(node, buffer.readableBytes, at: events.now)
        var frame = buffer
        let bytes = frame.readableBytes
        let isIPv4 = bytes.count >= 34 && bytes.getInteger(at: 12, as: UInt16.self) == EtherType.ipv4.rawValue
        if isIPv4, bytes.isIPv4FragmentFrame {
            guard let whole = reassemble(buffer, tag, at: node) else { return }
            frame = whole
            if explainSpec >= 0 { explain(tag, "\(name) IP reassembly", "reassembled \(whole.count) bytes") }
        }
        let host = firewalls.hostByNode[node]
        if host >= 0 {
            guard try passFirewall(host, .input, frame, &tag, at: "\(name) input chain", rejectFrom: node) else { return }
        }
        if isIPv4, frame.readableBytes[23] == IPProtocol.icmp.rawValue {
            if explainSpec >= 0 { explain(tag, name, "receives \(describe(frame.readableBytes))") }
            learnPathMTU(at: node, from: frame.readableBytes)
            release(frame)
            return
        }
        let decapsulated: DecapsulatedPacket
        do {
            decapsulated = try nodes[node].endpoint.decapsulate(frame)
        } catch {
            var reason = "refused by VXLAN: \(error.reason)"
            if error.decodeError?.code == .badChecksum, tag.brokenChecksumBy >= 0 {
                let nat = firewalls.devices[Int(tag.brokenChecksumBy)]
                reason += ". \(nat.configuration.title) on \(nat.placement) rewrote the outer source port and, with the 2020 checksum-offload bug (kubernetes#88986), left the UDP checksum computed for the old port; the kernel logs \"UDP: bad checksum\" and drops it (workaround: noudpcsum, so the checksum is 0 and nothing needs fixing)"
            }
            drop(frame, tag, at: "\(name) vtep", reason); return
        }
        if explainSpec >= 0 { explain(tag, "\(name) vtep", "decapsulates VNI \(decapsulated.vni) from \(decapsulated.outerSource) port \(decapsulated.outerSourcePort)") }
        let inner = frame.readableBytes
        if scenario.overlay.fdb == .learning, let sender = nodeByUnderlayAddress[decapsulated.outerSource] {
            nodes[node].learned[inner.readMAC(at: 6)] = sender
        }
        guard inner.readMAC(at: 0) == cluster.nodes[node].vtepMAC else {
            // Head-end replicated copy meant for another VTEP.
            release(frame); return
        }
        try captures?.vtep(node, inner, at: events.now)
        try route(at: node, frame, tag)
    }

    /// Gives an outer IPv4 fragment to the node's reassembler, as its IP layer does before the VTEP sees
    /// the packet; returns the whole frame once the last piece is in.
    func reassemble(_ buffer: PacketBuffer, _ tag: PacketTag, at node: Int) -> PacketBuffer? {
        let point = "\(cluster.nodes[node].spec.name) IP reassembly"
        let bytes = buffer.readableBytes
        guard let packet = try? IPv4Packet(checking: bytes.dropFirst(count: 14), frameOffset: 14) else {
            drop(buffer, tag, at: point, "malformed fragment"); return nil
        }
        _ = nodes[node].reassembly.expire(now: events.now)
        let outcome = nodes[node].reassembly.add(packet, time: events.now)
        return reassembled(outcome, buffer, tag, at: point)
    }

    /// Acts on what a reassembler said about a fragment: the whole frame (the fragment's Ethernet header
    /// and the datagram) once complete; nil while waiting, or after dropping what cannot be reassembled.
    func reassembled(_ outcome: IPv4Reassembler.Outcome, _ buffer: PacketBuffer, _ tag: PacketTag,
                     at point: String) -> PacketBuffer? {
        switch outcome {
        case .notFragment:
            return buffer
        case .held, .duplicate:
            release(buffer)
            return nil
        case .complete(let datagram):
            let whole = takeBuffer()
            _ = whole.append(14).map { $0.copyMemory(from: buffer.readableBytes.slice(0..<14)) }
            datagram.bytes.withUnsafeBytes { raw in _ = whole.append(raw.count).map { $0.copyMemory(from: raw) } }
            release(buffer)
            return whole
        case .discarded(_, let reason):
            drop(buffer, tag, at: point, "datagram discarded: \(reason)")
            return nil
        case .tableFull:
            drop(buffer, tag, at: point, "reassembly table full")
            return nil
        }
    }

    /// A router: decrement the outer TTL, rewrite MACs, send on toward the destination node. A switch
    /// forwards the frame as it is (it keeps the MACs too: the nodes share one L2 segment through it).
    func routerForward(at place: Int, _ buffer: PacketBuffer, _ tag: PacketTag) throws(CaptureError) {
        let bytes = buffer.mutableBytes
        let name = underlay.places[place].name
        let destination: Int?
        if underlay.places[place].isSwitch {
            destination = bytes.getInteger(at: 12, as: UInt16.self) == EtherType.ipv4.rawValue
                ? nodeByUnderlayAddress[.v4(IPv4Address(rawValue: bytes.getInteger(at: 30, as: UInt32.self)))]
                : (try? IPv6Packet(checking: UnsafeRawBufferPointer(bytes.slice(14..<bytes.count)))).flatMap { nodeByUnderlayAddress[.v6($0.destination)] }
        } else if bytes.getInteger(at: 12, as: UInt16.self) == EtherType.ipv4.rawValue {
            destination = nodeByUnderlayAddress[.v4(IPv4Address(rawValue: bytes.getInteger(at: 30, as: UInt32.self)))]
            guard let ttl = IPv4Packet.decrementTimeToLive(in: bytes.slice(14..<bytes.count)), ttl > 0 else {
                drop(buffer, tag, at: name, "outer TTL expired"); return
            }
        } else {
            let v6 = bytes.slice(14..<bytes.count)
            destination = (try? IPv6Packet(checking: UnsafeRawBufferPointer(v6))).flatMap { nodeByUnderlayAddress[.v6($0.destination)] }
            guard v6[7] > 1 else { drop(buffer, tag, at: name, "outer hop limit expired"); return }
            v6[7] -= 1
        }
        guard let destination else { drop(buffer, tag, at: name, "no route for the outer destination"); return }
        let direction = underlay.nextDirection[place][destination]
        guard direction >= 0 else { drop(buffer, tag, at: name, "no route to \(underlay.places[destination].name)"); return }
        if underlay.places[place].isSwitch {
            try underlayTransmit(from: place, toward: destination, buffer, tag)
            return
        }
        if explainSpec >= 0 { explain(tag, name, "routes toward \(underlay.places[destination].name)") }
        EthernetHeader(destination: underlay.nextHopMAC(from: place, to: destination) ?? .broadcast,
                       source: underlay.places[place].mac, etherType: EtherType(rawValue: bytes.getInteger(at: 12, as: UInt16.self)))
            .emit(into: bytes.slice(0..<14))
        try underlayTransmit(from: place, toward: destination, buffer, tag)
    }

    /// ICMP fragmentation needed about one of this node's outer packets lowers its path MTU to that VTEP
    /// (Linux keeps it as a route exception).
    func learnPathMTU(at node: Int, from bytes: UnsafeRawBufferPointer) {
        let ipHeader = Int(bytes[14] & 0x0F) * 4
        let icmp = 14 + ipHeader
        guard bytes.count >= icmp + 8 + 20, bytes[icmp] == 3, bytes[icmp + 1] == 4 else { return }
        let mtu = Int(bytes.getInteger(at: icmp + 6, as: UInt16.self))
        let quotedDestination = IPv4Address(rawValue: bytes.getInteger(at: icmp + 8 + 16, as: UInt32.self))
        guard let remote = nodeByUnderlayAddress[.v4(quotedDestination)], mtu >= 68 else { return }
        nodes[node].pathMTU[remote] = min(mtu, pathMTU(from: node, to: remote))
    }
}

extension UnsafeRawBufferPointer {
    /// For an Ethernet frame carrying IPv4 (checked by the caller): whether the packet is a fragment,
    /// first or later (more-fragments set or a non-zero offset).
    var isIPv4FragmentFrame: Bool { getInteger(at: 20, as: UInt16.self) & 0x3FFF != 0 }

    func readMAC(at offset: Int) -> MACAddress {
        MACAddress(rawValue: UInt64(getInteger(at: offset, as: UInt16.self)) << 32 | UInt64(getInteger(at: offset + 2, as: UInt32.self)))
    }
}


extension ServiceProtocol {
    var ipProtocol: UInt8 { self == .tcp ? IPProtocol.tcp.rawValue : IPProtocol.udp.rawValue }
}
