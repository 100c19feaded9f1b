import Foundation
import PacketWire
import TestFixtures
import Testing

/// Frames from the shared fixtures, numbered as tshark numbers them (from 1).
enum CapturedFrame {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// Frame `number` of `kernel/<scenario>.pcap`.
    static func kernel(_ scenario: String, _ number: Int) throws -> [UInt8] {
        try frame(number, of: Fixtures.kernelCapture(scenario), in: scenario)
    }

    /// Frame `number` of `odd/odd.pcap` (see odd/INDEX.md).
    static func odd(_ number: Int) throws -> [UInt8] {
        try frame(number, of: oddCapture(), in: "odd.pcap")
    }

    static func oddCapture() throws -> [ClassicPcap.Record] {
        try ClassicPcap.read(Data(contentsOf: Fixtures.url("odd/odd.pcap")))
    }

    private static func frame(_ number: Int, of records: [ClassicPcap.Record], in file: String) throws -> [UInt8] {
        guard records.indices.contains(number - 1) else {
            throw Missing(description: "\(file) has no frame \(number)")
        }
        return records[number - 1].bytes
    }
}


extension RandomNumberGenerator {
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }

    mutating func bool() -> Bool { Bool.random(using: &self) }

    mutating func uint8() -> UInt8 { UInt8.random(in: .min ... .max, using: &self) }
    mutating func uint16() -> UInt16 { UInt16.random(in: .min ... .max, using: &self) }
    mutating func uint32() -> UInt32 { UInt32.random(in: .min ... .max, using: &self) }

    mutating func macAddress() -> MACAddress { MACAddress(rawValue: next()) }
    mutating func ipv4Address() -> IPv4Address { IPv4Address(rawValue: uint32()) }
    mutating func ipv6Address() -> IPv6Address { IPv6Address(high: next(), low: next()) }
}

/// `count` bytes filled with 0xa5, then handed to `body` to write into: a byte the code under test
/// forgets to write keeps 0xa5 and fails the comparison (smoltcp's habit).
func emitted(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xa5, count: count)
    bytes.withUnsafeMutableBytes { body($0) }
    return bytes
}

/// Bytes from a tshark-style hex dump or a plain run of hex pairs ("02 00 00 ...").
func hexBytes(_ text: String) -> [UInt8] {
    text.split(whereSeparator: \.isWhitespace).compactMap { UInt8($0, radix: 16) }
}

/// Runs `body` and checks it fails with a `DecodeError` of the given code, layer and absolute offset.
func expectDecodeError(
    _ code: DecodeError.Code, _ layer: Layer, at offset: Int,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(code) in \(layer) at byte \(offset); decoding succeeded",
                     sourceLocation: sourceLocation)
    } catch let error as DecodeError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.layer == layer, "\(error)", sourceLocation: sourceLocation)
        #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation)
        #expect(!error.description.isEmpty, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a DecodeError, caught \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `body` over the bytes of `frame` from `offset` on, as a layer would see them inside the frame.
/// `body` must not let a view escape: views point into `frame`'s storage.
func decoding<R>(
    _ frame: [UInt8], from offset: Int = 0,
    _ body: (UnsafeRawBufferPointer) throws -> R
) rethrows -> R {
    try frame.withUnsafeBytes { bytes in try body(bytes.dropFirst(count: offset)) }
}

/// `frame` with the bytes at `offset` replaced by `bytes`.
func patched(_ frame: [UInt8], at offset: Int, with bytes: [UInt8]) -> [UInt8] {
    var copy = frame
    copy.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    return copy
}

/// The naive RFC 1071 reference: big-endian byte pairs summed one at a time with end-around carry.
func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index < bytes.count {
        let high = UInt32(bytes[index]) << 8
        let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        sum += high | low
        sum = (sum & 0xFFFF) + (sum >> 16)
        index += 2
    }
    return ~UInt16(sum)
}
