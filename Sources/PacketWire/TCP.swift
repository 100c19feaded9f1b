// TCP (RFC 9293 §3.1) with the options of RFC 9293 §3.2, RFC 7323 (window scale, timestamps) and
// RFC 2018 (selective acknowledgment).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Source Port          |       Destination Port        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                        Sequence Number                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Acknowledgment Number                      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Data |       |C|E|U|A|P|R|S|F|                               |
//  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//  |       |       |R|E|G|K|H|T|N|N|                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           Checksum            |         Urgent Pointer        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                           [Options]                           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                                                               :
//  :                             Data                              :
//  :                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The segment has no length field: it runs to the end of the IP payload, so a view must be made over
// exactly the IP payload (``IPv4Packet/payload`` excludes Ethernet padding).

/// The TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// No more data from the sender.
    public static let fin = TCPFlags(rawValue: 0x01)
    /// Synchronize sequence numbers.
    public static let syn = TCPFlags(rawValue: 0x02)
    /// Reset the connection.
    public static let rst = TCPFlags(rawValue: 0x04)
    /// Push function.
    public static let psh = TCPFlags(rawValue: 0x08)
    /// The acknowledgment number is significant.
    public static let ack = TCPFlags(rawValue: 0x10)
    /// The urgent pointer is significant.
    public static let urg = TCPFlags(rawValue: 0x20)
    /// ECN-Echo (RFC 3168).
    public static let ece = TCPFlags(rawValue: 0x40)
    /// Congestion Window Reduced (RFC 3168).
    public static let cwr = TCPFlags(rawValue: 0x80)

    private static let names: [(TCPFlags, String)] = [
        (.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"),
        (.ack, "ACK"), (.urg, "URG"), (.ece, "ECE"), (.cwr, "CWR"),
    ]

    /// The set flags as tshark lists them, lowest bit first: `[SYN, ACK]`; `[]` when none is set.
    public var description: String {
        "[" + Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") + "]"
    }
}

/// One block of a SACK option (RFC 2018 §3): the sequence space `leftEdge..<rightEdge` was received.
public struct TCPSACKBlock: Hashable, Sendable, CustomStringConvertible {
    /// The first sequence number of the block.
    public var leftEdge: UInt32
    /// The sequence number following the block's last byte.
    public var rightEdge: UInt32

    @inlinable
    public init(leftEdge: UInt32, rightEdge: UInt32) {
        self.leftEdge = leftEdge
        self.rightEdge = rightEdge
    }

    public var description: String { "\(leftEdge):\(rightEdge)" }
}

/// A TCP option (RFC 9293 §3.2). Kinds this decoder does not model are kept with their data.
public enum TCPOption: Hashable, Sendable, CustomStringConvertible {
    /// Kind 0: the end of the option list. The rest of the header, up to the data offset, is padding.
    case endOfOptionList
    /// Kind 1: no-operation, used to align the next option.
    case noOperation
    /// Kind 2, length 4 (RFC 9293 §3.7.1): the largest segment the sender will receive; SYN only.
    case maximumSegmentSize(UInt16)
    /// Kind 3, length 3 (RFC 7323 §2.2): the receive window's shift count; SYN only.
    case windowScale(UInt8)
    /// Kind 4, length 2 (RFC 2018 §2): selective acknowledgment may be used; SYN only.
    case sackPermitted
    /// Kind 5, length 2 + 8n (RFC 2018 §3): the blocks received beyond the acknowledgment number.
    case selectiveAcknowledgment([TCPSACKBlock])
    /// Kind 8, length 10 (RFC 7323 §3.2): TSval and TSecr.
    case timestamps(value: UInt32, echoReply: UInt32)
    /// Any other kind, with the bytes after its kind and length bytes.
    case unknown(kind: UInt8, data: [UInt8])

    /// Option kinds (IANA "TCP Option Kind Numbers").
    public enum Kind {
        public static let endOfOptionList: UInt8 = 0
        public static let noOperation: UInt8 = 1
        public static let maximumSegmentSize: UInt8 = 2
        public static let windowScale: UInt8 = 3
        public static let sackPermitted: UInt8 = 4
        public static let selectiveAcknowledgment: UInt8 = 5
        public static let timestamps: UInt8 = 8
    }

