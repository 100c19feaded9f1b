// Geneve: Generic Network Virtualization Encapsulation (RFC 8926 §3.4), UDP port 6081.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        Virtual Network Identifier (VNI)       |    Reserved   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Variable-Length Options                    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// An option (RFC 8926 §3.5):
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Option Class         |C|    Type     |R|R|R| Length  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Variable-Length Option Data                   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Opt Len and an option's Length count 4-byte words, not including the fixed header / option header.

/// A zero-copy view of a Geneve header, its options and the packet after them.
///
/// ``init(checking:frameOffset:)`` checks that the fixed header and the options Opt Len announces are
/// there. Options are walked by ``GeneveHeader/init(_:)``, which checks that each fits.
public struct GenevePacket {
    public enum Field {
        /// Version (2 bits) and Opt Len (6 bits).
        public static let versionAndOptionsLength = 0
        /// O (0x80), C (0x40) and 6 reserved bits.
        public static let flags = 1
        public static let protocolType = 2..<4
        public static let vni = 4..<7
        public static let reserved = 7
        public static let options = 8
    }
    public static let headerLength = 8
    /// IANA's port for Geneve (RFC 8926 §3.3).
    public static let port: UInt16 = 6081
    /// O: an OAM (control) packet.
    public static let oamFlag: UInt8 = 0x80
    /// C: at least one option with the critical bit set is present (RFC 8926 §3.4).
    public static let criticalFlag: UInt8 = 0x40

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.geneve, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
        }
        let total = Self.headerLength + Int(bytes.getInteger(at: Field.versionAndOptionsLength, as: UInt8.self) & 0x3F) * 4
        guard total <= bytes.count else {
            throw .truncated(.geneve, offset: frameOffset + Self.headerLength, needed: total, available: bytes.count)
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

    @inlinable public var version: UInt8 { bytes.getInteger(at: Field.versionAndOptionsLength, as: UInt8.self) >> 6 }
    /// The options' length in bytes (Opt Len × 4).
    @inlinable public var optionsLength: Int { Int(bytes.getInteger(at: Field.versionAndOptionsLength, as: UInt8.self) & 0x3F) * 4 }
    @inlinable public var flags: UInt8 { bytes.getInteger(at: Field.flags, as: UInt8.self) }
    @inlinable public var isOAM: Bool { flags & Self.oamFlag != 0 }
    @inlinable public var hasCriticalOptions: Bool { flags & Self.criticalFlag != 0 }
    /// The 6 reserved bits after O and C.
    @inlinable public var reservedFlags: UInt8 { flags & 0x3F }
    /// The payload's EtherType: 0x6558 (Transparent Ethernet Bridging) for an Ethernet frame.
    @inlinable public var protocolType: EtherType { EtherType(rawValue: bytes.getInteger(at: Field.protocolType.lowerBound, as: UInt16.self)) }
    @inlinable public var vni: UInt32 { bytes.getInteger(at: Field.vni.lowerBound, as: UInt32.self) >> 8 }
    @inlinable public var reserved: UInt8 { bytes.getInteger(at: Field.reserved, as: UInt8.self) }
    @inlinable public var options: UnsafeRawBufferPointer { bytes.slice(Self.headerLength..<(Self.headerLength + optionsLength)) }
    @inlinable public var headerAndOptionsLength: Int { Self.headerLength + optionsLength }
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: headerAndOptionsLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerAndOptionsLength }
}

extension EtherType {
    /// Transparent Ethernet Bridging: an Ethernet frame follows (Geneve, NVGRE, GRETAP).
    public static let transparentEthernetBridging = EtherType(rawValue: 0x6558)
}

/// One Geneve option (RFC 8926 §3.5).
public struct GeneveOption: Hashable, Sendable, CustomStringConvertible {
    /// Who defined the option (IANA's Geneve Option Class registry; 0x0100-0x01ff are open for experiments).
    public var optionClass: UInt16
    /// The type within the class; its high bit is the critical bit.
    public var type: UInt8
    /// The option's data, a multiple of 4 bytes, at most 124.
    public var data: [UInt8]

    public init(optionClass: UInt16, type: UInt8, data: [UInt8]) {
        self.optionClass = optionClass
        self.type = type
        self.data = data
    }

    /// C: a receiver that does not understand the option must drop the packet (RFC 8926 §3.5.1).
    public var isCritical: Bool { type & 0x80 != 0 }
    public var length: Int { 4 + data.count }

