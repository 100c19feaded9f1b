import Testing
@testable import ClusterSim

@Suite("The node's view of a frame")
struct IPv4FrameTests {
    /// Ethernet, IPv4 (20 bytes) and a TCP header with the given ports and sequence number.
    static func tcpFrame(sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 14 + 20 + 20)
        bytes[12] = 0x08                                    // EtherType IPv4
        bytes[14] = 0x45                                    // version 4, IHL 5
        bytes[16] = 0; bytes[17] = 40                       // total length
        bytes[22] = 64; bytes[23] = 6                       // TTL, protocol TCP
        bytes[26...29] = [10, 244, 0, 2]; bytes[30...33] = [10, 244, 1, 2]
        bytes[34] = UInt8(sourcePort >> 8); bytes[35] = UInt8(sourcePort & 0xFF)
        bytes[36] = UInt8(destinationPort >> 8); bytes[37] = UInt8(destinationPort & 0xFF)
        for i in 0..<4 { bytes[38 + i] = UInt8(truncatingIfNeeded: sequence >> (24 - 8 * UInt32(i))) }
        bytes[46] = 0x50; bytes[47] = 0x04                  // data offset 5, RST
        return bytes
    }

    /// A TCP segment's sequence number sits where UDP keeps its length: an RST with sequence 0 must still
    /// show its ports (reading it as UDP refused a length below 8 and gave ports 0).
    @Test(arguments: [UInt32(0), 1, 7, 0x0008_0000, 0xFFFF_FFFF])
    func tcpPortsWhateverTheSequence(sequence: UInt32) throws {
        let bytes = Self.tcpFrame(sourcePort: 43512, destinationPort: 80, sequence: sequence)
        try bytes.withUnsafeBytes { raw in
            let frame = try #require(IPv4Frame(raw))
            #expect(frame.sourcePort == 43512)
            #expect(frame.destinationPort == 80)
        }
    }
}
