import PacketWire
import Testing

@Suite("Internet checksum (RFC 1071, RFC 1624)")
struct ChecksumTests {
    /// RFC 1071 §3, "Numerical Examples": 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
    @Test func rfc1071NumericalExample() {
        let bytes: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
        var state = InternetChecksum()
        bytes.withUnsafeBytes { state.add($0) }
        #expect(state.sum == 0xddf2)
        #expect(state.checksum == 0x220d)
        #expect(referenceChecksum(bytes) == 0x220d)
    }

    /// The byte order independence of RFC 1071 §2(B): the example summed in pieces gives the same result.
    @Test func sumOfPiecesEqualsSumOfWhole() {
        let bytes: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
        var state = InternetChecksum()
        bytes.withUnsafeBytes { bytes in
            state.add(bytes.slice(0..<2))
            state.add(bytes.slice(2..<6))
            state.add(bytes.slice(6..<8))
        }
        #expect(state.sum == 0xddf2)
    }

    /// A real IPv4 header (flannel-v4 frame 9, outer): checksum 0x05d1 as tshark shows it, and a header
    /// with its checksum in place sums to all ones.
    @Test func realIPv4Header() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        let header = Array(frame[14..<34])
        #expect(header[10] == 0x05 && header[11] == 0xd1)
        let zeroed = patched(header, at: 10, with: [0, 0])
        zeroed.withUnsafeBytes { #expect(InternetChecksum.checksum($0) == 0x05d1) }
        header.withUnsafeBytes { #expect(InternetChecksum.checksum($0) == 0) }
    }

    /// RFC 1071 §4.1: an odd final byte is padded on the right with zero.
    @Test(arguments: [
        ([UInt8](), UInt16(0xffff)),
        ([0x01], ~UInt16(0x0100)),
        ([0x00, 0x01, 0xf2], ~UInt16(0xf201)),
        ([0xff, 0xff, 0xff], ~UInt16(0xff00)),
        // 0x1234 + 0x5678 + 0x9a00 = 0x102ac, folded 0x02ad.
        ([0x12, 0x34, 0x56, 0x78, 0x9a], ~UInt16(0x02ad)),
    ])
    func oddLengths(bytes: [UInt8], expected: UInt16) {
        bytes.withUnsafeBytes { #expect(InternetChecksum.checksum($0) == expected) }
        #expect(referenceChecksum(bytes) == expected)
    }

    /// The eight-bytes-at-a-time sum agrees with the byte-pair reference for every length up to 300 and
    /// every start alignment, on random data.
    @Test func wordAtATimeMatchesByteByByte() {
        var random = SplitMix64(seed: 1071)
        for length in 0...300 {
            for alignment in 0..<8 {
                let data = random.bytes(length + alignment)
                let piece = Array(data[alignment...])
                let fast = data.withUnsafeBytes { InternetChecksum.checksum($0.dropFirst(count: alignment)) }
                #expect(fast == referenceChecksum(piece), "length \(length) alignment \(alignment)")
            }
        }
    }

    /// Worst case for the carries: all-ones data of every length up to 64 KiB in steps.
    @Test func allOnesData() {
        for length in stride(from: 0, through: 65_536, by: 4_099) {
            let data = [UInt8](repeating: 0xff, count: length)
            data.withUnsafeBytes { #expect(InternetChecksum.checksum($0) == referenceChecksum(data)) }
        }
    }

    @Test func wordsAndDoubleWordsAddAsBigEndianBytes() {
        var words = InternetChecksum()
        words.add(word: 0xc000)
        words.add(word: 0x0201)
        var doubleWord = InternetChecksum()
        doubleWord.add(doubleWord: 0xc000_0201)
        let bytes: [UInt8] = [0xc0, 0x00, 0x02, 0x01]
        #expect(words.checksum == referenceChecksum(bytes))
        #expect(doubleWord.checksum == referenceChecksum(bytes))
    }

    /// RFC 1624 §5 example: m = 0x5555 becomes 0x3285 under HC = 0xdd2f. Eqn. 3 gives 0x0000, as a full
    /// recomputation does; eqn. 2 would give the wrong 0xffff.
    @Test func rfc1624Example() {
        #expect(InternetChecksum.updated(0xdd2f, replacing: 0x5555, with: 0x3285) == 0x0000)
    }

    /// RFC 1624: updating one word gives what summing the data again gives, for random data.
    @Test func incrementalUpdateOfAnyWordMatchesRecomputation() {
        var random = SplitMix64(seed: 1624)
        for _ in 0..<2_000 {
            var data = random.bytes(2 * Int.random(in: 2...40, using: &random))
            let word = Int.random(in: 0..<(data.count / 2), using: &random) * 2
            let before = referenceChecksum(data)
            let old = UInt16(data[word]) << 8 | UInt16(data[word + 1])
            let new = random.uint16()
            data[word] = UInt8(new >> 8)
            data[word + 1] = UInt8(new & 0xff)
            let after = referenceChecksum(data)
            let updated = InternetChecksum.updated(before, replacing: old, with: new)
            // 0x0000 and 0xffff are the same one's-complement value (only all-zero data sums to +0).
            #expect(updated == after || (updated ^ after == 0xffff && data.allSatisfy { $0 == 0 }))
        }
    }

    /// RFC 1624 applied to the TTL: `IPv4Packet.decrementTimeToLive` leaves the same checksum a full
    /// recomputation gives, for random headers with and without options.
    @Test func incrementalTTLDecrementMatchesFullRecomputation() throws {
        var random = SplitMix64(seed: 0x7717)
        for _ in 0..<5_000 {
            var header = Arbitrary.ipv4Header(using: &random)
            header.timeToLive = UInt8.random(in: 1...255, using: &random)
            var bytes = emitted(header.headerLength) { header.emit(into: $0) }
            let newTTL = bytes.withUnsafeMutableBytes { IPv4Packet.decrementTimeToLive(in: $0) }
            #expect(newTTL == header.timeToLive - 1)

            header.timeToLive -= 1
            let recomputed = emitted(header.headerLength) { header.emit(into: $0) }
            #expect(bytes == recomputed, "\(header)")
            bytes.withUnsafeBytes { #expect(InternetChecksum.checksum($0) == 0) }
        }
    }

    @Test func ttlDecrementRefusesZeroAndShortBuffers() {
        let header = IPv4Header(timeToLive: 0, protocol: .udp, source: .any, destination: .broadcast, payloadLength: 0)
        var bytes = emitted(header.headerLength) { header.emit(into: $0) }
        let before = bytes
        #expect(bytes.withUnsafeMutableBytes { IPv4Packet.decrementTimeToLive(in: $0) } == nil)
        #expect(bytes == before)

        var short = [UInt8](repeating: 0x45, count: 19)
        #expect(short.withUnsafeMutableBytes { IPv4Packet.decrementTimeToLive(in: $0) } == nil)
        #expect(short == [UInt8](repeating: 0x45, count: 19))
    }
}
