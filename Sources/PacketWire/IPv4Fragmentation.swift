// IPv4 fragmentation (RFC 791 §2.3 and §3.2, "Fragmentation and Reassembly"), as the Linux kernel's
// slow path does it: net/ipv4/ip_output.c `ip_do_fragment`, `ip_frag_init`, `ip_frag_next`, and
// net/ipv4/ip_options.c `ip_options_fragment`. The reassembler beside it (IPv4Reassembly.swift) undoes it.
//
//   original:  | header | data 0 ........................................... data n |
//   pieces:    | header | data 0 .. 8k-1 |   | header' | data 8k .. 16k-1 |   | header' | ... n |
//
// - Every piece but the last carries the largest multiple of 8 data bytes that fits the MTU after the
//   header, (mtu - header length) & ~7; the last carries the rest (`ip_frag_next`).
// - Every piece starts with a copy of the header, options included, and gets its own total length,
//   fragment offset (the original's offset plus the piece's position, in 8-byte units) and a header
//   checksum computed from scratch (`ip_send_check`).
// - MF is set on every piece but the last, and on the last too when the original was itself a
//   fragment that was not the last ("keep MF on each bit", `not_last_frag`).
// - DF and the reserved bit are cleared: `ip_frag_next` writes the flags and offset afresh, setting DF
//   only under `IPSKB_FRAG_PMTU`, which this model never sets. Whether a DF packet may be fragmented at
//   all is the caller's decision (`ip_fragment` answers with ICMP fragmentation needed; `ip_do_fragment`
//   does not look).
// - Options (RFC 791 §3.1, the "copied" flag 0x80 of the option type): the first piece keeps them all.
//   When the original starts at offset 0, every later piece has each option whose copied flag is clear
//   overwritten with No Operation bytes (1), so the header keeps its length; an End of Option List, or
//   an option whose length byte is impossible, ends the walk and leaves the rest as it is
//   (`ip_options_fragment`). A packet at a non-zero offset was fragmented before and its options were
//   fixed then: its pieces copy them as they are (`first_frag`).

/// Why a packet cannot be fragmented.
public struct FragmentationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        /// The MTU leaves fewer than 8 data bytes after the header.
        case mtuTooSmall
        /// A piece's offset would not fit the 13-bit fragment offset field.
        case offsetOverflow
    }

    public let code: Code
    public let mtu: Int
    public let headerLength: Int
    public let description: String

    public static func mtuTooSmall(mtu: Int, headerLength: Int) -> FragmentationError {
        FragmentationError(code: .mtuTooSmall, mtu: mtu, headerLength: headerLength,
                           description: "an MTU of \(mtu) bytes leaves no room for 8 data bytes after a \(headerLength)-byte IPv4 header (RFC 791 requires 68)")
    }

    public static func offsetOverflow(mtu: Int, headerLength: Int, lastOffset: Int) -> FragmentationError {
        FragmentationError(code: .offsetOverflow, mtu: mtu, headerLength: headerLength,
                           description: "the last fragment would start at byte \(lastOffset), beyond the 13-bit fragment offset field's 65528")
    }
}

/// Cuts one IPv4 packet into fragments that fit an MTU, writing each into a buffer the caller gives.
///
/// Nothing is allocated: the fragmenter holds the original's bytes (which must stay valid and unchanged
/// while it is used) and writes piece `index` with ``emitPiece(_:into:)``. Bytes in front of the IP
/// header (an Ethernet header, say) are copied verbatim to the front of every piece.
///
/// ```swift
/// let fragmenter = try IPv4Fragmenter(packet, linkHeader: frame.slice(0..<14), mtu: 1400)
/// for index in 1..<fragmenter.count { fragmenter.emitPiece(index, into: pool.take()) }
/// fragmenter.formFirstPieceInPlace(in: original)   // last: it shortens the original
/// ```
public struct IPv4Fragmenter {
    /// The packet being fragmented; bytes past its total length (Ethernet padding) are not part of it.
    public let packet: IPv4Packet
    /// Copied verbatim in front of every piece.
    public let linkHeader: UnsafeRawBufferPointer
    /// The largest IP packet a piece may be, header included.
    public let mtu: Int
    /// Data bytes in every piece but the last: a multiple of 8.
    public let dataPerPiece: Int
    /// How many pieces: 0 for a packet without data, 1 when it already fits.
    public let count: Int

    @usableFromInline let headerLength: Int
    /// The original's data, taken once: ``formFirstPieceInPlace(in:)`` rewrites the header it was read
    /// from, and pieces written after that must still find it.
    @usableFromInline let data: UnsafeRawBufferPointer
    @usableFromInline let dataLength: Int
    /// Where the original's data starts in its datagram, in bytes.
    @usableFromInline let originalOffset: Int
    @usableFromInline let originalMoreFragments: Bool

