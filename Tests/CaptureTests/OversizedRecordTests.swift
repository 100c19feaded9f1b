import Capture
import TestFixtures
import Testing

@Suite("PcapReader: records over the snapshot length")
struct OversizedRecordTests {
    @Test("by default libpcap's cut is kept: snaplen-bad.pcap reads as one 100-byte frame of 200")
    func cutByDefault() throws {
        let frames = try PcapReader(path: Fixtures.url("odd/snaplen-bad.pcap").path).readAll()
        #expect(frames.map(\.capturedLength) == [100])
        #expect(frames.map(\.originalLength) == [200])
    }

    @Test("with .refuse the record is a badRecord naming the frame and both lengths")
    func refused() throws {
        let path = Fixtures.url("odd/snaplen-bad.pcap").path
        let reader = try PcapReader(path: path, recordsOverSnapLength: .refuse)
        let error = expectCaptureError(.badRecord, naming: path) { _ = try reader.next() }
        #expect(error?.frameNumber == 1)
        #expect(error?.reason == "\(path): frame 1: the record holds 200 bytes, more than the file's snapshot length of 100")
    }

    @Test(".refuse reads honest files exactly as .cut does",
          arguments: Fixtures.kernelScenarios.map { "kernel/\($0).pcap" } + ["odd/odd.pcap", "odd/odd.pcapng"])
    func honestFiles(file: String) throws {
        let path = Fixtures.url(file).path
        #expect(try PcapReader(path: path, recordsOverSnapLength: .refuse).readAll() == PcapReader(path: path).readAll())
    }

    @Test("frames cut at the snapshot length by the writer are not refused")
    func snappedFramesAreFine() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("snapped.pcap")
        let writer = try PcapWriter(path: path, snapLength: 64)
        try writer.write([UInt8](repeating: 7, count: 100), timestampNanoseconds: 1)
        try writer.write([UInt8](repeating: 8, count: 64), timestampNanoseconds: 2)
        try writer.close()
        let frames = try PcapReader(path: path, recordsOverSnapLength: .refuse).readAll()
        #expect(frames.map(\.capturedLength) == [64, 64])
        #expect(frames.map(\.originalLength) == [100, 64])
    }

    /// libpcap adds 14 to the snapshot length of a modified-format Ethernet file (its header may have
    /// been faked onto a cooked capture), so a header saying 16 allows records of 30 bytes.
    @Test("Kuznetzov's modified pcap (24-byte record headers) is measured with its own header size")
    func modifiedFormat() throws {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(0xa1b2_cd34))
        bytes.appendLittleEndian(UInt16(2))
        bytes.appendLittleEndian(UInt16(4))
        bytes.appendLittleEndian(Int32(0))
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(UInt32(16)) // snapshot length, 30 as libpcap reads it
        bytes.appendLittleEndian(UInt32(1))
        for length in [UInt32(30), 34] {
            for field in [UInt32(1_700_000_000), 5, length, length, 2, 0] { bytes.appendLittleEndian(field) }
            bytes += [UInt8](repeating: 0x11, count: Int(length))
        }
        let folder = try TemporaryFolder()
        let path = try folder.write(bytes, to: "modified.pcap")
        let reader = try PcapReader(path: path, recordsOverSnapLength: .refuse)
        #expect(reader.snapLength == 30)
        #expect(try reader.next()?.capturedLength == 30)
        let error = expectCaptureError(.badRecord, naming: path) { _ = try reader.next() }
        #expect(error?.reason.hasSuffix("frame 2: the record holds 34 bytes, more than the file's snapshot length of 30") == true)
    }
}
