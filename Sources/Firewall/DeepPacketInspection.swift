import PacketWire

extension FirewallDevice {
    /// DPI: a packet passes only as a protocol the box recognises, on a port it knows that protocol on,
    /// with a payload that looks like it. Later fragments follow their first fragment's verdict.
    func classify(_ packet: PacketFields, frame: UnsafeRawBufferPointer, at hook: Hook, now: UInt64) -> Decision {
        guard packet.isIP else { return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet) }
        if packet.isNonFirstFragment {
            guard let first = fragments.record(for: packet, now: now) else {
                return Decision(action: .drop, reason: .unseenFirstFragment, hook: hook, packet: packet)
            }
            return Decision(action: first.accepted ? .accept : .drop, reason: .followsFirstFragment, hook: hook, packet: packet)
        }
        let reason = recognise(packet, frame: frame)
        let accepted: Bool
        if case .recognised = reason { accepted = true } else { accepted = false }
        if packet.moreFragments {
            fragments.remember(packet, accepted: accepted, state: .untracked, now: now, ruleDescription: nil)
        }
        return Decision(action: accepted ? .accept : .drop, reason: reason, hook: hook, packet: packet)
    }

    func recognise(_ packet: PacketFields, frame: UnsafeRawBufferPointer) -> DecisionReason {
        let known = configuration.dpi.protocols
        if packet.isICMP {
            return known.contains { $0.signature == .icmp } ? .recognised("ICMP") : .unrecognised
        }
        guard (packet.protocol == .udp || packet.protocol == .tcp), packet.hasTransportHeader else { return .unrecognised }
        let candidates = known.filter {
            $0.transport == packet.protocol && ($0.ports.contains(packet.destinationPort) || $0.ports.contains(packet.sourcePort))
        }
        guard let first = candidates.first else { return .unrecognised }
        let payloadStart = packet.transportOffset + 8
        let payload = payloadStart <= frame.count ? frame.dropFirst(count: payloadStart) : UnsafeRawBufferPointer(start: nil, count: 0)
        for candidate in candidates where Self.payload(payload, looksLike: candidate.signature) {
            return .recognised(candidate.name)
        }
        return .malformed(first.name)
    }

    /// Whether a UDP payload carries the protocol's header.
    static func payload(_ bytes: UnsafeRawBufferPointer, looksLike signature: DPIProtocol.Signature) -> Bool {
        switch signature {
        case .vxlan:
            // RFC 7348 §5: I flag set, then an inner Ethernet header.
            return bytes.count >= 8 + 14 && bytes.getInteger(at: 0, as: UInt8.self) & VXLANPacket.vniFlag != 0
        case .geneve:
            return bytes.count >= 8 && bytes.getInteger(at: 0, as: UInt8.self) >> 6 == 0 && bytes.getInteger(at: 2, as: UInt16.self) == 0x6558
        case .dns:
            return bytes.count >= 12
        case .ntp:
            return bytes.count >= 48
        case .port, .icmp:
            return true
        }
    }
}
