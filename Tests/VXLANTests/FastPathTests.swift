import Foundation
import PacketWire
import TestFixtures
import Testing
@testable import VXLAN

/// The straight-line fast paths of the encapsulator and decapsulator give exactly what the layered
/// path through PacketWire's views and values gives, on every kernel frame and on thousands of mutations
/// of them (each byte of the headers flipped, every truncation, VLAN tags, options, fragments).
@Suite("Fast paths agree with the layered paths")
struct FastPathTests {
    /// Frames the kernel sent in the captures, as they were on the wire: all of them, or the first
    /// `limit` VXLAN frames of each scenario that its device accepts.
    static func kernelFrames(acceptedLimit limit: Int? = nil) throws
        -> [(scenario: String, device: TunnelConfiguration, frame: [UInt8])]
    {
        try Fixtures.kernelScenarios.flatMap { scenario in
            let device = try TunnelConfiguration(ipLinkArguments: Fixtures.kernelLinkArguments(scenario))
            let frames = try Fixtures.kernelCapture(scenario).map(\.bytes)
            guard let limit else { return frames.map { (scenario, device, $0) } }
            let endpoint = TunnelEndpoint(configuration: device)
            return frames.filter { (try? endpoint.decapsulate(PacketBuffer(copying: $0))) != nil }
                .prefix(limit).map { (scenario, device, $0) }
        }
    }

    /// `frame` and variants of it: each of the first `headerBytes` bytes XORed with a few masks, and
    /// every truncation.
    static func mutations(of frame: [UInt8], headerBytes: Int) -> [[UInt8]] {
        var variants = [frame]
        for offset in 0..<min(headerBytes, frame.count) {
            for mask: UInt8 in [0x01, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF] {
                var variant = frame
                variant[offset] ^= mask
                variants.append(variant)
            }
        }
        for length in 0..<frame.count { variants.append(Array(frame[..<length])) }
        return variants
    }

    /// An inner frame as pods send it: untagged IPv4 carrying UDP or TCP, or with options, VLAN tags, a
    /// fragment, IPv6 or ARP for the paths the fast path leaves to the general one.
    static func innerFrames() -> [[UInt8]] {
        let udp = TunnelEndpointTests.innerFrame(sourcePort: 40000, destinationPort: 53, payload: 22)
        var tcp = udp
        tcp[23] = 6
        var withOptions = udp
        withOptions.insert(contentsOf: [0x01, 0x01, 0x01, 0x00], at: 34)
        withOptions[14] = 0x46
        withOptions[17] &+= 4
        var fragment = udp
        fragment[20] = 0x20
        var tagged = udp
        tagged.insert(contentsOf: [0x81, 0x00, 0x00, 0x07], at: 12)
        var doubleTagged = tagged
        doubleTagged.insert(contentsOf: [0x88, 0xA8, 0x00, 0x09], at: 12)
        var ipv6 = [UInt8](repeating: 0, count: 14 + 40 + 8)
        ipv6[12] = 0x86; ipv6[13] = 0xDD; ipv6[14] = 0x60; ipv6[19] = 8; ipv6[20] = 17; ipv6[21] = 64
        for index in 22..<54 { ipv6[index] = UInt8(index) }
        var arp = [UInt8](repeating: 0x11, count: 42)
        arp[12] = 0x08; arp[13] = 0x06
        return [udp, tcp, withOptions, fragment, tagged, doubleTagged, ipv6, arp]
    }

