import Capture
import Foundation
import Testing

@Suite("Writing and reading frames")
struct RoundTripTests {
    @Test("write then read keeps bytes, nanosecond timestamps and original lengths")
    func roundTrip() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("round-trip.pcap")
        let frames = [
            FixtureFrames.frame(1, captured: 60, original: 60, timestamp: 1_700_000_000_123_456_789),
            FixtureFrames.frame(2, captured: 1514, original: 1514, timestamp: 1_700_000_000_999_999_999),
            FixtureFrames.frame(3, captured: 0, original: 0, timestamp: 0),
            FixtureFrames.frame(4, captured: 64, original: 9000, timestamp: 1),
            // The last nanosecond the format's unsigned 32-bit seconds field can hold (in 2106),
            // which libpcap alone would read back as -1 s.
            FixtureFrames.frame(5, captured: 14, original: 14, timestamp: UInt64(UInt32.max) * 1_000_000_000 + 999_999_999),
        ]
        try writeCapture(frames, to: path)

        let reader = try PcapReader(path: path)
        #expect(reader.linkType == .ethernet)
        #expect(reader.snapLength == 262_144)
        #expect(try reader.readAll() == frames)
        #expect(try reader.next() == nil)
        #expect(reader.framesRead == frames.count)
    }

    @Test("PcapWriter produces the independently written fixture byte for byte")
    func writerMatchesFixtureBytes() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("three-frames.pcap")
        try writeCapture(FixtureFrames.frames, to: path)
        #if _endian(little)
        // libpcap writes in the machine's byte order; the fixture is little-endian.
        #expect(try contentsOfFile(path) == contentsOfFile(FixtureFrames.path("three-frames.pcap")))
        #endif
        #expect(try PcapReader(path: path).readAll() == FixtureFrames.frames)
    }

    @Test("pcap and pcapng fixtures read as the same frames", arguments: ["three-frames.pcap", "three-frames.pcapng"])
    func readsFixture(name: String) throws {
        let reader = try PcapReader(path: FixtureFrames.path(name))
        #expect(try reader.readAll() == FixtureFrames.frames)
    }

    @Test("forEach lends each frame in place")
    func forEachLendsFrames() throws {
        let reader = try PcapReader(path: FixtureFrames.path("three-frames.pcapng"))
        var seen: [Frame] = []
        try reader.forEach { view in
            #expect(view.capturedLength == view.bytes.count)
            seen.append(Frame(view))
        }
        #expect(seen == FixtureFrames.frames)
    }

    @Test("frames longer than the snapshot length are cut, their original length kept")
    func snapLengthCutsFrames() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("cut.pcap")
        let writer = try PcapWriter(path: path, snapLength: 64)
        let long = FixtureFrames.frame(1, captured: 100, original: 100, timestamp: 5)
        try writer.write(long.bytes, timestampNanoseconds: long.timestampNanoseconds)
        try writer.close()

        let reader = try PcapReader(path: path)
        #expect(reader.snapLength == 64)
        let frame = try #require(try reader.next())
        #expect(frame.capturedLength == 64)
        #expect(frame.originalLength == 100)
        #expect(frame.bytes == Array(long.bytes.prefix(64)))
    }

    @Test("arguments the pcap format cannot hold are refused")
    func refusesUnrepresentableArguments() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("refused.pcap")
        let writer = try PcapWriter(path: path)
        expectCaptureError(.invalidArgument, naming: path) {
            try writer.write([1, 2, 3], timestampNanoseconds: (UInt64(UInt32.max) + 1) * 1_000_000_000)
        }
        expectCaptureError(.invalidArgument, naming: path) {
            try writer.write([1, 2, 3], timestampNanoseconds: 0, originalLength: 2)
        }
        let zeroSnap = folder.file("zero-snap.pcap")
        expectCaptureError(.invalidArgument, naming: zeroSnap) { _ = try PcapWriter(path: zeroSnap, snapLength: 0) }
        try writer.close()
        #expect(try PcapReader(path: path).readAll().isEmpty)
    }

    @Test("a capture of a link type not asked for is refused by the reader, naming the link type")
    func refusesOtherLinkTypes() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("raw-ip.pcap")
        try writeCapture([FixtureFrames.frame(1, captured: 20, original: 20, timestamp: 1)], to: path, linkType: .rawIP)
        #expect(try PcapReader(path: path).linkType == .rawIP)
        let error = expectCaptureError(.unsupportedLinkType, naming: path) { _ = try PcapReader(path: path, linkTypes: [.ethernet]) }
        #expect(error?.reason.contains("RAW") == true)
        let other = folder.file("ppp.pcap")
        try writeCapture([FixtureFrames.frame(1, captured: 20, original: 20, timestamp: 1)], to: other, linkType: LinkType(rawValue: 9))
        expectCaptureError(.unsupportedLinkType, naming: other) { _ = try PcapReader(path: other) }
    }
}
