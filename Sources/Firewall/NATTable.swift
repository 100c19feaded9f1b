import PacketWire

/// A NAT's translations: original tuple → new source, and the translated reply tuple → original, with
/// idle expiry and a bound on entries.
struct NATTable: Sendable {
    struct Mapping: Sendable {
        var original: FlowKey
        var address: IPAddress
        var port: UInt16
        var expiresAt: UInt64
    }

    let capacity: Int
    var forward: [FlowKey: Mapping] = [:]
    /// Tuple of a reply to the translated packet → original tuple.
    var reverse: [FlowKey: FlowKey] = [:]
    var random: SplitMix64
    /// The next port tried when ports are kept where possible.
    var nextPort: UInt16 = 0

    init(capacity: Int, seed: UInt64) {
        self.capacity = max(1, capacity)
        random = SplitMix64(seed: seed ^ 0x6E61_745F_7365_6564)
    }

    mutating func sweep(now: UInt64) {
        forward = forward.filter { $0.value.expiresAt > now }
        reverse = reverse.filter { forward[$0.value] != nil }
    }
}

extension FirewallDevice {
    /// Source NAT on the way out of the inside; the reverse translation for replies on the way in.
    func translate(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64) -> Decision {
        let outbound: Bool
        switch hook {
        case .transit(let isOutbound): outbound = isOutbound
        case .output, .egress: outbound = true
        case .input, .ingress, .forward: outbound = false
        }
        // NAT44 only: IPv6 passes untouched.
        guard packet.isIP, !packet.source.isIPv6 else {
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        let options = configuration.nat
        let timeout: UInt64 = switch packet.protocol {
        case .udp: configuration.timeouts.udp
        case .tcp: configuration.timeouts.tcpEstablished
        default: configuration.timeouts.icmp
        }
        if !outbound {
            guard let key = FlowKey(packet), let original = nat.reverse[key], let mapping = nat.forward[original],
                  mapping.expiresAt > now else {
                return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
            }
            nat.forward[original]?.expiresAt = now &+ timeout
            let ports = packet.protocol == .udp || packet.protocol == .tcp
            let rewrite = AddressRewrite(outbound: false, oldAddress: packet.destination, oldPort: ports ? packet.destinationPort : nil,
                                         newAddress: original.source, newPort: ports ? original.sourcePort : nil,
                                         checksumWasZero: packet.protocol == .udp && packet.udpChecksum == 0, checksumBroken: false)
            Self.rewrite(frame, packet: packet, destination: true, address: original.source,
                         port: ports ? original.sourcePort : nil, portInChecksum: true)
            return Decision(action: .accept, reason: .translated, hook: hook, packet: packet, rewrite: rewrite)
        }
        let newAddress = options.sourceAddress ?? packet.source
        let hasPorts = (packet.protocol == .udp || packet.protocol == .tcp) && packet.hasTransportHeader
        guard let key = FlowKey(packet), hasPorts || packet.isICMP else {
            // Later fragments and other protocols: the address only.
            guard newAddress != packet.source else { return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet) }
            Self.rewrite(frame, packet: packet, destination: false, address: newAddress, port: nil, portInChecksum: true)
            let rewrite = AddressRewrite(outbound: true, oldAddress: packet.source, oldPort: nil, newAddress: newAddress,
                                         newPort: nil, checksumWasZero: false, checksumBroken: false)
            return Decision(action: .accept, reason: .translated, hook: hook, packet: packet, rewrite: rewrite)
        }
        var mapping = nat.forward[key]
        if let existing = mapping, existing.expiresAt <= now {
            nat.reverse[FlowKey(protocol: key.protocol, source: key.destination, sourcePort: key.destinationPort,
                                destination: existing.address, destinationPort: existing.port)] = nil
            nat.forward[key] = nil
            mapping = nil
        }
        if mapping == nil {
            if nat.forward.count >= nat.capacity { nat.sweep(now: now) }
            guard nat.forward.count < nat.capacity else {
                return Decision(action: .drop, reason: .natTableFull, hook: hook, packet: packet)
            }
            let port = hasPorts ? choosePort(for: key, address: newAddress) : key.sourcePort
            let created = NATTable.Mapping(original: key, address: newAddress, port: port, expiresAt: now &+ timeout)
            nat.forward[key] = created
            nat.reverse[FlowKey(protocol: key.protocol, source: key.destination, sourcePort: key.destinationPort,
                                destination: newAddress, destinationPort: port)] = key
            mapping = created
        }
        guard var current = mapping else { return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet) }
        current.expiresAt = now &+ timeout
        nat.forward[key] = current
        let newPort: UInt16? = hasPorts ? current.port : nil
        let zeroChecksum = packet.protocol == .udp && packet.udpChecksum == 0
        let bug = options.checksum == .offloadBug && packet.protocol == .udp && !zeroChecksum
        let portChanged = newPort != nil && newPort != packet.sourcePort
        Self.rewrite(frame, packet: packet, destination: false, address: current.address, port: newPort, portInChecksum: !bug)
        let rewrite = AddressRewrite(outbound: true, oldAddress: packet.source, oldPort: hasPorts ? packet.sourcePort : nil,
                                     newAddress: current.address, newPort: newPort, checksumWasZero: zeroChecksum,
                                     checksumBroken: bug && portChanged)
        let changed = current.address != packet.source || portChanged
        return Decision(action: .accept, reason: changed ? .translated : .notConcerned, hook: hook, packet: packet,
                        rewrite: changed ? rewrite : nil)
    }

    /// A source port for a new mapping: random under `--random-fully`, otherwise the flow's own port if
    /// no other mapping uses it, else the next free one.
    func choosePort(for key: FlowKey, address: IPAddress) -> UInt16 {
        let range = configuration.nat.ports
        let span = UInt64(range.upper) - UInt64(range.lower) + 1
        func free(_ port: UInt16) -> Bool {
            nat.reverse[FlowKey(protocol: key.protocol, source: key.destination, sourcePort: key.destinationPort,
                                destination: address, destinationPort: port)] == nil
        }
        if !configuration.nat.randomFully, range.contains(key.sourcePort), free(key.sourcePort) { return key.sourcePort }
        for _ in 0..<64 {
            let candidate: UInt16
            if configuration.nat.randomFully {
                candidate = UInt16(truncatingIfNeeded: UInt64(range.lower) + nat.random.next() % span)
            } else {
                candidate = UInt16(truncatingIfNeeded: UInt64(range.lower) + UInt64(nat.nextPort) % span)
                nat.nextPort &+= 1
            }
            if free(candidate) { return candidate }
        }
        return range.lower
    }

    /// Rewrites the IPv4 source (or destination) address and port in place, patching the IPv4 header
    /// checksum and the UDP/TCP checksum by RFC 1624. With `portInChecksum` false the port change is
    /// left out of the transport checksum (the offload bug). A zero UDP checksum stays zero.
    static func rewrite(_ frame: UnsafeMutableRawBufferPointer, packet: PacketFields, destination: Bool,
                        address: IPAddress, port: UInt16?, portInChecksum: Bool) {
        guard case .v4(let newAddress) = address else { return }
        let ip = packet.networkOffset
        let addressOffset = ip + (destination ? 16 : 12)
        guard frame.count >= ip + 20 else { return }
        let oldAddress = UnsafeRawBufferPointer(frame).getInteger(at: addressOffset, as: UInt32.self)
        let oldHigh = UInt16(truncatingIfNeeded: oldAddress >> 16), oldLow = UInt16(truncatingIfNeeded: oldAddress)
        let newHigh = UInt16(truncatingIfNeeded: newAddress.rawValue >> 16), newLow = UInt16(truncatingIfNeeded: newAddress.rawValue)
        frame.setInteger(newAddress.rawValue, at: addressOffset, as: UInt32.self)
        var ipChecksum = frame.getInteger(at: ip + 10, as: UInt16.self)
        ipChecksum = InternetChecksum.updated(ipChecksum, replacing: oldHigh, with: newHigh)
        ipChecksum = InternetChecksum.updated(ipChecksum, replacing: oldLow, with: newLow)
        frame.setInteger(ipChecksum, at: ip + 10, as: UInt16.self)
        guard packet.hasTransportHeader, packet.protocol == .udp || packet.protocol == .tcp else { return }
        let transport = packet.transportOffset
        let checksumOffset = transport + (packet.protocol == .udp ? 6 : 16)
        guard frame.count >= checksumOffset + 2 else { return }
        let portOffset = transport + (destination ? 2 : 0)
        let oldPort = frame.getInteger(at: portOffset, as: UInt16.self)
        if let port { frame.setInteger(port, at: portOffset, as: UInt16.self) }
        var checksum = frame.getInteger(at: checksumOffset, as: UInt16.self)
        if packet.protocol == .udp && checksum == 0 { return }
        checksum = InternetChecksum.updated(checksum, replacing: oldHigh, with: newHigh)
        checksum = InternetChecksum.updated(checksum, replacing: oldLow, with: newLow)
        if let port, portInChecksum { checksum = InternetChecksum.updated(checksum, replacing: oldPort, with: port) }
        if packet.protocol == .udp && checksum == 0 { checksum = 0xFFFF }
        frame.setInteger(checksum, at: checksumOffset, as: UInt16.self)
    }
}
