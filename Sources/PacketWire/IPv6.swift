// IPv6 (RFC 8200 §3) and the walk over its extension headers (RFC 8200 §4).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Source Address (128 bits)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  Destination Address (128 bits)               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// A zero-copy view of an IPv6 packet.
///
/// ``init(checking:frameOffset:)`` checks the version and that the payload length fits the bytes.
public struct IPv6Packet {
    public enum Field {
        public static let versionClassLabel = 0..<4
        public static let payloadLength = 4..<6
        public static let nextHeader = 6
        public static let hopLimit = 7
        public static let source = 8..<24
        public static let destination = 24..<40
    }
    public static let headerLength = 40

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.ipv6, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
        }
        let version = bytes.getInteger(at: Field.versionClassLabel.lowerBound, as: UInt8.self) >> 4
        guard version == 6 else {
            throw .badVersion(.ipv6, offset: frameOffset, expected: 6, found: Int(version))
        }
        let payloadLength = Int(bytes.getInteger(at: Field.payloadLength.lowerBound, as: UInt16.self))
        guard Self.headerLength + payloadLength <= bytes.count else {
            throw .truncated(.ipv6, offset: frameOffset + Field.payloadLength.lowerBound, needed: Self.headerLength + payloadLength,
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

    @inlinable public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.getInteger(at: Field.versionClassLabel.lowerBound, as: UInt32.self) >> 20) }
    @inlinable public var flowLabel: UInt32 { bytes.getInteger(at: Field.versionClassLabel.lowerBound, as: UInt32.self) & 0xF_FFFF }
    @inlinable public var payloadLength: Int { Int(bytes.getInteger(at: Field.payloadLength.lowerBound, as: UInt16.self)) }
    /// The version nibble (6 in any packet ``init(checking:frameOffset:)`` accepts).
    @inlinable public var version: UInt8 { bytes.getInteger(at: Field.versionClassLabel.lowerBound, as: UInt8.self) >> 4 }
    @inlinable public var nextHeader: IPProtocol { IPProtocol(rawValue: bytes.getInteger(at: Field.nextHeader, as: UInt8.self)) }
    @inlinable public var hopLimit: UInt8 { bytes.getInteger(at: Field.hopLimit, as: UInt8.self) }
    @inlinable public var source: IPv6Address { IPv6Address(reading: bytes, at: Field.source.lowerBound) }
    @inlinable public var destination: IPv6Address { IPv6Address(reading: bytes, at: Field.destination.lowerBound) }
    /// Everything after the fixed header up to the payload length: extension headers and upper layer.
    @inlinable public var payload: UnsafeRawBufferPointer {
        bytes.slice(Self.headerLength..<(Self.headerLength + payloadLength))
    }
    @inlinable public var payloadOffset: Int { frameOffset + Self.headerLength }

    /// Where the upper-layer header is, after walking hop-by-hop, routing, fragment, destination options
    /// and authentication headers (RFC 8200 §4.1 order is not enforced; a decoder reports what it sees).
    public struct UpperLayer: Hashable, Sendable {
        public var `protocol`: IPProtocol
        /// Offset of the upper-layer header within ``payload``.
        public var offset: Int
        /// Set when a fragment header was walked: the upper layer is whole only in a first fragment.
        public var fragment: IPv6FragmentHeader?

        @inlinable
        public init(protocol: IPProtocol, offset: Int, fragment: IPv6FragmentHeader?) {
            self.protocol = `protocol`
            self.offset = offset
            self.fragment = fragment
        }
    }

    /// Walks the extension headers to the upper layer.
    /// - Throws: `truncated` when an extension header runs past the payload.
    @inlinable
    public func upperLayer() throws(DecodeError) -> UpperLayer {
        try Self.walkExtensionHeaders(payload, first: nextHeader, payloadOffset: payloadOffset)
    }

    /// The walk of ``upperLayer()`` over `payload` (the bytes after the fixed header, starting with a
    /// header of type `first`), shared with ``PartialIPv6Packet``.
    @inlinable
    static func walkExtensionHeaders(_ payload: UnsafeRawBufferPointer, first: IPProtocol,
                                     payloadOffset: Int) throws(DecodeError) -> UpperLayer {
        var next = first
        var offset = 0
        var fragment: IPv6FragmentHeader?
        while true {
            let length: Int
            switch next {
            case .hopByHopOptions, .ipv6Routing, .destinationOptions:
                guard payload.count >= offset + 2 else {
                    throw .truncated(.ipv6, offset: payloadOffset + offset, needed: offset + 2, available: payload.count)
                }
                length = (Int(payload.getInteger(at: offset + 1, as: UInt8.self)) + 1) * 8
            case .ipv6Fragment:
                length = 8
                guard payload.count >= offset + length else {
                    throw .truncated(.ipv6, offset: payloadOffset + offset, needed: offset + length,
                                     available: payload.count)
                }
                fragment = IPv6FragmentHeader(IPv6FragmentPacket(unchecked: payload.dropFirst(count: offset),
                                                                 frameOffset: payloadOffset + offset))
            case .authenticationHeader:
                guard payload.count >= offset + 2 else {
                    throw .truncated(.ipv6, offset: payloadOffset + offset, needed: offset + 2, available: payload.count)
                }
                length = (Int(payload.getInteger(at: offset + 1, as: UInt8.self)) + 2) * 4
            default:
                return UpperLayer(protocol: next, offset: offset, fragment: fragment)
            }
            guard payload.count >= offset + length else {
                throw .truncated(.ipv6, offset: payloadOffset + offset, needed: offset + length, available: payload.count)
            }
            next = IPProtocol(rawValue: payload.getInteger(at: offset, as: UInt8.self))
            offset += length
            if let fragment, fragment.fragmentOffset != 0 {
                return UpperLayer(protocol: next, offset: offset, fragment: fragment)
            }
        }
    }
}

