import Capture
import PacketWire
import VXLAN

/// The measured loops: each processes `count` frames of a pool cyclically (frame *i* is buffer *i* mod
/// pool size), from frame `first` on, and returns a number derived from every frame, so no work can be
/// optimised away.
///
/// Shared by `overlay-sim bench` and the package-benchmark suite in `Benchmarks/`, and tested for
/// correctness (not speed) in `OverlayBenchTests`.
public enum Kernels {
    /// Encapsulates each frame in place and then moves the buffer's start back past the outer headers,
    /// so the next pass finds the inner frame again; the payload is never copied.
    ///
    /// - Returns: the bytes of all encapsulated frames, outer headers included (the C baseline's sum).
    @inline(never)
    public static func encapsulate(_ pool: BufferPool, endpoint: inout TunnelEndpoint, count: Int,
                                   startingAt first: Int = 0) -> Int {
        let overhead = endpoint.configuration.overhead
        var bytes = 0
        pool.forEachFrame(count, startingAt: first) { buffer in
            do {
                try endpoint.encapsulate(buffer)
                bytes &+= buffer.count
                buffer.removeFront(overhead)
            } catch {
                return
            }
        }
        return bytes
    }

    /// Decapsulates each frame, then moves the buffer's start back to the outer headers so the next
    /// pass finds the whole frame again.
    ///
    /// - Returns: how many frames were accepted; every one is, for a pool from
    ///   ``BenchmarkFrames/encapsulatedPool(frameLength:count:udpChecksum:)``.
    @inline(never)
    public static func decapsulate(_ pool: BufferPool, endpoint: TunnelEndpoint, count: Int,
                                   startingAt first: Int = 0) -> Int {
        var accepted = 0
        pool.forEachFrame(count, startingAt: first) { buffer in
            do {
                let packet = try endpoint.decapsulate(buffer)
                accepted &+= 1
                _ = buffer.prepend(packet.headerLength)
            } catch {
                return
            }
        }
        return accepted
    }

    /// Decodes every layer of each encapsulated frame with PacketWire's views and values, verifying every
    /// checksum: outer Ethernet, IPv4, UDP, VXLAN, inner Ethernet, IPv4, UDP.
    ///
    /// - Returns: how many frames decoded without error.
    @inline(never)
    public static func decode(_ pool: BufferPool, count: Int, startingAt first: Int = 0) -> Int {
        var decoded = 0
        pool.forEachFrame(count, startingAt: first) { buffer in
            if (try? FrameDecoding.decode(buffer.readableBytes)) != nil { decoded &+= 1 }
        }
        return decoded
    }

    /// The Internet checksum of each frame's bytes.
    ///
    /// - Returns: the sum of the checksums.
    @inline(never)
    public static func checksum(_ pool: BufferPool, count: Int, startingAt first: Int = 0) -> Int {
        var total = 0
        pool.forEachFrame(count, startingAt: first) { buffer in
            total &+= Int(InternetChecksum.checksum(buffer.readableBytes))
        }
        return total
    }

    /// The flow hash (and from it the outer source port) of each inner frame, as encapsulation computes it.
    ///
    /// - Returns: the sum of the source ports.
    @inline(never)
    public static func flowHash(_ pool: BufferPool, configuration: TunnelConfiguration, count: Int,
                                startingAt first: Int = 0) -> Int {
        let seed = configuration.flowHashSeed
        let range = configuration.sourcePortRange
        var total = 0
        pool.forEachFrame(count, startingAt: first) { buffer in
            let hash = FlowHash.hash(innerFrame: buffer.readableBytes, seed: seed)
            total &+= Int(FlowHash.sourcePort(hash: hash, range: range))
        }
        return total
    }

