import PacketWire

/// What a NAT translation did to one packet.
public enum NATResult: Hashable, Sendable {
    /// Nothing: not IPv4, no tuple (a fragment after the first), or no entry and none wanted.
    case untouched
    /// A packet of the entry's original direction, rewritten toward its translation.
    case translated(NATTable.Entry)
    /// A reply, restored to the addresses and ports the flow's first packet carried.
    case restored(NATTable.Entry)
    /// A new flow found the table full; the packet was not rewritten.
    case tableFull
}

/// The packet-level translations on a ``NATTable``: kube-proxy's Service DNAT and masquerade. The frame
/// is read once (``NATPacket``), the entry found or made, and the frame rewritten in place with RFC 1624
/// checksum updates (the bytes a full recomputation gives; a UDP checksum of 0 stays 0, a computed 0 is
/// sent as 0xFFFF).
///
/// kube-proxy's Service NAT on a node, from a hook at prerouting (packets from pods and from the VTEP)
/// and at output (the node's own):
///
/// ```swift
/// var conntrack = NATTable(capacity: .max, expiry: .never)  // or .conntrack(ConntrackTimeouts())
///
/// func serviceNAT(_ frame: UnsafeMutableRawBufferPointer, now: UInt64) {
///     let result = conntrack.translateDestination(frame, now: now, keep: { entry in
///         // kube-proxy deletes a removed endpoint's UDP conntrack entries, so the next datagram picks anew.
///         entry.original.protocol != .udp || endpointExists(entry.destination.address)
///     }, choose: { flow in
///         // A new flow: to a ClusterIP:port? Pick an endpoint (nil: not a Service, no endpoints).
///         guard let service = services[flow.destination, flow.destinationPort, flow.protocol],
///               let endpoint = service.pick(for: flow) else { return nil }
///         return NATTarget(address: endpoint.address, port: service.targetPort)
///     })
///     // .translated(entry): DNATed to entry.destination; .restored(entry): a reply, its source is the
///     // Service again; .untouched; .tableFull.
/// }
/// ```
///
/// For a hairpin (a pod reaching itself through its Service) or `externalTrafficPolicy: Cluster`, call
/// ``NATTable/translateSource(_:now:to:ports:)`` at postrouting on the DNATed packet: it adds masquerade to
/// the same entry, and replies are restored in one step.
extension NATTable {
    /// Destination NAT for a flow the caller chooses the target of, and the reverse rewrite of its replies.
    ///
    /// A reply (its tuple is an entry's reply tuple) gets the source and destination the flow's first
    /// packet had (`nf_nat_packet` in the reply direction). A packet of a known flow is rewritten as its
    /// entry says, unless `keep` refuses the entry: then the entry is removed and the packet counts as a
    /// new flow. For a new flow `choose` names the destination; nil leaves the packet alone and records
    /// nothing.
    /// - Parameters:
    ///   - frame: an Ethernet frame carrying IPv4, rewritten in place.
    ///   - now: virtual time, for expiry.
    ///   - keep: asked about an existing entry before it is used; false removes it.
    ///   - choose: asked for a new flow's destination.
    /// - Returns: what was done.
    public mutating func translateDestination(_ frame: UnsafeMutableRawBufferPointer, now: UInt64,
                                              keep: (Entry) -> Bool = { _ in true },
                                              choose: (FlowKey) -> NATTarget?) -> NATResult {
        guard let packet = NATPacket(frame), let key = packet.key else { return .untouched }
        if let existing = translateExisting(packet, key: key, now: now, keep: keep) { return existing }
        guard let target = choose(key) else { return .untouched }
        guard makeRoom(now: now) else { return .tableFull }
        let reply = FlowKey(protocol: key.protocol, source: target.address, sourcePort: target.port,
                            destination: key.source, destinationPort: key.sourcePort)
        guard let entry = insert(original: key, reply: reply, now: now) else { return .tableFull }
        apply(entry, .original, to: packet)
        return .translated(entry)
    }