/// A zero-copy, writable view of an IPv6 packet: ``IPv6Packet``'s getters, a setter for every field of
/// the fixed header, and the rewrites NAT and forwarding do. IPv6 has no header checksum; an address
/// rewrite patches the upper layer's checksum, whose pseudo-header covers it (RFC 8200 §8.1).
///
/// After ``init(checking:frameOffset:)`` or ``init(formatting:payloadLength:frameOffset:)`` no getter or
/// setter reaches outside ``bytes``: the payload length setter takes only values that fit the buffer.
public struct MutableIPv6Packet {
    public typealias Field = IPv6Packet.Field

    public let bytes: UnsafeMutableRawBufferPointer
    public let frameOffset: Int

    /// - Throws: what ``IPv6Packet/init(checking:frameOffset:)`` throws for the same bytes.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        _ = try IPv6Packet(checking: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// Starts a header at the front of `bytes` for the setters to fill: writes version 6 (traffic
    /// class and flow label zero) and the payload length; every other byte is left as it was.
    /// - Parameter payloadLength: bytes after the fixed header, at most `bytes.count - 40` (and 65535);
    ///   all the rest of `bytes` when nil.
    @inlinable
    public init(formatting bytes: UnsafeMutableRawBufferPointer, payloadLength: Int? = nil, frameOffset: Int = 0) {
        precondition(bytes.count >= IPv6Packet.headerLength, "buffer too small for the IPv6 header")
        let payloadLength = payloadLength ?? bytes.count - IPv6Packet.headerLength
        precondition(payloadLength >= 0 && payloadLength <= min(bytes.count - IPv6Packet.headerLength, 65535),
                     "IPv6 payload length must fit the buffer")
        bytes.setInteger(UInt32(6) << 28, at: Field.versionClassLabel.lowerBound, as: UInt32.self)
        bytes.setInteger(UInt16(payloadLength), at: Field.payloadLength.lowerBound, as: UInt16.self)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// The same bytes, read-only.
    @inlinable
    public var readOnly: IPv6Packet { IPv6Packet(unchecked: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset) }

    @inlinable
    var firstWord: UInt32 {
        get { bytes.getInteger(at: Field.versionClassLabel.lowerBound, as: UInt32.self) }
        nonmutating set { bytes.setInteger(newValue, at: Field.versionClassLabel.lowerBound, as: UInt32.self) }
    }

    /// The version nibble (only its low 4 bits are written).
    @inlinable public var version: UInt8 {
        get { UInt8(truncatingIfNeeded: firstWord >> 28) }
        nonmutating set { firstWord = firstWord & 0x0FFF_FFFF | UInt32(newValue & 0x0F) << 28 }
    }

    @inlinable public var trafficClass: UInt8 {
        get { readOnly.trafficClass }
        nonmutating set { firstWord = firstWord & 0xF00F_FFFF | UInt32(newValue) << 20 }
    }

    /// The 20-bit flow label (RFC 6437; only the low 20 bits are written).
    @inlinable public var flowLabel: UInt32 {
        get { readOnly.flowLabel }
        nonmutating set { firstWord = firstWord & 0xFFF0_0000 | newValue & 0xF_FFFF }
    }

    /// Bytes after the fixed header.
    /// - Precondition: at most `bytes.count - 40`.
    @inlinable public var payloadLength: Int {
        get { readOnly.payloadLength }
        nonmutating set {
            precondition(newValue >= 0 && newValue <= min(bytes.count - IPv6Packet.headerLength, 65535),
                         "IPv6 payload length must fit the buffer")
            bytes.setInteger(UInt16(newValue), at: Field.payloadLength.lowerBound, as: UInt16.self)
        }
    }

    @inlinable public var nextHeader: IPProtocol {
        get { readOnly.nextHeader }
        nonmutating set { bytes.setInteger(newValue.rawValue, at: Field.nextHeader, as: UInt8.self) }
    }

    @inlinable public var hopLimit: UInt8 {
        get { readOnly.hopLimit }
        nonmutating set { bytes.setInteger(newValue, at: Field.hopLimit, as: UInt8.self) }
    }

    @inlinable public var source: IPv6Address {
        get { readOnly.source }
        nonmutating set { newValue.write(into: bytes, at: Field.source.lowerBound) }
    }

    @inlinable public var destination: IPv6Address {
        get { readOnly.destination }
        nonmutating set { newValue.write(into: bytes, at: Field.destination.lowerBound) }
    }

    /// Everything after the fixed header up to the payload length, writable.
    @inlinable public var payload: UnsafeMutableRawBufferPointer {
        bytes.slice(IPv6Packet.headerLength..<(IPv6Packet.headerLength + payloadLength))
    }
    @inlinable public var payloadOffset: Int { frameOffset + IPv6Packet.headerLength }

    /// A router's hop limit decrement (RFC 8200 §3). Returns the new hop limit, or nil, with nothing
    /// written, when it is already 0.
    @inlinable
    @discardableResult
    public func decrementHopLimit() -> UInt8? {
        let limit = hopLimit
        guard limit > 0 else { return nil }
        hopLimit = limit - 1
        return limit - 1
    }

    /// Source NAT (Linux `nf_nat_ipv6_manip_pkt` with `NF_NAT_MANIP_SRC`): writes `address` and, when
    /// `port` is given, the TCP or UDP source port (the ICMPv6 echo identifier), patching the TCP, UDP
    /// or ICMPv6 checksum by RFC 1624. The upper layer is found by walking the extension headers; as in
    /// Linux, when the walk fails or the packet is a fragment at a non-zero offset only the address is
    /// written.
    /// - Returns: false when `port` was given but no header was there to take it.
    @inlinable
    @discardableResult
    public func rewriteSource(_ address: IPv6Address, port: UInt16? = nil) -> Bool {
        rewriteAddress(at: Field.source.lowerBound, to: address, port: port, isDestination: false)
    }

    /// Destination NAT (`NF_NAT_MANIP_DST`); otherwise as ``rewriteSource(_:port:)``.
    @inlinable
    @discardableResult
    public func rewriteDestination(_ address: IPv6Address, port: UInt16? = nil) -> Bool {
        rewriteAddress(at: Field.destination.lowerBound, to: address, port: port, isDestination: true)
    }

    @inlinable
    func rewriteAddress(at field: Int, to address: IPv6Address, port: UInt16?, isDestination: Bool) -> Bool {
        let old = IPv6Address(reading: UnsafeRawBufferPointer(bytes), at: field)
        var portWritten = port == nil
        if let upper = try? readOnly.upperLayer(), upper.fragment.map({ $0.fragmentOffset == 0 }) ?? true {
            let transport = payload.dropFirst(count: upper.offset)
            portWritten = TransportRewrite.apply(to: transport, protocol: upper.protocol, address: .v6(old, address),
                                                 port: port, isDestination: isDestination) || port == nil
        }
        address.write(into: bytes, at: field)
        return portWritten
    }
}

/// The fixed IPv6 header as a plain value; extension headers belong to the payload.
public struct IPv6Header: Hashable, Sendable, CustomStringConvertible {
    public var trafficClass: UInt8
    /// 20-bit flow label (RFC 6437).
    public var flowLabel: UInt32
    public var payloadLength: Int
    public var nextHeader: IPProtocol
    public var hopLimit: UInt8
    public var source: IPv6Address
    public var destination: IPv6Address