    /// The option's kind byte.
    @inlinable
    public var kind: UInt8 {
        switch self {
        case .endOfOptionList: Kind.endOfOptionList
        case .noOperation: Kind.noOperation
        case .maximumSegmentSize: Kind.maximumSegmentSize
        case .windowScale: Kind.windowScale
        case .sackPermitted: Kind.sackPermitted
        case .selectiveAcknowledgment: Kind.selectiveAcknowledgment
        case .timestamps: Kind.timestamps
        case .unknown(let kind, _): kind
        }
    }

    /// Bytes the option occupies on the wire, kind and length bytes included.
    @inlinable
    public var encodedLength: Int {
        switch self {
        case .endOfOptionList, .noOperation: 1
        case .maximumSegmentSize: 4
        case .windowScale: 3
        case .sackPermitted: 2
        case .selectiveAcknowledgment(let blocks): 2 + 8 * blocks.count
        case .timestamps: 10
        case .unknown(_, let data): 2 + data.count
        }
    }

    /// Writes the option at `offset` in `bytes`, which must have room for ``encodedLength`` bytes.
    @inlinable
    func write(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.setInteger(kind, at: offset, as: UInt8.self)
        guard encodedLength > 1 else { return }
        bytes.setInteger(UInt8(truncatingIfNeeded: encodedLength), at: offset + 1, as: UInt8.self)
        switch self {
        case .endOfOptionList, .noOperation, .sackPermitted:
            break
        case .maximumSegmentSize(let size):
            bytes.setInteger(size, at: offset + 2, as: UInt16.self)
        case .windowScale(let shift):
            bytes.setInteger(shift, at: offset + 2, as: UInt8.self)
        case .selectiveAcknowledgment(let blocks):
            for (index, block) in blocks.enumerated() {
                bytes.setInteger(block.leftEdge, at: offset + 2 + 8 * index, as: UInt32.self)
                bytes.setInteger(block.rightEdge, at: offset + 6 + 8 * index, as: UInt32.self)
            }
        case .timestamps(let value, let echoReply):
            bytes.setInteger(value, at: offset + 2, as: UInt32.self)
            bytes.setInteger(echoReply, at: offset + 6, as: UInt32.self)
        case .unknown(_, let data):
            for (index, byte) in data.enumerated() { bytes.setInteger(byte, at: offset + 2 + index, as: UInt8.self) }
        }
    }

    /// tcpdump's spelling: `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `nop`, `wscale 7`.
    public var description: String {
        switch self {
        case .endOfOptionList: "eol"
        case .noOperation: "nop"
        case .maximumSegmentSize(let size): "mss \(size)"
        case .windowScale(let shift): "wscale \(shift)"
        case .sackPermitted: "sackOK"
        case .selectiveAcknowledgment(let blocks):
            "sack \(blocks.count) {" + blocks.map(\.description).joined(separator: " ") + "}"
        case .timestamps(let value, let echoReply): "TS val \(value) ecr \(echoReply)"
        case .unknown(let kind, let data): "opt-\(kind):\(data.count)"
        }
    }
}

