// ICMP for IPv6 (RFC 4443).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Type      |     Code      |           Checksum            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           Identifier          |        Sequence Number        |  echo request (128) / reply (129)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                              MTU                              |  packet too big (2)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                            Unused                             |  destination unreachable (1),
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  time exceeded (3)
//  |  echo: data ...
//  |  errors: as much of the invoking packet as fits the minimum IPv6 MTU (RFC 4443 §2.4 (c))
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 4443 §2.3: the checksum covers the IPv6 pseudo-header (RFC 8200 §8.1, next header 58) and the whole
// message, and it is mandatory.

/// An ICMPv6 message type (IANA "ICMPv6 Parameters"). Open to values nobody named yet.
public struct ICMPv6Type: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let destinationUnreachable = ICMPv6Type(rawValue: 1)
    public static let packetTooBig = ICMPv6Type(rawValue: 2)
    public static let timeExceeded = ICMPv6Type(rawValue: 3)
    public static let parameterProblem = ICMPv6Type(rawValue: 4)
    public static let echoRequest = ICMPv6Type(rawValue: 128)
    public static let echoReply = ICMPv6Type(rawValue: 129)
    /// Multicast Listener Discovery (RFC 2710, RFC 3810).
    public static let multicastListenerQuery = ICMPv6Type(rawValue: 130)
    public static let multicastListenerReport = ICMPv6Type(rawValue: 131)
    public static let multicastListenerDone = ICMPv6Type(rawValue: 132)
    /// Neighbor Discovery (RFC 4861 §4).
    public static let routerSolicitation = ICMPv6Type(rawValue: 133)
    public static let routerAdvertisement = ICMPv6Type(rawValue: 134)
    public static let neighborSolicitation = ICMPv6Type(rawValue: 135)
    public static let neighborAdvertisement = ICMPv6Type(rawValue: 136)
    public static let redirect = ICMPv6Type(rawValue: 137)
    public static let multicastListenerReportV2 = ICMPv6Type(rawValue: 143)

    /// RFC 4443 §2.1: types 0-127 are error messages, which quote the packet that caused them.
    @inlinable public var isError: Bool { rawValue < 128 }

    public var name: String {
        switch self {
        case .destinationUnreachable: "destination unreachable"
        case .packetTooBig: "packet too big"
        case .timeExceeded: "time exceeded"
        case .parameterProblem: "parameter problem"
        case .echoRequest: "echo request"
        case .echoReply: "echo reply"
        case .multicastListenerQuery: "multicast listener query"
        case .multicastListenerReport: "multicast listener report"
        case .multicastListenerDone: "multicast listener done"
        case .routerSolicitation: "router solicitation"
        case .routerAdvertisement: "router advertisement"
        case .neighborSolicitation: "neighbor solicitation"
        case .neighborAdvertisement: "neighbor advertisement"
        case .redirect: "redirect"
        case .multicastListenerReportV2: "multicast listener report v2"
        default: "unknown"
        }
    }

    public var description: String { "\(name) - \(rawValue)" }
}

/// The code of a destination unreachable message (RFC 4443 §3.1). Open to values nobody named yet.
public struct ICMPv6UnreachableCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noRoute = ICMPv6UnreachableCode(rawValue: 0)
    public static let administrativelyProhibited = ICMPv6UnreachableCode(rawValue: 1)
    public static let beyondScopeOfSource = ICMPv6UnreachableCode(rawValue: 2)
    public static let addressUnreachable = ICMPv6UnreachableCode(rawValue: 3)
    public static let portUnreachable = ICMPv6UnreachableCode(rawValue: 4)
    public static let sourceAddressFailedPolicy = ICMPv6UnreachableCode(rawValue: 5)
    public static let rejectRoute = ICMPv6UnreachableCode(rawValue: 6)

    public var name: String {
        switch self {
        case .noRoute: "no route"
        case .administrativelyProhibited: "administratively prohibited"
        case .beyondScopeOfSource: "beyond scope of source address"
        case .addressUnreachable: "address unreachable"
        case .portUnreachable: "port unreachable"
        case .sourceAddressFailedPolicy: "source address failed policy"
        case .rejectRoute: "reject route"
        default: "unknown"
        }
    }

    public var description: String { "\(name) - \(rawValue)" }
}

/// The code of a time exceeded message (RFC 4443 §3.3). Open to values nobody named yet.
public struct ICMPv6TimeExceededCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A router decremented the hop limit to zero.
    public static let hopLimitExceeded = ICMPv6TimeExceededCode(rawValue: 0)
    public static let fragmentReassemblyTimeExceeded = ICMPv6TimeExceededCode(rawValue: 1)

    public var name: String {
        switch self {
        case .hopLimitExceeded: "hop limit exceeded in transit"
        case .fragmentReassemblyTimeExceeded: "fragment reassembly time exceeded"
        default: "unknown"
        }
    }

    public var description: String { "\(name) - \(rawValue)" }
}