    /// Plans the fragmentation of `packet` for `mtu`.
    /// - Parameters:
    ///   - packet: a checked view; its header checksum is not looked at (every piece gets a new one).
    ///   - linkHeader: bytes to put in front of every piece; empty by default.
    ///   - mtu: the largest IP packet a piece may be, header included.
    /// - Throws: `mtuTooSmall` when the MTU leaves fewer than 8 data bytes after the header (Linux never
    ///   meets this: no device MTU is below RFC 791's 68 = 60 + 8); `offsetOverflow` when a piece's offset
    ///   would pass the 13-bit field.
    @inlinable
    public init(_ packet: IPv4Packet, linkHeader: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                mtu: Int) throws(FragmentationError) {
        let headerLength = packet.headerLength
        guard mtu - headerLength >= 8 else { throw .mtuTooSmall(mtu: mtu, headerLength: headerLength) }
        let dataPerPiece = (mtu - headerLength) & ~7
        let dataLength = packet.totalLength - headerLength
        let count = (dataLength + dataPerPiece - 1) / dataPerPiece
        let originalOffset = packet.fragmentOffset
        let lastOffset = originalOffset + max(0, count - 1) * dataPerPiece
        guard lastOffset / 8 <= 0x1FFF else {
            throw .offsetOverflow(mtu: mtu, headerLength: headerLength, lastOffset: lastOffset)
        }
        self.packet = packet
        self.linkHeader = linkHeader
        self.mtu = mtu
        self.dataPerPiece = dataPerPiece
        self.count = count
        self.headerLength = headerLength
        self.data = packet.payload
        self.dataLength = dataLength
        self.originalOffset = originalOffset
        self.originalMoreFragments = packet.moreFragments
    }

    /// The data of piece `index`, as a range of the original's payload.
    @inlinable
    public func dataRange(of index: Int) -> Range<Int> {
        precondition(index >= 0 && index < count, "no such fragment")
        let start = index * dataPerPiece
        return start..<min(start + dataPerPiece, dataLength)
    }

    /// Bytes piece `index` takes: the link header, the IP header and its data.
    @inlinable
    public func pieceLength(_ index: Int) -> Int {
        linkHeader.count + headerLength + dataRange(of: index).count
    }

    /// Writes piece `index` at the start of `destination`, which must hold ``pieceLength(_:)`` bytes and
    /// must not overlap the original.
    @inlinable
    public func emitPiece(_ index: Int, into destination: UnsafeMutableRawBufferPointer) {
        let data = dataRange(of: index)
        let ipStart = linkHeader.count
        let ipLength = headerLength + data.count
        precondition(destination.count >= ipStart + ipLength, "buffer too small for the fragment")
        destination.slice(0..<ipStart).copyMemory(from: linkHeader)
        destination.slice(ipStart..<(ipStart + headerLength)).copyMemory(from: packet.bytes.slice(0..<headerLength))
        destination.slice((ipStart + headerLength)..<(ipStart + ipLength)).copyMemory(from: self.data.slice(data))
        let piece = MutableIPv4Packet(unchecked: destination.slice(ipStart..<(ipStart + ipLength)), frameOffset: 0)
        if index > 0 && originalOffset == 0 && headerLength > IPv4Packet.minimumHeaderLength {
            Self.replaceUncopiedOptions(in: piece.options)
        }
        finish(piece, index: index)
    }

    /// Empties `buffer` (leaving `headroom` in front) and writes piece `index` into it.
    /// - Returns: false, with the buffer emptied, when the piece does not fit its capacity.
    @inlinable
    @discardableResult
    public func emitPiece(_ index: Int, into buffer: PacketBuffer, headroom: Int = PacketBuffer.defaultHeadroom) -> Bool {
        buffer.reset(headroom: headroom)
        guard let bytes = buffer.append(pieceLength(index)) else { return false }
        emitPiece(index, into: bytes)
        return true
    }

    /// Turns `buffer`, which must hold the original (link header first, as given to the fragmenter),
    /// into piece 0 where it lies: the header's length, flags and checksum are rewritten and the buffer is
    /// shortened, so the first piece costs no copy. Pieces may be written before or after it.
    /// - Returns: false, with nothing changed, when `buffer` does not hold the original or there are no
    ///   pieces.
    @inlinable
    @discardableResult
    public func formFirstPieceInPlace(in buffer: PacketBuffer) -> Bool {
        guard count > 0 else { return false }
        let bytes = buffer.mutableBytes
        let ipStart = linkHeader.count
        let ipLength = headerLength + dataRange(of: 0).count
        guard bytes.count >= ipStart + ipLength, let base = bytes.baseAddress,
              UnsafeRawPointer(base) + ipStart == packet.bytes.baseAddress,
              linkHeader.isEmpty || UnsafeRawPointer(base) == linkHeader.baseAddress else { return false }
        finish(MutableIPv4Packet(unchecked: bytes.slice(ipStart..<(ipStart + ipLength)), frameOffset: 0), index: 0)
        buffer.truncate(to: ipStart + ipLength)
        return true
    }

    /// Total length, flags and offset, checksum: what differs from piece to piece.
    @inlinable
    func finish(_ piece: MutableIPv4Packet, index: Int) {
        let data = dataRange(of: index)
        let more = data.upperBound < dataLength || originalMoreFragments
        piece.bytes.setInteger(UInt16(headerLength + data.count), at: IPv4Packet.Field.totalLength.lowerBound,
                               as: UInt16.self)
        piece.bytes.setInteger((more ? 0x2000 : 0) | UInt16((originalOffset + data.lowerBound) / 8),
                               at: IPv4Packet.Field.flagsAndFragmentOffset.lowerBound, as: UInt16.self)
        piece.fillChecksum()
    }

    /// RFC 791 §3.1: options whose copied flag (0x80 of the type) is clear appear in the first fragment
    /// only; Linux's `ip_options_fragment` overwrites them with No Operation bytes in the rest.
    @inlinable
    static func replaceUncopiedOptions(in options: UnsafeMutableRawBufferPointer) {
        // The walk stops at End of Option List and at an impossible length byte, as Linux's does.
        for option in IPv4OptionSequence(UnsafeRawBufferPointer(options))
            where !option.isCopied && option.type != IPv4Option.noOperation {
            options.slice(option.offset..<(option.offset + option.bytes.count))
                .initializeMemory(as: UInt8.self, repeating: IPv4Option.noOperation)
        }
    }
}