/// A zero-copy view of a TCP segment: header, options and data.
///
/// ``init(checking:frameOffset:)`` checks the fixed header and that the data offset fits the bytes;
/// after it succeeds every accessor is in bounds. Options are decoded (and can fail) in
/// ``TCPHeader/init(_:verifyingWith:)`` or ``options()``.
public struct TCPSegment {
    public enum Field {
        public static let sourcePort = 0..<2
        public static let destinationPort = 2..<4
        public static let sequenceNumber = 4..<8
        public static let acknowledgmentNumber = 8..<12
        /// Data offset (high 4 bits) and the reserved bits (low 4 bits).
        public static let dataOffset = 12
        public static let flags = 13
        public static let window = 14..<16
        public static let checksum = 16..<18
        public static let urgentPointer = 18..<20
    }
    public static let minimumHeaderLength = 20
    /// A data offset of 15 words: 40 bytes of options.
    public static let maximumHeaderLength = 60

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `truncated` when the fixed header or the options the data offset announces are cut;
    ///   `badLength` when the data offset is below 5 words.
    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.minimumHeaderLength else {
            throw .truncated(.tcp, offset: frameOffset, needed: Self.minimumHeaderLength, available: bytes.count)
        }
        let headerLength = Int(bytes.getInteger(at: Field.dataOffset, as: UInt8.self) >> 4) * 4
        guard headerLength >= Self.minimumHeaderLength else {
            throw .badLength(.tcp, offset: frameOffset + Field.dataOffset,
                             expected: "header length of at least 20 bytes (data offset >= 5)", found: headerLength)
        }
        guard bytes.count >= headerLength else {
            throw .truncated(.tcp, offset: frameOffset + Field.dataOffset, needed: headerLength,
                             available: bytes.count)
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

    @inlinable public var sourcePort: UInt16 { bytes.getInteger(at: Field.sourcePort.lowerBound, as: UInt16.self) }
    @inlinable public var destinationPort: UInt16 { bytes.getInteger(at: Field.destinationPort.lowerBound, as: UInt16.self) }
    @inlinable public var sequenceNumber: UInt32 { bytes.getInteger(at: Field.sequenceNumber.lowerBound, as: UInt32.self) }
    @inlinable public var acknowledgmentNumber: UInt32 { bytes.getInteger(at: Field.acknowledgmentNumber.lowerBound, as: UInt32.self) }
    /// Header length in bytes (the field counts 32-bit words).
    @inlinable public var headerLength: Int { Int(bytes.getInteger(at: Field.dataOffset, as: UInt8.self) >> 4) * 4 }
    /// The four reserved bits between the data offset and the flags (RFC 9293 §3.1: must be zero).
    @inlinable public var reservedBits: UInt8 { bytes.getInteger(at: Field.dataOffset, as: UInt8.self) & 0x0F }
    @inlinable public var flags: TCPFlags { TCPFlags(rawValue: bytes.getInteger(at: Field.flags, as: UInt8.self)) }
    /// The nine flag bits as tcpdump and tshark show them: ``flags`` and, above them, NS (RFC 3540's
    /// nonce sum, the low bit of the data-offset byte; historic since RFC 8311, still printed).
    @inlinable public var flagBits: UInt16 { bytes.getInteger(at: Field.dataOffset, as: UInt16.self) & 0x1FF }
    @inlinable public var window: UInt16 { bytes.getInteger(at: Field.window.lowerBound, as: UInt16.self) }
    @inlinable public var checksum: UInt16 { bytes.getInteger(at: Field.checksum.lowerBound, as: UInt16.self) }
    @inlinable public var urgentPointer: UInt16 { bytes.getInteger(at: Field.urgentPointer.lowerBound, as: UInt16.self) }
    /// The option bytes, padding included.
    @inlinable public var optionBytes: UnsafeRawBufferPointer { bytes.slice(Self.minimumHeaderLength..<headerLength) }
    /// The segment's data: everything after the header.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }

    /// RFC 9293 §3.1: the checksum covers the pseudo-header, the header and the data.
    @inlinable
    public func checksumIsValid(_ pseudoHeader: PseudoHeader) -> Bool {
        pseudoHeader.checksum(of: bytes, protocol: .tcp) == 0
    }

    /// The checksum the segment should carry under `pseudoHeader`.
    @inlinable
    public func expectedChecksum(_ pseudoHeader: PseudoHeader) -> UInt16 {
        var state = InternetChecksum()
        pseudoHeader.add(to: &state, protocol: .tcp, upperLength: bytes.count)
        state.add(bytes.slice(0..<Field.checksum.lowerBound))
        state.add(bytes.dropFirst(count: Field.checksum.upperBound))
        return state.checksum
    }

    /// Decodes the options (RFC 9293 §3.2), stopping after an End of Option List.
    /// - Throws: `badLength` when an option's length byte is missing, runs past the header, or does not
    ///   match its kind (MSS 4, window scale 3, SACK-permitted 2, SACK 2 + 8n with n >= 1, timestamps 10).
    public func options() throws(DecodeError) -> [TCPOption] {
        let options = optionBytes
        let base = frameOffset + Self.minimumHeaderLength
        var result: [TCPOption] = []
        var offset = 0
        while offset < options.count {
            let kind = options.getInteger(at: offset, as: UInt8.self)
            if kind == TCPOption.Kind.endOfOptionList {
                result.append(.endOfOptionList)
                break
            }
            if kind == TCPOption.Kind.noOperation {
                result.append(.noOperation)
                offset += 1
                continue
            }
            guard offset + 2 <= options.count else {
                throw .badLength(.tcp, offset: base + offset, expected: "a length byte after option kind \(kind)",
                                 found: 0)
            }
            let length = Int(options.getInteger(at: offset + 1, as: UInt8.self))
            guard length >= 2, offset + length <= options.count else {
                throw .badLength(.tcp, offset: base + offset + 1,
                                 expected: "option length from 2 to \(options.count - offset)", found: length)
            }
            func requireLength(_ valid: Bool, _ expected: String) throws(DecodeError) {
                guard valid else {
                    throw .badLength(.tcp, offset: base + offset + 1, expected: expected, found: length)
                }
            }
            let data = offset + 2
            switch kind {
            case TCPOption.Kind.maximumSegmentSize:
                try requireLength(length == 4, "MSS option length 4")
                result.append(.maximumSegmentSize(options.getInteger(at: data, as: UInt16.self)))
            case TCPOption.Kind.windowScale:
                try requireLength(length == 3, "window scale option length 3")
                result.append(.windowScale(options.getInteger(at: data, as: UInt8.self)))
            case TCPOption.Kind.sackPermitted:
                try requireLength(length == 2, "SACK-permitted option length 2")
                result.append(.sackPermitted)
            case TCPOption.Kind.selectiveAcknowledgment:
                try requireLength(length >= 10 && (length - 2) % 8 == 0, "SACK option length 2 + 8n, n >= 1")
                var blocks: [TCPSACKBlock] = []
                for start in stride(from: data, to: offset + length, by: 8) {
                    blocks.append(TCPSACKBlock(leftEdge: options.getInteger(at: start, as: UInt32.self),
                                               rightEdge: options.getInteger(at: start + 4, as: UInt32.self)))
                }
                result.append(.selectiveAcknowledgment(blocks))
            case TCPOption.Kind.timestamps:
                try requireLength(length == 10, "timestamps option length 10")
                result.append(.timestamps(value: options.getInteger(at: data, as: UInt32.self),
                                          echoReply: options.getInteger(at: data + 4, as: UInt32.self)))
            default:
                result.append(.unknown(kind: kind, data: Array(options.slice(data..<(offset + length)))))
            }
            offset += length
        }
        return result
    }
}

/// A zero-copy, writable view of a TCP segment: ``TCPSegment``'s getters, a setter for every field,
/// ``fillChecksum(_:)``, and port and address rewrites with RFC 1624 checksum updates.
///
/// After ``init(checking:frameOffset:)`` or ``init(formatting:headerLength:frameOffset:)`` no getter or
/// setter reaches outside ``bytes``: the header length setter takes only 20 to 60 bytes within the
/// segment. As with ``TCPSegment``, make the view over exactly the IP payload.
public struct MutableTCPSegment {
    public typealias Field = TCPSegment.Field

