// ICMP for IPv4 (RFC 792), with the next-hop MTU of RFC 1191 §4.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Type      |     Code      |           Checksum            |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           Identifier          |        Sequence Number        |  echo request (8) / reply (0)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          unused = 0           |         Next-Hop MTU          |  destination unreachable (3)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                          unused = 0                           |  time exceeded (11)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  echo: data ...
//  |  errors: Internet Header + 64 bits of Original Data Datagram (RFC 1812 §4.3.2.3: as much as fits)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The message has no length field: it runs to the end of the IP payload, and the checksum covers all of it.

/// An ICMPv4 message type (IANA "ICMP Type Numbers"). Open to values nobody named yet.
public struct ICMPv4Type: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let echoReply = ICMPv4Type(rawValue: 0)
    public static let destinationUnreachable = ICMPv4Type(rawValue: 3)
    /// Deprecated by RFC 6633; kept so a decoder can name it.
    public static let sourceQuench = ICMPv4Type(rawValue: 4)
    public static let redirect = ICMPv4Type(rawValue: 5)
    public static let echoRequest = ICMPv4Type(rawValue: 8)
    public static let routerAdvertisement = ICMPv4Type(rawValue: 9)
    public static let routerSolicitation = ICMPv4Type(rawValue: 10)
    public static let timeExceeded = ICMPv4Type(rawValue: 11)
    public static let parameterProblem = ICMPv4Type(rawValue: 12)
    public static let timestamp = ICMPv4Type(rawValue: 13)
    public static let timestampReply = ICMPv4Type(rawValue: 14)

    /// Error messages quote the datagram that caused them (RFC 792; RFC 1122 §3.2.2).
    @inlinable
    public var isError: Bool {
        switch self {
        case .destinationUnreachable, .sourceQuench, .redirect, .timeExceeded, .parameterProblem: true
        default: false
        }
    }

    public var name: String {
        switch self {
        case .echoReply: "echo reply"
        case .destinationUnreachable: "destination unreachable"
        case .sourceQuench: "source quench"
        case .redirect: "redirect"
        case .echoRequest: "echo request"
        case .routerAdvertisement: "router advertisement"
        case .routerSolicitation: "router solicitation"
        case .timeExceeded: "time exceeded"
        case .parameterProblem: "parameter problem"
        case .timestamp: "timestamp"
        case .timestampReply: "timestamp reply"
        default: "unknown"
        }
    }

    public var description: String { "\(name) - \(rawValue)" }
}

/// The code of a destination unreachable message (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
/// Open to values nobody named yet.
public struct ICMPv4UnreachableCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let networkUnreachable = ICMPv4UnreachableCode(rawValue: 0)
    public static let hostUnreachable = ICMPv4UnreachableCode(rawValue: 1)
    public static let protocolUnreachable = ICMPv4UnreachableCode(rawValue: 2)
    public static let portUnreachable = ICMPv4UnreachableCode(rawValue: 3)
    /// Fragmentation needed and DF set: RFC 1191 §4 puts the next-hop MTU in bytes 6-7.
    public static let fragmentationNeeded = ICMPv4UnreachableCode(rawValue: 4)
    public static let sourceRouteFailed = ICMPv4UnreachableCode(rawValue: 5)
    public static let networkUnknown = ICMPv4UnreachableCode(rawValue: 6)
    public static let hostUnknown = ICMPv4UnreachableCode(rawValue: 7)
    public static let networkProhibited = ICMPv4UnreachableCode(rawValue: 9)
    public static let hostProhibited = ICMPv4UnreachableCode(rawValue: 10)
    /// RFC 1812: communication administratively prohibited (what a firewall's reject sends).
    public static let communicationProhibited = ICMPv4UnreachableCode(rawValue: 13)

    public var name: String {
        switch self {
        case .networkUnreachable: "net unreachable"
        case .hostUnreachable: "host unreachable"
        case .protocolUnreachable: "protocol unreachable"
        case .portUnreachable: "port unreachable"
        case .fragmentationNeeded: "fragmentation needed"
        case .sourceRouteFailed: "source route failed"
        case .networkUnknown: "net unknown"
        case .hostUnknown: "host unknown"
        case .networkProhibited: "net prohibited"
        case .hostProhibited: "host prohibited"
        case .communicationProhibited: "communication prohibited"
        default: "unknown"
        }
    }

    public var description: String { "\(name) - \(rawValue)" }
}

