// Network Service Header (RFC 8300 §2), carried by VXLAN-GPE (next protocol 4) among others.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Ver|O|U|    TTL    |   Length  |U|U|U|U|MD Type| Next Protocol |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Service Path Identifier (SPI)        | Service Index |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  Context Headers (MD type 1: 16 bytes) ...    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Length counts 4-byte words of the whole NSH header. Next Protocol uses the VXLAN-GPE numbers
// (1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS).

/// A zero-copy view of an NSH header and the packet after it.
public struct NSHPacket {
    public enum Field {
        public static let versionFlagsTTLLength = 0..<2
        public static let mdType = 2
        public static let nextProtocol = 3
        public static let servicePath = 4..<8
    }
    public static let minimumHeaderLength = 8

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.minimumHeaderLength else {
            throw .truncated(.nsh, offset: frameOffset, needed: Self.minimumHeaderLength, available: bytes.count)
        }
        let length = Int(bytes.getInteger(at: 1, as: UInt8.self) & 0x3F) * 4
        guard length >= Self.minimumHeaderLength else {
            throw .badLength(.nsh, offset: frameOffset + 1, expected: "a header of at least 8 bytes", found: length)
        }
        guard length <= bytes.count else {
            throw .truncated(.nsh, offset: frameOffset + 1, needed: length, available: bytes.count)
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    @inlinable public var version: UInt8 { bytes.getInteger(at: 0, as: UInt8.self) >> 6 }
    @inlinable public var isOAM: Bool { bytes.getInteger(at: 0, as: UInt8.self) & 0x20 != 0 }
    @inlinable public var timeToLive: UInt8 { UInt8(truncatingIfNeeded: (bytes.getInteger(at: 0, as: UInt16.self) >> 6) & 0x3F) }
    @inlinable public var headerLength: Int { Int(bytes.getInteger(at: 1, as: UInt8.self) & 0x3F) * 4 }
    @inlinable public var metadataType: UInt8 { bytes.getInteger(at: Field.mdType, as: UInt8.self) & 0x0F }
    @inlinable public var nextProtocol: VXLANGPENextProtocol {
        VXLANGPENextProtocol(rawValue: bytes.getInteger(at: Field.nextProtocol, as: UInt8.self))
    }
    @inlinable public var servicePathIdentifier: UInt32 { bytes.getInteger(at: 4, as: UInt32.self) >> 8 }
    @inlinable public var serviceIndex: UInt8 { bytes.getInteger(at: 7, as: UInt8.self) }
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }
}

/// An NSH header's base and service path fields as a plain value (context headers are not kept).
public struct NSHHeader: Hashable, Sendable, CustomStringConvertible {
    public var timeToLive: UInt8
    public var metadataType: UInt8
    public var nextProtocol: VXLANGPENextProtocol
    public var servicePathIdentifier: UInt32
    public var serviceIndex: UInt8
    /// The whole header's length in bytes, context headers included.
    public var headerLength: Int

    /// - Throws: `badVersion` for a version other than 0 (RFC 8300 §2.2).
    public init(_ packet: NSHPacket) throws(DecodeError) {
        guard packet.version == 0 else {
            throw .badVersion(.nsh, offset: packet.frameOffset, expected: 0, found: Int(packet.version))
        }
        timeToLive = packet.timeToLive
        metadataType = packet.metadataType
        nextProtocol = packet.nextProtocol
        servicePathIdentifier = packet.servicePathIdentifier
        serviceIndex = packet.serviceIndex
        headerLength = packet.headerLength
    }

    public var description: String {
        "NSH spi \(servicePathIdentifier) si \(serviceIndex) md type \(metadataType) next \(nextProtocol)"
    }
}
