// WireGuard transport data message (J. A. Donenfeld, "WireGuard: Next Generation Kernel Network Tunnel",
// wireguard.com/papers/wireguard.pdf §5.4.6; Linux drivers/net/wireguard/messages.h `struct message_data`):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  type = 4     |              reserved (3 bytes, zero)         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  receiver index (little-endian)               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                                                               |
//  +                 counter (64 bits, little-endian)              +
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     encrypted packet (the inner IP packet, padded to 16) ...  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |              Poly1305 authentication tag (16 bytes)           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Unlike every other header in this module the integers are little-endian (§5.4: "all integer
// fields are little-endian"). The AEAD nonce is 32 zero bits followed by the counter, little-endian
// (§5.4.6, and `chacha20poly1305_encrypt_sg_inplace` in drivers/net/wireguard/send.c).

/// A zero-copy view of a WireGuard transport data message (type 4).
public struct WireGuardDataMessage {
    public enum Field {
        public static let type = 0
        public static let reserved = 1..<4
        public static let receiverIndex = 4..<8
        public static let counter = 8..<16
    }
    /// Type, reserved, receiver index, counter.
    public static let headerLength = 16
    /// Poly1305's tag after the ciphertext.
    public static let tagLength = 16
    /// `MESSAGE_DATA`.
    public static let messageType: UInt8 = 4
    /// Bytes a data message adds around the inner IP packet, before padding: header and tag (32). Over
    /// IPv4 the tunnel adds 20 + 8 more (60 in all; 80 over IPv6), which is why Calico and Flannel give
    /// pods MTU 1440 on a 1500-byte underlay.
    public static let overhead = headerLength + tagLength
    /// Plaintext is padded with zeros to a multiple of 16 (§5.4.6, `calculate_skb_padding`).
    public static let paddingMultiple = 16

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `truncated` below header + tag; `badValue` when the type is not 4.
    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.overhead else {
            throw .truncated(.wireguard, offset: frameOffset, needed: Self.overhead, available: bytes.count)
        }
        guard bytes[Field.type] == Self.messageType else {
            throw .badValue(.wireguard, offset: frameOffset, expected: "message type 4 (transport data)", found: "\(bytes[Field.type])")
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    @inlinable public var type: UInt8 { bytes[Field.type] }
    /// The receiver's session index, which the receiver chose in the handshake.
    @inlinable public var receiverIndex: UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: Field.receiverIndex.lowerBound, as: UInt32.self))
    }
    /// The nonce counter: one more for each message of the session.
    @inlinable public var counter: UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: Field.counter.lowerBound, as: UInt64.self))
    }
    /// Ciphertext then tag.
    @inlinable public var sealed: UnsafeRawBufferPointer { bytes.dropFirst(count: Self.headerLength) }
    @inlinable public var ciphertext: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Self.headerLength..<(bytes.count - Self.tagLength)])
    }
    @inlinable public var tag: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - Self.tagLength)...])
    }
}

/// The header of a WireGuard transport data message as a plain value.
public struct WireGuardDataHeader: Hashable, Sendable, CustomStringConvertible {
    public var receiverIndex: UInt32
    public var counter: UInt64

    public init(receiverIndex: UInt32, counter: UInt64) {
        self.receiverIndex = receiverIndex
        self.counter = counter
    }

    public init(_ message: WireGuardDataMessage) {
        self.init(receiverIndex: message.receiverIndex, counter: message.counter)
    }

    public static let headerLength = WireGuardDataMessage.headerLength

    /// The 12-byte ChaCha20-Poly1305 nonce of this message: 4 zero bytes, then the counter little-endian.
    public var nonce: [UInt8] {
        var nonce = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { nonce[4 + index] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(index))) }
        return nonce
    }

    /// Writes the 16-byte header (type 4, reserved zero, index, counter) at the start of `bytes`.
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.headerLength, "buffer too small for the WireGuard header")
        bytes[WireGuardDataMessage.Field.type] = WireGuardDataMessage.messageType
        for index in WireGuardDataMessage.Field.reserved { bytes[index] = 0 }
        bytes.storeBytes(of: receiverIndex.littleEndian, toByteOffset: WireGuardDataMessage.Field.receiverIndex.lowerBound, as: UInt32.self)
        bytes.storeBytes(of: counter.littleEndian, toByteOffset: WireGuardDataMessage.Field.counter.lowerBound, as: UInt64.self)
    }

    public var description: String { "WireGuard transport data receiver \(receiverIndex) counter \(counter)" }
}
