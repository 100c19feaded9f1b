// Linux cooked capture headers: what libpcap puts in front of a packet captured on the "any" device
// (`tcpdump -i any`), where there is no single link-layer header to keep. Defined by libpcap's
// pcap-linux.c and the tcpdump.org link-type pages (LINKTYPE_LINUX_SLL 113, LINKTYPE_LINUX_SLL2 276).
//
// Version 1 (16 bytes):
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Packet type          |      ARPHRD_ type             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Link-layer address length    |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   Link-layer address (8)      +
//  |                                                               |
//  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               |        Protocol type          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Version 2 (20 bytes):
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        Protocol type          |       Reserved (MBZ)          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                       Interface index                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         ARPHRD_ type          |  Packet type  | Address length|
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   Link-layer address (8)                      |
//  +                                                               +
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// Which way a cooked packet went, as the kernel's `skb->pkt_type` says (`PACKET_HOST` ... `PACKET_OUTGOING`,
/// include/uapi/linux/if_packet.h). Open to values nobody named yet.
public struct CookedPacketType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Addressed to this host.
    public static let host = CookedPacketType(rawValue: 0)
    public static let broadcast = CookedPacketType(rawValue: 1)
    public static let multicast = CookedPacketType(rawValue: 2)
    /// Addressed to another host, seen in promiscuous mode.
    public static let otherHost = CookedPacketType(rawValue: 3)
    /// Sent by this host.
    public static let outgoing = CookedPacketType(rawValue: 4)

    /// Whether the packet was received (anything but ``outgoing``).
    public var isIncoming: Bool { self != .outgoing }

    /// tcpdump's word: `In`, `B`, `M`, `P` or `Out`.
    public var description: String {
        switch self {
        case .host: "In"
        case .broadcast: "B"
        case .multicast: "M"
        case .otherHost: "P"
        case .outgoing: "Out"
        default: "type \(rawValue)"
        }
    }
}

/// A zero-copy view of a Linux cooked capture header (version 1 or 2) and the packet after it.
///
/// ``init(checking:version:frameOffset:)`` checks that the whole header is there; the address length is
/// reported as found (it may exceed the 8 bytes stored, as for InfiniBand) and ``address`` is cut to 8.
public struct LinuxCookedPacket {
    /// The header's layout.
    public enum Version: Int, Hashable, Sendable {
        case v1 = 1, v2 = 2
    }

    public enum Field {
        public enum V1 {
            public static let packetType = 0..<2
            public static let hardwareType = 2..<4
            public static let addressLength = 4..<6
            public static let address = 6..<14
            public static let `protocol` = 14..<16
        }
        public enum V2 {
            public static let `protocol` = 0..<2
            public static let reserved = 2..<4
            public static let interfaceIndex = 4..<8
            public static let hardwareType = 8..<10
            public static let packetType = 10
            public static let addressLength = 11
            public static let address = 12..<20
        }
    }

    /// `ARPHRD_ETHER`: the address is a MAC address.
    public static let ethernetHardwareType: UInt16 = 1

    public let bytes: UnsafeRawBufferPointer
    public let version: Version
    public let frameOffset: Int

    @inlinable
    public static func headerLength(_ version: Version) -> Int { version == .v1 ? 16 : 20 }

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, version: Version, frameOffset: Int = 0) throws(DecodeError) {
        let length = Self.headerLength(version)
        guard bytes.count >= length else {
            throw .truncated(.linuxCooked, offset: frameOffset, needed: length, available: bytes.count)
        }
        self.bytes = bytes
        self.version = version
        self.frameOffset = frameOffset
    }

    @inlinable public var headerLength: Int { Self.headerLength(version) }

    @inlinable public var packetType: CookedPacketType {
        switch version {
        case .v1: CookedPacketType(rawValue: bytes.getInteger(at: Field.V1.packetType.lowerBound, as: UInt16.self))
        case .v2: CookedPacketType(rawValue: UInt16(bytes.getInteger(at: Field.V2.packetType, as: UInt8.self)))
        }
    }

    /// The `ARPHRD_` type of the interface the packet was captured on (1 Ethernet, 772 loopback, 65534 none).
    @inlinable public var hardwareType: UInt16 {
        bytes.getInteger(at: version == .v1 ? Field.V1.hardwareType.lowerBound : Field.V2.hardwareType.lowerBound, as: UInt16.self)
    }

    /// The link-layer address length the header claims.
    @inlinable public var addressLength: Int {
        switch version {
        case .v1: Int(bytes.getInteger(at: Field.V1.addressLength.lowerBound, as: UInt16.self))
        case .v2: Int(bytes.getInteger(at: Field.V2.addressLength, as: UInt8.self))
        }
    }

    /// The source's link-layer address: the first `addressLength` of the 8 stored bytes.
    @inlinable public var address: UnsafeRawBufferPointer {
        let field = version == .v1 ? Field.V1.address : Field.V2.address
        return bytes.slice(field.lowerBound..<(field.lowerBound + min(addressLength, 8)))
    }

    /// The source MAC address, when the interface is Ethernet-like and the address has 6 bytes.
    @inlinable public var sourceMAC: MACAddress? {
        guard addressLength == 6 else { return nil }
        let start = version == .v1 ? Field.V1.address.lowerBound : Field.V2.address.lowerBound
        return MACAddress(rawValue: UInt64(bytes.getInteger(at: start, as: UInt32.self)) << 16
                          | UInt64(bytes.getInteger(at: start + 4, as: UInt16.self)))
    }

    /// The protocol of the packet after the header: an EtherType, or below 1536 one of Linux's `ETH_P_`
    /// pseudo-types (1 Novell 802.3, 4 802.2 LLC, ...).
    @inlinable public var `protocol`: EtherType {
        EtherType(rawValue: bytes.getInteger(at: version == .v1 ? Field.V1.protocol.lowerBound : Field.V2.protocol.lowerBound, as: UInt16.self))
    }

    /// Version 2's interface index (`ip link` numbers it); nil for version 1, which does not record it.
    @inlinable public var interfaceIndex: UInt32? {
        version == .v2 ? bytes.getInteger(at: Field.V2.interfaceIndex.lowerBound, as: UInt32.self) : nil
    }

    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }
}

