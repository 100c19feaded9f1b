// ARP (RFC 826) for Ethernet hardware addresses and IPv4 protocol addresses.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |    Hardware Type (ar$hrd)     |    Protocol Type (ar$pro)     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | HW Addr Length| Proto Length  |       Operation (ar$op)       |
//  |   (ar$hln)    |   (ar$pln)    |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |            Sender Hardware Address (ar$sha, 48 bits)          |
//  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               |    Sender Protocol Address    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   (ar$spa, continued)         |    Target Hardware Address    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       (ar$tha, 48 bits)       +
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                Target Protocol Address (ar$tpa)               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// With 6-byte hardware and 4-byte protocol addresses the packet is 28 bytes; the Ethernet frame pads it
// to the 60-byte minimum, and that padding is not part of the packet.

/// An ARP hardware type (IANA "Hardware Types", RFC 826 ar$hrd). Open to values nobody named yet.
public struct ARPHardwareType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Ethernet (10 Mb and every later speed).
    public static let ethernet = ARPHardwareType(rawValue: 1)
    /// IEEE 802 networks (RFC 1042), which also use 6-byte MAC addresses.
    public static let ieee802 = ARPHardwareType(rawValue: 6)

    public var description: String {
        let name = switch self {
        case .ethernet: "Ethernet"
        case .ieee802: "IEEE 802"
        default: "unknown"
        }
        return "\(name) - \(rawValue)"
    }
}

/// An ARP operation code (RFC 826 ar$op; IANA "Operation Codes"). Open to values nobody named yet.
public struct ARPOperation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// RFC 826 ares_op$REQUEST: who has the target protocol address?
    public static let request = ARPOperation(rawValue: 1)
    /// RFC 826 ares_op$REPLY: the sender protocol address is at the sender hardware address.
    public static let reply = ARPOperation(rawValue: 2)

    public var description: String {
        let name = switch self {
        case .request: "request"
        case .reply: "reply"
        default: "unknown"
        }
        return "\(name) - \(rawValue)"
    }
}

/// A zero-copy view of an ARP packet with 6-byte hardware and 4-byte protocol addresses.
///
/// ``init(checking:frameOffset:)`` checks the address sizes (they fix every later offset) and that all
/// 28 bytes are present; after it succeeds every accessor is in bounds. Bytes past the 28 (Ethernet
/// padding) are ignored.
public struct ARPPacket {
    public enum Field {
        public static let hardwareType = 0..<2
        public static let protocolType = 2..<4
        public static let hardwareAddressLength = 4
        public static let protocolAddressLength = 5
        public static let operation = 6..<8
        public static let senderHardwareAddress = 8..<14
        public static let senderProtocolAddress = 14..<18
        public static let targetHardwareAddress = 18..<24
        public static let targetProtocolAddress = 24..<28
    }
    /// Bytes up to and including the two address-length fields.
    public static let fixedLength = 8
    /// The packet with 6-byte hardware and 4-byte protocol addresses.
    public static let length = 28

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `truncated` when fewer than 28 bytes (8 before the sizes are known) are present;
    ///   `unsupported` when the hardware address is not 6 bytes or the protocol address not 4.
    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.fixedLength else {
            throw .truncated(.arp, offset: frameOffset, needed: Self.fixedLength, available: bytes.count)
        }
        let hardwareLength = bytes.getInteger(at: Field.hardwareAddressLength, as: UInt8.self)
        guard hardwareLength == 6 else {
            throw .unsupported(.arp, offset: frameOffset + Field.hardwareAddressLength,
                               expected: "6-byte hardware addresses", found: "\(hardwareLength)")
        }
        let protocolLength = bytes.getInteger(at: Field.protocolAddressLength, as: UInt8.self)
        guard protocolLength == 4 else {
            throw .unsupported(.arp, offset: frameOffset + Field.protocolAddressLength,
                               expected: "4-byte protocol addresses", found: "\(protocolLength)")
        }
        guard bytes.count >= Self.length else {
            throw .truncated(.arp, offset: frameOffset, needed: Self.length, available: bytes.count)
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    @inlinable public var hardwareType: ARPHardwareType { ARPHardwareType(rawValue: bytes.getInteger(at: Field.hardwareType.lowerBound, as: UInt16.self)) }
    @inlinable public var protocolType: EtherType { EtherType(rawValue: bytes.getInteger(at: Field.protocolType.lowerBound, as: UInt16.self)) }
    @inlinable public var hardwareAddressLength: UInt8 { bytes.getInteger(at: Field.hardwareAddressLength, as: UInt8.self) }
    @inlinable public var protocolAddressLength: UInt8 { bytes.getInteger(at: Field.protocolAddressLength, as: UInt8.self) }
    @inlinable public var operation: ARPOperation { ARPOperation(rawValue: bytes.getInteger(at: Field.operation.lowerBound, as: UInt16.self)) }
    @inlinable public var senderHardwareAddress: MACAddress { MACAddress(reading: bytes, at: Field.senderHardwareAddress.lowerBound) }
    @inlinable public var senderProtocolAddress: IPv4Address { IPv4Address(rawValue: bytes.getInteger(at: Field.senderProtocolAddress.lowerBound, as: UInt32.self)) }
    @inlinable public var targetHardwareAddress: MACAddress { MACAddress(reading: bytes, at: Field.targetHardwareAddress.lowerBound) }
    @inlinable public var targetProtocolAddress: IPv4Address { IPv4Address(rawValue: bytes.getInteger(at: Field.targetProtocolAddress.lowerBound, as: UInt32.self)) }
}

/// An Ethernet/IPv4 ARP packet as a plain value.
public struct ARPMessage: Hashable, Sendable, CustomStringConvertible {
    public var operation: ARPOperation
    public var senderHardwareAddress: MACAddress
    public var senderProtocolAddress: IPv4Address
    /// Ignored in a request (RFC 826 leaves it unset; Linux sends zero, some stacks broadcast).
    public var targetHardwareAddress: MACAddress
    public var targetProtocolAddress: IPv4Address