/// A zero-copy view of an ICMPv6 message: the 8-byte header and what follows it.
///
/// ``init(checking:frameOffset:)`` checks that the header is present; after it succeeds every accessor
/// is in bounds. Make the view over exactly the upper-layer bytes: the checksum covers all of them.
public struct ICMPv6Message {
    public enum Field {
        public static let type = 0
        public static let code = 1
        public static let checksum = 2..<4
        /// Type-specific: echo identifier and sequence number, the MTU, or unused.
        public static let restOfHeader = 4..<8
        public static let identifier = 4..<6
        public static let sequenceNumber = 6..<8
        public static let mtu = 4..<8
    }
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.icmpv6, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// A view made without any check (smoltcp's `new_unchecked`): the caller has already checked that
    /// the bytes of every getter it calls are there. For hot paths and lenient readers that check lengths
    /// themselves; ``init(checking:frameOffset:)`` is the one that makes every accessor safe.
    @inlinable
    public init(unchecked bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) {
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    @inlinable public var type: ICMPv6Type { ICMPv6Type(rawValue: bytes.getInteger(at: Field.type, as: UInt8.self)) }
    @inlinable public var code: UInt8 { bytes.getInteger(at: Field.code, as: UInt8.self) }
    @inlinable public var checksum: UInt16 { bytes.getInteger(at: Field.checksum.lowerBound, as: UInt16.self) }
    /// Bytes 4-7 as one word, whatever the type makes of them.
    @inlinable public var restOfHeader: UInt32 { bytes.getInteger(at: Field.restOfHeader.lowerBound, as: UInt32.self) }
    /// Echo request/reply (RFC 4443 §4): the identifier (bytes 4-5).
    @inlinable public var identifier: UInt16 { bytes.getInteger(at: Field.identifier.lowerBound, as: UInt16.self) }
    /// Echo request/reply: the sequence number (bytes 6-7).
    @inlinable public var sequenceNumber: UInt16 { bytes.getInteger(at: Field.sequenceNumber.lowerBound, as: UInt16.self) }
    /// Packet too big (RFC 4443 §3.2): the MTU of the next-hop link (bytes 4-7).
    @inlinable public var mtu: UInt32 { bytes.getInteger(at: Field.mtu.lowerBound, as: UInt32.self) }
    /// Everything after the 8-byte header: echo data, the quoted packet of an error, or an ND body.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: Self.headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + Self.headerLength }

    /// For an error message (types below 128), the quoted start of the packet that caused it; nil for
    /// informational messages. Decode it with ``payloadOffset`` as its frame offset.
    @inlinable
    public var invokingPacket: UnsafeRawBufferPointer? { type.isError ? payload : nil }

    /// For an error message, the quoted packet as a lenient view; nil for informational messages.
    /// - Throws: what ``PartialIPv6Packet/init(_:frameOffset:)`` throws for a quote no cut explains.
    @inlinable
    public func invokingIPv6Packet() throws(DecodeError) -> PartialIPv6Packet? {
        guard type.isError else { return nil }
        return try PartialIPv6Packet(payload, frameOffset: payloadOffset)
    }

    /// RFC 4443 §2.3: the message sums to all ones with its pseudo-header (an `.ipv6` one).
    @inlinable
    public func checksumIsValid(_ pseudoHeader: PseudoHeader) -> Bool {
        pseudoHeader.checksum(of: bytes, protocol: .icmpv6) == 0
    }

    /// The checksum the message should carry under `pseudoHeader`.
    @inlinable
    public func expectedChecksum(_ pseudoHeader: PseudoHeader) -> UInt16 {
        var state = InternetChecksum()
        pseudoHeader.add(to: &state, protocol: .icmpv6, upperLength: bytes.count)
        state.add(bytes.slice(0..<Field.checksum.lowerBound))
        state.add(bytes.dropFirst(count: Field.checksum.upperBound))
        return state.checksum
    }
}

/// A zero-copy, writable view of an ICMPv6 message: ``ICMPv6Message``'s getters, a setter for every
/// field, ``fillChecksum(_:)``, and the rewrites NAT does, with RFC 1624 updates.
///
/// After ``init(checking:frameOffset:)`` (8 bytes present) no getter or setter reaches outside ``bytes``.
public struct MutableICMPv6Message {
    public typealias Field = ICMPv6Message.Field

