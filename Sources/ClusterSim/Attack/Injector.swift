import PacketWire
import VXLAN

/// One attacker's crafted VXLAN stream, on the wire as a hand-made packet would be: an inner Ethernet +
/// IPv4 + UDP (or a TCP SYN) frame addressed to the target VTEP's inner MAC, wrapped by a VXLAN encapsulator
/// (RFC 7348 §5: flags 0x08, the chosen VNI) whose local address is the outer source the attacker chose, its
/// own or a node's. The frames leave the attacker's interface onto its link and cross the underlay like any
/// other; what the target node does with them is the node's own code (security group, `cali-INPUT`,
/// `vxlan_rcv`, NetworkPolicy, the pod's sockets), so the report says which control, if any, acted.
final class Injector {
    let id: AttackID
    let spec: InjectionSpec
    let attacker: AttackerSpec
    let place: PlaceID
    let target: NodeID
    let innerSource: IPv4Address
    let innerDestination: IPv4Address
    let vni: UInt32
    private var endpoint: TunnelEndpoint
    private var sent = 0
    unowned(unsafe) let network: Network

    /// - Throws: ``ScenarioError`` at the stream's line when `from` or `to` is neither a pod nor an address.
    init(id: AttackID, spec: InjectionSpec, attacker: AttackerSpec, network: Network) throws(ScenarioError) {
        self.id = id
        self.spec = spec
        self.attacker = attacker
        self.network = network
        let scenario = network.scenario
        place = network.underlay.place(named: attacker.name) ?? PlaceID(0)
        guard let index = scenario.nodes.firstIndex(where: { $0.name == spec.target }) else {
            throw ScenarioError(spec.location, "target '\(spec.target)' of \(spec.name) is not a node of this scenario", code: .unknownReference)
        }
        target = NodeID(index)
        func address(_ text: String, _ field: String) throws(ScenarioError) -> IPv4Address {
            if let address = IPv4Address(text) { return address }
            if let pod = network.cluster.pod(named: text) { return network.cluster[pod].address }
            throw ScenarioError(spec.location, "\(field) '\(text)' of \(spec.name) is neither a pod of this scenario nor an IPv4 address", code: .unknownReference)
        }
        innerSource = try address(spec.innerSource, "from")
        innerDestination = try address(spec.innerDestination, "to")
        vni = spec.vni ?? scenario.overlay.vni
        let configuration = TunnelConfiguration(
            vni: vni, local: .v4(spec.outerSource ?? attacker.address),
            destinationPort: spec.port ?? scenario.overlay.destinationPort, udpChecksum: true,
            underlaySourceMAC: attacker.mac, flowHashSeed: UInt32(truncatingIfNeeded: id.index &+ 1))
        endpoint = TunnelEndpoint(configuration: configuration, initialIdentification: UInt16(truncatingIfNeeded: 0x4000 &+ id.index))
    }

    /// Time between packets, from the rate (the parser keeps it within ``Units/rateRange``).
    var interval: Nanoseconds {
        let nanoseconds = (1e9 / spec.rate).rounded()
        return nanoseconds >= 0 && nanoseconds < Double(Units.maximumDuration) ? Nanoseconds(nanoseconds) : Units.maximumDuration
    }

    /// Packets sent so far.
    var packetsSent: Int { sent }

    /// Sends the next packet and schedules the one after, `1/rate` later, until `count` are out.
    func tick() {
        guard sent < spec.count else { return }
        sent += 1
        let network = self.network
        let buffer = network.pool.take()
        let node = network[target]
        // The inner MACs a real sender's VTEP writes: the target VTEP's inner MAC (read from its node's
        // annotation), and as the source the VTEP MAC of the node owning the forged inner source, if any.
        let sourceMAC = network.cluster.node(owning: innerSource).map { network[$0].overlay.innerMAC } ?? attacker.mac
        let addressing = PodPackets.Addressing(sourceMAC: sourceMAC, destinationMAC: node.overlay.innerMAC,
                                               source: innerSource, destination: innerDestination,
                                               timeToLive: 63, dontFragment: true,
                                               identification: UInt16(truncatingIfNeeded: sent))
        switch spec.protocol {
        case .udp: Self.udp(buffer, addressing, sourcePort: spec.sourcePort, destinationPort: spec.destinationPort, payload: spec.payload)
        case .tcp:
            PodPackets.tcp(buffer, addressing, header: TCPSegmentHeader(
                sourcePort: spec.sourcePort, destinationPort: spec.destinationPort,
                sequenceNumber: 0x1000 &+ UInt32(sent), flags: .syn, window: 64240, maximumSegmentSize: 1460))
        }
        var tag = PacketTag(sender: nil, role: .control, sentAt: network.now, isData: false)
        tag.attack = id
        let nextHop = network.underlay.nextHopMAC(from: place, to: node.place) ?? .broadcast
        do {
            try endpoint.encapsulate(buffer, to: TunnelDestination(address: node.underlayAddress, nextHopMAC: nextHop))
        } catch {
            network.drop(buffer, tag, at: "\(attacker.name)", DropReason(.encapsulationFailed, error.reason))
            return
        }
        network.observers.attacks.sent(id)
        network.sendOnUnderlay(from: place, toward: node.place, buffer, tag)
        if sent < spec.count {
            network.scheduler.schedule(at: network.now + interval, .injection(id))
        }
    }

    /// Ethernet + IPv4 + UDP carrying exactly `payload` (RFC 768; the checksum over the pseudo-header).
    static func udp(_ buffer: PacketBuffer, _ addressing: PodPackets.Addressing, sourcePort: UInt16, destinationPort: UInt16,
                    payload: [UInt8]) {
        let start = PodPackets.transportStart
        let upper = UDPDatagram.headerLength + payload.count
        guard let bytes = buffer.append(start + upper) else { return }
        for (index, byte) in payload.enumerated() { bytes[start + UDPDatagram.headerLength + index] = byte }
        UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
            .emit(into: bytes.slice(start..<(start + upper)), checksum: .ipv4(source: addressing.source, destination: addressing.destination))
        PodPackets.finish(buffer, addressing, protocol: .udp, upperLength: upper)
    }
}
