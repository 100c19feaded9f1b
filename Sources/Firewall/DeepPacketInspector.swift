import PacketWire

/// Deep packet inspection: a packet passes only as a protocol the box recognises, on a port it knows that
/// protocol on, with a payload that looks like it (an application-aware firewall's allow-list). Later
/// fragments follow their first fragment's verdict; one whose first it never saw is dropped. VXLAN on a
/// port it does not know VXLAN on is just unrecognised UDP to it (flannel#2388).
public struct DeepPacketInspector: PacketInspector {
    public static let kind = FirewallKind("dpi", displayName: "DPI box")
    public static let readsInsideVXLAN = true

    public var protocols: [DPIProtocol]

    public init(protocols: [DPIProtocol] = []) { self.protocols = protocols }

    public struct State: Sendable {
        var fragments = FragmentCache()
    }

    public func makeState(seed: UInt64) -> State { State() }

    public func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                        state: inout State, trace: DecisionTrace?) -> Decision {
        guard packet.isIP else {
            trace?.record("not an IP packet: not its business")
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        if packet.isNonFirstFragment {
            guard let first = state.fragments.record(for: packet, now: now) else {
                trace?.record("non-first fragment of a datagram whose first fragment it never saw: unrecognised")
                return Decision(action: .drop, reason: .unseenFirstFragment, hook: hook, packet: packet)
            }
            trace?.record("non-first fragment: follows its first fragment, which was \(first.accepted ? "accepted" : "dropped")")
            return Decision(action: first.accepted ? .accept : .drop, reason: .followsFirstFragment, hook: hook, packet: packet)
        }
        let reason = recognise(packet, frame: UnsafeRawBufferPointer(frame))
        let accepted = reason.code == DecisionReason.recognisedCode
        if let trace {
            let name = reason.detail?.uppercased() ?? ""
            switch reason.code {
            case DecisionReason.recognisedCode: trace.record("recognised as \(name)")
            case DecisionReason.malformedCode: trace.record("on \(name)'s port but not \(name)")
            default: trace.record("unrecognised protocol")
            }
        }
        if packet.moreFragments {
            state.fragments.remember(packet, accepted: accepted, state: .untracked, now: now, ruleDescription: nil)
        }
        return Decision(action: accepted ? .accept : .drop, reason: reason, hook: hook, packet: packet)
    }

    func recognise(_ packet: PacketFields, frame: UnsafeRawBufferPointer) -> DecisionReason {
        if packet.isICMP {
            return protocols.contains { $0.signature == .icmp } ? .recognised("ICMP") : .unrecognised
        }
        guard packet.protocol == .udp || packet.protocol == .tcp, packet.hasTransportHeader else { return .unrecognised }
        let candidates = protocols.filter {
            $0.transport == packet.protocol && ($0.ports.contains(packet.destinationPort) || $0.ports.contains(packet.sourcePort))
        }
        guard let first = candidates.first else { return .unrecognised }
        let payloadStart = packet.transportOffset + UDPDatagram.headerLength
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
            return bytes.count >= VXLANPacket.headerLength + EthernetFrame.minimumHeaderLength
                && VXLANPacket(unchecked: bytes).hasVNI
        case .geneve:
            // RFC 8926 §3.4: version 0 in the top two bits, protocol type 0x6558 (Ethernet) in bytes 2-3.
            guard bytes.count >= GenevePacket.headerLength else { return false }
            let geneve = GenevePacket(unchecked: bytes)
            return geneve.version == 0 && geneve.protocolType == .transparentEthernetBridging
        case .dns:
            return bytes.count >= 12
        case .ntp:
            return bytes.count >= 48
        case .port, .icmp:
            return true
        }
    }

    public func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict {
        let packet = decision.packet
        let what = context.subject(packet)
        let name = decision.reason.detail ?? ""
        switch decision.reason.code {
        case DecisionReason.recognisedCode:
            return context.verdict(decision, ruleText: "recognised as \(name)", sentence:
                "\(what) was recognised by \(context.whereText) as \(name.uppercased())")
        case DecisionReason.unrecognised.code:
            return context.verdict(decision, ruleText: "unrecognised protocol", sentence: unrecognisedSentence(packet, what: what, in: context))
        case DecisionReason.malformedCode:
            return context.verdict(decision, ruleText: "not valid \(name)", sentence:
                "\(what) uses \(name.uppercased())'s port, but \(context.whereText) found no \(name.uppercased()) header in it, so it was dropped as malformed")
        case DecisionReason.unseenFirstFragment.code:
            return context.verdict(decision, ruleText: "fragment without its first", sentence:
                "\(what) was dropped by \(context.whereText): it never saw the datagram's first fragment, so it cannot tell what protocol this is")
        case DecisionReason.followsFirstFragment.code:
            let outcome = decision.accepted ? "accepted" : ExplanationContext.stopped(decision.action)
            return context.verdict(decision, ruleText: "verdict of the first fragment", sentence:
                "\(what) gets the verdict \(context.whereText) gave its first fragment: \(outcome)")
        default:
            return context.verdict(decision, ruleText: nil, sentence: "\(what) passed \(context.whereText) untouched")
        }
    }

    func unrecognisedSentence(_ packet: PacketFields, what: String, in context: ExplanationContext) -> String {
        let known = protocols.map(\.description)
        let knownText = known.isEmpty ? "nothing" : ExplanationContext.list(known)
        var text = "\(what) is not a protocol \(context.whereText) recognises (it knows \(knownText)), so it was dropped as unrecognised \(packet.isIP ? packet.protocol.name : "traffic")"
        if let inner = packet.encapsulated, inner.flags & VXLANPacket.vniFlag != 0 {
            let vxlanPorts = protocols.filter { $0.signature == .vxlan }.flatMap(\.ports)
            let knownPorts = vxlanPorts.isEmpty ? "does not know VXLAN at all" : "knows VXLAN only on UDP " + vxlanPorts.map(String.init).joined(separator: ", ")
            text += ". The payload is valid VXLAN (VNI \(inner.vni)), but the box \(knownPorts), so VXLAN on \(packet.destinationPort) is just unrecognised UDP to it"
        }
        return text
    }
}

extension DecisionReason {
    static let recognisedCode = "recognised"
    static let malformedCode = "malformed"
    /// DPI recognised the protocol with this name.
    public static func recognised(_ name: String) -> DecisionReason { DecisionReason(code: recognisedCode, detail: name) }
    /// DPI found no protocol it knows on this port.
    public static let unrecognised = DecisionReason(code: "unrecognised")
    /// DPI found a known protocol's port with a payload that is not that protocol.
    public static func malformed(_ name: String) -> DecisionReason { DecisionReason(code: malformedCode, detail: name) }
    /// DPI saw a later fragment of a datagram whose first fragment it never classified.
    public static let unseenFirstFragment = DecisionReason(code: "unseenFirstFragment")
}