    /// Masquerade (source NAT to `address`) at postrouting: a new flow gets a mapping with a port from
    /// `ports`; a flow DNATed earlier (the packet's tuple reversed is its entry's reply tuple) gets the
    /// SNAT added to its entry (`nf_nat_setup_info` for `NF_NAT_MANIP_SRC`); replies are restored.
    /// - Parameters:
    ///   - frame: an Ethernet frame carrying IPv4, rewritten in place.
    ///   - now: virtual time, for expiry.
    ///   - address: the address packets leave with (the node's).
    ///   - ports: chooses the source port.
    /// - Returns: what was done.
    public mutating func translateSource(_ frame: UnsafeMutableRawBufferPointer, now: UInt64, to address: IPv4Address,
                                         ports: inout NATPortAllocator) -> NATResult {
        guard let packet = NATPacket(frame), let key = packet.key else { return .untouched }
        // A DNATed packet on its way out: its tuple is the reply tuple reversed.
        if let dnated = entry(reply: key.reversed), dnated.expiresAt > now {
            if dnated.translatesSource { return .translated(dnated) }
            let port = ports.port(for: key, translatedTo: .v4(address), in: self)
            let reply = FlowKey(protocol: key.protocol, source: key.destination, sourcePort: key.destinationPort,
                                destination: .v4(address), destinationPort: port)
            guard let entry = setReply(reply, original: dnated.original) else { return .untouched }
            packet.rewrite(.source, to: entry.source)
            return .translated(entry)
        }
        if let existing = translateExisting(packet, key: key, now: now, keep: { _ in true }) { return existing }
        guard makeRoom(now: now) else { return .tableFull }
        let port = ports.port(for: key, translatedTo: .v4(address), in: self)
        let reply = FlowKey(protocol: key.protocol, source: key.destination, sourcePort: key.destinationPort,
                            destination: .v4(address), destinationPort: port)
        guard let entry = insert(original: key, reply: reply, now: now) else { return .tableFull }
        apply(entry, .original, to: packet)
        return .translated(entry)
    }

    /// Translates a packet of a flow the table knows, and only such packets (a hook where no new flow is
    /// set up).
    /// - Returns: `translated`, `restored`, or `untouched` when no live entry knows the packet.
    public mutating func translate(_ frame: UnsafeMutableRawBufferPointer, now: UInt64) -> NATResult {
        guard let packet = NATPacket(frame), let key = packet.key else { return .untouched }
        return translateExisting(packet, key: key, now: now, keep: { _ in true }) ?? .untouched
    }

    /// The reply restored, or the original rewritten, when a live entry knows `key`; nil otherwise.
    private mutating func translateExisting(_ packet: NATPacket, key: FlowKey, now: UInt64, keep: (Entry) -> Bool) -> NATResult? {
        guard let (found, direction) = lookup(key, now: now) else { return nil }
        if direction == .original, !keep(found) {
            remove(original: key)
            return nil
        }
        let entry = refresh(original: found.original, direction: direction, tcpFlags: packet.tcpFlags, now: now) ?? found
        apply(entry, direction, to: packet)
        return direction == .reply ? .restored(entry) : .translated(entry)
    }

    /// Rewrites both ends of `packet` as `entry` says for a packet travelling `direction`; ends that
    /// already match are left alone.
    private func apply(_ entry: Entry, _ direction: Direction, to packet: NATPacket) {
        switch direction {
        case .original:
            packet.rewrite(.destination, to: entry.destination)
            packet.rewrite(.source, to: entry.source)
        case .reply:
            packet.rewrite(.source, to: NATTarget(address: entry.original.destination, port: entry.original.destinationPort))
            packet.rewrite(.destination, to: NATTarget(address: entry.original.source, port: entry.original.sourcePort))
        }
    }
}
