import Capture
import Foundation
import Testing

@Suite("PcapReader on bad input")
struct ReaderErrorTests {
    /// A little-endian nanosecond pcap file header.
    private static func pcapHeader(snapLength: UInt32 = 65_535, linkType: UInt32 = 1) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(0xa1b2_3c4d)) // magic: nanosecond timestamps
        bytes.appendLittleEndian(UInt16(2)) // version 2.4
        bytes.appendLittleEndian(UInt16(4))
        bytes.appendLittleEndian(Int32(0)) // thiszone
        bytes.appendLittleEndian(UInt32(0)) // sigfigs
        bytes.appendLittleEndian(snapLength)
        bytes.appendLittleEndian(linkType)
        return bytes
    }

    /// A pcap record header: seconds, nanoseconds, incl_len, orig_len.
    private static func recordHeader(capturedLength: UInt32, originalLength: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        for field in [UInt32(1_700_000_000), 5, capturedLength, originalLength] {
            bytes.appendLittleEndian(field)
        }
        return bytes
    }

    @Test("a missing file")
    func missingFile() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("absent.pcap")
        expectCaptureError(.notFound, naming: path) { _ = try PcapReader(path: path) }
    }

    @Test("a folder")
    func folder() throws {
        let folder = try TemporaryFolder()
        expectCaptureError(.isDirectory, naming: folder.path) { _ = try PcapReader(path: folder.path) }
    }

    @Test("an empty file")
    func emptyFile() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write([], to: "empty.pcap")
        let error = expectCaptureError(.emptyFile, naming: path) { _ = try PcapReader(path: path) }
        #expect(error?.reason.contains("empty file, no pcap header") == true)
    }

    @Test("random bytes (fixed seed)")
    func randomBytes() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(.random(count: 4096, seed: 7), to: "noise.pcap")
        expectCaptureError(.notACaptureFile, naming: path) { _ = try PcapReader(path: path) }
    }

    @Test("a file shorter than any magic number, and a cut file header",
          arguments: [2, 20])
    func cutFileHeader(keptBytes: Int) throws {
        let folder = try TemporaryFolder()
        let path = try folder.write(Array(Self.pcapHeader().prefix(keptBytes)), to: "stub.pcap")
        expectCaptureError(.truncatedFile, naming: path) { _ = try PcapReader(path: path) }
    }

    @Test("a pcap cut 10 bytes short fails on its last frame, and keeps failing")
    func truncatedPcap() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("cut.pcap")
        try writeCapture(FixtureFrames.frames, to: path)
        let whole = try contentsOfFile(path)
        try folder.write(Array(whole.dropLast(10)), to: "cut.pcap")

        let reader = try PcapReader(path: path)
        #expect(try reader.next() == FixtureFrames.frames[0])
        #expect(try reader.next() == FixtureFrames.frames[1])
        let error = expectCaptureError(.truncatedFile, naming: path) { _ = try reader.next() }
        #expect(error?.frameNumber == 3)
        #expect(error?.reason.hasPrefix("\(path): frame 3: truncated dump file") == true)
        #expect(error?.reason.contains("tried to read 100 captured bytes, only got 90") == true)
        // The file position is unknown after a failure, so the reader does not go on.
        let again = #expect(throws: CaptureError.self) { _ = try reader.next() }
        #expect(again?.reason == error?.reason)
    }

    @Test("a record whose captured length is beyond anything libpcap accepts")
    func recordLongerThanSnapLength() throws {
        let folder = try TemporaryFolder()
        var bytes = Self.pcapHeader(snapLength: 65_535)
        bytes += Self.recordHeader(capturedLength: 4, originalLength: 4) + [1, 2, 3, 4]
        bytes += Self.recordHeader(capturedLength: 300_000, originalLength: 300_000) + [UInt8](repeating: 0xa5, count: 64)
        let path = try folder.write(bytes, to: "oversized.pcap")

        let reader = try PcapReader(path: path)
        #expect(try reader.next()?.bytes == [1, 2, 3, 4])
        let error = expectCaptureError(.badRecord, naming: path) { _ = try reader.next() }
        #expect(error?.frameNumber == 2)
        #expect(error?.reason.contains("300000") == true)
        #expect(error?.reason.contains("bigger than snaplen of 65535") == true)
    }

    /// libpcap's leniency, pinned so a change in it is noticed: a record above the file's
    /// snapshot length but within Ethernet's 262144 is cut to the snapshot length, not refused.
    @Test("a record a little over the snapshot length is cut by libpcap")
    func recordSlightlyOverSnapLength() throws {
        let folder = try TemporaryFolder()
        var bytes = Self.pcapHeader(snapLength: 65_535)
        bytes += Self.recordHeader(capturedLength: 70_000, originalLength: 70_000) + [UInt8](repeating: 0x5a, count: 70_000)
        bytes += Self.recordHeader(capturedLength: 2, originalLength: 2) + [7, 8]
        let path = try folder.write(bytes, to: "over.pcap")

        let frames = try PcapReader(path: path).readAll()
        #expect(frames.map(\.capturedLength) == [65_535, 2])
        #expect(frames.map(\.originalLength) == [70_000, 2])
        #expect(frames.last?.bytes == [7, 8])
    }

    /// Hostile bodies behind valid headers: whatever libpcap makes of them, reading ends in
    /// frames, `nil` or a `CaptureError`, never a crash.
    @Test("random bytes behind a valid pcap or pcapng header never crash the reader",
          arguments: 1...40)
    func randomBodies(seed: UInt64) throws {
        let folder = try TemporaryFolder()
        let body = [UInt8].random(count: 64 + Int(seed) * 37, seed: seed)
        let header: [UInt8]
        if seed.isMultiple(of: 2) {
            header = Self.pcapHeader()
        } else {
            // A pcapng Section Header Block start, then noise.
            header = [0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a]
        }
        let path = try folder.write(header + body, to: "fuzz-\(seed).pcap")
        do {
            let reader = try PcapReader(path: path)
            var count = 0
            try reader.forEach { view in
                #expect(view.bytes.count == view.capturedLength)
                count += 1
            }
            #expect(count == reader.framesRead)
        } catch let error as CaptureError {
            #expect(error.reason.contains(path))
        }
    }
}
