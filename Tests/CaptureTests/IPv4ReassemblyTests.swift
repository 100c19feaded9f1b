import PacketWire
import Testing

// IPv4Reassembler lives in PacketWire; its tests sit here beside the decoder that uses it.

/// A datagram and fragments cut from it, built with PacketWire's own emit.
private struct Datagram {
    static let source = IPv4Address(192, 0, 2, 1)
    static let destination = IPv4Address(192, 0, 2, 2)

    let identification: UInt16
    let payload: [UInt8]
    var options: [UInt8] = []

    init(identification: UInt16 = 0x0982, length: Int, options: [UInt8] = []) {
        self.identification = identification
        self.payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        self.options = options
    }

    /// The whole datagram, as the sender had it before fragmenting.
    var whole: [UInt8] {
        packet(offset: 0, count: payload.count, more: false, options: options)
    }

    /// One fragment: `count` bytes of the payload from `offset`. Options go in the first fragment only,
    /// which is enough here: the reassembled header is the first fragment's.
    func fragment(_ offset: Int, _ count: Int, more: Bool) -> [UInt8] {
        packet(offset: offset, count: count, more: more, options: offset == 0 ? options : [])
    }

    private func packet(offset: Int, count: Int, more: Bool, options: [UInt8]) -> [UInt8] {
        let header = IPv4Header(identification: identification, moreFragments: more, fragmentOffset: offset,
                                timeToLive: 64, protocol: .udp, source: Self.source, destination: Self.destination,
                                options: IPv4Options(options), payloadLength: count)
        var bytes = [UInt8](repeating: 0xa5, count: header.headerLength)
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        return bytes + payload[offset..<(offset + count)]
    }
}

/// Hands `bytes` to the reassembler as a checked IPv4 packet.
private func add(_ bytes: [UInt8], to reassembler: inout IPv4Reassembler, time: UInt64 = 0, tag: Int = 0)
    throws -> IPv4Reassembler.Outcome
{
    try bytes.withWireBytes { buffer throws(DecodeError) in
        reassembler.add(try IPv4Packet(checking: buffer), time: time, tag: tag)
    }
}

private func completed(_ outcome: IPv4Reassembler.Outcome) -> IPv4Reassembler.Datagram? {
    if case .complete(let datagram) = outcome { datagram } else { nil }
}

private func discardReason(_ outcome: IPv4Reassembler.Outcome) -> IPv4Reassembler.Discard? {
    if case .discarded(_, let reason) = outcome { reason } else { nil }
}

@Suite("IPv4 reassembly")
struct IPv4ReassemblyTests {
    @Test("a whole packet is not stored")
    func wholePacket() throws {
        var reassembler = IPv4Reassembler()
        #expect(try add(Datagram(length: 100).whole, to: &reassembler) == .notFragment)
        #expect(reassembler.pendingCount == 0)
    }

