import Foundation

/// Fixture files shared by every test target: real kernel VXLAN captures (`kernel/`, recorded by
/// kernel_vectors.sh beside this file) and odd or malformed frames built with scapy (`odd/`, see
/// odd/INDEX.md and odd/make_odd.py).
public enum Fixtures {
    public static func url(_ relativePath: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent(relativePath)
    }

    /// The kernel scenarios, every `kernel/NAME.pcap` in the folder: each has `NAME.link.txt` beside it
    /// (its `ip -d link show` line). Read from the folder so a capture added there is tested too.
    public static let kernelScenarios: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url("kernel").path)) ?? []
        return names.filter { $0.hasSuffix(".pcap") }.map { String($0.dropLast(".pcap".count)) }.sorted()
    }()

    public static func kernelCapture(_ scenario: String) throws -> [ClassicPcap.Record] {
        try ClassicPcap.read(Data(contentsOf: url("kernel/\(scenario).pcap")))
    }

    /// The words after `vxlan` in the scenario's `ip -d link show` output.
    public static func kernelLinkArguments(_ scenario: String) throws -> [String] {
        let text = try String(contentsOf: url("kernel/\(scenario).link.txt"), encoding: .utf8)
        return text.split(whereSeparator: \.isWhitespace).map(String.init).dropFirst().map { $0 }
    }
}

/// A minimal reader of classic little-endian pcap files, enough for fixtures. The product reads
/// captures through libpcap (the Capture module); tests use this to stay independent of it.
public enum ClassicPcap {
    public struct Record: Sendable {
        public var timestampSeconds: UInt32
        public var timestampFraction: UInt32
        public var originalLength: Int
        public var bytes: [UInt8]
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ data: Data) throws -> [Record] {
        let bytes = [UInt8](data)
        func u32(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
        }
        guard bytes.count >= 24, u32(0) == 0xa1b2_c3d4 || u32(0) == 0xa1b2_3c4d else {
            throw FormatError(description: "not a little-endian classic pcap file")
        }
        var records: [Record] = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let captured = Int(u32(offset + 8))
            guard offset + 16 + captured <= bytes.count else {
                throw FormatError(description: "record at byte \(offset) runs past the end")
            }
            records.append(Record(timestampSeconds: u32(offset), timestampFraction: u32(offset + 4),
                                  originalLength: Int(u32(offset + 12)),
                                  bytes: Array(bytes[(offset + 16)..<(offset + 16 + captured)])))
            offset += 16 + captured
        }
        return records
    }
}
