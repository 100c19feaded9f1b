import Capture
import PacketWire
import Foundation
import Testing

/// A fresh folder under the system's temporary folder, deleted with everything in it when the
/// value goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        var template = Array((base + "capture-tests-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        path = try #require(created.map { String(cString: $0) })
    }

    deinit {
        chmod(path, 0o700)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The path of `name` inside the folder.
    func file(_ name: String) -> String {
        path + "/" + name
    }

    /// The names in the folder, hidden ones included, sorted.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    /// Writes `bytes` to `name` in the folder and returns its path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let path = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Reads a whole file.
func contentsOfFile(_ path: String) throws -> [UInt8] {
    try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes `frames` with a new writer and closes it.
func writeCapture(_ frames: [Frame], to path: String, snapLength: UInt32 = 262_144, linkType: LinkType = .ethernet) throws {
    let writer = try PcapWriter(path: path, snapLength: snapLength, linkType: linkType)
    for frame in frames {
        try writer.write(frame.bytes, timestampNanoseconds: frame.timestampNanoseconds, originalLength: frame.originalLength)
    }
    try writer.close()
}

/// Runs `body`, expects it to throw a ``CaptureError`` with `code` whose reason names `path`,
/// and returns the error for further checks.
@discardableResult
func expectCaptureError(
    _ code: CaptureError.Code,
    naming path: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) -> CaptureError? {
    let error = #expect(throws: CaptureError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.code == code, "\(error?.description ?? "no error")", sourceLocation: sourceLocation)
    #expect(error?.reason.contains(path) == true, "reason does not name \(path): \(error?.description ?? "no error")", sourceLocation: sourceLocation)
    #expect(error?.description.contains("\n") == false, sourceLocation: sourceLocation)
    return error
}


extension Array where Element == UInt8 {
    /// `count` bytes from a seeded generator.
    static func random(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Appends `value` in little-endian byte order, as a pcap file written on x86 holds it.
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