    @Test("the flow hash fast path and the general path agree")
    func flowHash() throws {
        var frames = Self.innerFrames().flatMap { Self.mutations(of: $0, headerBytes: 60) }
        frames += try Self.kernelFrames().map(\.frame)
        for frame in frames {
            for seed: UInt32 in [0, 0x9e37_79b9] {
                frame.withUnsafeBytes { bytes in
                    #expect(FlowHash.hash(innerFrame: bytes, seed: seed)
                                == FlowHash.generalHash(innerFrame: bytes, seed: seed), "\(frame)")
                }
            }
        }
    }

    @Test("the inner-header summary fast path and the general reading agree")
    func innerSummary() {
        for frame in Self.innerFrames().flatMap({ Self.mutations(of: $0, headerBytes: 40) }) {
            frame.withUnsafeBytes { bytes in
                let fast = InnerSummary(bytes), general = InnerSummary(anyFrame: bytes)
                #expect(fast.typeOfService == general.typeOfService && fast.timeToLive == general.timeToLive
                            && fast.dontFragment == general.dontFragment, "\(frame)")
            }
        }
    }

    @Test("decapsulation: the fast path accepts exactly the untagged IPv4 frames the layered path accepts")
    func decapsulation() throws {
        var acceptedFast = 0
        for (scenario, device, kernelFrame) in try Self.kernelFrames(acceptedLimit: 2) {
            let mutations = Self.mutations(of: kernelFrame, headerBytes: 90)
            for frame in mutations + mutations.compactMap(Self.repairingChecksums) {
                for otherVNI in [false, true] {
                    var receiver = device
                    // The VNI and port as configured, and also a VTEP that wants another VNI.
                    if otherVNI { receiver.vni ^= 1 }
                    let endpoint = TunnelEndpoint(configuration: receiver)
                    let fastBuffer = PacketBuffer(copying: frame)
                    let layeredBuffer = PacketBuffer(copying: frame)
                    let fast = endpoint.decapsulateUntaggedIPv4(fastBuffer)
                    let layered = try? endpoint.decapsulateCheckingEachLayer(layeredBuffer)
                    if let fast {
                        acceptedFast += 1
                        #expect(fast == layered, "\(scenario): fast path accepted what the layered path refused")
                    } else if layered != nil {
                        let untaggedIPv4 = frame.count >= 14 && frame[12] == 0x08 && frame[13] == 0x00
                        #expect(!untaggedIPv4, "\(scenario): fast path refused an untagged IPv4 VXLAN frame")
                    }
                    #expect(fastBuffer.bytes == layeredBuffer.bytes || fast == nil, "\(scenario)")
                    if fast == nil { #expect(fastBuffer.bytes == frame, "a refused frame is left unchanged") }
                }
            }
        }
        #expect(acceptedFast > 1_000, "the mutations reach the fast path's acceptance")
    }

    /// `frame` with its outer IPv4 header checksum recomputed and its outer UDP checksum zeroed, so a
    /// mutation is judged by the field it changed; nil when the frame is not untagged IPv4.
    static func repairingChecksums(_ frame: [UInt8]) -> [UInt8]? {
        guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00 else { return nil }
        let headerLength = Int(frame[14] & 0x0F) * 4
        guard headerLength >= 20, 14 + headerLength <= frame.count else { return nil }
        var repaired = frame
        repaired[24] = 0
        repaired[25] = 0
        let checksum = repaired.withUnsafeBytes { InternetChecksum.checksum($0.slice(14..<14 + headerLength)) }
        repaired[24] = UInt8(checksum >> 8)
        repaired[25] = UInt8(truncatingIfNeeded: checksum)
        if 14 + headerLength + 8 <= repaired.count {
            repaired[14 + headerLength + 6] = 0
            repaired[14 + headerLength + 7] = 0
        }
        return repaired
    }

    @Test("the IPv4 outer header writer emits what the header values emit", arguments: [false, true])
    func ipv4Writer(udpChecksum: Bool) {
        let inner = TunnelEndpointTests.innerFrame(payload: 40)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<500 {
            let tos = UInt8.random(in: 0...255, using: &generator)
            let identification = UInt16.random(in: 0...UInt16.max, using: &generator)
            let ttl = UInt8.random(in: 0...255, using: &generator)
            let dontFragment = round % 2 == 0
            let source = IPv4Address(rawValue: UInt32.random(in: 0...UInt32.max, using: &generator))
            let destination = IPv4Address(rawValue: UInt32.random(in: 0...UInt32.max, using: &generator))
            let sourceMAC = MACAddress(rawValue: UInt64.random(in: 0...UInt64.max, using: &generator))
            let destinationMAC = MACAddress(rawValue: UInt64.random(in: 0...UInt64.max, using: &generator))
            let groupPolicy: GroupPolicy? = round % 3 == 0 ? nil : GroupPolicy(
                id: UInt16.random(in: 0...UInt16.max, using: &generator), dontLearn: round % 5 == 0,
                policyApplied: round % 7 == 0)
            let vxlan = VXLANHeader(vni: UInt32.random(in: 0...0xFF_FFFF, using: &generator), groupPolicy: groupPolicy)
            let udp = UDPHeader(sourcePort: UInt16.random(in: 0...UInt16.max, using: &generator), destinationPort: 4789,
                                payloadLength: 8 + inner.count)

            var written = [UInt8](repeating: 0xA5, count: 50) + inner
            written.withUnsafeMutableBytes { frame in
                TunnelEndpoint.writeIPv4OuterHeaders(
                    into: frame, destinationMAC: destinationMAC, sourceMAC: sourceMAC, typeOfService: tos,
                    identification: identification, dontFragment: dontFragment, timeToLive: ttl, source: source,
                    destination: destination, udp: udp, udpChecksum: udpChecksum, vxlan: vxlan)
            }
            var emitted = [UInt8](repeating: 0x5A, count: 50) + inner
            emitted.withUnsafeMutableBytes { frame in
                vxlan.emit(into: frame.slice(42..<50))
                udp.emit(into: frame.slice(34..<frame.count),
                         checksum: udpChecksum ? .ipv4(source: source, destination: destination) : nil)
                IPv4Header(typeOfService: tos, identification: identification, dontFragment: dontFragment,
                           timeToLive: ttl, protocol: .udp, source: source, destination: destination,
                           payloadLength: udp.length).emit(into: frame.slice(14..<34))
                EthernetHeader(destination: destinationMAC, source: sourceMAC, etherType: .ipv4)
                    .emit(into: frame.slice(0..<14))
            }
            #expect(written == emitted, "round \(round)")
        }
    }
}
