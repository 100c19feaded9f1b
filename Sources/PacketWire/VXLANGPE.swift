// VXLAN Generic Protocol Extension (draft-ietf-nvo3-vxlan-gpe-12 §3.2), UDP port 4790, as Linux's
// vxlan driver speaks it on a device made with `gpe` (include/net/vxlan.h, `struct vxlanhdr_gpe`).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |R|R|Ver|I|P|B|O|       Reserved                |Next Protocol  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                VXLAN Network Identifier (VNI) |   Reserved    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Unlike VXLAN, what follows is not always Ethernet: the Next Protocol byte says what it is.

/// VXLAN-GPE's Next Protocol (draft-ietf-nvo3-vxlan-gpe §3.2; Linux `TUN_P_*`). Open to other values.
public struct VXLANGPENextProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let ipv4 = VXLANGPENextProtocol(rawValue: 1)
    public static let ipv6 = VXLANGPENextProtocol(rawValue: 2)
    public static let ethernet = VXLANGPENextProtocol(rawValue: 3)
    /// Network Service Header (RFC 8300).
    public static let nsh = VXLANGPENextProtocol(rawValue: 4)
    /// MPLS (Linux `TUN_P_MPLS_UC`).
    public static let mpls = VXLANGPENextProtocol(rawValue: 5)

    /// The EtherType Linux gives the packet after decapsulation (`tun_p_to_eth_p`); nil for a protocol it
    /// does not know, which it drops.
    public var etherType: EtherType? {
        switch self {
        case .ipv4: .ipv4
        case .ipv6: .ipv6
        case .ethernet: .transparentEthernetBridging
        case .nsh: EtherType(rawValue: 0x894F)
        case .mpls: EtherType(rawValue: 0x8847)
        default: nil
        }
    }

    public var description: String {
        let name = switch self {
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        case .ethernet: "Ethernet"
        case .nsh: "NSH"
        case .mpls: "MPLS"
        default: "unknown"
        }
        return "\(name) - \(rawValue)"
    }
}

/// A zero-copy view of a VXLAN-GPE header and the packet after it.
public struct VXLANGPEPacket {
    public enum Field {
        public static let flags = 0
        public static let reserved = 1..<3
        public static let nextProtocol = 3
        public static let vni = 4..<7
        public static let reservedAfterVNI = 7
    }
    public static let headerLength = 8
    /// IANA's port for VXLAN-GPE.
    public static let port: UInt16 = 4790
    /// Ver (2 bits): 0 is the only version; Linux drops others.
    public static let versionMask: UInt8 = 0x30
    /// I: the VNI is valid.
    public static let vniFlag: UInt8 = 0x08
    /// P: the Next Protocol field is present; Linux requires it (`vxlan_parse_gpe_proto`).
    public static let nextProtocolFlag: UInt8 = 0x04
    /// B: BUM traffic (draft-ietf-nvo3-vxlan-gpe §3.2); reserved in Linux's layout.
    public static let bumFlag: UInt8 = 0x02
    /// O: an OAM packet; Linux implements no OAM processing and drops it.
    public static let oamFlag: UInt8 = 0x01

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.vxlanGPE, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// A view made without any check (smoltcp's `new_unchecked`): the caller has already checked that
    /// the bytes of every getter it calls are there. ``init(checking:frameOffset:)`` makes every accessor safe.
    @inlinable
    public init(unchecked bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) {
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    @inlinable public var flags: UInt8 { bytes.getInteger(at: Field.flags, as: UInt8.self) }
    @inlinable public var version: UInt8 { (flags & Self.versionMask) >> 4 }
    @inlinable public var hasVNI: Bool { flags & Self.vniFlag != 0 }
    @inlinable public var hasNextProtocol: Bool { flags & Self.nextProtocolFlag != 0 }
    @inlinable public var isOAM: Bool { flags & Self.oamFlag != 0 }
    /// Bytes 1 and 2, reserved.
    @inlinable public var reserved: UInt16 { bytes.getInteger(at: Field.reserved.lowerBound, as: UInt16.self) }
    @inlinable public var nextProtocol: VXLANGPENextProtocol {
        VXLANGPENextProtocol(rawValue: bytes.getInteger(at: Field.nextProtocol, as: UInt8.self))
    }
    @inlinable public var vni: UInt32 { bytes.getInteger(at: Field.vni.lowerBound, as: UInt32.self) >> 8 }
    @inlinable public var reservedAfterVNI: UInt8 { bytes.getInteger(at: Field.reservedAfterVNI, as: UInt8.self) }
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: Self.headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + Self.headerLength }
}

/// A VXLAN-GPE header as a plain value.
public struct VXLANGPEHeader: Hashable, Sendable, CustomStringConvertible {
    public var vni: UInt32
    public var nextProtocol: VXLANGPENextProtocol
    public var isOAM: Bool

    public init(vni: UInt32, nextProtocol: VXLANGPENextProtocol, isOAM: Bool = false) {
        self.vni = vni & 0xFF_FFFF
        self.nextProtocol = nextProtocol
        self.isOAM = isOAM
    }

    /// Reads the header.
    /// - Throws: `badVersion` for a version other than 0; `badValue` when P is clear (no next protocol,
    ///   which Linux refuses).
    public init(_ packet: VXLANGPEPacket) throws(DecodeError) {
        guard packet.version == 0 else {
            throw .badVersion(.vxlanGPE, offset: packet.frameOffset, expected: 0, found: Int(packet.version))
        }
        guard packet.hasNextProtocol else {
            throw .badValue(.vxlanGPE, offset: packet.frameOffset, expected: "flags with the P bit (0x04) set",
                            found: "0x" + String(packet.flags, radix: 16))
        }
        self.init(vni: packet.vni, nextProtocol: packet.nextProtocol, isOAM: packet.isOAM)
    }

    public static let headerLength = VXLANGPEPacket.headerLength

    /// I and P, and O for an OAM packet: what Linux's `vxlan_build_gpe_hdr` sends (plus I from `vxlan_build_skb`).
    public var flags: UInt8 { VXLANGPEPacket.vniFlag | VXLANGPEPacket.nextProtocolFlag | (isOAM ? VXLANGPEPacket.oamFlag : 0) }

    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.headerLength, "buffer too small for the VXLAN-GPE header")
        bytes.setInteger(UInt32(flags) << 24 | UInt32(nextProtocol.rawValue), at: 0, as: UInt32.self)
        bytes.setInteger(vni << 8, at: 4, as: UInt32.self)
    }

    public var description: String { "VXLAN-GPE vni \(vni) next \(nextProtocol)" + (isOAM ? " oam" : "") }
}
