import PacketWire
import Testing

/// The word-at-a-time Internet checksum against RFC 1071 §4.1's plain loop (16-bit big-endian words, one
/// at a time, carries folded), for every length from 0 to 300 bytes, random contents, buffers summed
/// whole and in even-sized pieces, and with the word and double-word adds mixed in.
@Suite("Internet checksum against RFC 1071's word loop")
struct InternetChecksumWordTests {
    /// RFC 1071 §4.1, written out: the one's-complement sum of big-endian 16-bit words, a trailing odd
    /// byte padded with zero.
    static func rfc1071Sum(_ bytes: [UInt8], plus words: [UInt16] = []) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        for word in words { sum += UInt32(word) }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return UInt16(sum)
    }

    static func randomBytes(_ count: Int, fill: UInt8? = nil) -> [UInt8] {
        (0..<count).map { _ in fill ?? UInt8.random(in: 0...255) }
    }

    @Test("every length, random, all-zero and all-ones contents", arguments: [nil, 0x00, 0xFF] as [UInt8?])
    func everyLength(fill: UInt8?) {
        for length in 0...300 {
            let bytes = Self.randomBytes(length, fill: fill)
            var state = InternetChecksum()
            bytes.withUnsafeBytes { state.add($0) }
            #expect(state.sum == Self.rfc1071Sum(bytes), "length \(length)")
            #expect(bytes.withUnsafeBytes { InternetChecksum.checksum($0) } == ~Self.rfc1071Sum(bytes))
        }
    }

    @Test("pieces of even length, with words and double words added between them")
    func piecesAndWords() {
        for round in 0..<2_000 {
            let bytes = Self.randomBytes(Int.random(in: 0...1500), fill: round % 10 == 0 ? 0xFF : nil)
            let doubleWord = UInt32.random(in: 0...UInt32.max), word = UInt16.random(in: 0...UInt16.max)
            var cuts = [0]
            while cuts.last! < bytes.count { cuts.append(min(bytes.count, cuts.last! + 2 * Int.random(in: 1...200))) }
            var state = InternetChecksum()
            state.add(doubleWord: doubleWord)
            bytes.withUnsafeBytes { raw in
                for (start, end) in zip(cuts, cuts.dropFirst()) {
                    state.add(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                    state.add(word: word)
                }
            }
            let words = [UInt16(doubleWord >> 16), UInt16(truncatingIfNeeded: doubleWord)]
                + Array(repeating: word, count: cuts.count - 1)
            #expect(state.sum == Self.rfc1071Sum(bytes, plus: words), "round \(round), \(bytes.count) bytes")
        }
    }
}