    /// Writes each frame to `writer`, one microsecond apart.
    ///
    /// - Returns: how many frames were written.
    /// - Throws: the writer's ``CaptureError``.
    @inline(never)
    public static func writePcap(_ pool: BufferPool, to writer: PcapWriter, count: Int,
                                 startingAt first: Int = 0) throws(CaptureError) -> Int {
        var timestamp: UInt64 = 1_700_000_000 * 1_000_000_000
        var failure: CaptureError?
        pool.forEachFrame(count, startingAt: first) { buffer in
            guard failure == nil else { return }
            do throws(CaptureError) {
                try writer.write(buffer.readableBytes, timestampNanoseconds: timestamp)
            } catch {
                failure = error
            }
            timestamp &+= 1_000
        }
        if let failure { throw failure }
        return count
    }
}

/// What a full decode of an encapsulated frame found; plain values, so decoding allocates nothing.
public struct DecodedFrameSummary: Hashable, Sendable {
    public var outer: IPv4Header
    public var outerSourcePort: UInt16
    public var vni: UInt32
    public var inner: IPv4Header
    public var innerSourcePort: UInt16
    public var innerDestinationPort: UInt16

    @inlinable
    public init(outer: IPv4Header, outerSourcePort: UInt16, vni: UInt32, inner: IPv4Header, innerSourcePort: UInt16,
                innerDestinationPort: UInt16) {
        self.outer = outer
        self.outerSourcePort = outerSourcePort
        self.vni = vni
        self.inner = inner
        self.innerSourcePort = innerSourcePort
        self.innerDestinationPort = innerDestinationPort
    }
}

/// A full decode of an IPv4-underlay VXLAN frame, every layer parsed and every checksum verified: the
/// work `overlay-sim decode` does per frame, without the output.
public enum FrameDecoding {
    /// - Throws: the first ``DecodeError`` found; `unsupported` for a frame that is not IPv4/UDP/VXLAN
    ///   carrying IPv4/UDP.
    @inlinable
    public static func decode(_ frame: UnsafeRawBufferPointer) throws(DecodeError) -> DecodedFrameSummary {
        let outerEthernet = try EthernetFrame(checking: frame)
        let outerPacket = try ipv4(in: outerEthernet)
        let outer = try IPv4Header(outerPacket)
        let outerDatagram = try udp(in: outerPacket)
        let outerUDP = try UDPHeader(outerDatagram, verifyingWith: .ipv4(source: outer.source,
                                                                         destination: outer.destination))
        let vxlanPacket = try VXLANPacket(checking: outerDatagram.payload, frameOffset: outerDatagram.payloadOffset)
        let vxlan = try VXLANHeader(vxlanPacket)
        let innerEthernet = try EthernetFrame(checking: vxlanPacket.payload, frameOffset: vxlanPacket.payloadOffset)
        let innerPacket = try ipv4(in: innerEthernet)
        let inner = try IPv4Header(innerPacket)
        let innerDatagram = try udp(in: innerPacket)
        let innerUDP = try UDPHeader(innerDatagram, verifyingWith: .ipv4(source: inner.source,
                                                                         destination: inner.destination))
        return DecodedFrameSummary(outer: outer, outerSourcePort: outerUDP.sourcePort, vni: vxlan.vni, inner: inner,
                                   innerSourcePort: innerUDP.sourcePort,
                                   innerDestinationPort: innerUDP.destinationPort)
    }

    @inlinable
    static func ipv4(in ethernet: EthernetFrame) throws(DecodeError) -> IPv4Packet {
        guard ethernet.etherType == .ipv4 else {
            throw .unsupported(.ethernet, offset: ethernet.payloadOffset - 2, expected: "IPv4 (0x0800)",
                               found: "\(ethernet.etherType)")
        }
        return try IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
    }

    @inlinable
    static func udp(in packet: IPv4Packet) throws(DecodeError) -> UDPDatagram {
        guard packet.protocol == .udp else {
            throw .unsupported(.ipv4, offset: packet.frameOffset + 9, expected: "UDP (17)", found: "\(packet.protocol)")
        }
        return try UDPDatagram(checking: packet.payload, frameOffset: packet.payloadOffset)
    }
}