    public init(operation: ARPOperation, senderHardwareAddress: MACAddress, senderProtocolAddress: IPv4Address,
                targetHardwareAddress: MACAddress = .zero, targetProtocolAddress: IPv4Address) {
        self.operation = operation
        self.senderHardwareAddress = senderHardwareAddress
        self.senderProtocolAddress = senderProtocolAddress
        self.targetHardwareAddress = targetHardwareAddress
        self.targetProtocolAddress = targetProtocolAddress
    }

    /// Reads the message from a checked view.
    /// - Throws: `unsupported` when the hardware type is not Ethernet (1) or the protocol type is not
    ///   IPv4 (0x0800): this value models only the ARP an IPv4 overlay on Ethernet speaks.
    @inlinable
    public init(_ packet: ARPPacket) throws(DecodeError) {
        guard packet.hardwareType == .ethernet else {
            throw .unsupported(.arp, offset: packet.frameOffset, expected: "hardware type Ethernet (1)",
                               found: "\(packet.hardwareType.rawValue)")
        }
        guard packet.protocolType == .ipv4 else {
            throw .unsupported(.arp, offset: packet.frameOffset + ARPPacket.Field.protocolType.lowerBound,
                               expected: "protocol type IPv4 (0x0800)",
                               found: hex16(packet.protocolType.rawValue))
        }
        self.init(operation: packet.operation, senderHardwareAddress: packet.senderHardwareAddress,
                  senderProtocolAddress: packet.senderProtocolAddress,
                  targetHardwareAddress: packet.targetHardwareAddress,
                  targetProtocolAddress: packet.targetProtocolAddress)
    }

    /// Bytes this message occupies on the wire.
    public static let length = ARPPacket.length

    /// Writes the 28-byte packet at the start of `bytes`, hardware type Ethernet and protocol IPv4.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.length, "buffer too small for the ARP packet")
        bytes.setInteger(ARPHardwareType.ethernet.rawValue, at: ARPPacket.Field.hardwareType.lowerBound, as: UInt16.self)
        bytes.setInteger(EtherType.ipv4.rawValue, at: ARPPacket.Field.protocolType.lowerBound, as: UInt16.self)
        bytes.setInteger(6, at: ARPPacket.Field.hardwareAddressLength, as: UInt8.self)
        bytes.setInteger(4, at: ARPPacket.Field.protocolAddressLength, as: UInt8.self)
        bytes.setInteger(operation.rawValue, at: ARPPacket.Field.operation.lowerBound, as: UInt16.self)
        senderHardwareAddress.write(into: bytes, at: ARPPacket.Field.senderHardwareAddress.lowerBound)
        bytes.setInteger(senderProtocolAddress.rawValue, at: ARPPacket.Field.senderProtocolAddress.lowerBound, as: UInt32.self)
        targetHardwareAddress.write(into: bytes, at: ARPPacket.Field.targetHardwareAddress.lowerBound)
        bytes.setInteger(targetProtocolAddress.rawValue, at: ARPPacket.Field.targetProtocolAddress.lowerBound, as: UInt32.self)
    }

    /// tcpdump's summary: `ARP request who-has 192.0.2.2 tell 192.0.2.1`.
    public var description: String {
        switch operation {
        case .request:
            "ARP request who-has \(targetProtocolAddress) tell \(senderProtocolAddress)"
        case .reply:
            "ARP reply \(senderProtocolAddress) is-at \(senderHardwareAddress)"
        default:
            "ARP op \(operation.rawValue) \(senderProtocolAddress) (\(senderHardwareAddress)) > "
                + "\(targetProtocolAddress) (\(targetHardwareAddress))"
        }
    }
}
