import PacketWire
import Testing

/// `IPv4Fragmenter` against the kernel's own fragments, against the fragmentation ClusterSim does today
/// (which it must reproduce byte for byte), and against the reassembler that undoes it.
@Suite("IPv4 fragmentation (RFC 791)")
struct IPv4FragmenterTests {
    /// ClusterSim's `fragment(_:mtu:)` (Sources/ClusterSim/Node/Dataplane.swift, commit 3899012) restated
    /// over arrays: an Ethernet frame in, the fragment frames out. The fragmenter replaces it, so for
    /// packets without options it must give exactly these bytes.
    static func clusterSimFragments(_ original: [UInt8], mtu: Int) -> [[UInt8]] {
        let headerLength = Int(original[14] & 0x0F) * 4
        let payload = original.count - 14 - headerLength
        let chunk = (mtu - headerLength) / 8 * 8
        let originalMore = original[20] & 0x20 != 0
        let originalOffset = Int(original[20] & 0x1F) << 8 | Int(original[21])
        var pieces: [[UInt8]] = []
        var offset = 0
        while offset < payload {
            let size = min(chunk, payload - offset)
            var piece = Array(original[0..<(14 + headerLength)])
            piece += original[(14 + headerLength + offset)..<(14 + headerLength + offset + size)]
            let more = offset + size < payload || originalMore
            piece.withUnsafeMutableBytes { bytes in
                bytes.setInteger(UInt16(headerLength + size), at: 16, as: UInt16.self)
                bytes.setInteger((more ? 0x2000 : 0) | UInt16(originalOffset + offset / 8), at: 20, as: UInt16.self)
                bytes.setInteger(0, at: 24, as: UInt16.self)
                bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(14..<(14 + headerLength)))),
                                 at: 24, as: UInt16.self)
            }
            pieces.append(piece)
            offset += size
        }
        return pieces
    }

    /// Every piece of `frame` (an Ethernet frame) at `mtu`, each written into its own pooled buffer
    /// except the first, which is formed in place in the buffer holding the original.
    static func fragmenterPieces(_ frame: [UInt8], mtu: Int) throws -> [[UInt8]] {
        let original = PacketBuffer(copying: frame)
        let bytes = original.readableBytes
        let packet = try IPv4Packet(checking: bytes.dropFirst(count: 14), frameOffset: 14)
        let fragmenter = try IPv4Fragmenter(packet, linkHeader: bytes.slice(0..<14), mtu: mtu)
        var pieces: [[UInt8]] = []
        for index in 1..<max(1, fragmenter.count) {
            let piece = PacketBuffer()
            #expect(fragmenter.emitPiece(index, into: piece))
            #expect(piece.count == fragmenter.pieceLength(index))
            pieces.append(piece.bytes)
        }
        guard fragmenter.count > 0 else { return [] }
        #expect(fragmenter.formFirstPieceInPlace(in: original))
        return [original.bytes] + pieces
    }

    // MARK: The kernel's fragments

    /// frag-v4.pcap: the kernel fragmented 1430-byte VXLAN packets for a 1400-byte underlay MTU (frames
    /// 11 + 12, and 13 + 14 the other way). Reassembled and fragmented again at 1400, they come back
    /// byte for byte, Ethernet header included.
    @Test(arguments: [(11, 12), (13, 14)])
    func kernelFragmentsComeBack(first: Int, second: Int) throws {
        let firstFrame = try CapturedFrame.kernel("frag-v4", first)
        let secondFrame = try CapturedFrame.kernel("frag-v4", second)
        var reassembler = IPv4Reassembler()
        for frame in [firstFrame, secondFrame] {
            let outcome = try decoding(frame, from: 14) { bytes in
                reassembler.add(try IPv4Packet(checking: bytes, frameOffset: 14), time: 0)
            }
            guard case .complete(let datagram) = outcome else { continue }
            let whole = Array(firstFrame[..<14]) + datagram.bytes
            let pieces = try Self.fragmenterPieces(whole, mtu: 1400)
            #expect(pieces == [firstFrame, secondFrame])
            // Also into plain 0xa5 buffers of exactly the piece's length.
            try whole.withUnsafeBytes { raw in
                let fragmenter = try IPv4Fragmenter(try IPv4Packet(checking: raw.dropFirst(count: 14)),
                                                    linkHeader: raw.slice(0..<14), mtu: 1400)
                #expect(fragmenter.count == 2 && fragmenter.dataPerPiece == 1376)
                for (index, expected) in [firstFrame, secondFrame].enumerated() {
                    let bytes = emitted(fragmenter.pieceLength(index)) { fragmenter.emitPiece(index, into: $0) }
                    #expect(bytes == expected)
                }
            }
            return
        }
        Issue.record("frames \(first) and \(second) did not reassemble")
    }

    // MARK: ClusterSim's fragmentation

    /// A random frame: Ethernet, an IPv4 header without options (random flags, TTL, TOS, an offset
    /// that still leaves room), random data.
    static func randomFrame(using random: inout SplitMix64, dataLength: Int) -> [UInt8] {
        let maximumOffsetUnits = (65535 - 20 - dataLength) / 8 - 1
        let header = IPv4Header(typeOfService: random.uint8(), identification: random.uint16(),
                                reservedFlag: random.bool(), dontFragment: random.bool(), moreFragments: random.bool(),
                                fragmentOffset: random.bool() ? 0 : 8 * Int.random(in: 0...min(0x1FFF, maximumOffsetUnits),
                                                                                     using: &random),
                                timeToLive: random.uint8(), protocol: IPProtocol(rawValue: random.uint8()),
                                source: random.ipv4Address(), destination: random.ipv4Address(), payloadLength: dataLength)
        let ethernet = EthernetHeader(destination: random.macAddress(), source: random.macAddress(), etherType: .ipv4)
        var frame = [UInt8](repeating: 0, count: 14 + 20) + random.bytes(dataLength)
        frame.withUnsafeMutableBytes { bytes in
            ethernet.emit(into: bytes)
            header.emit(into: bytes.dropFirst(count: 14))
        }
        return frame
    }

    /// The fragmenter gives ClusterSim's bytes on thousands of random packets without options: the same
    /// pieces, the same offsets in 8-byte units, MF kept on the pieces of a non-last fragment, DF and
    /// the reserved bit cleared, the checksum recomputed.
    @Test func matchesClusterSimWithoutOptions() throws {
        var random = SplitMix64(seed: 791)
        for _ in 0..<3_000 {
            let dataLength = Int.random(in: 1...4_000, using: &random)
            let frame = Self.randomFrame(using: &random, dataLength: dataLength)
            let mtu = random.bool() ? [68, 576, 1280, 1400, 1450, 1500][Int.random(in: 0..<6, using: &random)]
                                    : Int.random(in: 28...2_000, using: &random)
            let expected = Self.clusterSimFragments(frame, mtu: mtu)
            let pieces = try Self.fragmenterPieces(frame, mtu: mtu)
            #expect(pieces == expected, "data \(dataLength) mtu \(mtu)")
            for piece in pieces {
                #expect(piece.count - 14 <= mtu)
                piece.withUnsafeBytes { raw in #expect(InternetChecksum.checksum(raw.slice(14..<34)) == 0) }
            }
        }
    }

    /// A packet that already fits still comes out as one piece with DF cleared and the checksum redone,
    /// as ClusterSim's loop gives it; a packet without data gives none.
    @Test func fittingAndEmptyPackets() throws {
        var random = SplitMix64(seed: 68)
        let frame = Self.randomFrame(using: &random, dataLength: 100)
        #expect(try Self.fragmenterPieces(frame, mtu: 1500) == Self.clusterSimFragments(frame, mtu: 1500))
        #expect(try Self.fragmenterPieces(frame, mtu: 1500).count == 1)
        let empty = Self.randomFrame(using: &random, dataLength: 0)
        #expect(try Self.fragmenterPieces(empty, mtu: 68).isEmpty)
    }

    // MARK: Reassembly undoes it

    /// Fragments of random packets, options included, delivered in a random order, reassemble into the
    /// original datagram (DF cleared, as fragmenting left it).
    @Test func reassemblerUndoesTheFragmenter() throws {
        var random = SplitMix64(seed: 0xf4a6)
        for round in 0..<1_000 {
            let dataLength = Int.random(in: 1...3_000, using: &random)
            let options: [UInt8] = round % 2 == 0 ? [] : [0x94, 0x04, 0x00, 0x00]
            let header = IPv4Header(identification: random.uint16(), timeToLive: 64, protocol: .udp,
                                    source: random.ipv4Address(), destination: random.ipv4Address(),
                                    options: IPv4Options(options),
                                    payloadLength: dataLength)
            var datagram = [UInt8](repeating: 0, count: header.headerLength) + random.bytes(dataLength)
            datagram.withUnsafeMutableBytes { header.emit(into: $0) }
            let mtu = Int.random(in: 68...1_500, using: &random)
            var pieces: [[UInt8]] = try datagram.withUnsafeBytes { raw in
                let fragmenter = try IPv4Fragmenter(try IPv4Packet(checking: raw), mtu: mtu)
                return (0..<fragmenter.count).map { index in
                    emitted(fragmenter.pieceLength(index)) { fragmenter.emitPiece(index, into: $0) }
                }
            }
            pieces.shuffle(using: &random)
            var reassembler = IPv4Reassembler()
            var result: [UInt8]?
            for piece in pieces {
                let outcome = try piece.withWireBytes { bytes throws(DecodeError) in
                    reassembler.add(try IPv4Packet(checking: bytes), time: 0)
                }
                switch outcome {
                case .complete(let whole): result = whole.bytes
                case .notFragment: result = piece
                default: break
                }
            }
            #expect(result == datagram, "data \(dataLength) mtu \(mtu) pieces \(pieces.count)")
        }
    }

    // MARK: Options (RFC 791 §3.1, Linux ip_options_fragment)

    /// Record Route (type 7: copied flag clear), a No Operation, Router Alert (type 148: copied flag set).
    static let options: [UInt8] = [0x07, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x94, 0x04, 0x00, 0x00]

    static func packet(options: [UInt8], fragmentOffset: Int = 0, dataLength: Int = 40) -> [UInt8] {
        let header = IPv4Header(identification: 7, fragmentOffset: fragmentOffset, protocol: .udp,
                                source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(192, 0, 2, 2),
                                options: IPv4Options(options), payloadLength: dataLength)
        var bytes = [UInt8](repeating: 0, count: header.headerLength) + (0..<dataLength).map { UInt8($0) }
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        return bytes
    }

    static func optionsOfPieces(_ packet: [UInt8], mtu: Int) throws -> [[UInt8]] {
        try packet.withUnsafeBytes { raw in
            let fragmenter = try IPv4Fragmenter(try IPv4Packet(checking: raw), mtu: mtu)
            return try (0..<fragmenter.count).map { index in
                let piece = emitted(fragmenter.pieceLength(index)) { fragmenter.emitPiece(index, into: $0) }
                return try piece.withWireBytes { bytes throws(DecodeError) in
                    let view = try IPv4Packet(checking: bytes)
                    #expect(view.checksumIsValid())
                    return Array(view.options)
                }
            }
        }
    }

    /// The first piece keeps every option; the later ones keep only the copied ones, the others turned
    /// into No Operation bytes, the header length unchanged.
    @Test func uncopiedOptionsLeaveTheLaterPieces() throws {
        let pieces = try Self.optionsOfPieces(Self.packet(options: Self.options), mtu: 32 + 16)
        #expect(pieces.count == 3)
        #expect(pieces[0] == Self.options)
        let later: [UInt8] = [0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x94, 0x04, 0x00, 0x00]
        #expect(pieces[1] == later)
        #expect(pieces[2] == later)
    }

    /// A packet at a non-zero offset was fragmented before, and its options fixed then: copied as they are.
    @Test func aLaterFragmentKeepsItsOptions() throws {
        let pieces = try Self.optionsOfPieces(Self.packet(options: Self.options, fragmentOffset: 800), mtu: 32 + 16)
        #expect(pieces.allSatisfy { $0 == Self.options })
    }

    /// End of Option List stops the walk, and so does a length byte that cannot be right: what follows is
    /// left alone, as `ip_options_fragment` leaves it.
    @Test(arguments: [
        ([0x07, 0x03, 0x04, 0x00, 0x44, 0x06, 0x05, 0x00], [0x01, 0x01, 0x01, 0x00, 0x44, 0x06, 0x05, 0x00]),
        ([0x07, 0x03, 0x04, 0x44, 0x09, 0x00, 0x00, 0x00], [0x01, 0x01, 0x01, 0x44, 0x09, 0x00, 0x00, 0x00]),
        ([0x44, 0x01, 0x07, 0x03, 0x04, 0x00, 0x00, 0x00], [0x44, 0x01, 0x07, 0x03, 0x04, 0x00, 0x00, 0x00]),
    ] as [([UInt8], [UInt8])])
    func optionWalkStops(options: [UInt8], later: [UInt8]) throws {
        let pieces = try Self.optionsOfPieces(Self.packet(options: options), mtu: 28 + 16)
        #expect(pieces.count == 3)
        #expect(pieces[0] == options)
        #expect(pieces[1] == later && pieces[2] == later)
    }

    // MARK: Refusals

    @Test func mtuBelowHeaderPlusEightIsRefused() throws {
        let packet = Self.packet(options: Self.options)
        try packet.withUnsafeBytes { raw in
            let view = try IPv4Packet(checking: raw)
            do {
                _ = try IPv4Fragmenter(view, mtu: 32 + 7)
                Issue.record("an MTU without room for 8 data bytes was accepted")
            } catch let error as FragmentationError {
                #expect(error.code == .mtuTooSmall)
                #expect(error.description.contains("39"))
            }
            #expect(try IPv4Fragmenter(view, mtu: 32 + 8).dataPerPiece == 8)
        }
    }

    @Test func offsetPastTheFieldIsRefused() throws {
        let packet = Self.packet(options: [], fragmentOffset: 8 * 0x1FFF, dataLength: 16)
        try packet.withUnsafeBytes { raw in
            let view = try IPv4Packet(checking: raw)
            #expect(throws: FragmentationError.self) { try IPv4Fragmenter(view, mtu: 28) }
            #expect(try IPv4Fragmenter(view, mtu: 36).count == 1)
        }
    }

    @Test func buffersThatCannotTakeAPiece() throws {
        var random = SplitMix64(seed: 9)
        let frame = Self.randomFrame(using: &random, dataLength: 3_000)
        let original = PacketBuffer(copying: frame)
        let other = PacketBuffer(copying: frame)
        let bytes = original.readableBytes
        let fragmenter = try IPv4Fragmenter(try IPv4Packet(checking: bytes.dropFirst(count: 14)),
                                            linkHeader: bytes.slice(0..<14), mtu: 1500)
        #expect(!fragmenter.emitPiece(1, into: PacketBuffer(capacity: 200, headroom: 0)))
        #expect(!fragmenter.formFirstPieceInPlace(in: other), "a copy is not the original")
        #expect(other.bytes == frame)
    }
}
