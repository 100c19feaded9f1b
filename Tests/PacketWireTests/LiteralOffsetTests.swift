import Foundation
import Testing

/// Issue 9: outside PacketWire and the documented VXLAN fast paths, no code reads or writes a packet at a
/// literal byte offset; it goes through a view (`IPv4Packet(unchecked:)`, a Partial view) or a view's
/// `Field` table. This scans `Sources/` so a new literal offset fails here instead of drifting in.
@Suite("No literal byte offsets outside PacketWire")
struct LiteralOffsetTests {
    /// Byte access at a literal offset: `getInteger(at: 12`, `setInteger(x, at: ip + 10`,
    /// `loadUnaligned(fromByteOffset: 16`, `storeBytes(..., toByteOffset: 0`, `bytes[offset + 9]`.
    static let pattern = try? NSRegularExpression(pattern: [
        #"(getInteger|setInteger)\(.*at: *[a-zA-Z_.]* *\+ *[0-9]+"#,
        #"(getInteger|setInteger)\(.*at: [0-9]+[,)]"#,
        #"(fromByteOffset|toByteOffset): *[a-zA-Z_.]* *(\+ *)?[0-9]+"#,
        #"\b(bytes|frame|packet|buffer|payload|data|datagram|segment|control|quote|raw)\[[a-zA-Z_. ]*\+? *[0-9]+\]"#,
    ].joined(separator: "|"))

    /// Where literal offsets are allowed: PacketWire itself, and the VXLAN fast paths, whose literals are
    /// commented with the field they name (docs/architecture.md, "Fast paths").
    static let allowed = ["Sources/PacketWire/", "Sources/VXLAN/TunnelEndpoint.swift", "Sources/VXLAN/FlowHash.swift"]
    /// A line that reads a kernel structure (cmsghdr, tcp_info), not a packet, says so with this.
    static let notAPacket = "not a packet"

    static func matches(_ line: String) -> Bool {
        guard let pattern else { return false }
        return pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil
    }

    @Test("the pattern finds literal offsets and lets Field constants and views through")
    func patternSelfCheck() {
        #expect(Self.pattern != nil)
        for line in ["let t = bytes.getInteger(at: 12, as: UInt16.self)", "frame.setInteger(0, at: ip + 10, as: UInt16.self)",
                     "let p = frame.getInteger(at: udp + 2, as: UInt16.self)", "x.loadUnaligned(fromByteOffset: 16, as: UInt32.self)",
                     "let ttl = bytes[offset + 8]", "packet[0] = 8"] {
            #expect(Self.matches(line), "\(line)")
        }
        for line in ["let t = bytes.getInteger(at: IPv4Packet.Field.totalLength.lowerBound, as: UInt16.self)",
                     "let ttl = IPv4Packet(unchecked: bytes).timeToLive", "steps.insert(step, at: 0)",
                     "let first = names[0]", "bytes.setInteger(0, at: udp + UDPDatagram.Field.checksum.lowerBound, as: UInt16.self)"] {
            #expect(!Self.matches(line), "\(line)")
        }
    }

    @Test("no source file outside PacketWire and the VXLAN fast paths reads a packet at a literal offset")
    func noLiteralOffsets() throws {
        // Tests/PacketWireTests/LiteralOffsetTests.swift → the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        guard FileManager.default.fileExists(atPath: sources.path) else {
            print("LiteralOffsetTests: skipped, no Sources/ at \(sources.path)")
            return
        }
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(files.count > 50, "found only \(files.count) Swift files under \(sources.path)")
        var found: [String] = []
        for file in files {
            let relative = String(file.path.dropFirst(root.path.count + 1))
            guard !Self.allowed.contains(where: { relative.hasPrefix($0) }) else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.contains(Self.notAPacket) && Self.matches(String(line)) {
                found.append("\(relative):\(index + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(found.isEmpty, "literal byte offsets (use a PacketWire view or its Field table):\n\(found.joined(separator: "\n"))")
    }
}