/// The code of a time exceeded message (RFC 792). Open to values nobody named yet.
public struct ICMPv4TimeExceededCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A router decremented the TTL to zero.
    public static let timeToLiveExceeded = ICMPv4TimeExceededCode(rawValue: 0)
    /// The receiver timed out reassembling a fragmented datagram.
    public static let fragmentReassemblyTimeExceeded = ICMPv4TimeExceededCode(rawValue: 1)

    public var name: String {
        switch self {
        case .timeToLiveExceeded: "ttl exceeded in transit"
        case .fragmentReassemblyTimeExceeded: "fragment reassembly time exceeded"
        default: "unknown"
        }
    }

    public var description: String { "\(name) - \(rawValue)" }
}

/// A zero-copy view of an ICMPv4 message: the 8-byte header and what follows it.
///
/// ``init(checking:frameOffset:)`` checks that the header is present; after it succeeds every accessor
/// is in bounds. Make the view over exactly the IP payload: the checksum covers all of it.
public struct ICMPv4Message {
    public enum Field {
        public static let type = 0
        public static let code = 1
        public static let checksum = 2..<4
        /// Type-specific: echo identifier and sequence number, or the next-hop MTU, or unused.
        public static let restOfHeader = 4..<8
        public static let identifier = 4..<6
        public static let sequenceNumber = 6..<8
        public static let nextHopMTU = 6..<8
    }
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.icmpv4, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
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

    @inlinable public var type: ICMPv4Type { ICMPv4Type(rawValue: bytes.getInteger(at: Field.type, as: UInt8.self)) }
    @inlinable public var code: UInt8 { bytes.getInteger(at: Field.code, as: UInt8.self) }
    @inlinable public var checksum: UInt16 { bytes.getInteger(at: Field.checksum.lowerBound, as: UInt16.self) }
    /// Bytes 4-7 as one word, whatever the type makes of them.
    @inlinable public var restOfHeader: UInt32 { bytes.getInteger(at: Field.restOfHeader.lowerBound, as: UInt32.self) }
    /// Echo request/reply: the identifier (bytes 4-5).
    @inlinable public var identifier: UInt16 { bytes.getInteger(at: Field.identifier.lowerBound, as: UInt16.self) }
    /// Echo request/reply: the sequence number (bytes 6-7).
    @inlinable public var sequenceNumber: UInt16 { bytes.getInteger(at: Field.sequenceNumber.lowerBound, as: UInt16.self) }
    /// Destination unreachable, code 4 (RFC 1191 §4): the MTU of the next-hop network (bytes 6-7).
    @inlinable public var nextHopMTU: UInt16 { bytes.getInteger(at: Field.nextHopMTU.lowerBound, as: UInt16.self) }
    /// Everything after the 8-byte header: echo data, or the quoted datagram of an error.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: Self.headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + Self.headerLength }

    /// For an error message, the quoted start of the datagram that caused it (its IP header and at least
    /// 8 bytes of its data, RFC 792); nil for other types. Decode it with ``payloadOffset`` as its frame
    /// offset; its IP total length usually exceeds what was quoted.
    @inlinable
    public var invokingPacket: UnsafeRawBufferPointer? { type.isError ? payload : nil }

    /// For an error message, the quoted datagram as a lenient view: addresses, protocol and ports of the
    /// packet that caused it, and what the quote leaves out; nil for other types.
    /// - Throws: what ``PartialIPv4Packet/init(_:frameOffset:)`` throws for a quote no cut explains.
    @inlinable
    public func invokingIPv4Packet() throws(DecodeError) -> PartialIPv4Packet? {
        guard type.isError else { return nil }
        return try PartialIPv4Packet(payload, frameOffset: payloadOffset)
    }

    /// RFC 792: the checksum covers the whole message, header and data.
    @inlinable
    public func checksumIsValid() -> Bool { InternetChecksum.checksum(bytes) == 0 }

    /// The checksum the message should carry.
    @inlinable
    public func expectedChecksum() -> UInt16 {
        var state = InternetChecksum()
        state.add(bytes.slice(0..<Field.checksum.lowerBound))
        state.add(bytes.dropFirst(count: Field.checksum.upperBound))
        return state.checksum
    }
}