    public let bytes: UnsafeMutableRawBufferPointer
    public let frameOffset: Int

    /// - Throws: what ``TCPSegment/init(checking:frameOffset:)`` throws for the same bytes.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        _ = try TCPSegment(checking: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// Starts a segment at the front of `bytes` for the setters to fill: writes the data offset for
    /// `headerLength` with the reserved bits zero; every other byte is left as it was.
    /// - Parameter headerLength: 20 to 60, a multiple of 4, at most `bytes.count`.
    @inlinable
    public init(formatting bytes: UnsafeMutableRawBufferPointer, headerLength: Int = TCPSegment.minimumHeaderLength,
                frameOffset: Int = 0) {
        precondition((TCPSegment.minimumHeaderLength...TCPSegment.maximumHeaderLength).contains(headerLength)
                     && headerLength % 4 == 0 && headerLength <= bytes.count,
                     "TCP header length must be 20 to 60, a multiple of 4, within the buffer")
        bytes.setInteger(UInt8(headerLength / 4) << 4, at: Field.dataOffset, as: UInt8.self)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// Over at least the 20 fixed header bytes, whatever the data offset says: only ports and checksum
    /// are touched (the NAT rewrites of a segment inside an IPv4 or IPv6 view).
    @inlinable
    init(header bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
        self.frameOffset = 0
    }

    /// The same bytes, read-only.
    @inlinable
    public var readOnly: TCPSegment { TCPSegment(unchecked: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset) }

    @inlinable public var sourcePort: UInt16 {
        get { readOnly.sourcePort }
        nonmutating set { bytes.setInteger(newValue, at: Field.sourcePort.lowerBound, as: UInt16.self) }
    }

    @inlinable public var destinationPort: UInt16 {
        get { readOnly.destinationPort }
        nonmutating set { bytes.setInteger(newValue, at: Field.destinationPort.lowerBound, as: UInt16.self) }
    }

    @inlinable public var sequenceNumber: UInt32 {
        get { readOnly.sequenceNumber }
        nonmutating set { bytes.setInteger(newValue, at: Field.sequenceNumber.lowerBound, as: UInt32.self) }
    }

    @inlinable public var acknowledgmentNumber: UInt32 {
        get { readOnly.acknowledgmentNumber }
        nonmutating set { bytes.setInteger(newValue, at: Field.acknowledgmentNumber.lowerBound, as: UInt32.self) }
    }

    /// Header length in bytes (the data offset counts 32-bit words).
    /// - Precondition: 20 to 60, a multiple of 4, at most `bytes.count`.
    @inlinable public var headerLength: Int {
        get { readOnly.headerLength }
        nonmutating set {
            precondition((TCPSegment.minimumHeaderLength...TCPSegment.maximumHeaderLength).contains(newValue)
                         && newValue % 4 == 0 && newValue <= bytes.count,
                         "TCP header length must be 20 to 60, a multiple of 4, within the segment")
            let byte = bytes.getInteger(at: Field.dataOffset, as: UInt8.self)
            bytes.setInteger(UInt8(newValue / 4) << 4 | byte & 0x0F, at: Field.dataOffset, as: UInt8.self)
        }
    }

    /// The four reserved bits (only the low 4 bits of the value are written).
    @inlinable public var reservedBits: UInt8 {
        get { readOnly.reservedBits }
        nonmutating set {
            let byte = bytes.getInteger(at: Field.dataOffset, as: UInt8.self)
            bytes.setInteger(byte & 0xF0 | newValue & 0x0F, at: Field.dataOffset, as: UInt8.self)
        }
    }

    @inlinable public var flags: TCPFlags {
        get { readOnly.flags }
        nonmutating set { bytes.setInteger(newValue.rawValue, at: Field.flags, as: UInt8.self) }
    }

    @inlinable public var window: UInt16 {
        get { readOnly.window }
        nonmutating set { bytes.setInteger(newValue, at: Field.window.lowerBound, as: UInt16.self) }
    }

    @inlinable public var checksum: UInt16 {
        get { readOnly.checksum }
        nonmutating set { bytes.setInteger(newValue, at: Field.checksum.lowerBound, as: UInt16.self) }
    }

    @inlinable public var urgentPointer: UInt16 {
        get { readOnly.urgentPointer }
        nonmutating set { bytes.setInteger(newValue, at: Field.urgentPointer.lowerBound, as: UInt16.self) }
    }

    /// The option bytes, padding included, writable.
    @inlinable public var optionBytes: UnsafeMutableRawBufferPointer {
        bytes.slice(TCPSegment.minimumHeaderLength..<headerLength)
    }

    /// The segment's data, writable.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.dropFirst(count: headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }

    @inlinable
    public func checksumIsValid(_ pseudoHeader: PseudoHeader) -> Bool { readOnly.checksumIsValid(pseudoHeader) }

    /// Computes the checksum over `pseudoHeader`, header and data and writes it (RFC 9293 §3.1).
    @inlinable
    public func fillChecksum(_ pseudoHeader: PseudoHeader) {
        checksum = 0
        checksum = pseudoHeader.checksum(of: UnsafeRawBufferPointer(bytes), protocol: .tcp)
    }

    /// Sets the source port and patches the checksum by RFC 1624 (Linux `tcp_manip_pkt`).
    @inlinable
    public func rewriteSourcePort(_ port: UInt16) {
        checksum = InternetChecksum.updated(checksum, replacing: sourcePort, with: port)
        sourcePort = port
    }

    /// Sets the destination port and patches the checksum by RFC 1624.
    @inlinable
    public func rewriteDestinationPort(_ port: UInt16) {
        checksum = InternetChecksum.updated(checksum, replacing: destinationPort, with: port)
        destinationPort = port
    }

    /// Patches the checksum for a pseudo-header address that changed from `old` to `new` (the IP
    /// header's address is the caller's to write): Linux's `inet_proto_csum_replace4`.
    @inlinable
    public func updateChecksum(replacingAddress old: IPv4Address, with new: IPv4Address) {
        checksum = InternetChecksum.updated(checksum, replacing: old, with: new)
    }

    /// Patches the checksum for an IPv6 pseudo-header address that changed: `inet_proto_csum_replace16`.
    @inlinable
    public func updateChecksum(replacingAddress old: IPv6Address, with new: IPv6Address) {
        checksum = InternetChecksum.updated(checksum, replacing: old, with: new)
    }
}

/// A TCP header as a plain value, options included.
public struct TCPHeader: Hashable, Sendable, CustomStringConvertible {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: TCPFlags
    /// The four reserved bits (RFC 9293 §3.1: sent as zero), kept so a decoder reports what it saw.
    public var reservedBits: UInt8
    public var window: UInt16
    public var urgentPointer: UInt16
    /// Options in wire order. ``emit(into:checksum:)`` pads them with zeros to a 32-bit boundary; zero
    /// padding reads back as an ``TCPOption/endOfOptionList``, so a list that does not fill its last word
    /// round-trips only when it ends with one.
    public var options: [TCPOption]
    /// Bytes of data after the header; the checksum covers them.
    public var payloadLength: Int

