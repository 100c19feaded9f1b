import PacketWire
import Testing

@Suite("WireGuard transport data message (wireguard.pdf §5.4.6)")
struct WireGuardTests {
    /// A transport data message sealed by an independent implementation (Python `cryptography` 48's
    /// ChaCha20Poly1305, key 0x80…0x9f, nonce 4 zero bytes + counter 5 little-endian, no associated data)
    /// around a 31-byte IPv4/UDP packet padded to 32: type 4, three zero bytes, receiver index 0x11223344
    /// little-endian, counter 5 little-endian, 32 bytes of ciphertext, 16 of tag.
    static let message: [UInt8] = [
        0x04, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x76, 0xec, 0xd3, 0x81, 0x92, 0x6f, 0x3d, 0xc2, 0x6c, 0xe5, 0x1c, 0x99, 0x36, 0xc2, 0x41, 0xce,
        0x76, 0xfa, 0xb8, 0x81, 0x17, 0x32, 0x73, 0xc6, 0xa1, 0xf9, 0x2e, 0xbd, 0x6d, 0xea, 0x54, 0x70,
        0x63, 0xf8, 0x5a, 0x3e, 0xa6, 0xbb, 0xb1, 0xc9, 0xcf, 0x22, 0x69, 0x0e, 0xf6, 0xd0, 0x6c, 0x79,
    ]

    @Test func deconstruct() throws {
        try decoding(Self.message) { bytes in
            let view = try WireGuardDataMessage(checking: bytes, frameOffset: 42)
            #expect(view.type == 4)
            #expect(view.receiverIndex == 0x1122_3344)
            #expect(view.counter == 5)
            #expect(view.ciphertext.count == 32)
            #expect(Array(view.ciphertext.prefix(4)) == [0x76, 0xec, 0xd3, 0x81])
            #expect(Array(view.tag) == Array(Self.message[48...]))
            #expect(view.sealed.count == 48)
            #expect(WireGuardDataHeader(view) == WireGuardDataHeader(receiverIndex: 0x1122_3344, counter: 5))
        }
    }

    @Test func construct() {
        let header = WireGuardDataHeader(receiverIndex: 0x1122_3344, counter: 5)
        #expect(emitted(16) { header.emit(into: $0) } == Array(Self.message[0..<16]))
    }

    @Test func nonceIsFourZeroBytesAndTheCounterLittleEndian() {
        #expect(WireGuardDataHeader(receiverIndex: 1, counter: 0x0102_0304_0506_0708).nonce
                == [0, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01])
    }

    @Test func overheadIs32BytesAroundThePacket() {
        #expect(WireGuardDataMessage.overhead == 32)
        #expect(WireGuardDataMessage.overhead + 20 + 8 == 60)
    }

    @Test func truncated() {
        for length in 0..<32 {
            expectDecodeError(.truncated, .wireguard, at: 42) {
                _ = try decoding(Array(Self.message.prefix(length))) { try WireGuardDataMessage(checking: $0, frameOffset: 42) }
            }
        }
    }

    @Test func otherMessageTypesAreNotTransportData() {
        for type: UInt8 in [1, 2, 3, 5] {
            var bytes = Self.message
            bytes[0] = type
            expectDecodeError(.badValue, .wireguard, at: 42) {
                _ = try decoding(bytes) { try WireGuardDataMessage(checking: $0, frameOffset: 42) }
            }
        }
    }
}
