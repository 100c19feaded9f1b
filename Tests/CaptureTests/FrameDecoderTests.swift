import Capture
import Foundation
import PacketWire
import TestFixtures
import Testing

/// Decodes every frame of a fixture file with one decoder.
func decodeFixture(_ relativePath: String, vxlanPorts: [UInt16] = FrameDecoder.defaultVXLANPorts) throws -> [DecodedFrame] {
    var decoder = FrameDecoder(vxlanPorts: vxlanPorts)
    return try PcapReader(path: Fixtures.url(relativePath).path).readAll().map { decoder.decode($0) }
}

@Suite("FrameDecoder")
struct FrameDecoderTests {
    // MARK: The odd frames (Tests/TestFixtures/odd/INDEX.md), one expectation each

    @Test("odd.pcap: every odd frame decodes as INDEX.md describes it")
    func oddFrames() throws {
        let frames = try decodeFixture("odd/odd.pcap")
        try #require(frames.count == 17)
        let outerV4 = DecodedFrame.OuterIP(version: 4, source: "192.0.2.1", destination: "192.0.2.2", protocol: 17,
                                           ttl: 64, dontFragment: false, identification: 0, checksumValid: true)
        // Every odd VXLAN frame carries the same ping, its sequence number its item letter (a = 1).
        func inner(sequence: Int) -> DecodedFrame.Inner {
            DecodedFrame.Inner(
                ethernet: .init(source: "02:00:00:00:aa:01", destination: "02:00:00:00:bb:01", etherType: 0x0800),
                ip: .init(version: 4, source: "10.244.0.5", destination: "10.244.1.7", protocol: 1),
                icmp: .init(version: 4, type: 8, code: 0, checksumValid: true),
                summary: "ICMP echo request id 16962 seq \(sequence) len 64")
        }

        // a: I flag clear. The VXLAN header is reported, the error names it, nothing after it.
        let a = frames[0]
        #expect(a.vxlan == DecodedFrame.VXLAN(flags: 0, vni: 42))
        #expect(a.error?.kind == .badValue)
        #expect(a.error?.layer == .vxlan)
        #expect(a.error?.offset == 42)
        #expect(a.inner == nil)
        #expect(a.outer.udp?.checksumValid == true)

        // b: bad outer UDP checksum, reported and not fatal.
        #expect(frames[1].outer.udp?.checksumValid == false)
        #expect(frames[1].outer.udp?.checksum == 0x54a8)
        #expect(frames[1].error == nil)
        #expect(frames[1].inner == inner(sequence: 2))

        // c: bad outer IPv4 header checksum, reported and not fatal.
        var expectedIP = outerV4
        expectedIP.identification = frames[2].outer.ip?.identification
        expectedIP.checksumValid = false
        #expect(frames[2].outer.ip == expectedIP)
        #expect(frames[2].error == nil)
        #expect(frames[2].inner == inner(sequence: 3))

        // d: IHL 6 (Router Alert): the UDP header is found after the option.
        #expect(frames[3].vxlan?.vni == 42)
        #expect(frames[3].inner == inner(sequence: 4))

        // e, f: 802.1Q and QinQ outer tags.
        #expect(frames[4].outer.ethernet?.vlanIDs == [100])
        #expect(frames[5].outer.ethernet?.vlanIDs == [200, 100])
        #expect(frames[5].inner == inner(sequence: 6))

        // g: VXLAN-GBP, policy 2748 with D and A.
        #expect(frames[6].vxlan == DecodedFrame.VXLAN(flags: 0x88, vni: 42, groupPolicyID: 2748, groupPolicyFlags: 0x48))

        // h: IPv6 underlay with hop-by-hop and destination options before UDP.
        let h = frames[7]
        #expect(h.outer.ip == DecodedFrame.OuterIP(version: 6, source: "2001:db8:77::1", destination: "2001:db8:77::2",
                                                   protocol: 17, ttl: 64))
        #expect(h.outer.udp?.checksumValid == true)
        #expect(h.inner == inner(sequence: 8))

        // i-l: not VXLAN: TCP, ICMP errors, ICMPv6 packet too big.
        #expect(frames[8].outer.ip?.protocol == 6)
        #expect(frames[9].outer.ip?.protocol == 1)
        #expect(frames[10].outer.ip?.protocol == 1)
        #expect(frames[11].outer.ip?.protocol == 58)
        for frame in frames[8...11] {
            #expect(frame.vxlan == nil && frame.outer.udp == nil && frame.error == nil)
        }

        // m: ARP request and reply.
        #expect(frames[12].outer.ethernet == .init(source: "02:00:00:00:0a:01", destination: "ff:ff:ff:ff:ff:ff", etherType: 0x0806))
        #expect(frames[12].outer.ip == nil)
        #expect(frames[13].outer.ethernet?.etherType == 0x0806)

        // n: zero UDP checksum over IPv6: reported invalid (RFC 8200 §8.1), decoding goes on.
        #expect(frames[14].outer.udp?.checksum == 0)
        #expect(frames[14].outer.udp?.checksumValid == false)
        #expect(frames[14].inner == inner(sequence: 14)) // item n: two ARP frames share item m

        // o: cut by the snapshot length (96 of 1064 bytes): decoded as far as it was captured, as tshark
        // does: the outer headers, VXLAN, the inner IPv4 header and ICMP type; the cut is named, no error.
        let o = frames[15]
        #expect(o.length == 1064 && o.capturedLength == 96)
        #expect(o.outer.ip?.source == "192.0.2.1" && o.outer.ip?.checksumValid == true)
        #expect(o.outer.udp?.destinationPort == 4789 && o.outer.udp?.checksumValid == nil, "unverified: not all captured")
        #expect(o.vxlan?.vni == 42)
        #expect(o.inner?.ip?.destination == "10.244.1.7")
        #expect(o.inner?.icmp == .init(version: 4, type: 8, code: 0, checksumValid: nil))
        #expect(o.cut == DecodedFrame.Cut(layer: .icmpv4, inner: true, inHeader: false))
        #expect(o.error == nil)

        // p: an unknown EtherType is kept, not rejected.
        #expect(frames[16].outer.ethernet?.etherType == 0x88b5)
        #expect(frames[16].outer.ip == nil && frames[16].error == nil)
    }

    @Test("odd.pcapng decodes exactly as odd.pcap")
    func pcapngMatchesPcap() throws {
        #expect(try decodeFixture("odd/odd.pcapng") == decodeFixture("odd/odd.pcap"))
    }

    // MARK: Kernel captures

    @Test("frag-v4: fragments are held, the completing frame carries the datagram", arguments: [(11, 12), (13, 14)])
    func reassembledFragments(first: Int, last: Int) throws {
        let frames = try decodeFixture("kernel/frag-v4.pcap")
        let held = frames[first - 1]
        #expect(held.fragment?.offset == 0)
        #expect(held.fragment?.moreFragments == true)
        #expect(held.fragment?.reassembledFrames == nil)
        #expect(held.fragment?.identification == held.outer.ip?.identification)
        #expect(held.vxlan == nil && held.outer.udp == nil && held.error == nil)

        let whole = frames[last - 1]
        #expect(whole.fragment?.moreFragments == false)
        #expect(whole.fragment?.offset == 1376)
        #expect(whole.fragment?.reassembledFrames == [first, last])
        #expect(whole.outer.udp?.length == 1430)
        #expect(whole.outer.udp?.checksumValid == true)
        #expect(whole.vxlan?.vni == 42)
        #expect(whole.inner?.ip?.protocol == 1)
        #expect(whole.error == nil)
    }

    @Test("the VXLAN port table is configuration", arguments: Fixtures.kernelScenarios)
    func portTable(scenario: String) throws {
        let link = try Fixtures.kernelLinkArguments(scenario)
        let port = try #require(link.firstIndex(of: "dstport").flatMap { UInt16(link[$0 + 1]) })
        let withPort = try decodeFixture("kernel/\(scenario).pcap", vxlanPorts: [port])
        let withoutPort = try decodeFixture("kernel/\(scenario).pcap", vxlanPorts: [port == 4789 ? 8472 : 4789])
        #expect(withPort.contains { $0.vxlan != nil })
        #expect(withoutPort.allSatisfy { $0.vxlan == nil && $0.inner == nil })
        #expect(try decodeFixture("kernel/\(scenario).pcap") == withPort)
    }

    @Test("a VXLAN frame fragmented by hand and delivered out of order decodes like the original")
    func handMadeFragments() throws {
        let original = try #require(try PcapReader(path: Fixtures.url("kernel/flannel-v4.pcap").path).readAll()
            .first { frame in frame.bytes.count > 100 && frame.bytes[12] == 0x08 && frame.bytes[13] == 0x00 })
        var decoder = FrameDecoder()
        let expected = decoder.decode(original)
        try #require(expected.vxlan != nil)

        let ethernet = Array(original.bytes[0..<14])
        let ipHeader = Array(original.bytes[14..<34])
        let data = Array(original.bytes[34...])
        func fragment(_ offset: Int, _ count: Int, more: Bool) -> [UInt8] {
            var header = ipHeader
            header.withUnsafeMutableBytes { buffer in
                buffer.setInteger(UInt16(20 + count), at: 2, as: UInt16.self)
                buffer.setInteger((more ? 0x2000 : 0) | UInt16(offset / 8), at: 6, as: UInt16.self)
                buffer.setInteger(0, at: 10, as: UInt16.self)
                buffer.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(buffer)), at: 10, as: UInt16.self)
            }
            return ethernet + header + data[offset..<(offset + count)]
        }
        let pieces = [fragment(0, 48, more: true), fragment(48, 40, more: true),
                      fragment(88, data.count - 88, more: false)]
        var results: [DecodedFrame] = []
        for (number, index) in [2, 0, 1].enumerated() {
            results.append(decoder.decode(Frame(number: number + 10, timestampNanoseconds: 5, originalLength: pieces[index].count,
                                                bytes: pieces[index])))
        }
        #expect(results[0].vxlan == nil && results[1].vxlan == nil)
        #expect(results[0].fragment?.offset == 88 && results[1].fragment?.offset == 0)
        let whole = results[2]
        #expect(whole.fragment?.reassembledFrames == [10, 11, 12])
        #expect(whole.outer.udp == expected.outer.udp)
        #expect(whole.vxlan == expected.vxlan)
        #expect(whole.inner == expected.inner)
        #expect(whole.error == nil)
    }

    // MARK: JSON Lines

    @Test("the JSON line keeps DESIGN.md's keys and order, with explicit nulls")
    func jsonContract() throws {
        let frames = try decodeFixture("kernel/flannel-v4.pcap")
        let vxlan = try #require(frames.first { $0.vxlan != nil })
        let line = vxlan.jsonLine
        #expect(line.hasPrefix("{\"frame\": \(vxlan.frame), \"timestampNanoseconds\": "))
        #expect(line.contains(", \"outer\": {\"linuxCooked\": null, \"ethernet\": {\"source\": \"02:00:00:00:"))
        #expect(line.contains("\"ip\": {\"version\": 4, \"source\": \"192.0.2."))
        #expect(line.contains("\"udp\": {\"sourcePort\": "))
        #expect(line.contains("\"fragment\": null, \"vxlan\": {\"flags\": 8, \"vni\": 1, \"groupPolicyID\": null"))
        #expect(line.contains("\"inner\": {\"nsh\": null, \"ethernet\": {"))
        #expect(line.hasSuffix("\"error\": null}"))
        let keys = ["\"frame\"", "\"length\"", "\"outer\"", "\"vxlan\"", "\"inner\"", "\"error\""]
        let positions = keys.compactMap { line.range(of: $0)?.lowerBound }
        #expect(positions.count == keys.count && positions == positions.sorted())

        let arp = try #require(frames.first { $0.outer.ethernet?.etherType == 0x0806 })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(arp.jsonLine.utf8)) as? [String: Any])
        #expect(object["vxlan"] is NSNull)
        #expect(object["inner"] is NSNull)
        #expect(object["error"] is NSNull)
        let outer = try #require(object["outer"] as? [String: Any])
        #expect(outer["ip"] is NSNull)
    }

    @Test("every fixture's JSON lines read back into equal values",
          arguments: Fixtures.kernelScenarios.map { "kernel/\($0).pcap" } + ["odd/odd.pcap", "odd/odd.pcapng"])
    func jsonRoundTrip(file: String) throws {
        for frame in try decodeFixture(file) {
            let decoded = try JSONDecoder().decode(DecodedFrame.self, from: Data(frame.jsonLine.utf8))
            #expect(decoded == frame, "frame \(frame.frame): \(frame.jsonLine)")
        }
    }

    @Test("JSON strings are escaped")
    func jsonEscaping() throws {
        var frame = DecodedFrame(frame: 1, timestampNanoseconds: 0, length: 0, capturedLength: 0)
        frame.error = .init(kind: .badValue, layer: .vxlan, offset: 0, message: "quote \" backslash \\ newline \n bell \u{7}")
        let decoded = try JSONDecoder().decode(DecodedFrame.self, from: Data(frame.jsonLine.utf8))
        #expect(decoded == frame)
        #expect(!frame.jsonLine.contains("\n"))
    }

    // MARK: Hostile frames

    @Test("every kernel frame cut at every length decodes without trapping", arguments: Fixtures.kernelScenarios)
    func everyCut(scenario: String) throws {
        let frames = try PcapReader(path: Fixtures.url("kernel/\(scenario).pcap").path).readAll()
        for frame in frames {
            var decoder = FrameDecoder()
            let whole = decoder.decode(frame)
            for length in 0..<frame.bytes.count {
                let cut = decoder.decode(Frame(number: frame.number, timestampNanoseconds: frame.timestampNanoseconds,
                                               originalLength: frame.bytes.count, bytes: Array(frame.bytes.prefix(length))))
                // A cut inside the link header is an error; any other cut is named, and what was captured
                // whole is shown as the whole frame shows it.
                if length < 14 { #expect(cut.error?.kind == .truncated) }
                #expect(cut.length == frame.bytes.count && cut.capturedLength == length)
                if length >= 14 {
                    #expect(cut.cut != nil && cut.error == nil, "frame \(frame.number) cut at \(length): \(cut.error?.message ?? "")")
                    #expect(cut.outer.ethernet == whole.outer.ethernet)
                }
                if whole.vxlan != nil, length >= (whole.outer.ip?.version == 6 ? 70 : 50) {
                    #expect(cut.vxlan == whole.vxlan, "frame \(frame.number) cut at \(length)")
                }
                if whole.outer.udp != nil, length >= (whole.outer.ip?.version == 6 ? 58 : 38) {
                    #expect(cut.outer.udp?.sourcePort == whole.outer.udp?.sourcePort, "frame \(frame.number) cut at \(length)")
                }
            }
        }
    }

    @Test("random byte flips in kernel frames never trap", arguments: 1...8)
    func byteFlips(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        var decoder = FrameDecoder()
        for scenario in Fixtures.kernelScenarios {
            for frame in try PcapReader(path: Fixtures.url("kernel/\(scenario).pcap").path).readAll() {
                var bytes = frame.bytes
                for _ in 0..<4 where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                let decoded = decoder.decode(Frame(number: frame.number, timestampNanoseconds: frame.timestampNanoseconds,
                                                   originalLength: bytes.count, bytes: bytes))
                #expect(decoded.frame == frame.number)
                _ = decoded.jsonLine
            }
        }
    }
}