    public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32,
                acknowledgmentNumber: UInt32 = 0, flags: TCPFlags, reservedBits: UInt8 = 0, window: UInt16,
                urgentPointer: UInt16 = 0, options: [TCPOption] = [], payloadLength: Int = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.reservedBits = reservedBits & 0x0F
        self.window = window
        self.urgentPointer = urgentPointer
        self.options = options
        self.payloadLength = payloadLength
    }

    /// Reads the header from a checked view and decodes its options. The checksum is verified when
    /// `pseudoHeader` is given (RFC 9293 §3.1: it is mandatory, zero has no special meaning).
    /// - Throws: `badChecksum` at the checksum field; `badLength` for a malformed option.
    @inlinable
    public init(_ segment: TCPSegment, verifyingWith pseudoHeader: PseudoHeader? = nil) throws(DecodeError) {
        if let pseudoHeader, !segment.checksumIsValid(pseudoHeader) {
            throw .badChecksum(.tcp, offset: segment.frameOffset + TCPSegment.Field.checksum.lowerBound,
                               expected: segment.expectedChecksum(pseudoHeader), found: segment.checksum)
        }
        let options = segment.headerLength > TCPSegment.minimumHeaderLength ? try segment.options() : []
        self.init(sourcePort: segment.sourcePort, destinationPort: segment.destinationPort,
                  sequenceNumber: segment.sequenceNumber, acknowledgmentNumber: segment.acknowledgmentNumber,
                  flags: segment.flags, reservedBits: segment.reservedBits, window: segment.window,
                  urgentPointer: segment.urgentPointer, options: options,
                  payloadLength: segment.bytes.count - segment.headerLength)
    }

