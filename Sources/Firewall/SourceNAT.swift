import PacketWire

/// A source NAT box on a link (a cloud NAT gateway, a masquerading router): packets leaving the inside
/// get its address and a port from its range; replies get the inside's address and port back. Built on
/// the project's one NAT, ``NATTable``, with ``NATPortAllocator`` choosing ports.
///
/// It can model the 2020 checksum-offload bug (kubernetes#88986): with `checksum: offload-bug` a rewritten
/// UDP source port is left out of the checksum update, so the far VTEP drops the packet.
public struct SourceNAT: PacketInspector {
    public static let kind = FirewallKind("nat", displayName: "NAT")

    /// How the NAT updates the UDP checksum after rewriting.
    public enum ChecksumMode: String, Hashable, Sendable, CaseIterable {
        /// RFC 1624 incremental update over the address and the port: correct.
        case recompute
        /// The 2020 Linux bug (kubernetes#88986, fixed by ea64d8d6c675): with tx checksum offload the
        /// checksum is updated for the pseudo-header only, as if the NIC would finish it, so a rewritten
        /// source port leaves it wrong and the far VTEP drops the packet.
        case offloadBug = "offload-bug"
    }

    /// The address packets leave with; nil keeps the source address (port translation only).
    public var sourceAddress: IPAddress?
    /// Ports to translate to.
    public var ports: PortRange
    /// `--random-fully`: every new flow gets a random port, even if its own was free.
    public var randomFully: Bool
    public var checksum: ChecksumMode
    /// Most mappings kept.
    public var tableSize: Int
    /// A mapping lives `udp` (UDP), `tcpEstablished` (TCP) or `icmp` (anything else) after its last packet
    /// either way: not the state-dependent timeouts Linux's conntrack applies to NAT entries (UDP `stream`,
    /// TCP before the handshake and after FIN), a simplification kept from before the table was shared.
    public var timeouts: ConntrackTimeouts

    public init(sourceAddress: IPAddress? = nil, ports: PortRange = PortRange(1024, 65535), randomFully: Bool = false,
                checksum: ChecksumMode = .recompute, tableSize: Int = 65536, timeouts: ConntrackTimeouts = ConntrackTimeouts()) {
        self.sourceAddress = sourceAddress
        self.ports = ports
        self.randomFully = randomFully
        self.checksum = checksum
        self.tableSize = tableSize
        self.timeouts = timeouts
    }

    public struct State: Sendable {
        var table: NATTable
        var allocator: NATPortAllocator
    }

    public func makeState(seed: UInt64) -> State {
        // The box's timeouts as the table's: one per protocol, whatever the state.
        var flat = timeouts
        flat.udpStream = timeouts.udp
        flat.tcpUnestablished = timeouts.tcpEstablished
        flat.tcpClosing = timeouts.tcpEstablished
        flat.other = timeouts.icmp
        return State(table: NATTable(capacity: tableSize, expiry: .conntrack(flat)),
                     allocator: NATPortAllocator(range: ports, randomFully: randomFully, seed: seed))
    }

    public func entryCount(_ state: State) -> Int { state.table.count }

