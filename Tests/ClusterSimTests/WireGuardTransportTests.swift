import Capture
import ClusterSim
import Foundation
import PacketWire
import Testing

/// WireGuard transport data messages sealed with swift-crypto's ChaChaPoly, checked against bytes sealed by
/// an independent implementation (Python `cryptography`; the fixture is PacketWireTests' WireGuardTests),
/// opened again, refused without the key, and decoded by tshark as WireGuard.
@Suite("WireGuard transport: ChaCha20-Poly1305 sealing (wireguard.pdf §5.4.6)")
struct WireGuardTransportTests {
    /// Key 0x80…0x9f.
    static let key = "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8="
    /// The 31-byte IPv4/UDP packet 10.244.0.2:40000 → 10.244.1.2:5432 "hi!".
    static let inner: [UInt8] = [
        0x45, 0x00, 0x00, 0x1f, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x11, 0xaf, 0x0a, 0xf4, 0x00, 0x02,
        0x0a, 0xf4, 0x01, 0x02, 0x9c, 0x40, 0x15, 0x38, 0x00, 0x0b, 0xae, 0x0a, 0x68, 0x69, 0x21,
    ]
    /// What Python's `cryptography` sealed it to (receiver 0x11223344, counter 5).
    static let message: [UInt8] = [
        0x04, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x76, 0xec, 0xd3, 0x81, 0x92, 0x6f, 0x3d, 0xc2, 0x6c, 0xe5, 0x1c, 0x99, 0x36, 0xc2, 0x41, 0xce,
        0x76, 0xfa, 0xb8, 0x81, 0x17, 0x32, 0x73, 0xc6, 0xa1, 0xf9, 0x2e, 0xbd, 0x6d, 0xea, 0x54, 0x70,
        0x63, 0xf8, 0x5a, 0x3e, 0xa6, 0xbb, 0xb1, 0xc9, 0xcf, 0x22, 0x69, 0x0e, 0xf6, 0xd0, 0x6c, 0x79,
    ]
    static let header = WireGuardDataHeader(receiverIndex: 0x1122_3344, counter: 5)

    @Test("sealing gives the independent implementation's bytes: header, padded ciphertext, tag")
    func sealMatchesIndependentImplementation() throws {
        let transport = try WireGuardTransport(base64: Self.key)
        let sealed = Self.inner.withUnsafeBytes { transport.seal($0, header: Self.header) }
        #expect(sealed == Self.message)
        #expect(sealed.count == Self.inner.count + 1 + WireGuardDataMessage.overhead)
    }

    @Test("opening with the key gives back the inner packet and its zero padding")
    func openWithKey() throws {
        let transport = try WireGuardTransport(base64: Self.key)
        let opened = try Self.message.withUnsafeBytes { bytes throws(WireGuardError) in try transport.open(bytes) }
        #expect(opened == Self.inner + [0])
    }

    @Test("without the key, or with one byte changed, the tag does not verify")
    func authenticationFails() throws {
        let other = try WireGuardTransport(base64: Data(repeating: 7, count: 32).base64EncodedString())
        var tampered = Self.message
        tampered[20] ^= 0x01
        let right = try WireGuardTransport(base64: Self.key)
        for (transport, bytes) in [(other, Self.message), (right, tampered)] {
            do {
                _ = try bytes.withUnsafeBytes { bytes throws(WireGuardError) in try transport.open(bytes) }
                Issue.record("a message opened that should not have")
            } catch let error as WireGuardError {
                #expect(error.code == .authenticationFailed)
                #expect(error.reason.contains("receiver 287454020, counter 5, does not verify with this peer's key"))
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test("keys are 32 bytes of base64")
    func badKey() {
        #expect(throws: WireGuardError.self) { try WireGuardTransport(base64: "c2hvcnQ=") }
    }

    @Test("tshark decodes the message on UDP 51820 as WireGuard transport data, nothing malformed",
          .enabled(if: tsharkInstalled, "tshark is not installed: skipping the WireGuard dissector check"))
    func tsharkDecodesWireGuard() throws {
        let folder = try temporaryFolder("wireguard-tshark")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/wg.pcap"
        var frame = [UInt8](repeating: 0, count: 42 + Self.message.count)
        let source = IPv4Address(10, 0, 0, 1), destination = IPv4Address(10, 0, 0, 2)
        frame.withUnsafeMutableBytes { bytes in
            for (index, byte) in Self.message.enumerated() { bytes[42 + index] = byte }
            UDPHeader(sourcePort: WireGuardTransport.calicoPort, destinationPort: WireGuardTransport.calicoPort, payloadLength: Self.message.count)
                .emit(into: bytes.slice(34..<bytes.count), checksum: .ipv4(source: source, destination: destination))
            IPv4Header(typeOfService: 0, identification: 1, dontFragment: false, timeToLive: 64, protocol: .udp,
                       source: source, destination: destination, payloadLength: 8 + Self.message.count)
                .emit(into: bytes.slice(14..<34))
            EthernetHeader(destination: MACAddress(rawValue: 0x0200_0000_0002), source: MACAddress(rawValue: 0x0200_0000_0001), etherType: .ipv4)
                .emit(into: bytes.slice(0..<14))
        }
        let writer = try PcapWriter(path: path)
        try writer.write(frame, timestampNanoseconds: 0)
        try writer.close()
        let fields = try #require(tshark(["-r", path, "-d", "udp.port==51820,wg", "-T", "fields", "-e", "wg.type",
                                          "-e", "wg.receiver", "-e", "wg.counter", "-e", "_ws.malformed"]))
        #expect(fields.trimmingCharacters(in: .whitespacesAndNewlines) == "4\t0x11223344\t5")
    }
}
