// VXLAN (RFC 7348 §5) with the Group Based Policy extension (draft-smith-vxlan-group-policy §2.1).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |G|R|R|R|I|R|R|R|R|D|R|R|A|R|R|R|        Group Policy ID        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          VXLAN Network Identifier (VNI)       |   Reserved    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Without GBP, bytes 1-3 are reserved (sent as zero, ignored on receipt).

/// A zero-copy view of a VXLAN header and the inner Ethernet frame after it.
public struct VXLANPacket {
    public enum Field {
        public static let flags = 0
        public static let groupPolicyFlags = 1
        public static let groupPolicyID = 2..<4
        public static let vni = 4..<7
    }
    public static let headerLength = 8
    /// RFC 7348 §5: the I flag MUST be set for a valid VNI.
    public static let vniFlag: UInt8 = 0x08
    /// draft-smith-vxlan-group-policy: G, a group policy ID is present.
    public static let groupPolicyFlag: UInt8 = 0x80
    /// GBP D bit (byte 1): the egress VTEP must not learn the source address.
    public static let dontLearnFlag: UInt8 = 0x40
    /// GBP A bit (byte 1): policy has already been applied. Linux and scapy use 0x08.
    public static let policyAppliedFlag: UInt8 = 0x08

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.vxlan, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
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
    @inlinable public var hasVNI: Bool { flags & Self.vniFlag != 0 }
    @inlinable public var hasGroupPolicy: Bool { flags & Self.groupPolicyFlag != 0 }
    @inlinable public var groupPolicyFlags: UInt8 { bytes.getInteger(at: Field.groupPolicyFlags, as: UInt8.self) }
    @inlinable public var groupPolicyID: UInt16 { bytes.getInteger(at: Field.groupPolicyID.lowerBound, as: UInt16.self) }
    /// The 24-bit VXLAN network identifier.
    @inlinable public var vni: UInt32 { bytes.getInteger(at: Field.vni.lowerBound, as: UInt32.self) >> 8 }
    /// The inner Ethernet frame.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: Self.headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + Self.headerLength }
}

/// The Group Based Policy fields of a VXLAN-GBP header.
public struct GroupPolicy: Hashable, Sendable, CustomStringConvertible {
    /// D: don't learn the inner source address.
    public var dontLearn: Bool
    /// A: policy was already applied upstream.
    public var policyApplied: Bool
    /// The source's group (Linux carries it in the low 16 bits of the packet mark).
    public var id: UInt16

    @inlinable  // built per packet by the encapsulator and decapsulator
    public init(id: UInt16, dontLearn: Bool = false, policyApplied: Bool = false) {
        self.id = id
        self.dontLearn = dontLearn
        self.policyApplied = policyApplied
    }

    public var description: String {
        "gbp \(id)\(dontLearn ? " D" : "")\(policyApplied ? " A" : "")"
    }
}

/// A VXLAN header as a plain value.
public struct VXLANHeader: Hashable, Sendable, CustomStringConvertible {
    /// The 24-bit network identifier.
    public var vni: UInt32
    /// Present when the G flag is set (VXLAN-GBP).
    public var groupPolicy: GroupPolicy?

    @inlinable  // built per packet by the encapsulator and decapsulator
    public init(vni: UInt32, groupPolicy: GroupPolicy? = nil) {
        self.vni = vni & 0xFF_FFFF
        self.groupPolicy = groupPolicy
    }

    /// Reads the header; reserved bits are ignored as RFC 7348 §5 requires.
    /// - Throws: `badValue` when the I flag is clear: RFC 7348 §5 makes it mandatory.
    @inlinable
    public init(_ packet: VXLANPacket) throws(DecodeError) {
        guard packet.hasVNI else {
            throw .badValue(.vxlan, offset: packet.frameOffset, expected: "flags with the I bit (0x08) set",
                            found: "0x" + String(packet.flags, radix: 16))
        }
        var groupPolicy: GroupPolicy?
        if packet.hasGroupPolicy {
            let gbpFlags = packet.groupPolicyFlags
            groupPolicy = GroupPolicy(id: packet.groupPolicyID,
                                      dontLearn: gbpFlags & VXLANPacket.dontLearnFlag != 0,
                                      policyApplied: gbpFlags & VXLANPacket.policyAppliedFlag != 0)
        }
        self.init(vni: packet.vni, groupPolicy: groupPolicy)
    }

    public static let headerLength = VXLANPacket.headerLength

    /// The flags byte as sent: I, plus G when a group policy is carried.
    @inlinable
    public var flags: UInt8 { VXLANPacket.vniFlag | (groupPolicy == nil ? 0 : VXLANPacket.groupPolicyFlag) }

    /// Writes the 8-byte header at the start of `bytes`.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.headerLength, "buffer too small for the VXLAN header")
        var first = UInt32(flags) << 24
        if let groupPolicy {
            let gbpFlags = (groupPolicy.dontLearn ? VXLANPacket.dontLearnFlag : 0)
                | (groupPolicy.policyApplied ? VXLANPacket.policyAppliedFlag : 0)
            first |= UInt32(gbpFlags) << 16 | UInt32(groupPolicy.id)
        }
        bytes.setInteger(first, at: VXLANPacket.Field.flags, as: UInt32.self)
        bytes.setInteger(vni << 8, at: VXLANPacket.Field.vni.lowerBound, as: UInt32.self)
    }

    public var description: String {
        "VXLAN vni \(vni)" + (groupPolicy.map { " \($0)" } ?? "")
    }
}
