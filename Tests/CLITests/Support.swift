import Capture
import Foundation
import PacketWire
import TestFixtures
import Testing
@testable import overlay_sim

/// A fresh folder under the system's temporary folder, deleted with everything in it when the value
/// goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        var template = Array((base + "cli-tests-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        path = try #require(created.map { String(cString: $0) })
    }

    deinit {
        chmod(path, 0o700)
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// The names in the folder, hidden ones (temporary capture files) included.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}

/// A console that keeps what a command printed.
final class RecordingConsole {
    var output: [String] = []
    var errors: [String] = []

    var console: Console {
        Console(output: { self.output.append($0) }, error: { self.errors.append($0) })
    }
}

/// The path of a shared fixture file.
func fixture(_ relativePath: String) -> String {
    Fixtures.url(relativePath).path
}

/// Writes `frames` to a new pcap file.
func writeFrames(_ frames: [Frame], to path: String) throws {
    let writer = try PcapWriter(path: path)
    for frame in frames {
        try writer.write(frame.bytes, timestampNanoseconds: frame.timestampNanoseconds, originalLength: frame.originalLength)
    }
    try writer.close()
}

/// Reads every frame of a capture.
func readFrames(_ path: String) throws -> [Frame] {
    try PcapReader(path: path).readAll()
}

/// The inner Ethernet frames of a kernel capture's VXLAN packets that were not fragmented, cut out by
/// fixed offsets (50 bytes of outer headers over IPv4, 70 over IPv6; the UDP length bounds the frame),
/// independently of the decoder and the tunnel code.
func kernelInnerFrames(_ scenario: String) throws -> [Frame] {
    var frames: [Frame] = []
    for (index, record) in try Fixtures.kernelCapture(scenario).enumerated() {
        let bytes = record.bytes
        guard bytes.count > 70 else { continue }
        let etherType = Int(bytes[12]) << 8 | Int(bytes[13])
        let udpStart: Int
        switch etherType {
        case 0x0800 where bytes[23] == 17 && (Int(bytes[20]) << 8 | Int(bytes[21])) & 0x3FFF == 0:
            udpStart = 34
        case 0x86DD where bytes[20] == 17:
            udpStart = 54
        default:
            continue
        }
        let port = Int(bytes[udpStart + 2]) << 8 | Int(bytes[udpStart + 3])
        guard port == 4789 || port == 8472 else { continue }
        let udpLength = Int(bytes[udpStart + 4]) << 8 | Int(bytes[udpStart + 5])
        let inner = Array(bytes[(udpStart + 16)..<(udpStart + udpLength)])
        let timestamp = UInt64(record.timestampSeconds) * 1_000_000_000 + UInt64(record.timestampFraction) * 1_000
        frames.append(Frame(number: index + 1, timestampNanoseconds: timestamp, originalLength: inner.count, bytes: inner))
    }
    return frames
}

/// The scenario's `ip link` words, as `overlay-sim encap` options would spell them.
struct KernelDevice {
    var vni: UInt32
    var local: String
    var remote: String
    var destinationPort: UInt16

    init(_ scenario: String) throws {
        let words = try Fixtures.kernelLinkArguments(scenario)
        func value(_ word: String) throws -> String {
            let index = try #require(words.firstIndex(of: word))
            return words[index + 1]
        }
        vni = try #require(UInt32(try value("id")))
        local = try value("local")
        remote = local.contains(":") ? "2001:db8:77::2" : "192.0.2.2"
        destinationPort = try #require(UInt16(try value("dstport")))
    }
}

// MARK: - tshark

/// Runs tshark, when it is installed, to check the decoder and encap's output against Wireshark's
/// dissectors.
enum Tshark {
    /// tshark's path, found on PATH; nil when it is not installed.
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/tshark") {
            return "\(folder)/tshark"
        }
        return nil
    }()

    static var isAvailable: Bool {
        if executable == nil { print("tshark is not installed: skipping the comparison with Wireshark's dissectors") }
        return executable != nil
    }

    /// The options every comparison uses: verify IPv4 and UDP checksums, dissect 8472 as VXLAN too.
    static let standardOptions = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                                  "-d", "udp.port==8472,vxlan"]

    /// One row a frame: each field's occurrences, outermost first.
    typealias Row = [String: [String]]

    /// Runs `tshark -r file -T fields` with `fields` and returns one row a frame.
    static func fields(_ file: String, _ fields: [String], options: [String] = standardOptions,
                       filter: String? = nil) throws -> [Row] {
        let executable = try #require(executable)
        var arguments = ["-r", file] + options + ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
                                                  "-E", "aggregator=;"]
        if let filter { arguments += ["-Y", filter] }
        for field in fields { arguments += ["-e", field] }
        let output = try run(executable, arguments)
        return output.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            var row: Row = [:]
            for (index, field) in fields.enumerated() {
                let column = index < columns.count ? columns[index] : ""
                row[field] = column.isEmpty ? [] : column.split(separator: ";").map(String.init)
            }
            return row
        }
    }

    /// Runs a program and returns its standard output; standard error is discarded.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

// MARK: - The built executable

/// Runs the `overlay-sim` binary the test build made, for exit codes and what reaches the terminal.
enum Binary {
    /// `overlay-sim` beside the test bundle's resources; nil when the build did not make it.
    static let path: String? = {
        // The fixtures' resource bundle sits in the build products folder, beside the executable.
        var folder = Fixtures.url("fixture-bundle").deletingLastPathComponent()
        for _ in 0..<3 {
            folder = folder.deletingLastPathComponent()
            let candidate = folder.appendingPathComponent("overlay-sim").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    /// Exit statuses of a `run` that finished: every flow got through (0), or a flow failed (2, as in the
    /// default scenario's black hole and most examples).
    static let finished: Set<Int32> = [0, 2]

    static var isAvailable: Bool {
        if path == nil { print("the overlay-sim binary was not built beside the tests: skipping subprocess tests") }
        return path != nil
    }

    struct Result {
        var status: Int32
        var output: String
        var errors: String

        var outputLines: [Substring] { output.split(separator: "\n") }
        var errorLines: [Substring] { errors.split(separator: "\n") }
    }

    static func run(_ arguments: String...) throws -> Result { try run(arguments) }

    static func run(_ arguments: [String], in folder: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path))
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-sim-out-\(UUID().uuidString)")
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-sim-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: errors)
        }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      output: String(decoding: try Data(contentsOf: output), as: UTF8.self),
                      errors: String(decoding: try Data(contentsOf: errors), as: UTF8.self))
    }
}