/// A Linux cooked capture header as a plain value.
public struct LinuxCookedHeader: Hashable, Sendable, CustomStringConvertible {
    public var version: LinuxCookedPacket.Version
    public var packetType: CookedPacketType
    public var hardwareType: UInt16
    /// The source link-layer address as captured (at most 8 bytes).
    public var address: [UInt8]
    /// The length the header claims, which may exceed `address.count`.
    public var addressLength: Int
    public var `protocol`: EtherType
    /// Version 2 only.
    public var interfaceIndex: UInt32?

    public init(version: LinuxCookedPacket.Version, packetType: CookedPacketType, hardwareType: UInt16 = 1,
                address: [UInt8], addressLength: Int? = nil, protocol: EtherType, interfaceIndex: UInt32? = nil) {
        self.version = version
        self.packetType = packetType
        self.hardwareType = hardwareType
        self.address = Array(address.prefix(8))
        self.addressLength = addressLength ?? address.count
        self.protocol = `protocol`
        self.interfaceIndex = interfaceIndex
    }

    /// Reads the header. A version 2 header's reserved field is not checked: libpcap writes zero and
    /// readers ignore it.
    public init(_ packet: LinuxCookedPacket) {
        self.init(version: packet.version, packetType: packet.packetType, hardwareType: packet.hardwareType,
                  address: Array(packet.address), addressLength: packet.addressLength, protocol: packet.protocol,
                  interfaceIndex: packet.interfaceIndex)
    }

    public var headerLength: Int { LinuxCookedPacket.headerLength(version) }

    /// Writes the header at the start of `bytes` (at least ``headerLength`` bytes).
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= headerLength, "buffer too small for the cooked header")
        let addressStart: Int
        switch version {
        case .v1:
            bytes.setInteger(packetType.rawValue, at: 0, as: UInt16.self)
            bytes.setInteger(hardwareType, at: 2, as: UInt16.self)
            bytes.setInteger(UInt16(truncatingIfNeeded: addressLength), at: 4, as: UInt16.self)
            bytes.setInteger(`protocol`.rawValue, at: 14, as: UInt16.self)
            addressStart = 6
        case .v2:
            bytes.setInteger(`protocol`.rawValue, at: 0, as: UInt16.self)
            bytes.setInteger(UInt16(0), at: 2, as: UInt16.self)
            bytes.setInteger(interfaceIndex ?? 0, at: 4, as: UInt32.self)
            bytes.setInteger(hardwareType, at: 8, as: UInt16.self)
            bytes.setInteger(UInt8(truncatingIfNeeded: packetType.rawValue), at: 10, as: UInt8.self)
            bytes.setInteger(UInt8(truncatingIfNeeded: addressLength), at: 11, as: UInt8.self)
            addressStart = 12
        }
        for index in 0..<8 {
            bytes.setInteger(index < address.count ? address[index] : 0, at: addressStart + index, as: UInt8.self)
        }
    }

    /// `Out 02:00:00:00:0a:01 ethertype IPv4`, with `ifindex N` for version 2, as tcpdump prints it.
    public var description: String {
        let source = address.count == 6
            ? MACAddress(address[0], address[1], address[2], address[3], address[4], address[5]).description
            : address.map { String($0, radix: 16) }.joined(separator: ":")
        return (interfaceIndex.map { "ifindex \($0) " } ?? "") + "\(packetType) \(source) ethertype \(`protocol`)"
    }
}
