import PacketWire

/// The values Linux draws at random for a socket, drawn here from the scenario's seed so that runs repeat:
///
/// - the initial sequence number, `secure_tcp_seq` (net/core/secure_seq.c): a keyed hash of the 4-tuple
///   plus the clock in 64 ns units, so a reconnect on the same ports starts further on;
/// - the timestamp offset, `secure_tcp_ts_off`: a keyed hash of the address pair;
/// - the IP identification counter, `inet_id = get_random_u16()` at connect and accept
///   (`tcp_v4_connect`, `tcp_v4_syn_recv_sock`, `ip4_datagram_connect`);
/// - the flow hash, `sk_txhash = net_tx_rndhash()` (`sk_set_txhash`, never 0), and each new one a
///   retransmission timeout picks (`sk_rethink_txhash`).
struct SocketSecrets {
    let seed: UInt64

    /// Chains SplitMix64 over the words (a fixed count, so nothing is allocated).
    private func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ d: UInt64 = 0) -> UInt64 {
        func step(_ value: UInt64, _ word: UInt64) -> UInt64 {
            var generator = SplitMix64(seed: value ^ word)
            return generator.next()
        }
        return step(step(step(step(seed, a), b), c), d)
    }

    private static func pair(_ a: IPv4Address, _ b: IPv4Address) -> UInt64 {
        UInt64(a.rawValue) << 32 | UInt64(b.rawValue)
    }

    private static func ports(_ a: UInt16, _ b: UInt16) -> UInt64 { UInt64(a) << 16 | UInt64(b) }

    func initialSequence(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
                         now: Nanoseconds) -> UInt32 {
        let hash = UInt32(truncatingIfNeeded: mix(1, Self.pair(source, destination), Self.ports(sourcePort, destinationPort)))
        return hash &+ UInt32(truncatingIfNeeded: now >> 6)
    }

    func timestampOffset(source: IPv4Address, destination: IPv4Address) -> UInt32 {
        UInt32(truncatingIfNeeded: mix(2, Self.pair(source, destination)))
    }

    func identification(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16) -> UInt16 {
        UInt16(truncatingIfNeeded: mix(3, Self.pair(source, destination), Self.ports(sourcePort, destinationPort)))
    }

    /// The socket's `generation`-th flow hash (0 at connect, one more for each rehash); never 0.
    func flowHash(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
                  generation: Int) -> UInt32 {
        let hash = UInt32(truncatingIfNeeded: mix(4, Self.pair(source, destination), Self.ports(sourcePort, destinationPort),
                                                  UInt64(generation)))
        return hash == 0 ? 1 : hash
    }
}
