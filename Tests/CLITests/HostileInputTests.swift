import Foundation
import PacketWire
import TestFixtures
import Testing
import VXLAN
@testable import Capture
@testable import overlay_sim

/// Each command on files that are not what they should be: a one-line error naming the file and what
/// is wrong, exit status 1, no trap, and nothing left under the output's name (nor a temporary file).
@Suite("Hostile input")
struct HostileInputTests {
    enum Command: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case decode, encap, decap
        var testDescription: String { rawValue }
    }

    /// A bad input: how to make its path, and what the error must say about it.
    struct BadInput: Sendable, CustomTestStringConvertible {
        var name: String
        var path: @Sendable (TemporaryFolder) -> String
        var says: String
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "a truncated pcap", path: { _ in fixture("odd/truncated.pcap") },
                 says: "frame 17: truncated dump file; tried to read 60 captured bytes, only got 50"),
        BadInput(name: "a record longer than its snapshot length", path: { _ in fixture("odd/snaplen-bad.pcap") },
                 says: "frame 1: the record holds 200 bytes, more than the file's snapshot length of 100"),
        BadInput(name: "random bytes", path: { _ in fixture("odd/random.bin") },
                 says: "not a pcap or pcapng file: it starts with bytes 9e 04 35 1e, no known magic number"),
        BadInput(name: "an empty file", path: { _ in fixture("odd/empty.pcap") }, says: "empty file, no pcap header"),
        BadInput(name: "a folder", path: { $0.path }, says: "is a folder, not a capture file"),
        BadInput(name: "a missing path", path: { $0.file("absent.pcap") }, says: "no such file"),
    ]

    static let vxlan = TunnelConfiguration(vni: 42, local: .v4(IPv4Address(192, 0, 2, 1)),
                                           remote: .v4(IPv4Address(192, 0, 2, 2)))

    /// Runs `command` from `input` to `output` (decode ignores `output`).
    static func run(_ command: Command, _ input: String, _ output: String,
                    openWriter: @escaping CaptureConversion.WriterFactory = CaptureConversion.openWriter) -> (Int32, RecordingConsole) {
        let recorder = RecordingConsole()
        let status = switch command {
        case .decode:
            Decode.decode(path: input, vxlanPorts: FrameDecoder.defaultVXLANPorts, json: false, console: recorder.console)
        case .encap:
            Encap.encapsulate(input: input, output: output, configuration: vxlan, groupPolicyID: 0,
                              console: recorder.console, openWriter: openWriter)
        case .decap:
            Decap.decapsulate(input: input, output: output, vni: nil, destinationPorts: FrameDecoder.defaultVXLANPorts,
                              console: recorder.console, openWriter: openWriter)
        }
        return (status, recorder)
    }

    @Test("bad input files", arguments: Command.allCases, badInputs)
    func badInput(command: Command, input: BadInput) throws {
        let folder = try TemporaryFolder()
        let outputFolder = try TemporaryFolder()
        let path = input.path(folder)
        let output = outputFolder.file("out.pcap")
        let (status, recorder) = Self.run(command, path, output)

        #expect(status == 1)
        try #require(recorder.errors.count == 1, "\(recorder.errors)")
        let line = recorder.errors[0]
        #expect(!line.contains("\n"))
        #expect(line.hasPrefix("error: \(path): "), "\(line)")
        #expect(line.contains(input.says), "\(line)")
        if command == .decode {
            // What was read before the damage is printed, then the summary, then the error.
            if input.name == "a truncated pcap" {
                #expect(recorder.output.count == 1 + 16 + 1)
                #expect(recorder.output.last?.hasPrefix("16 frames, 10 VXLAN, 1 cut by the snapshot length") == true)
            }
        } else {
            #expect(line.hasSuffix("; \(output) not written"))
            #expect(try outputFolder.contents().isEmpty)
        }
    }

    @Test("an output folder without write permission", arguments: [Command.encap, .decap])
    func unwritableFolder(command: Command) throws {
        let folder = try TemporaryFolder()
        let output: String
        if geteuid() != 0 {
            chmod(folder.path, 0o500)
            output = folder.file("out.pcap")
        } else if FileManager.default.fileExists(atPath: "/sys/kernel") {
            // root ignores permission bits, but sysfs refuses to create regular files even for root.
            output = "/sys/overlay-sim-cli-test.pcap"
        } else {
            print("skipped: running as root and there is no sysfs to provide an unwritable folder")
            return
        }
        let (status, recorder) = Self.run(command, fixture("kernel/calico-v4.pcap"), output)
        #expect(status == 1)
        #expect(recorder.errors.count == 1)
        #expect(recorder.errors.first?.hasPrefix("error: \(output): cannot create a file in folder") == true)
        #expect(recorder.errors.first?.contains("Permission denied") == true, "\(recorder.errors)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("an output that is a folder, or in a missing folder", arguments: [Command.encap, .decap])
    func badOutputPath(command: Command) throws {
        let folder = try TemporaryFolder()
        let (status, recorder) = Self.run(command, fixture("kernel/calico-v4.pcap"), folder.path)
        #expect(status == 1)
        #expect(recorder.errors == ["error: \(folder.path): is a folder; give a file name inside it; \(folder.path) not written"])

        let missing = folder.file("no-such-folder/out.pcap")
        let (again, other) = Self.run(command, fixture("kernel/calico-v4.pcap"), missing)
        #expect(again == 1)
        #expect(other.errors.first?.contains("folder \(folder.path)/no-such-folder does not exist") == true)
        #expect(try folder.contents() == [])
    }

    // MARK: Disk full, simulated with /dev/full behind the temporary file

    /// Opens a writer whose temporary file is created as usual but whose stream writes to /dev/full,
    /// where every write fails with ENOSPC.
    static func writerOnFullDisk(_ path: String) throws -> PcapWriter {
        try PcapWriter(path: path, snapLength: 262_144, linkType: .ethernet) { temporaryPath throws(CaptureError) in
            fclose(try PcapWriter.createTemporaryFile(at: temporaryPath, finalPath: path))
            guard let full = fopen("/dev/full", "w") else {
                throw CaptureError(.openFailed, path: "/dev/full", "cannot open /dev/full")
            }
            return full
        }
    }

    /// An underlay capture of `count` 1464-byte VXLAN frames.
    static func bigCapture(in folder: TemporaryFolder, count: Int) throws -> String {
        let inner = try #require(try kernelInnerFrames("calico-v4").first)
        let padded = inner.bytes + [UInt8](repeating: 0x5a, count: 1400)
        let frames = (1...count).map { Frame(number: $0, timestampNanoseconds: UInt64($0), originalLength: padded.count, bytes: padded) }
        let innerPath = folder.file("inner.pcap")
        try writeFrames(frames, to: innerPath)
        let outer = folder.file("outer.pcap")
        try #require(Encap.encapsulate(input: innerPath, output: outer, configuration: vxlan, groupPolicyID: 0,
                                       console: RecordingConsole().console) == 0)
        return outer
    }

    @Test("a disk that fills while writing: the error names the output and frame, nothing is left",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")), arguments: [Command.encap, .decap])
    func diskFullWhileWriting(command: Command) throws {
        let inputs = try TemporaryFolder()
        let input = try Self.bigCapture(in: inputs, count: 1_000)
        let folder = try TemporaryFolder()
        let output = folder.file("out.pcap")
        let (status, recorder) = Self.run(command, input, output, openWriter: Self.writerOnFullDisk)
        #expect(status == 1)
        try #require(recorder.errors.count == 1)
        let line = recorder.errors[0]
        #expect(line.hasPrefix("error: \(output): frame "), "\(line)")
        #expect(line.contains("No space left on device"))
        #expect(line.hasSuffix("; \(output) not written"))
        #expect(try folder.contents().isEmpty)
    }

    @Test("a disk that fills before the close: the close fails, nothing is left",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")), arguments: [Command.encap, .decap])
    func diskFullAtClose(command: Command) throws {
        let folder = try TemporaryFolder()
        let output = folder.file("out.pcap")
        let (status, recorder) = Self.run(command, fixture("kernel/gbp.pcap"), output, openWriter: Self.writerOnFullDisk)
        #expect(status == 1)
        #expect(recorder.errors.count == 1)
        #expect(recorder.errors.first?.hasPrefix("error: \(output): flushing ") == true, "\(recorder.errors)")
        #expect(recorder.errors.first?.contains("No space left on device") == true)
        #expect(try folder.contents().isEmpty)
    }

    @Test("decode survives every odd fixture and random frames behind a valid header", arguments: 1...10)
    func decodeNeverTraps(seed: UInt64) throws {
        let folder = try TemporaryFolder()
        var generator = SplitMix64(seed: seed)
        let frames = (1...50).map { number in
            let count = Int.random(in: 0...300, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Most frames look like IPv4/UDP to port 4789 so the deeper layers get exercised.
            if count >= 50, number % 4 != 0 {
                bytes.replaceSubrange(12..<14, with: [0x08, 0x00])
                bytes[14] = 0x45
                bytes[23] = 17
                bytes.replaceSubrange(36..<38, with: [0x12, 0xb5])
            }
            return Frame(number: number, timestampNanoseconds: UInt64(number), originalLength: count, bytes: bytes)
        }
        let path = folder.file("random-frames.pcap")
        try writeFrames(frames, to: path)
        let (status, recorder) = Self.run(.decode, path, "")
        #expect(status == 0)
        #expect(recorder.output.count == frames.count + 2)
        let json = RecordingConsole()
        #expect(Decode.decode(path: path, vxlanPorts: [4789], json: true, console: json.console) == 0)
        for line in json.output {
            #expect(throws: Never.self) { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
        }
    }
}

