@testable import Capture
import Foundation
import PacketWire
import TestFixtures
import Testing

/// tshark's path when installed; the pcapng comparisons skip, saying why, without it.
private let tshark: String? = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs tshark on `file` and returns its standard output.
private func runTshark(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try #require(tshark))
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite("PcapngWriter")
struct PcapngWriterTests {
    /// Three capture points and four dropped frames, as a simulation's drops.pcapng holds them.
    /// Real frames (the kernel's frag-v4 capture: VXLAN, an outer fragment, ARP, TCP) with new times.
    static let drops: [(interface: Int, frame: Frame, comment: String?)] = {
        let frames = (try? PcapReader(path: Fixtures.url("kernel/frag-v4.pcap").path).readAll()) ?? []
        func frame(_ number: Int, at time: UInt64) -> Frame {
            var frame = frames.indices.contains(number - 1) ? frames[number - 1]
                : Frame(number: number, timestampNanoseconds: 0, originalLength: 0, bytes: [])
            frame.number = 0
            frame.timestampNanoseconds = time
            return frame
        }
        var drops: [(interface: Int, frame: Frame, comment: String?)] = [
            (0, frame(7, at: 1_700_000_000_000_000_001),
             "firewallDenied at node-b security group: UDP 4789 (VXLAN) from node-a is not allowed"),
            (2, frame(11, at: 1_700_000_000_250_000_000),
             "mtuExceeded at tor: outer packet of 1410 bytes has DF set and exceeds the 1400-byte MTU"),
            (1, frame(5, at: 1_700_000_001_000_000_000), nil),
            (0, frame(15, at: 1_700_000_002_999_999_999), "firewallDenied at node-b: ünïcödé — and a \"quote\""),
        ]
        for index in drops.indices { drops[index].frame.number = index + 1 }
        return drops
    }()
    static let names = ["node-b:eth0", "node-a:flannel.1", "tor"]

    func writeDrops(to path: String, snapLength: UInt32 = 262_144) throws -> PcapngWriter {
        let writer = try PcapngWriter(path: path)
        for name in Self.names {
            try writer.addInterface(name: name, snapLength: snapLength, description: "capture point \(name)")
        }
        for drop in Self.drops {
            writer.write(interface: drop.interface, bytes: drop.frame.bytes,
                         timestampNanoseconds: drop.frame.timestampNanoseconds, comment: drop.comment)
        }
        return writer
    }

    @Test("libpcap reads back every frame, byte for byte, with nanosecond timestamps")
    func readBackWithLibpcap() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("drops.pcapng")
        let writer = try writeDrops(to: path)
        #expect(try folder.contents().count == 1 && !FileManager.default.fileExists(atPath: path))
        try writer.close()
        #expect(try folder.contents() == ["drops.pcapng"])
        let frames = try PcapReader(path: path).readAll()
        #expect(frames == Self.drops.map(\.frame))
        #expect(writer.framesWritten == 4)
        // Every block is a multiple of 4 bytes long and the file starts with a Section Header Block.
        let bytes = try contentsOfFile(path)
        #expect(bytes.count % 4 == 0)
        #expect(Array(bytes.prefix(4)) == [0x0a, 0x0d, 0x0d, 0x0a])
        #expect(Array(bytes[8..<12]) == [0x4d, 0x3c, 0x2b, 0x1a])
    }

    @Test("tshark shows each comment as frame.comment and each interface by name",
          .enabled(if: tshark != nil, "tshark is not installed: skipping the pcapng comparison with Wireshark"))
    func readBackWithTshark() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("drops.pcapng")
        try writeDrops(to: path).close()
        let output = try runTshark(["-r", path, "-T", "fields", "-E", "separator=|",
                                    "-e", "frame.number", "-e", "frame.interface_id", "-e", "frame.interface_name",
                                    "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.comment"])
        let rows = output.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        try #require(rows.count == Self.drops.count)
        for (row, drop) in zip(rows, Self.drops) {
            #expect(row[1] == "\(drop.interface)")
            #expect(row[2] == Self.names[drop.interface])
            let seconds = drop.frame.timestampNanoseconds / 1_000_000_000
            let nanoseconds = drop.frame.timestampNanoseconds % 1_000_000_000
            let fraction = String(nanoseconds).count < 9 ? String(repeating: "0", count: 9 - String(nanoseconds).count) + "\(nanoseconds)" : "\(nanoseconds)"
            #expect(row[3] == "\(seconds).\(fraction)")
            #expect(row[4] == "\(drop.frame.bytes.count)")
            #expect(row[5] == (drop.comment ?? ""))
        }
        let filtered = try runTshark(["-r", path, "-Y", "frame.comment contains \"firewallDenied\"", "-T", "fields", "-e", "frame.number"])
        #expect(filtered.split(separator: "\n") == ["1", "4"])
        // Nothing tshark calls malformed or an error.
        let expert = try runTshark(["-r", path, "-T", "fields", "-e", "_ws.malformed", "-e", "_ws.expert.severity"])
        #expect(!expert.contains("8388608") && !expert.contains("_ws.malformed"))
    }

    @Test("frames longer than the interface's snap length are cut, their length kept")
    func snapLength() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("cut.pcapng")
        try writeDrops(to: path, snapLength: 100).close()
        let frames = try PcapReader(path: path).readAll()
        #expect(frames.map(\.capturedLength) == Self.drops.map { min($0.frame.bytes.count, 100) })
        #expect(frames.map(\.originalLength) == Self.drops.map(\.frame.bytes.count))
        #expect(frames.map { Array($0.bytes) } == Self.drops.map { Array($0.frame.bytes.prefix(100)) })
    }

    @Test("a comment longer than an option holds is cut at a character, and the file still reads")
    func longComment() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("long.pcapng")
        let writer = try PcapngWriter(path: path)
        let interface = try writer.addInterface(name: "x")
        let comment = String(repeating: "é", count: 40_000) // 80,000 bytes of UTF-8
        writer.write(interface: interface, bytes: Self.drops[0].frame.bytes, timestampNanoseconds: 5, comment: comment)
        try writer.close()
        #expect(try PcapReader(path: path).readAll().count == 1)
        #expect(PcapngWriter.utf8(comment, upTo: PcapngWriter.longestOptionValue).count == 65_532)
        #expect(PcapngWriter.utf8("aé", upTo: 2) == Array("a".utf8))
    }

    @Test("an unknown interface is latched: later frames are dropped, close throws, nothing is left")
    func latchedError() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("bad.pcapng")
        let writer = try PcapngWriter(path: path)
        let interface = try writer.addInterface(name: "eth0")
        writer.write(interface: interface, bytes: Self.drops[0].frame.bytes, timestampNanoseconds: 1)
        writer.write(interface: 7, bytes: Self.drops[0].frame.bytes, timestampNanoseconds: 2)
        writer.write(interface: interface, bytes: Self.drops[0].frame.bytes, timestampNanoseconds: 3)
        #expect(writer.error?.code == .invalidArgument)
        #expect(writer.error?.frameNumber == 2)
        #expect(writer.framesWritten == 1)
        expectCaptureError(.invalidArgument, naming: path) { try writer.close() }
        #expect(try folder.contents().isEmpty)
        expectCaptureError(.writerNotOpen, naming: path) { _ = try writer.addInterface(name: "late") }
    }

    @Test("a full disk is latched and reported by close, and leaves nothing",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func diskFull() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("full.pcapng")
        let writer = try PcapngWriter(path: path, application: "test", bufferSize: 4096) { temporaryPath throws(CaptureError) in
            fclose(try PcapWriter.createTemporaryFile(at: temporaryPath, finalPath: path))
            guard let full = fopen("/dev/full", "w") else {
                throw CaptureError(.openFailed, path: "/dev/full", "cannot open /dev/full")
            }
            return full
        }
        let interface = try writer.addInterface(name: "eth0")
        for index in 0..<100 {
            writer.write(interface: interface, bytes: Self.drops[1].frame.bytes, timestampNanoseconds: UInt64(index))
        }
        #expect(writer.error?.code == .writeFailed)
        let error = expectCaptureError(.writeFailed, naming: path) { try writer.close() }
        #expect(error?.reason.contains("No space left on device") == true)
        #expect(try folder.contents().isEmpty)
    }

    @Test("abandon and release without close leave nothing, and keep a file already there")
    func abandonLeavesNothing() throws {
        let folder = try TemporaryFolder()
        let earlier = try folder.write([1, 2, 3], to: "drops.pcapng")
        let writer = try writeDrops(to: earlier)
        writer.abandon()
        #expect(try folder.contents() == ["drops.pcapng"])
        #expect(try contentsOfFile(earlier) == [1, 2, 3])
        do { _ = try writeDrops(to: folder.file("other.pcapng")) }
        #expect(try folder.contents() == ["drops.pcapng"])
        expectCaptureError(.isDirectory, naming: folder.path) { _ = try PcapngWriter(path: folder.path) }
    }
}