    /// Bytes the options take before padding.
    @inlinable public var optionsLength: Int { options.reduce(0) { $0 + $1.encodedLength } }
    /// Header length on the wire: 20 bytes plus the options padded to a multiple of 4.
    @inlinable public var headerLength: Int { TCPSegment.minimumHeaderLength + ((optionsLength + 3) & ~3) }
    /// Header and data.
    @inlinable public var length: Int { headerLength + payloadLength }

    /// Writes the header at the start of `bytes`, whose bytes after the header must already hold the
    /// ``payloadLength`` bytes of data (serialisation goes innermost first). Fills the data offset, the
    /// option padding and the checksum over `pseudoHeader`, header and data.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer, checksum pseudoHeader: PseudoHeader) {
        let headerLength = self.headerLength
        precondition(headerLength <= TCPSegment.maximumHeaderLength, "TCP options longer than 40 bytes")
        precondition(bytes.count >= headerLength + payloadLength, "buffer too small for the TCP segment")
        bytes.setInteger(sourcePort, at: TCPSegment.Field.sourcePort.lowerBound, as: UInt16.self)
        bytes.setInteger(destinationPort, at: TCPSegment.Field.destinationPort.lowerBound, as: UInt16.self)
        bytes.setInteger(sequenceNumber, at: TCPSegment.Field.sequenceNumber.lowerBound, as: UInt32.self)
        bytes.setInteger(acknowledgmentNumber, at: TCPSegment.Field.acknowledgmentNumber.lowerBound, as: UInt32.self)
        bytes.setInteger(UInt8(headerLength / 4) << 4 | (reservedBits & 0x0F), at: TCPSegment.Field.dataOffset, as: UInt8.self)
        bytes.setInteger(flags.rawValue, at: TCPSegment.Field.flags, as: UInt8.self)
        bytes.setInteger(window, at: TCPSegment.Field.window.lowerBound, as: UInt16.self)
        bytes.setInteger(0, at: TCPSegment.Field.checksum.lowerBound, as: UInt16.self)
        bytes.setInteger(urgentPointer, at: TCPSegment.Field.urgentPointer.lowerBound, as: UInt16.self)
        var offset = TCPSegment.minimumHeaderLength
        for option in options {
            option.write(into: bytes, at: offset)
            offset += option.encodedLength
        }
        while offset < headerLength {
            bytes.setInteger(0, at: offset, as: UInt8.self)
            offset += 1
        }
        let segment = UnsafeRawBufferPointer(bytes.slice(0..<(headerLength + payloadLength)))
        bytes.setInteger(pseudoHeader.checksum(of: segment, protocol: .tcp), at: TCPSegment.Field.checksum.lowerBound, as: UInt16.self)
    }

