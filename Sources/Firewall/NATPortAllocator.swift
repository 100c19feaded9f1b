import PacketWire

/// Chooses the source port of a new SNAT or masquerade mapping so that no two flows to the same
/// destination share a reply tuple, as `nf_nat_l4proto_unique_tuple` (net/netfilter/nf_nat_proto.c)
/// does: the flow keeps its own port when that is free and in range, otherwise the allocator tries the
/// next ports in turn; with `--random-fully` (`NF_NAT_RANGE_PROTO_RANDOM_FULLY`) every new flow gets a
/// random port. Seeded, so a run repeats.
public struct NATPortAllocator: Sendable {
    public let range: PortRange
    public let randomFully: Bool
    private var random: SplitMix64
    /// The next port tried when ports are kept where possible.
    private var nextPort: UInt16 = 0

    /// - Parameters:
    ///   - range: the ports to choose from.
    ///   - randomFully: every new flow gets a random port, even if its own was free.
    ///   - seed: seeds the random choice.
    public init(range: PortRange = PortRange(1024, 65535), randomFully: Bool = false, seed: UInt64) {
        self.range = range
        self.randomFully = randomFully
        random = SplitMix64(seed: seed ^ 0x6E61_745F_7365_6564)
    }

    /// A port for `key`'s flow leaving with source `address`, free in `table`. After 64 taken ports it
    /// gives the range's first, which may clash (Linux searches longer in `nf_nat_l4proto_unique_tuple`:
    /// a known simplification).
    public mutating func port(for key: FlowKey, translatedTo address: IPAddress, in table: NATTable) -> UInt16 {
        let span = UInt64(range.upper) - UInt64(range.lower) + 1
        func free(_ port: UInt16) -> Bool {
            !table.isReplyTupleInUse(FlowKey(protocol: key.protocol, source: key.destination, sourcePort: key.destinationPort,
                                             destination: address, destinationPort: port))
        }
        if !randomFully, range.contains(key.sourcePort), free(key.sourcePort) { return key.sourcePort }
        for _ in 0..<64 {
            let candidate: UInt16
            if randomFully {
                candidate = UInt16(truncatingIfNeeded: UInt64(range.lower) + random.next() % span)
            } else {
                candidate = UInt16(truncatingIfNeeded: UInt64(range.lower) + UInt64(nextPort) % span)
                nextPort &+= 1
            }
            if free(candidate) { return candidate }
        }
        return range.lower
    }
}