    public init(trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, payloadLength: Int, nextHeader: IPProtocol,
                hopLimit: UInt8 = 64, source: IPv6Address, destination: IPv6Address) {
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel & 0xF_FFFF
        self.payloadLength = payloadLength
        self.nextHeader = nextHeader
        self.hopLimit = hopLimit
        self.source = source
        self.destination = destination
    }

    @inlinable
    public init(_ packet: IPv6Packet) {
        self.init(trafficClass: packet.trafficClass, flowLabel: packet.flowLabel, payloadLength: packet.payloadLength,
                  nextHeader: packet.nextHeader, hopLimit: packet.hopLimit, source: packet.source,
                  destination: packet.destination)
    }

    public static let headerLength = IPv6Packet.headerLength

    /// Writes the 40-byte fixed header at the start of `bytes`.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.headerLength, "buffer too small for the IPv6 header")
        bytes.setInteger(6 << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xF_FFFF), at: IPv6Packet.Field.versionClassLabel.lowerBound, as: UInt32.self)
        bytes.setInteger(UInt16(truncatingIfNeeded: payloadLength), at: IPv6Packet.Field.payloadLength.lowerBound, as: UInt16.self)
        bytes.setInteger(nextHeader.rawValue, at: IPv6Packet.Field.nextHeader, as: UInt8.self)
        bytes.setInteger(hopLimit, at: IPv6Packet.Field.hopLimit, as: UInt8.self)
        source.write(into: bytes, at: IPv6Packet.Field.source.lowerBound)
        destination.write(into: bytes, at: IPv6Packet.Field.destination.lowerBound)
    }

    public var description: String {
        "IPv6 \(source) > \(destination) \(nextHeader.name) hlim \(hopLimit) len \(payloadLength)"
    }
}

