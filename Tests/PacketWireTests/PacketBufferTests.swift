import PacketWire
import Testing

@Suite("PacketBuffer: headroom, prepend, remove")
struct PacketBufferTests {
    /// A buffer's observable state, to show an operation left it unchanged.
    struct State: Equatable {
        var headroom: Int
        var tailroom: Int
        var bytes: [UInt8]

        init(_ buffer: PacketBuffer) {
            headroom = buffer.headroom
            tailroom = buffer.tailroom
            bytes = buffer.bytes
        }
    }

    @Test func defaults() {
        let buffer = PacketBuffer()
        #expect(buffer.headroom == 128)
        #expect(buffer.capacity == 128 + 9216)
        #expect(buffer.count == 0)
        #expect(buffer.isEmpty)
        #expect(buffer.tailroom == 9216)
    }

    @Test func copyingPlacesTheBytesAfterTheHeadroom() {
        let buffer = PacketBuffer(copying: [1, 2, 3], headroom: 50)
        #expect(buffer.headroom == 50)
        #expect(buffer.bytes == [1, 2, 3])
        #expect(buffer.count == 3)
    }

    /// Encapsulation as the VTEP does it: the inner frame stays where it is, the outer headers go in front.
    @Test func prependWithinHeadroom() throws {
        let inner = try CapturedFrame.kernel("flannel-v4", 9)
        let buffer = PacketBuffer(copying: inner[50...], headroom: 64)
        let packet = try #require(buffer.prepend(50))
        #expect(packet.count == inner.count)
        packet.copyBytes(from: inner[..<50])
        #expect(buffer.bytes == inner)
        #expect(buffer.headroom == 14)
    }

    /// `rte_pktmbuf_prepend` semantics: too much is refused and nothing changes.
    @Test(arguments: [51, 52, 1000, Int.max])
    func prependPastHeadroomIsRefused(count: Int) {
        let buffer = PacketBuffer(copying: [0xde, 0xad], headroom: 50)
        let before = State(buffer)
        #expect(buffer.prepend(count) == nil)
        #expect(State(buffer) == before)
    }

    @Test func prependExactlyTheHeadroomAndNegative() {
        let buffer = PacketBuffer(copying: [0xbe, 0xef], headroom: 50)
        #expect(buffer.prepend(-1) == nil)
        #expect(buffer.prepend(50)?.count == 52)
        #expect(buffer.headroom == 0)
        #expect(buffer.prepend(1) == nil)
        #expect(buffer.prepend(0)?.count == 52)
    }

    /// Decapsulation only moves the start; past the end is refused without a change.
    @Test func removeFront() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        let buffer = PacketBuffer(copying: frame)
        #expect(buffer.removeFront(50))
        #expect(buffer.bytes == Array(frame[50...]))
        #expect(buffer.headroom == 128 + 50)

        let before = State(buffer)
        #expect(!buffer.removeFront(frame.count - 49))
        #expect(!buffer.removeFront(-1))
        #expect(State(buffer) == before)

        #expect(buffer.removeFront(frame.count - 50))
        #expect(buffer.isEmpty)
    }

    @Test func appendAndTruncateBounds() {
        let buffer = PacketBuffer(capacity: 100, headroom: 90)
        let tail = buffer.append(10)
        #expect(tail?.count == 10)
        tail?.copyBytes(from: Array(0..<10))
        #expect(buffer.bytes == Array(0..<10))
        #expect(buffer.tailroom == 0)

        let full = State(buffer)
        #expect(buffer.append(1) == nil)
        #expect(buffer.append(-1) == nil)
        #expect(State(buffer) == full)

        #expect(!buffer.truncate(to: 11))
        #expect(!buffer.truncate(to: -1))
        #expect(State(buffer) == full)

        #expect(buffer.truncate(to: 4))
        #expect(buffer.bytes == [0, 1, 2, 3])
        #expect(buffer.tailroom == 6)
        #expect(buffer.truncate(to: 0))
        #expect(buffer.isEmpty)
    }

    @Test func loadAndReset() {
        let buffer = PacketBuffer(capacity: 64, headroom: 8)
        let bytes: [UInt8] = Array(1...20)
        #expect(bytes.withUnsafeBytes { buffer.load($0, headroom: 16) })
        #expect(buffer.bytes == bytes)
        #expect(buffer.headroom == 16)

        let before = State(buffer)
        #expect(!bytes.withUnsafeBytes { buffer.load($0, headroom: 50) })
        #expect(State(buffer) == before)

        buffer.reset(headroom: 32)
        #expect(buffer.isEmpty)
        #expect(buffer.headroom == 32)
        #expect(buffer.tailroom == 32)
        #expect([UInt8]().withUnsafeBytes { buffer.load($0, headroom: 0) })
        #expect(buffer.isEmpty)
    }

    /// The buffer's bytes parse in place: the views see the outer headers written by prepend.
    @Test func emitOuterHeadersInPlace() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        let buffer = PacketBuffer(copying: frame[50...])
        let vxlan = VXLANHeader(vni: 1)
        vxlan.emit(into: try #require(buffer.prepend(8)))
        let udp = UDPHeader(sourcePort: 51736, destinationPort: 8472, payloadLength: buffer.count)
        udp.emit(into: try #require(buffer.prepend(8)),
                 checksum: .ipv4(source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(192, 0, 2, 2)))
        #expect(buffer.bytes == Array(frame[34...]))
    }
}