    public let bytes: UnsafeMutableRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `truncated` when fewer than 8 bytes are present.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        _ = try ICMPv6Message(checking: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// Over at least the 8 header bytes (the NAT rewrites inside an IP view).
    @inlinable
    init(header bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
        self.frameOffset = 0
    }

    /// The same bytes, read-only.
    @inlinable
    public var readOnly: ICMPv6Message {
        ICMPv6Message(unchecked: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
    }

    @inlinable public var type: ICMPv6Type {
        get { readOnly.type }
        nonmutating set { bytes.setInteger(newValue.rawValue, at: Field.type, as: UInt8.self) }
    }

    @inlinable public var code: UInt8 {
        get { readOnly.code }
        nonmutating set { bytes.setInteger(newValue, at: Field.code, as: UInt8.self) }
    }

    @inlinable public var checksum: UInt16 {
        get { readOnly.checksum }
        nonmutating set { bytes.setInteger(newValue, at: Field.checksum.lowerBound, as: UInt16.self) }
    }

    /// Bytes 4-7 as one word.
    @inlinable public var restOfHeader: UInt32 {
        get { readOnly.restOfHeader }
        nonmutating set { bytes.setInteger(newValue, at: Field.restOfHeader.lowerBound, as: UInt32.self) }
    }

    /// Echo request/reply (RFC 4443 §4): the identifier (bytes 4-5).
    @inlinable public var identifier: UInt16 {
        get { readOnly.identifier }
        nonmutating set { bytes.setInteger(newValue, at: Field.identifier.lowerBound, as: UInt16.self) }
    }

    /// Echo request/reply: the sequence number (bytes 6-7).
    @inlinable public var sequenceNumber: UInt16 {
        get { readOnly.sequenceNumber }
        nonmutating set { bytes.setInteger(newValue, at: Field.sequenceNumber.lowerBound, as: UInt16.self) }
    }

    /// Packet too big (RFC 4443 §3.2): the MTU (bytes 4-7).
    @inlinable public var mtu: UInt32 {
        get { readOnly.mtu }
        nonmutating set { bytes.setInteger(newValue, at: Field.mtu.lowerBound, as: UInt32.self) }
    }

    /// Everything after the 8-byte header, writable.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.dropFirst(count: ICMPv6Message.headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + ICMPv6Message.headerLength }

    @inlinable
    public func checksumIsValid(_ pseudoHeader: PseudoHeader) -> Bool { readOnly.checksumIsValid(pseudoHeader) }

    /// Computes the checksum over `pseudoHeader` (an `.ipv6` one, RFC 4443 §2.3) and the whole message
    /// and writes it.
    @inlinable
    public func fillChecksum(_ pseudoHeader: PseudoHeader) {
        checksum = 0
        checksum = pseudoHeader.checksum(of: UnsafeRawBufferPointer(bytes), protocol: .icmpv6)
    }

    /// Sets the echo identifier and patches the checksum by RFC 1624 (Linux `icmpv6_manip_pkt`).
    @inlinable
    public func rewriteIdentifier(_ identifier: UInt16) {
        checksum = InternetChecksum.updated(checksum, replacing: self.identifier, with: identifier)
        self.identifier = identifier
    }

    /// Patches the checksum for a pseudo-header address that changed from `old` to `new` (the IPv6
    /// header's address is the caller's to write): Linux's `inet_proto_csum_replace16`.
    @inlinable
    public func updateChecksum(replacingAddress old: IPv6Address, with new: IPv6Address) {
        checksum = InternetChecksum.updated(checksum, replacing: old, with: new)
    }
}

/// An ICMPv6 header as a plain value; the data after it is the payload.
public struct ICMPv6Header: Hashable, Sendable, CustomStringConvertible {
    /// What the message is, with the fields of its type.
    public enum Kind: Hashable, Sendable {
        /// Type 1 (RFC 4443 §3.1). Bytes 4-7 are unused: sent as zero and ignored.
        case destinationUnreachable(ICMPv6UnreachableCode)
        /// Type 2 (RFC 4443 §3.2). The code is sent as zero and ignored on receipt.
        case packetTooBig(mtu: UInt32)
        /// Type 3 (RFC 4443 §3.3). Bytes 4-7 are unused: sent as zero and ignored.
        case timeExceeded(ICMPv6TimeExceededCode)
        /// Type 128 (RFC 4443 §4.1).
        case echoRequest(identifier: UInt16, sequenceNumber: UInt16)
        /// Type 129 (RFC 4443 §4.2).
        case echoReply(identifier: UInt16, sequenceNumber: UInt16)
        /// Any other type (parameter problem, neighbor discovery, MLD, ...), with bytes 4-7 as they were.
        case other(type: ICMPv6Type, code: UInt8, restOfHeader: UInt32)
    }

    public var kind: Kind
    /// Bytes after the 8-byte header; the checksum covers them.
    public var payloadLength: Int

    public init(_ kind: Kind, payloadLength: Int = 0) {
        self.kind = kind
        self.payloadLength = payloadLength
    }

    /// Reads the header from a checked view. The checksum, which RFC 4443 §2.3 makes mandatory, is
    /// verified when `pseudoHeader` is given, as for UDP and TCP.
    /// - Parameter pseudoHeader: the `.ipv6` pseudo-header of the packet that carried the message.
    /// - Throws: `badChecksum` at the checksum field.
    @inlinable
    public init(_ message: ICMPv6Message, verifyingWith pseudoHeader: PseudoHeader? = nil) throws(DecodeError) {
        if let pseudoHeader, !message.checksumIsValid(pseudoHeader) {
            throw .badChecksum(.icmpv6, offset: message.frameOffset + ICMPv6Message.Field.checksum.lowerBound,
                               expected: message.expectedChecksum(pseudoHeader), found: message.checksum)
        }
        let kind: Kind = switch message.type {
        case .destinationUnreachable:
            .destinationUnreachable(ICMPv6UnreachableCode(rawValue: message.code))
        case .packetTooBig:
            .packetTooBig(mtu: message.mtu)
        case .timeExceeded:
            .timeExceeded(ICMPv6TimeExceededCode(rawValue: message.code))
        case .echoRequest where message.code == 0:
            .echoRequest(identifier: message.identifier, sequenceNumber: message.sequenceNumber)
        case .echoReply where message.code == 0:
            .echoReply(identifier: message.identifier, sequenceNumber: message.sequenceNumber)
        default:
            .other(type: message.type, code: message.code, restOfHeader: message.restOfHeader)
        }
        self.init(kind, payloadLength: message.bytes.count - ICMPv6Message.headerLength)
    }

    public static let headerLength = ICMPv6Message.headerLength
    /// Header and payload: what the checksum covers.
    @inlinable public var length: Int { Self.headerLength + payloadLength }

    @inlinable
    public var type: ICMPv6Type {
        switch kind {
        case .destinationUnreachable: .destinationUnreachable
        case .packetTooBig: .packetTooBig
        case .timeExceeded: .timeExceeded
        case .echoRequest: .echoRequest
        case .echoReply: .echoReply
        case .other(let type, _, _): type
        }
    }

    @inlinable
    public var code: UInt8 {
        switch kind {
        case .destinationUnreachable(let code): code.rawValue
        case .timeExceeded(let code): code.rawValue
        case .packetTooBig, .echoRequest, .echoReply: 0
        case .other(_, let code, _): code
        }
    }

    /// Bytes 4-7 as they go on the wire.
    @inlinable
    public var restOfHeader: UInt32 {
        switch kind {
        case .destinationUnreachable, .timeExceeded: 0
        case .packetTooBig(let mtu): mtu
        case .echoRequest(let identifier, let sequenceNumber), .echoReply(let identifier, let sequenceNumber):
            UInt32(identifier) << 16 | UInt32(sequenceNumber)
        case .other(_, _, let restOfHeader): restOfHeader
        }
    }

    /// Writes the header at the start of `bytes`, whose next ``payloadLength`` bytes must already hold the
    /// payload, and fills the checksum over `pseudoHeader` (an `.ipv6` one), header and payload.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer, checksum pseudoHeader: PseudoHeader) {
        precondition(bytes.count >= length, "buffer too small for the ICMPv6 message")
        typealias Field = ICMPv6Message.Field
        bytes.setInteger(type.rawValue, at: Field.type, as: UInt8.self)
        bytes.setInteger(code, at: Field.code, as: UInt8.self)
        bytes.setInteger(0, at: Field.checksum.lowerBound, as: UInt16.self)
        bytes.setInteger(restOfHeader, at: Field.restOfHeader.lowerBound, as: UInt32.self)
        let message = UnsafeRawBufferPointer(bytes.slice(0..<length))
        bytes.setInteger(pseudoHeader.checksum(of: message, protocol: .icmpv6), at: Field.checksum.lowerBound,
                         as: UInt16.self)
    }

    /// A tcpdump-like line: `ICMPv6 packet too big, mtu 1280 len 72`.
    public var description: String {
        let detail = switch kind {
        case let .destinationUnreachable(code): "destination unreachable: \(code.name) (\(code.rawValue))"
        case let .packetTooBig(mtu): "packet too big, mtu \(mtu)"
        case let .timeExceeded(code): "time exceeded: \(code.name) (\(code.rawValue))"
        case let .echoRequest(identifier, sequenceNumber): "echo request id \(identifier) seq \(sequenceNumber)"
        case let .echoReply(identifier, sequenceNumber): "echo reply id \(identifier) seq \(sequenceNumber)"
        case let .other(type, code, _): "\(type.name) type \(type.rawValue) code \(code)"
        }
        return "ICMPv6 \(detail) len \(length)"
    }
}