    /// A tcpdump-like line: `TCP 52222 > 8080 [SYN] seq 0 win 64240 [mss 1460,nop] len 0`.
    public var description: String {
        var text = "TCP \(sourcePort) > \(destinationPort) \(flags) seq \(sequenceNumber)"
        if flags.contains(.ack) { text += " ack \(acknowledgmentNumber)" }
        text += " win \(window)"
        if flags.contains(.urg) { text += " urg \(urgentPointer)" }
        if !options.isEmpty { text += " [" + options.map(\.description).joined(separator: ",") + "]" }
        return text + " len \(payloadLength)"
    }
}

/// A lenient view of a TCP segment that may stop early (quoted in an ICMP error, cut by a snap length):
/// each field is read when its bytes are there, ``shortfall`` says what is missing.
///
/// RFC 792 quotes 8 bytes: ports and sequence number. TCP has no length field, so how much data is
/// missing is known only from the IP header (`segmentLength`).
public struct PartialTCPSegment: CustomStringConvertible {
    public typealias Field = TCPSegment.Field

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int
    /// Header and data as the IP header announces them; nil when not known (a fragment, a bare segment).
    public let segmentLength: Int?

    /// - Throws: `badLength` when the data offset is there and below 5 words, which no cut explains.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, frameOffset: Int = 0, segmentLength: Int? = nil) throws(DecodeError) {
        self.bytes = bytes
        self.frameOffset = frameOffset
        self.segmentLength = segmentLength
        if let headerLength, headerLength < TCPSegment.minimumHeaderLength {
            throw .badLength(.tcp, offset: frameOffset + Field.dataOffset,
                             expected: "header length of at least 20 bytes (data offset >= 5)", found: headerLength)
        }
    }

    @inlinable
    func read<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T? {
        offset + MemoryLayout<T>.size <= bytes.count ? bytes.getInteger(at: offset, as: T.self) : nil
    }

    @inlinable public var sourcePort: UInt16? { read(Field.sourcePort.lowerBound, as: UInt16.self) }
    @inlinable public var destinationPort: UInt16? { read(Field.destinationPort.lowerBound, as: UInt16.self) }
    @inlinable public var sequenceNumber: UInt32? { read(Field.sequenceNumber.lowerBound, as: UInt32.self) }
    @inlinable public var acknowledgmentNumber: UInt32? { read(Field.acknowledgmentNumber.lowerBound, as: UInt32.self) }
    /// Header length in bytes, from the data offset.
    @inlinable public var headerLength: Int? { read(Field.dataOffset, as: UInt8.self).map { Int($0 >> 4) * 4 } }
    @inlinable public var flags: TCPFlags? { read(Field.flags, as: UInt8.self).map(TCPFlags.init(rawValue:)) }
    @inlinable public var window: UInt16? { read(Field.window.lowerBound, as: UInt16.self) }
    @inlinable public var checksum: UInt16? { read(Field.checksum.lowerBound, as: UInt16.self) }
    @inlinable public var urgentPointer: UInt16? { read(Field.urgentPointer.lowerBound, as: UInt16.self) }

    /// Whether the header, options included, is there.
    @inlinable public var hasCompleteHeader: Bool { headerLength.map { bytes.count >= $0 } ?? false }

    /// The data that is there after the header (up to `segmentLength` when known).
    @inlinable public var payload: UnsafeRawBufferPointer {
        guard let headerLength, bytes.count >= headerLength else { return bytes.slice(0..<0) }
        return bytes.slice(headerLength..<min(segmentLength ?? bytes.count, bytes.count))
    }
    @inlinable public var payloadOffset: Int { frameOffset + (headerLength ?? TCPSegment.minimumHeaderLength) }

    /// The header cut (20 bytes, or the data offset's), or data the IP header announces that is not
    /// there; nil when nothing is known to be missing.
    @inlinable public var shortfall: Shortfall? {
        if bytes.count < TCPSegment.minimumHeaderLength {
            return Shortfall(layer: .tcp, part: .header, offset: frameOffset, needed: TCPSegment.minimumHeaderLength,
                             available: bytes.count)
        }
        if let headerLength, bytes.count < headerLength {
            return Shortfall(layer: .tcp, part: .header, offset: frameOffset + Field.dataOffset, needed: headerLength,
                             available: bytes.count)
        }
        if let segmentLength, bytes.count < segmentLength {
            return Shortfall(layer: .tcp, part: .payload, offset: frameOffset, needed: segmentLength,
                             available: bytes.count)
        }
        return nil
    }

    /// The strict view, when the header is there and no data is known to be missing.
    @inlinable public var complete: TCPSegment? {
        guard shortfall == nil else { return nil }
        return try? TCPSegment(checking: bytes.slice(0..<min(segmentLength ?? bytes.count, bytes.count)),
                               frameOffset: frameOffset)
    }

    /// `TCP 40000 > 8080 seq 16909060 (tcp header cut short: 8 of 20 bytes present (byte 42))`.
    public var description: String {
        var text = "TCP"
        if let sourcePort, let destinationPort { text += " \(sourcePort) > \(destinationPort)" }
        if let flags { text += " \(flags)" }
        if let sequenceNumber { text += " seq \(sequenceNumber)" }
        if let shortfall { text += " (\(shortfall))" }
        return text
    }
}