/// A zero-copy, writable view of an ICMPv4 message: ``ICMPv4Message``'s getters, a setter for every
/// field, ``fillChecksum()``, and the echo identifier rewrite NAT does, with an RFC 1624 update.
///
/// After ``init(checking:frameOffset:)`` (8 bytes present) no getter or setter reaches outside
/// ``bytes``; the message has no length field, so any buffer of 8 bytes or more is a valid one to fill.
public struct MutableICMPv4Message {
    public typealias Field = ICMPv4Message.Field

    public let bytes: UnsafeMutableRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `truncated` when fewer than 8 bytes are present.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        _ = try ICMPv4Message(checking: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
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
    public var readOnly: ICMPv4Message {
        ICMPv4Message(unchecked: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
    }

    @inlinable public var type: ICMPv4Type {
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

    /// Echo request/reply: the identifier (bytes 4-5).
    @inlinable public var identifier: UInt16 {
        get { readOnly.identifier }
        nonmutating set { bytes.setInteger(newValue, at: Field.identifier.lowerBound, as: UInt16.self) }
    }

    /// Echo request/reply: the sequence number (bytes 6-7).
    @inlinable public var sequenceNumber: UInt16 {
        get { readOnly.sequenceNumber }
        nonmutating set { bytes.setInteger(newValue, at: Field.sequenceNumber.lowerBound, as: UInt16.self) }
    }

    /// Destination unreachable, code 4 (RFC 1191 §4): the next-hop MTU (bytes 6-7).
    @inlinable public var nextHopMTU: UInt16 {
        get { readOnly.nextHopMTU }
        nonmutating set { bytes.setInteger(newValue, at: Field.nextHopMTU.lowerBound, as: UInt16.self) }
    }

    /// Everything after the 8-byte header, writable.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.dropFirst(count: ICMPv4Message.headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + ICMPv4Message.headerLength }

    @inlinable public func checksumIsValid() -> Bool { readOnly.checksumIsValid() }
    @inlinable public func expectedChecksum() -> UInt16 { readOnly.expectedChecksum() }

    /// Computes the checksum over the whole message and writes it (RFC 792).
    @inlinable
    public func fillChecksum() {
        checksum = 0
        checksum = InternetChecksum.checksum(UnsafeRawBufferPointer(bytes))
    }

    /// Sets the echo identifier and patches the checksum by RFC 1624, as Linux's `icmp_manip_pkt`
    /// (net/netfilter/nf_nat_proto.c) does when NAT maps an echo's identifier like a port.
    @inlinable
    public func rewriteIdentifier(_ identifier: UInt16) {
        checksum = InternetChecksum.updated(checksum, replacing: self.identifier, with: identifier)
        self.identifier = identifier
    }
}

/// An ICMPv4 header as a plain value; the data after it (echo data, the quoted datagram) is the payload.
public struct ICMPv4Header: Hashable, Sendable, CustomStringConvertible {
    /// What the message is, with the fields of its type.
    public enum Kind: Hashable, Sendable {
        /// Type 8 (RFC 792).
        case echoRequest(identifier: UInt16, sequenceNumber: UInt16)
        /// Type 0 (RFC 792).
        case echoReply(identifier: UInt16, sequenceNumber: UInt16)
        /// Type 3. RFC 1191 §4: with code 4 (fragmentation needed) bytes 6-7 hold the next-hop MTU; with
        /// other codes they are unused, sent as zero, and read as they are. Bytes 4-5 are unused: sent as
        /// zero and ignored.
        case destinationUnreachable(ICMPv4UnreachableCode, nextHopMTU: UInt16)
        /// Type 11. Bytes 4-7 are unused: sent as zero and ignored.
        case timeExceeded(ICMPv4TimeExceededCode)
        /// Any other type, with bytes 4-7 as they were.
        case other(type: ICMPv4Type, code: UInt8, restOfHeader: UInt32)
    }

    public var kind: Kind
    /// Bytes after the 8-byte header; the checksum covers them.
    public var payloadLength: Int

    public init(_ kind: Kind, payloadLength: Int = 0) {
        self.kind = kind
        self.payloadLength = payloadLength
    }

    /// Reads the header from a checked view.
    /// - Throws: `badChecksum` at the checksum field when `verifyingChecksum` and the checksum is wrong.
    @inlinable
    public init(_ message: ICMPv4Message, verifyingChecksum: Bool = true) throws(DecodeError) {
        if verifyingChecksum && !message.checksumIsValid() {
            throw .badChecksum(.icmpv4, offset: message.frameOffset + ICMPv4Message.Field.checksum.lowerBound,
                               expected: message.expectedChecksum(), found: message.checksum)
        }
        let kind: Kind = switch message.type {
        case .echoRequest where message.code == 0:
            .echoRequest(identifier: message.identifier, sequenceNumber: message.sequenceNumber)
        case .echoReply where message.code == 0:
            .echoReply(identifier: message.identifier, sequenceNumber: message.sequenceNumber)
        case .destinationUnreachable:
            .destinationUnreachable(ICMPv4UnreachableCode(rawValue: message.code), nextHopMTU: message.nextHopMTU)
        case .timeExceeded:
            .timeExceeded(ICMPv4TimeExceededCode(rawValue: message.code))
        default:
            .other(type: message.type, code: message.code, restOfHeader: message.restOfHeader)
        }
        self.init(kind, payloadLength: message.bytes.count - ICMPv4Message.headerLength)
    }

    public static let headerLength = ICMPv4Message.headerLength
    /// Header and payload: what the checksum covers.
    @inlinable public var length: Int { Self.headerLength + payloadLength }

    @inlinable
    public var type: ICMPv4Type {
        switch kind {
        case .echoRequest: .echoRequest
        case .echoReply: .echoReply
        case .destinationUnreachable: .destinationUnreachable
        case .timeExceeded: .timeExceeded
        case .other(let type, _, _): type
        }
    }

    @inlinable
    public var code: UInt8 {
        switch kind {
        case .echoRequest, .echoReply: 0
        case .destinationUnreachable(let code, _): code.rawValue
        case .timeExceeded(let code): code.rawValue
        case .other(_, let code, _): code
        }
    }

    /// Bytes 4-7 as they go on the wire.
    @inlinable
    public var restOfHeader: UInt32 {
        switch kind {
        case .echoRequest(let identifier, let sequenceNumber), .echoReply(let identifier, let sequenceNumber):
            UInt32(identifier) << 16 | UInt32(sequenceNumber)
        case .destinationUnreachable(_, let nextHopMTU): UInt32(nextHopMTU)
        case .timeExceeded: 0
        case .other(_, _, let restOfHeader): restOfHeader
        }
    }

    /// Writes the header at the start of `bytes`, whose next ``payloadLength`` bytes must already hold the
    /// payload (serialisation goes innermost first), and fills the checksum over header and payload.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= length, "buffer too small for the ICMPv4 message")
        typealias Field = ICMPv4Message.Field
        bytes.setInteger(type.rawValue, at: Field.type, as: UInt8.self)
        bytes.setInteger(code, at: Field.code, as: UInt8.self)
        bytes.setInteger(0, at: Field.checksum.lowerBound, as: UInt16.self)
        bytes.setInteger(restOfHeader, at: Field.restOfHeader.lowerBound, as: UInt32.self)
        bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(0..<length))),
                         at: Field.checksum.lowerBound, as: UInt16.self)
    }

    /// A tcpdump-like line: `ICMP echo request id 7326 seq 1 len 64`.
    public var description: String {
        let detail = switch kind {
        case let .echoRequest(identifier, sequenceNumber):
            "echo request id \(identifier) seq \(sequenceNumber)"
        case let .echoReply(identifier, sequenceNumber):
            "echo reply id \(identifier) seq \(sequenceNumber)"
        case let .destinationUnreachable(code, nextHopMTU) where code == .fragmentationNeeded:
            "destination unreachable: \(code.name), mtu \(nextHopMTU)"
        case let .destinationUnreachable(code, _):
            "destination unreachable: \(code.name) (\(code.rawValue))"
        case let .timeExceeded(code):
            "time exceeded: \(code.name) (\(code.rawValue))"
        case let .other(type, code, _):
            "\(type.name) type \(type.rawValue) code \(code)"
        }
        return "ICMP \(detail) len \(length)"
    }
}
