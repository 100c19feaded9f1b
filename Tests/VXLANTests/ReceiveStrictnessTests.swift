import PacketWire
import Testing
@testable import VXLAN

/// `vxlan_rcv` (drivers/net/vxlan/vxlan_core.c) drops a VXLAN header with any bit set that the device
/// does not use. Each case below was sent with scapy to a Linux 6.18 vxlan device in a network namespace
/// (`id 42 dstport 4789`, and a second one with `gbp`); "accepted" means rx_packets counted it, "dropped"
/// that rx_frame_errors did (or, for I clear and an unknown VNI, that nothing counted it).
@Suite("VXLAN receive as vxlan_rcv checks it")
struct ReceiveStrictnessTests {
    static let inner: [UInt8] = {
        // 02:00:00:00:bb:01 <- 02:00:00:00:aa:01, IPv4 10.244.0.5 > 10.244.1.1 ICMP echo, 28 bytes
        var frame: [UInt8] = [0x02, 0, 0, 0, 0xbb, 0x01, 0x02, 0, 0, 0, 0xaa, 0x01, 0x08, 0x00]
        frame += [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 244, 0, 5, 10, 244, 1, 1]
        frame += [8, 0, 0xf7, 0xff, 0, 0, 0, 0]
        frame.withUnsafeMutableBytes { bytes in
            bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(14..<34))), at: 24, as: UInt16.self)
        }
        return frame
    }()

    /// The frame with `header` as its VXLAN header, encapsulated as a device with `gbp` would be and then
    /// patched, the UDP checksum recomputed.
    func frame(header: [UInt8]) throws -> [UInt8] {
        var configuration = TunnelConfiguration(vni: 42, local: IPAddress("192.0.2.1")!, remote: IPAddress("192.0.2.2")!)
        configuration.udpChecksum = false
        var endpoint = TunnelEndpoint(configuration: configuration)
        let buffer = PacketBuffer(copying: Self.inner)
        try endpoint.encapsulate(buffer)
        var bytes = buffer.bytes
        bytes.replaceSubrange(42..<50, with: header)
        return bytes
    }

    func decapsulate(_ frame: [UInt8], gbp: Bool, vni: UInt32 = 42) -> Result<DecapsulatedPacket, DecapsulationError> {
        var configuration = TunnelConfiguration(vni: vni, local: IPAddress("192.0.2.2")!)
        configuration.groupBasedPolicy = gbp
        let endpoint = TunnelEndpoint(configuration: configuration)
        return Result { () throws(DecapsulationError) in try endpoint.decapsulate(PacketBuffer(copying: frame)) }
    }

    @Test("a plain device accepts only I; every other flag or reserved byte is dropped", arguments: [
        ([0x08, 0, 0, 0, 0, 0, 42, 0], nil),
        ([0x0c, 0, 0, 0, 0, 0, 42, 0], DecapsulationError.Code.reservedBits),  // P: a VXLAN-GPE header
        ([0x88, 0, 0, 5, 0, 0, 42, 0], .reservedBits),                         // G on a device without gbp
        ([0x08, 1, 0, 0, 0, 0, 42, 0], .reservedBits),
        ([0x08, 0, 0, 1, 0, 0, 42, 0], .reservedBits),
        ([0x08, 0, 0, 0, 0, 0, 42, 1], .reservedBits),                         // the byte after the VNI
        ([0x00, 0, 0, 0, 0, 0, 42, 0], .malformed),                            // I clear
        ([0x08, 0, 0, 0, 0, 0, 41, 0], .unknownVNI),
    ] as [([UInt8], DecapsulationError.Code?)])
    func plainDevice(header: [UInt8], refusal: DecapsulationError.Code?) throws {
        let result = decapsulate(try frame(header: header), gbp: false)
        switch result {
        case .success(let packet):
            #expect(refusal == nil)
            #expect(packet.vni == 42 && packet.groupPolicy == nil)
        case .failure(let error):
            #expect(error.code == refusal, "\(error)")
        }
    }

    @Test("a gbp device also accepts G and any of bytes 1-3, reserved GBP flag bits included; not byte 7 or other flags",
          arguments: [
              ([0x88, 0x48, 0x0a, 0xbc, 0, 0, 42, 0], nil),
              ([0x08, 0, 0, 0, 0, 0, 42, 0], nil),
              ([0x88, 0x01, 0, 0, 0, 0, 42, 0], nil),
              ([0xc8, 0, 0, 0, 0, 0, 42, 0], DecapsulationError.Code.reservedBits),
              ([0x88, 0, 0, 0, 0, 0, 42, 1], .reservedBits),
          ] as [([UInt8], DecapsulationError.Code?)])
    func gbpDevice(header: [UInt8], refusal: DecapsulationError.Code?) throws {
        switch decapsulate(try frame(header: header), gbp: true) {
        case .success:
            #expect(refusal == nil)
        case .failure(let error):
            #expect(error.code == refusal, "\(error)")
        }
    }

    @Test("the refusal says why: a GPE header on a plain device")
    func sentence() throws {
        guard case .failure(let error) = decapsulate(try frame(header: [0x0c, 0, 0, 0x04, 0, 0, 42, 0]), gbp: false) else {
            Issue.record("a VXLAN-GPE header was accepted")
            return
        }
        #expect(error.reason.contains("0c00000400002a00"))
        #expect(error.reason.contains("VXLAN-GPE"))
        #expect(error.reason.hasSuffix("Linux drops it and counts rx_frame_errors"))
    }
}
