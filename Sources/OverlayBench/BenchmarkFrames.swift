import PacketWire
import VXLAN

/// The frames and tunnel every overlay-sim benchmark uses: the same as `Benchmarks/Baseline/baseline.c`,
/// so a Swift figure and a C figure measure the same work.
///
/// A pool is 4096 distinct buffers, each laid out like a DPDK mbuf (128 bytes of headroom in a
/// 2176-byte buffer), used cyclically: frame *i* is buffer *i* mod 4096. Inner frame *i* is Ethernet
/// 02:00:00:00:c0:01 → 02:00:00:00:c1:01, IPv4 10.244.0.5 → 10.244.1.7 (DF, TTL 64, ID *i*), UDP
/// 10000 + (*i* mod 1024) → 8080, valid checksums: 1024 distinct flows.
public enum BenchmarkFrames {
    /// Distinct buffers in a pool; a power of two so the cyclic index is a mask.
    public static let poolSize = 4096
    /// DPDK's `RTE_PKTMBUF_HEADROOM`, as the C baseline uses.
    public static let headroom = PacketBuffer.defaultHeadroom
    /// DPDK's `RTE_MBUF_DEFAULT_BUF_SIZE`: headroom plus a 2048-byte data room, the C baseline's stride.
    public static let bufferCapacity = 128 + 2048
    /// The two inner frame sizes every measurement is made for (bytes, without FCS).
    public static let smallFrameLength = 64
    public static let largeFrameLength = 1400

    public static let innerSourceMAC = MACAddress(rawValue: 0x0200_0000_c001)
    public static let innerDestinationMAC = MACAddress(rawValue: 0x0200_0000_c101)
    public static let innerSource = IPv4Address(10, 244, 0, 5)
    public static let innerDestination = IPv4Address(10, 244, 1, 7)

    /// The baseline's tunnel: VNI 42, 192.0.2.1 → 192.0.2.2 on port 4789, outer MACs
    /// 02:00:00:00:0a:01 → 02:00:00:00:0b:01, TTL 64, TOS 0, DF unset, and the outer UDP checksum off
    /// (`noudpcsum`) unless `udpChecksum`.
    public static func tunnel(udpChecksum: Bool = false) -> TunnelConfiguration {
        TunnelConfiguration(vni: 42, local: .v4(IPv4Address(192, 0, 2, 1)), remote: .v4(IPv4Address(192, 0, 2, 2)),
                            destinationPort: TunnelConfiguration.ianaPort, udpChecksum: udpChecksum,
                            underlaySourceMAC: MACAddress(rawValue: 0x0200_0000_0a01),
                            underlayNextHopMAC: MACAddress(rawValue: 0x0200_0000_0b01),
                            flowHashSeed: 0x9e37_79b9)
    }

    /// Inner frame number `index` of `length` bytes: Ethernet, IPv4 and UDP headers with valid checksums,
    /// then payload bytes `(index + k) mod 256` for UDP offset k, as the C baseline fills them.
    public static func innerFrame(index: Int, length: Int) -> [UInt8] {
        precondition(length >= 42, "an inner frame holds Ethernet, IPv4 and UDP headers")
        var bytes = [UInt8](repeating: 0, count: length)
        bytes.withUnsafeMutableBytes { raw in
            let udpLength = length - 34
            for offset in 8..<udpLength { raw[34 + offset] = UInt8(truncatingIfNeeded: index + offset) }
            EthernetHeader(destination: innerDestinationMAC, source: innerSourceMAC, etherType: .ipv4).emit(into: raw)
            UDPHeader(sourcePort: UInt16(10000 + index % 1024), destinationPort: 8080, payloadLength: udpLength - 8)
                .emit(into: raw.slice(34..<length), checksum: .ipv4(source: innerSource, destination: innerDestination))
            IPv4Header(identification: UInt16(truncatingIfNeeded: index), dontFragment: true, timeToLive: 64,
                       protocol: .udp, source: innerSource, destination: innerDestination, payloadLength: udpLength)
                .emit(into: raw.slice(14..<34))
        }
        return bytes
    }

    /// A pool of `count` buffers holding inner frames of `length` bytes after 128 bytes of headroom.
    public static func innerPool(frameLength length: Int, count: Int = poolSize) -> BufferPool {
        BufferPool((0..<count).map { index in
            let buffer = PacketBuffer(capacity: bufferCapacity, headroom: headroom)
            innerFrame(index: index, length: length).withUnsafeBytes { _ = buffer.load($0, headroom: headroom) }
            return buffer
        })
    }

    /// A pool of `count` buffers holding the inner frames of ``innerPool(frameLength:count:)``
    /// encapsulated by ``tunnel(udpChecksum:)``: the input of decapsulation, decoding and pcap writing.
    public static func encapsulatedPool(frameLength length: Int, count: Int = poolSize,
                                        udpChecksum: Bool = false) -> BufferPool {
        var endpoint = TunnelEndpoint(configuration: tunnel(udpChecksum: udpChecksum))
        let pool = innerPool(frameLength: length, count: count)
        for buffer in pool.buffers {
            // Cannot fail: the tunnel has a remote, one address family, and 128 bytes of headroom.
            do { try endpoint.encapsulate(buffer) } catch { preconditionFailure("\(error)") }
        }
        return pool
    }
}

/// Packet buffers used cyclically: frame *i* is buffer *i* mod ``count``.
///
/// Besides the buffers it keeps unretained references to them, so a loop that takes a buffer per frame
/// pays no reference counting (an atomic increment and decrement, as much as the rest of
/// encapsulation): the pool keeps every buffer alive as long as the references are used.
public struct BufferPool {
    /// The buffers, owned by the pool; a power of two of them.
    public let buffers: [PacketBuffer]
    @usableFromInline let references: [Unmanaged<PacketBuffer>]

    public init(_ buffers: [PacketBuffer]) {
        precondition(!buffers.isEmpty && buffers.count & (buffers.count - 1) == 0, "pool size must be a power of two")
        self.buffers = buffers
        self.references = buffers.map { Unmanaged.passUnretained($0) }
    }

    public var count: Int { buffers.count }

    /// Calls `body` with the buffers of frames `first ..< first + frames`, cyclically, without retaining
    /// them.
    @inlinable @inline(__always)
    public func forEachFrame(_ frames: Int, startingAt first: Int = 0, _ body: (PacketBuffer) -> Void) {
        withExtendedLifetime(buffers) {
            references.withUnsafeBufferPointer { references in
                let mask = references.count - 1
                for index in first..<first + frames {
                    references[index & mask]._withUnsafeGuaranteedRef(body)
                }
            }
        }
    }
}