/// A lenient view of an IPv6 packet that may stop early: the start of a packet quoted in an ICMPv6 error
/// (RFC 4443 §2.4 (c): as much as fits the minimum MTU of 1280) or a frame cut by a snap length.
///
/// Every field of the fixed header is read when its bytes are there and is nil when they are not;
/// ``shortfall`` says what is missing and ``complete`` gives the strict ``IPv6Packet`` when nothing is.
public struct PartialIPv6Packet: CustomStringConvertible {
    public typealias Field = IPv6Packet.Field

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `badVersion` when the version nibble is there and is not 6, which no cut explains.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        self.bytes = bytes
        self.frameOffset = frameOffset
        if let first = read(0, as: UInt8.self), first >> 4 != 6 {
            throw .badVersion(.ipv6, offset: frameOffset, expected: 6, found: Int(first >> 4))
        }
    }

    @inlinable
    func read<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T? {
        offset + MemoryLayout<T>.size <= bytes.count ? bytes.getInteger(at: offset, as: T.self) : nil
    }

    @inlinable public var version: UInt8? { read(0, as: UInt8.self).map { $0 >> 4 } }
    @inlinable public var trafficClass: UInt8? {
        read(Field.versionClassLabel.lowerBound, as: UInt16.self).map { UInt8(truncatingIfNeeded: $0 >> 4) }
    }
    @inlinable public var flowLabel: UInt32? {
        read(Field.versionClassLabel.lowerBound, as: UInt32.self).map { $0 & 0xF_FFFF }
    }
    /// Bytes after the fixed header as the header announces them.
    @inlinable public var payloadLength: Int? { read(Field.payloadLength.lowerBound, as: UInt16.self).map(Int.init) }
    @inlinable public var nextHeader: IPProtocol? { read(Field.nextHeader, as: UInt8.self).map(IPProtocol.init(rawValue:)) }
    @inlinable public var hopLimit: UInt8? { read(Field.hopLimit, as: UInt8.self) }
    @inlinable public var source: IPv6Address? {
        bytes.count >= Field.source.upperBound ? IPv6Address(reading: bytes, at: Field.source.lowerBound) : nil
    }
    @inlinable public var destination: IPv6Address? {
        bytes.count >= Field.destination.upperBound ? IPv6Address(reading: bytes, at: Field.destination.lowerBound) : nil
    }

    @inlinable public var hasCompleteHeader: Bool { bytes.count >= IPv6Packet.headerLength }
    @inlinable public var isComplete: Bool {
        payloadLength.map { bytes.count >= IPv6Packet.headerLength + $0 } ?? false
    }

    /// The payload that is there (extension headers and upper layer), up to the payload length.
    @inlinable public var payload: UnsafeRawBufferPointer {
        guard hasCompleteHeader, let payloadLength else { return bytes.slice(0..<0) }
        return bytes.slice(IPv6Packet.headerLength..<min(IPv6Packet.headerLength + payloadLength, bytes.count))
    }
    @inlinable public var payloadOffset: Int { frameOffset + IPv6Packet.headerLength }

    /// The 40-byte header cut, or payload the header announces that is not there; nil when whole.
    @inlinable public var shortfall: Shortfall? {
        if !hasCompleteHeader {
            return Shortfall(layer: .ipv6, part: .header, offset: frameOffset, needed: IPv6Packet.headerLength,
                             available: bytes.count)
        }
        if let payloadLength, bytes.count < IPv6Packet.headerLength + payloadLength {
            return Shortfall(layer: .ipv6, part: .payload, offset: frameOffset + Field.payloadLength.lowerBound,
                             needed: IPv6Packet.headerLength + payloadLength, available: bytes.count)
        }
        return nil
    }

    /// The strict view, when the whole packet is there.
    @inlinable public var complete: IPv6Packet? { try? IPv6Packet(checking: bytes, frameOffset: frameOffset) }

    /// The walk over the extension headers that are there; nil when one of them is cut (or the fixed
    /// header is).
    @inlinable public var upperLayer: IPv6Packet.UpperLayer? {
        guard hasCompleteHeader, let nextHeader else { return nil }
        return try? IPv6Packet.walkExtensionHeaders(payload, first: nextHeader, payloadOffset: payloadOffset)
    }

    /// The upper layer's bytes that are there, when the walk reached it and it starts in this packet
    /// (not a later fragment).
    @inlinable var upperLayerBytes: (IPv6Packet.UpperLayer, UnsafeRawBufferPointer)? {
        guard let upper = upperLayer, upper.fragment.map({ $0.fragmentOffset == 0 }) ?? true else { return nil }
        return (upper, payload.dropFirst(count: upper.offset))
    }

    /// The TCP, UDP or SCTP ports when they are there: what conntrack matches an ICMPv6 error by.
    @inlinable public var ports: (source: UInt16, destination: UInt16)? {
        guard let (upper, data) = upperLayerBytes,
              upper.protocol == .tcp || upper.protocol == .udp || upper.protocol.rawValue == 132,
              data.count >= 4 else { return nil }
        // TCP, UDP and SCTP all open with the source and destination ports.
        return (data.getInteger(at: UDPDatagram.Field.sourcePort.lowerBound, as: UInt16.self),
                data.getInteger(at: UDPDatagram.Field.destinationPort.lowerBound, as: UInt16.self))
    }

    /// The UDP datagram, as much of it as is there; nil when the upper layer is not UDP or not here.
    @inlinable
    public func udpDatagram() throws(DecodeError) -> PartialUDPDatagram? {
        guard let (upper, data) = upperLayerBytes, upper.protocol == .udp else { return nil }
        return try PartialUDPDatagram(data, frameOffset: payloadOffset + upper.offset)
    }

    /// The TCP segment, as much of it as is there; nil when the upper layer is not TCP or not here.
    @inlinable
    public func tcpSegment() throws(DecodeError) -> PartialTCPSegment? {
        guard let (upper, data) = upperLayerBytes, upper.protocol == .tcp, let payloadLength else { return nil }
        return try PartialTCPSegment(data, frameOffset: payloadOffset + upper.offset,
                                     segmentLength: upper.fragment == nil ? payloadLength - upper.offset : nil)
    }

    /// `IPv6 2001:db8:77::1 > 2001:db8:77::2 UDP hlim 64 len 1414 (ipv6 payload cut short: 64 of 1454 bytes present (byte 66))`.
    public var description: String {
        var text = "IPv6"
        if let source, let destination { text += " \(source) > \(destination)" }
        if let nextHeader { text += " \(nextHeader.name)" }
        if let hopLimit { text += " hlim \(hopLimit)" }
        if let payloadLength { text += " len \(payloadLength)" }
        if let shortfall { text += " (\(shortfall))" }
        return text
    }
}
