@testable import Capture
import Foundation
import Testing

@Suite("PcapWriter's files")
struct WriterFileTests {
    private let frame = FixtureFrames.frame(1, captured: 60, original: 60, timestamp: 1_700_000_000_123_456_789)

    @Test("the file appears under its final name only when close succeeds")
    func appearsOnClose() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("node-a.pcap")
        let writer = try PcapWriter(path: path)
        try writer.write(frame.bytes, timestampNanoseconds: frame.timestampNanoseconds)

        #expect(!FileManager.default.fileExists(atPath: path))
        let inProgress = try folder.contents()
        #expect(inProgress.count == 1)
        #expect(inProgress.first?.hasPrefix(".node-a.pcap.partial-") == true)

        try writer.close()
        #expect(try folder.contents() == ["node-a.pcap"])
        #expect(try PcapReader(path: path).readAll() == [frame])
        try writer.close() // closing again does nothing
    }

    @Test("abandon and deinit leave nothing, and keep a file already under the final name")
    func abandonLeavesNothing() throws {
        let folder = try TemporaryFolder()
        let earlier = try folder.write([0xde, 0xad], to: "kept.pcap")

        let writer = try PcapWriter(path: earlier)
        try writer.write(frame.bytes, timestampNanoseconds: 1)
        writer.abandon()
        #expect(try folder.contents() == ["kept.pcap"])
        #expect(try contentsOfFile(earlier) == [0xde, 0xad])
        expectCaptureError(.writerNotOpen, naming: earlier) {
            try writer.write(frame.bytes, timestampNanoseconds: 2)
        }
        expectCaptureError(.writerNotOpen, naming: earlier) { try writer.close() }

        do {
            let dropped = try PcapWriter(path: folder.file("dropped.pcap"))
            try dropped.write(frame.bytes, timestampNanoseconds: 1)
            #expect(try folder.contents().count == 2)
        } // released without close
        #expect(try folder.contents() == ["kept.pcap"])
    }

    @Test("a path that is a folder is refused")
    func refusesFolder() throws {
        let folder = try TemporaryFolder()
        expectCaptureError(.isDirectory, naming: folder.path) { _ = try PcapWriter(path: folder.path) }
        #expect(try folder.contents().isEmpty)
    }

    @Test("a device or a FIFO is refused, never replaced by the finished file")
    func refusesSpecialFiles() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.file("pipe")
        #expect(mkfifo(fifo, 0o644) == 0)
        expectCaptureError(.invalidArgument, naming: fifo) { _ = try PcapWriter(path: fifo) }
        #expect(try folder.contents() == ["pipe"], "no temporary file is left beside it")
        expectCaptureError(.invalidArgument, naming: "/dev/null") { _ = try PcapWriter(path: "/dev/null") }
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR, "/dev/null is still a device")
    }

    @Test("a missing folder, or a file where the folder should be, is refused")
    func refusesMissingFolder() throws {
        let folder = try TemporaryFolder()
        let missing = folder.file("no-such-folder/out.pcap")
        let error = expectCaptureError(.notFound, naming: missing) { _ = try PcapWriter(path: missing) }
        #expect(error?.reason.contains("does not exist") == true)

        let notAFolder = try folder.write([], to: "plain-file") + "/out.pcap"
        expectCaptureError(.notFound, naming: notAFolder) { _ = try PcapWriter(path: notAFolder) }
        #expect(try folder.contents() == ["plain-file"])
    }

    @Test("a folder that cannot be written is refused with permissionDenied")
    func refusesReadOnlyFolder() throws {
        let folder = try TemporaryFolder()
        let path: String
        if geteuid() != 0 {
            chmod(folder.path, 0o500)
            path = folder.file("out.pcap")
        } else if FileManager.default.fileExists(atPath: "/sys/kernel") {
            // root ignores permission bits, but sysfs refuses to create regular files even for root.
            path = "/sys/overlay-sim-capture-test.pcap"
        } else {
            print("skipped: running as root and there is no sysfs to provide an unwritable folder")
            return
        }
        let error = expectCaptureError(.permissionDenied, naming: path) { _ = try PcapWriter(path: path) }
        #expect(error?.reason.contains("Permission denied") == true)
    }

    @Test("a link type libpcap cannot store is refused and leaves nothing")
    func refusesUnstorableLinkType() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("odd.pcap")
        expectCaptureError(.unsupportedLinkType, naming: path) {
            _ = try PcapWriter(path: path, linkType: LinkType(rawValue: 12_345))
        }
        #expect(try folder.contents().isEmpty)
    }

    // MARK: Disk full, simulated with /dev/full behind the temporary file

    /// A writer whose temporary file is created as usual but whose stream writes to /dev/full,
    /// where every write fails with ENOSPC.
    private func writerOnFullDisk(_ path: String) throws -> PcapWriter {
        try PcapWriter(path: path, snapLength: 262_144, linkType: .ethernet) { temporaryPath throws(CaptureError) in
            fclose(try PcapWriter.createTemporaryFile(at: temporaryPath, finalPath: path))
            guard let full = fopen("/dev/full", "w") else {
                throw CaptureError(.openFailed, path: "/dev/full", "cannot open /dev/full")
            }
            return full
        }
    }

    @Test("a disk that fills up before close fails the close and leaves nothing",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func diskFullAtClose() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("full.pcap")
        let writer = try writerOnFullDisk(path)
        #expect(try folder.contents().count == 1) // the temporary file
        try writer.write(frame.bytes, timestampNanoseconds: 1) // still in the stdio buffer

        let error = expectCaptureError(.writeFailed, naming: path) { try writer.close() }
        #expect(error?.reason.contains("No space left on device") == true)
        #expect(try folder.contents().isEmpty)
    }

    @Test("a disk that fills up while writing fails the write, names the frame, and leaves nothing",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func diskFullWhileWriting() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("full.pcap")
        let writer = try writerOnFullDisk(path)
        let big = FixtureFrames.frame(1, captured: 1400, original: 1400, timestamp: 1)

        // 1 MiB of buffer holds about 740 such frames; the first write that spills it must fail.
        var failure: CaptureError?
        for index in 0..<2_000 where failure == nil {
            do {
                try writer.write(big.bytes, timestampNanoseconds: UInt64(index))
            } catch {
                failure = error
            }
        }
        let error = try #require(failure)
        #expect(error.code == .writeFailed)
        #expect(error.reason.contains(path))
        #expect(error.reason.contains("No space left on device"))
        #expect(error.frameNumber == writer.framesWritten + 1)

        expectCaptureError(.writeFailed, naming: path) { try writer.close() }
        #expect(try folder.contents().isEmpty)
    }
}