    @Test("two fragments in order give back the datagram byte for byte")
    func inOrder() throws {
        let datagram = Datagram(length: 1430)
        var reassembler = IPv4Reassembler()
        let first = try add(datagram.fragment(0, 1376, more: true), to: &reassembler, tag: 11)
        #expect(first == .held(IPv4Reassembler.Key(source: Datagram.source, destination: Datagram.destination,
                                                   protocol: .udp, identification: 0x0982),
                               receivedBytes: 1376, fragments: 1))
        let result = try #require(completed(try add(datagram.fragment(1376, 54, more: false), to: &reassembler, tag: 12)))
        #expect(result.bytes == datagram.whole)
        #expect(result.headerLength == 20)
        #expect(result.tags == [11, 12])
        #expect(reassembler.pendingCount == 0)
        #expect(reassembler.statistics.completed == 1)
    }

    @Test("fragments in every order complete on the last to arrive", arguments: [
        [0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0],
    ])
    func anyOrder(order: [Int]) throws {
        let datagram = Datagram(length: 300)
        let pieces = [datagram.fragment(0, 104, more: true), datagram.fragment(104, 104, more: true),
                      datagram.fragment(208, 92, more: false)]
        var reassembler = IPv4Reassembler()
        for (step, index) in order.enumerated() {
            let outcome = try add(pieces[index], to: &reassembler, tag: index)
            if step < 2 {
                #expect(completed(outcome) == nil)
            } else {
                let result = try #require(completed(outcome))
                #expect(result.bytes == datagram.whole)
                #expect(result.tags == order)
            }
        }
    }

    @Test("the first fragment's options are kept in the reassembled header")
    func optionsKept() throws {
        let datagram = Datagram(length: 64, options: [0x94, 0x04, 0x00, 0x00])
        var reassembler = IPv4Reassembler()
        _ = try add(datagram.fragment(32, 32, more: false), to: &reassembler)
        let result = try #require(completed(try add(datagram.fragment(0, 32, more: true), to: &reassembler)))
        #expect(result.headerLength == 24)
        #expect(result.bytes == datagram.whole)
        try result.bytes.withWireBytes { bytes throws(DecodeError) in
            let packet = try IPv4Packet(checking: bytes)
            #expect(packet.checksumIsValid())
            #expect(!packet.isFragment)
        }
    }

    @Test("an exact duplicate is ignored, as Linux does")
    func duplicate() throws {
        let datagram = Datagram(length: 200)
        var reassembler = IPv4Reassembler()
        _ = try add(datagram.fragment(0, 96, more: true), to: &reassembler, tag: 1)
        let again = try add(datagram.fragment(0, 96, more: true), to: &reassembler, tag: 2)
        guard case .duplicate = again else { Issue.record("expected a duplicate, got \(again)"); return }
        let result = try #require(completed(try add(datagram.fragment(96, 104, more: false), to: &reassembler, tag: 3)))
        #expect(result.bytes == datagram.whole)
        #expect(result.tags == [1, 3])
        #expect(reassembler.statistics.duplicates == 1)
    }

    @Test("a partial overlap discards the whole datagram (RFC 5722, Linux since 4.19)")
    func overlap() throws {
        let datagram = Datagram(length: 200)
        var reassembler = IPv4Reassembler()
        _ = try add(datagram.fragment(0, 96, more: true), to: &reassembler)
        #expect(discardReason(try add(datagram.fragment(88, 112, more: false), to: &reassembler)) == .overlap)
        #expect(reassembler.pendingCount == 0)
        #expect(reassembler.statistics.discarded == 1)
        // What arrives afterwards starts afresh and cannot complete without a new first fragment.
        let late = try add(datagram.fragment(96, 104, more: false), to: &reassembler)
        guard case .held = late else { Issue.record("expected the late fragment to be held, got \(late)"); return }
    }

    @Test("last fragments that disagree, or data beyond the end, discard the datagram")
    func inconsistentLength() throws {
        let datagram = Datagram(length: 200)
        var reassembler = IPv4Reassembler()
        _ = try add(datagram.fragment(96, 104, more: false), to: &reassembler)
        #expect(discardReason(try add(datagram.fragment(96, 96, more: false), to: &reassembler)) == .inconsistentLength)

        _ = try add(datagram.fragment(96, 48, more: false), to: &reassembler)
        #expect(discardReason(try add(datagram.fragment(144, 56, more: true), to: &reassembler)) == .inconsistentLength)

        _ = try add(datagram.fragment(104, 96, more: true), to: &reassembler)
        #expect(discardReason(try add(datagram.fragment(48, 48, more: false), to: &reassembler)) == .inconsistentLength)
    }

    @Test("a non-last fragment is cut to a multiple of 8 bytes; one with less than 8 is empty")
    func trimmedAndEmpty() throws {
        let datagram = Datagram(length: 40)
        var reassembler = IPv4Reassembler()
        let held = try add(datagram.fragment(0, 13, more: true), to: &reassembler)
        guard case .held(_, receivedBytes: 8, fragments: 1) = held else { Issue.record("got \(held)"); return }
        let result = try #require(completed(try add(datagram.fragment(8, 32, more: false), to: &reassembler)))
        #expect(result.bytes == datagram.whole)

        #expect(discardReason(try add(Datagram(identification: 9, length: 40).fragment(8, 5, more: true),
                                      to: &reassembler)) == .emptyFragment)
    }

    @Test("a datagram longer than 65535 bytes is discarded at once")
    func oversize() throws {
        // Offset 65528 (the largest) with 16 bytes: the datagram would end at 65544 + header.
        var bytes = Datagram(length: 16).fragment(0, 16, more: false)
        bytes.withUnsafeMutableBytes { buffer in
            buffer.setInteger(0x1FFF, at: 6, as: UInt16.self) // offset 8191 × 8, MF clear
            buffer.setInteger(0, at: 10, as: UInt16.self)
            buffer.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(buffer.slice(0..<20))), at: 10, as: UInt16.self)
        }
        var reassembler = IPv4Reassembler()
        #expect(discardReason(try add(bytes, to: &reassembler)) == .oversize)
        #expect(reassembler.pendingCount == 0)
    }

    @Test("an incomplete datagram times out by capture time, 30 s after its first fragment")
    func timeout() throws {
        let datagram = Datagram(length: 200)
        let second: UInt64 = 1_000_000_000
        var reassembler = IPv4Reassembler()
        _ = try add(datagram.fragment(0, 96, more: true), to: &reassembler, time: 1_000 * second)
        #expect(completed(try add(datagram.fragment(96, 104, more: false), to: &reassembler, time: 1_029 * second)) != nil)

        _ = try add(datagram.fragment(0, 96, more: true), to: &reassembler, time: 2_000 * second)
        let late = try add(datagram.fragment(96, 104, more: false), to: &reassembler, time: 2_030 * second)
        guard case .held = late else { Issue.record("expected a fresh datagram, got \(late)"); return }
        #expect(reassembler.statistics.timedOut == 1)
        #expect(reassembler.expire(now: 3_000 * second).count == 1)
        #expect(reassembler.pendingCount == 0)
    }

    @Test("an expired datagram comes back with its first fragment as it arrived, for ip_expire's ICMP quote")
    func expiredKeepsFirstFragment() throws {
        let datagram = Datagram(length: 200)
        let second: UInt64 = 1_000_000_000
        var reassembler = IPv4Reassembler()
        let first = datagram.fragment(0, 96, more: true)
        _ = try add(datagram.fragment(96, 48, more: true), to: &reassembler, time: 10 * second, tag: 7)
        _ = try add(first, to: &reassembler, time: 11 * second, tag: 8)
        #expect(reassembler.expireDatagrams(now: 39 * second).isEmpty, "30 s count from the first fragment to arrive")
        let expired = reassembler.expireDatagrams(now: 40 * second)
        #expect(expired.count == 1 && reassembler.pendingCount == 0 && reassembler.statistics.timedOut == 1)
        #expect(expired.first?.firstFragment == first && expired.first?.tags == [7, 8])
        #expect(expired.first?.fragments == 2 && expired.first?.receivedBytes == 144 && expired.first?.created == 10 * second)

        // Without the fragment at offset 0 there is nothing to quote.
        _ = try add(datagram.fragment(96, 48, more: true), to: &reassembler, time: 50 * second)
        #expect(reassembler.expireDatagrams(now: 80 * second).map { $0.firstFragment == nil } == [true])
    }

    @Test("memory is bounded: fragments of a new datagram are refused while the table is full")
    func tableFull() throws {
        var reassembler = IPv4Reassembler(configuration: .init(maximumPendingDatagrams: 2))
        let datagrams = (1...3).map { Datagram(identification: UInt16($0), length: 64) }
        _ = try add(datagrams[0].fragment(0, 32, more: true), to: &reassembler)
        _ = try add(datagrams[1].fragment(0, 32, more: true), to: &reassembler)
        let refused = try add(datagrams[2].fragment(0, 32, more: true), to: &reassembler)
        guard case .tableFull = refused else { Issue.record("expected tableFull, got \(refused)"); return }
        // Held datagrams still complete, which makes room.
        #expect(completed(try add(datagrams[0].fragment(32, 32, more: false), to: &reassembler)) != nil)
        let accepted = try add(datagrams[2].fragment(0, 32, more: true), to: &reassembler)
        guard case .held = accepted else { Issue.record("expected held, got \(accepted)"); return }
        #expect(reassembler.statistics.refused == 1)
    }

    @Test("hostile fragment streams never trap and never hold more than the limit", arguments: 1...20)
    func hostileStreams(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        var reassembler = IPv4Reassembler(configuration: .init(timeoutNanoseconds: 5_000, maximumPendingDatagrams: 8))
        for step in 0..<400 {
            let datagram = Datagram(identification: UInt16.random(in: 0..<12, using: &generator), length: 256)
            let offset = Int.random(in: 0..<32, using: &generator) * 8
            let count = Int.random(in: 0...(256 - offset), using: &generator)
            let bytes = datagram.fragment(offset, count, more: Bool.random(using: &generator))
            let outcome = try add(bytes, to: &reassembler, time: UInt64(step) * 100, tag: step)
            if let result = completed(outcome) {
                try result.bytes.withWireBytes { buffer throws(DecodeError) in
                    let packet = try IPv4Packet(checking: buffer)
                    #expect(packet.checksumIsValid())
                    #expect(packet.payload.count <= 256)
                }
            }
            #expect(reassembler.pendingCount <= 8)
        }
    }
}