    public var description: String {
        let hex = data.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        return "class 0x\(String(optionClass, radix: 16)) type 0x\(String(type, radix: 16))\(isCritical ? " (critical)" : "") len \(data.count) data \(hex)"
    }
}

/// A Geneve header as a plain value.
public struct GeneveHeader: Hashable, Sendable, CustomStringConvertible {
    public var vni: UInt32
    /// The payload's type: ``EtherType/transparentEthernetBridging`` for an Ethernet frame, or IPv4/IPv6.
    public var protocolType: EtherType
    public var isOAM: Bool
    public var options: [GeneveOption]
    /// The C bit as sent; on emit it is set when any option is critical, as RFC 8926 §3.4 requires.
    public var critical: Bool

    public init(vni: UInt32, protocolType: EtherType = .transparentEthernetBridging, isOAM: Bool = false,
                options: [GeneveOption] = [], critical: Bool? = nil) {
        self.vni = vni & 0xFF_FFFF
        self.protocolType = protocolType
        self.isOAM = isOAM
        self.options = options
        self.critical = critical ?? options.contains { $0.isCritical }
    }

    /// Reads the header and walks its options.
    /// - Throws: `badVersion` for a version other than 0 (RFC 8926 §3.4: a receiver MUST drop it);
    ///   `badLength` when an option runs past the options area or its data is not a multiple of 4.
    public init(_ packet: GenevePacket) throws(DecodeError) {
        guard packet.version == 0 else {
            throw .badVersion(.geneve, offset: packet.frameOffset, expected: 0, found: Int(packet.version))
        }
        var options: [GeneveOption] = []
        let area = packet.options
        var offset = 0
        while offset < area.count {
            guard area.count - offset >= 4 else {
                throw .truncated(.geneve, offset: packet.frameOffset + GenevePacket.headerLength + offset,
                                 needed: 4, available: area.count - offset)
            }
            let dataLength = Int(area.getInteger(at: offset + 3, as: UInt8.self) & 0x1F) * 4
            guard offset + 4 + dataLength <= area.count else {
                throw .badLength(.geneve, offset: packet.frameOffset + GenevePacket.headerLength + offset + 3,
                                 expected: "an option within the \(area.count) bytes of options", found: dataLength)
            }
            options.append(GeneveOption(optionClass: area.getInteger(at: offset, as: UInt16.self),
                                        type: area.getInteger(at: offset + 2, as: UInt8.self),
                                        data: Array(area.slice((offset + 4)..<(offset + 4 + dataLength)))))
            offset += 4 + dataLength
        }
        self.init(vni: packet.vni, protocolType: packet.protocolType, isOAM: packet.isOAM, options: options,
                  critical: packet.hasCriticalOptions)
    }

    /// The fixed header and the options.
    public var headerLength: Int { GenevePacket.headerLength + options.reduce(0) { $0 + $1.length } }

    /// Writes the header and options at the start of `bytes` (at least ``headerLength`` bytes). Option
    /// data is padded with zeros to a multiple of 4 and cut at 124 bytes, the most Length can say.
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= headerLength, "buffer too small for the Geneve header")
        let optionWords = (headerLength - GenevePacket.headerLength) / 4
        bytes.setInteger(UInt8(truncatingIfNeeded: optionWords & 0x3F), at: 0, as: UInt8.self)
        bytes.setInteger((isOAM ? GenevePacket.oamFlag : 0) | (critical ? GenevePacket.criticalFlag : 0), at: 1, as: UInt8.self)
        bytes.setInteger(protocolType.rawValue, at: 2, as: UInt16.self)
        bytes.setInteger(vni << 8, at: 4, as: UInt32.self)
        var offset = GenevePacket.headerLength
        for option in options {
            let words = min((option.data.count + 3) / 4, 31)
            bytes.setInteger(option.optionClass, at: offset, as: UInt16.self)
            bytes.setInteger(option.type, at: offset + 2, as: UInt8.self)
            bytes.setInteger(UInt8(words), at: offset + 3, as: UInt8.self)
            for index in 0..<(words * 4) {
                bytes.setInteger(index < option.data.count ? option.data[index] : 0, at: offset + 4 + index, as: UInt8.self)
            }
            offset += 4 + words * 4
        }
    }

    public var description: String {
        "Geneve vni \(vni) proto \(protocolType)" + (isOAM ? " oam" : "") + (critical ? " critical" : "")
            + (options.isEmpty ? "" : " options [" + options.map(\.description).joined(separator: ", ") + "]")
    }
}