    /// Source NAT on the way out of the inside; the reverse translation for replies on the way in.
    public func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                        state: inout State, trace: DecisionTrace?) -> Decision {
        let outbound: Bool
        switch hook {
        case .transit(let isOutbound): outbound = isOutbound
        case .output, .egress: outbound = true
        case .input, .ingress, .forward: outbound = false
        }
        // NAT44 only: IPv6 passes untouched.
        guard let nat = NATPacket(frame, fields: packet) else {
            trace?.record(packet.isIP ? "IPv6: this NAT translates IPv4 only, so it passes untouched" : "not an IP packet")
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        return outbound ? translateOut(packet, nat, at: hook, now: now, state: &state, trace: trace)
                        : translateBack(packet, nat, at: hook, now: now, state: &state, trace: trace)
    }

    /// A reply from outside: back to the inside's address and port, if a live mapping knows it.
    func translateBack(_ packet: PacketFields, _ nat: NATPacket, at hook: Hook, now: UInt64, state: inout State,
                       trace: DecisionTrace?) -> Decision {
        guard let key = FlowKey(packet), let entry = state.table.entry(reply: key), entry.expiresAt > now else {
            trace?.record("inbound, and no live mapping has this tuple: not translated")
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        state.table.refresh(original: entry.original, direction: .reply, now: now)
        let original = entry.original
        let ports = packet.protocol == .udp || packet.protocol == .tcp
        let rewrite = AddressRewrite(outbound: false, oldAddress: packet.destination, oldPort: ports ? packet.destinationPort : nil,
                                     newAddress: original.source, newPort: ports ? original.sourcePort : nil,
                                     checksumWasZero: packet.protocol == .udp && packet.udpChecksum == 0, checksumBroken: false)
        if case .v4(let address) = original.source {
            nat.rewrite(.destination, address: address, port: ports ? original.sourcePort : nil)
        }
        trace?.record("reply to the mapping of \(original): destination \(Self.end(rewrite.oldAddress, rewrite.oldPort)) → \(Self.end(rewrite.newAddress, rewrite.newPort))")
        return Decision(action: .accept, reason: .translated, hook: hook, packet: packet, rewrite: rewrite)
    }

    /// A packet leaving the inside: its flow's mapping, made if new.
    func translateOut(_ packet: PacketFields, _ nat: NATPacket, at hook: Hook, now: UInt64, state: inout State,
                      trace: DecisionTrace?) -> Decision {
        let newAddress = sourceAddress ?? packet.source
        let hasPorts = (packet.protocol == .udp || packet.protocol == .tcp) && packet.hasTransportHeader
        guard let key = FlowKey(packet), hasPorts || packet.isICMP else {
            // Later fragments and other protocols: no tuple to map, the address only.
            guard newAddress != packet.source, case .v4(let address) = newAddress else {
                trace?.record("no ports to map and no address to change: not translated")
                return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
            }
            nat.rewrite(.source, address: address, port: nil)
            trace?.record("no ports to map (a later fragment, or a protocol without ports): source address \(packet.source) → \(newAddress) only")
            let rewrite = AddressRewrite(outbound: true, oldAddress: packet.source, oldPort: nil, newAddress: newAddress,
                                         newPort: nil, checksumWasZero: false, checksumBroken: false)
            return Decision(action: .accept, reason: .translated, hook: hook, packet: packet, rewrite: rewrite)
        }
        var found = state.table.entry(original: key)
        if let expired = found, expired.expiresAt <= now {
            state.table.remove(original: key)
            found = nil
            trace?.record("its mapping to \(expired.source) expired after \(ExplanationContext.duration(expired.expiresAt &- expired.lastSeen)) idle")
        }
        if found == nil {
            guard state.table.makeRoom(now: now) else {
                trace?.record("new flow, but the NAT table is full (\(tableSize) entries) → drop")
                return Decision(action: .drop, reason: .natTableFull, hook: hook, packet: packet)
            }
            let port = hasPorts ? state.allocator.port(for: key, translatedTo: newAddress, in: state.table) : key.sourcePort
            found = state.table.insert(original: key, reply: FlowKey(protocol: key.protocol, source: key.destination,
                                                                    sourcePort: key.destinationPort, destination: newAddress,
                                                                    destinationPort: port), now: now)
            if let created = found { trace?.record("new flow \(key): mapped to \(created.source)") }
        } else if let existing = found {
            trace?.record("flow \(key): its mapping to \(existing.source)")
        }
        guard let mapped = state.table.refresh(original: key, direction: .original, now: now) else {
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        let newPort: UInt16? = hasPorts ? mapped.source.port : nil
        let zeroChecksum = packet.protocol == .udp && packet.udpChecksum == 0
        let bug = checksum == .offloadBug && packet.protocol == .udp && !zeroChecksum
        let portChanged = newPort != nil && newPort != packet.sourcePort
        if case .v4(let address) = mapped.source.address {
            nat.rewrite(.source, address: address, port: newPort, portInChecksum: !bug)
        }
        let changed = mapped.source.address != packet.source || portChanged
        if bug && portChanged { trace?.record("checksum offload-bug: the port change is left out of the UDP checksum") }
        if !changed { trace?.record("the mapping keeps address and port: nothing rewritten") }
        let rewrite = AddressRewrite(outbound: true, oldAddress: packet.source, oldPort: hasPorts ? packet.sourcePort : nil,
                                     newAddress: mapped.source.address, newPort: newPort, checksumWasZero: zeroChecksum,
                                     checksumBroken: bug && portChanged)
        return Decision(action: .accept, reason: changed ? .translated : .notConcerned, hook: hook, packet: packet,
                        rewrite: changed ? rewrite : nil)
    }

    static func end(_ address: IPAddress, _ port: UInt16?) -> String { port.map { "\(address):\($0)" } ?? address.description }

    public func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict {
        let what = context.subject(decision.packet)
        switch decision.reason {
        case .natTableFull:
            return context.verdict(decision, ruleText: "NAT table full", sentence:
                "\(what) needs a new translation, but \(context.title)'s NAT table is full (\(tableSize) entries), so it was dropped")
        case .translated:
            return context.verdict(decision, ruleText: "source NAT", sentence: translationSentence(decision, what: what, in: context))
        default:
            return context.verdict(decision, ruleText: nil, sentence: "\(what) passed \(context.whereText) untouched")
        }
    }

    func translationSentence(_ decision: Decision, what: String, in context: ExplanationContext) -> String {
        guard let rewrite = decision.rewrite else { return "\(what) passed \(context.whereText)" }
        let field = rewrite.outbound ? "source" : "destination"
        var text = "\(context.whereText) rewrote the \(field) \(Self.end(rewrite.oldAddress, rewrite.oldPort)) → \(Self.end(rewrite.newAddress, rewrite.newPort)) of \(context.describe(decision.packet))"
        guard rewrite.outbound else { return text + ", the reply to a translated flow" }
        if rewrite.checksumBroken {
            text += ". Modelling the 2020 checksum-offload bug (kubernetes#88986), it updated the UDP checksum for the pseudo-header only, as if the NIC would finish it, so the checksum on the wire no longer covers the new source port: the receiver will drop the packet as \"UDP: bad checksum\" (workarounds: noudpcsum, or ethtool -K flannel.1 tx-checksum-ip-generic off; fixed in Linux 5.7 by ea64d8d6c675)"
        } else if context.isVXLAN(decision.packet) {
            text += ". It is still delivered: VXLAN does not care about the outer source port — the receiving VTEP keys on the VNI and the inner MAC address, and the source port is only entropy for ECMP hashing (RFC 7348 §5)"
            if rewrite.oldAddress != rewrite.newAddress {
                text += "; nor about the outer source address, since a VTEP with static FDB entries accepts VXLAN from any address"
            }
            if rewrite.checksumWasZero { text += "; the UDP checksum is 0 (noudpcsum), so there is nothing to get wrong" }
        }
        return text
    }
}

extension DecisionReason {
    /// The NAT rewrote the packet.
    public static let translated = DecisionReason(code: "translated")
    /// A new flow found the NAT table full.
    public static let natTableFull = DecisionReason(code: "natTableFull")
}
