import ArgumentParser
import Capture
import PacketWire
import TestFixtures
import Testing
import VXLAN
@testable import overlay_sim

@Suite("encap and decap")
struct EncapDecapTests {
    /// Parses `overlay-sim encap` arguments the way the command line does and returns the device.
    func encapCommand(_ arguments: [String]) throws -> Encap {
        try Encap.parse(["in.pcap", "out.pcap"] + arguments)
    }

    @Test("--udp6zerocsumtx is ip link's udp6zerocsumtx; without it IPv6 keeps its checksum even with --noudpcsum")
    func udp6ZeroChecksum() throws {
        let addresses = ["--vni", "7", "--local", "2001:db8::1", "--remote", "2001:db8::2"]
        #expect(try encapCommand(addresses + ["--udp6zerocsumtx"]).tunnelConfiguration().udp6ZeroChecksumTx)
        let plain = try encapCommand(addresses + ["--noudpcsum"]).tunnelConfiguration()
        #expect(!plain.udp6ZeroChecksumTx && !plain.udpChecksum)
    }

    static let variants: [[String]] = [
        [],
        ["--dstport", "8472", "--noudpcsum"],
        ["--gbp", "2748", "--df", "inherit", "--ttl", "inherit", "--tos", "inherit"],
        ["--srcport", "49152", "65535", "--seed", "7", "--ttl", "9", "--tos", "0x28", "--df", "set"],
        ["--ipv6"],
        ["--ipv6", "--gbp", "1", "--dstport", "8472"],
    ]

    @Test("decap(encap(x)) == x on the kernel vectors' inner frames",
          arguments: Fixtures.kernelScenarios, 0..<variants.count)
    func roundTrip(scenario: String, variant: Int) throws {
        var options = Self.variants[variant]
        let ipv6 = options.contains("--ipv6")
        options.removeAll { $0 == "--ipv6" }
        let addresses = ipv6 ? ["--local", "2001:db8:77::1", "--remote", "2001:db8:77::2"]
                             : ["--local", "192.0.2.1", "--remote", "192.0.2.2"]
        let command = try encapCommand(["--vni", "4242"] + addresses + options)
        let folder = try TemporaryFolder()
        let inner = try kernelInnerFrames(scenario)
        try #require(!inner.isEmpty)
        try writeFrames(inner, to: folder.file("x.pcap"))

        let recorder = RecordingConsole()
        #expect(Encap.encapsulate(input: folder.file("x.pcap"), output: folder.file("encap.pcap"),
                                  configuration: try command.tunnelConfiguration(), groupPolicyID: command.gbp ?? 0,
                                  console: recorder.console) == 0)
        let port: UInt16 = options.contains("8472") ? 8472 : 4789
        #expect(Decap.decapsulate(input: folder.file("encap.pcap"), output: folder.file("decap.pcap"), vni: 4242,
                                  destinationPorts: [port], groupBasedPolicy: command.gbp != nil,
                                  console: recorder.console) == 0)
        #expect(try readFrames(folder.file("decap.pcap")) == readFrames(folder.file("x.pcap")))
        #expect(recorder.errors.count == 2, "one summary line each, no refusals: \(recorder.errors)")
        #expect(try folder.contents() == ["decap.pcap", "encap.pcap", "x.pcap"])
    }

    @Test("decap of a kernel capture yields its inner frames, fragmented ones reassembled", arguments: Fixtures.kernelScenarios)
    func decapKernel(scenario: String) throws {
        let folder = try TemporaryFolder()
        let recorder = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("kernel/\(scenario).pcap"), output: folder.file("inner.pcap"), vni: nil,
                                  destinationPorts: FrameDecoder.defaultVXLANPorts, groupBasedPolicy: scenario == "gbp",
                                  console: recorder.console) == 0)
        let decapsulated = try readFrames(folder.file("inner.pcap")).map { ($0.timestampNanoseconds, $0.bytes) }
        let expected = try kernelInnerFrames(scenario).map { ($0.timestampNanoseconds, $0.bytes) }
        if scenario == "frag-v4" {
            // Two datagrams came in two fragments each; their inner frames appear on the last fragment.
            #expect(decapsulated.count == expected.count + 2)
            let whole = decapsulated.filter { frame in !expected.contains { $0 == frame } }
            #expect(whole.map(\.1.count) == [1414, 1414])
            #expect(recorder.errors.first?.contains("2 outer fragments held, 2 datagrams reassembled") == true)
        } else {
            #expect(decapsulated.elementsEqual(expected) { $0 == $1 })
        }
        // Everything else (ARP, neighbour discovery) is refused by reason with frame numbers.
        #expect(recorder.errors.contains { $0.hasPrefix("decap: refused ") })
        #expect(recorder.errors.contains { $0.contains(" notUDP (frames ") && $0.hasSuffix("outer protocol ICMPv6 - 58 is not UDP") })
    }

    @Test("decap refuses by reason: the wrong VNI, the wrong port, bad checksums, the I flag")
    func decapRefusals() throws {
        let folder = try TemporaryFolder()
        let recorder = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("kernel/gbp.pcap"), output: folder.file("none.pcap"), vni: 7,
                                  destinationPorts: [4789], console: recorder.console) == 0)
        #expect(try readFrames(folder.file("none.pcap")).isEmpty)
        #expect(recorder.errors.contains { $0.contains(" unknownVNI (frames ") && $0.hasSuffix("VNI 42 is not this VTEP's VNI 7") })

        let other = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("kernel/flannel-v4.pcap"), output: folder.file("none.pcap"), vni: nil,
                                  destinationPorts: [4789], console: other.console) == 0)
        #expect(other.errors.contains { $0.contains(" wrongPort (frames ") && $0.hasSuffix("UDP destination port 8472 is not 4789") })

        let odd = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("odd/odd.pcap"), output: folder.file("odd-inner.pcap"), vni: nil,
                                  destinationPorts: [4789], console: odd.console) == 0)
        // Frames d, e, f, h decapsulate; a (I flag), b (UDP checksum), c (IPv4 checksum), o (cut short)
        // are malformed; g (VXLAN-GBP) needs --gbp, as on Linux; n (zero UDP checksum over IPv6) needs
        // udp6zerocsumrx.
        let millisecond: UInt64 = 1_000_000
        #expect(try readFrames(folder.file("odd-inner.pcap")).map(\.timestampNanoseconds)
            == [4, 5, 6, 8].map { 1_700_000_000_000 * millisecond + $0 * millisecond })
        #expect(odd.errors.contains { $0.hasPrefix("  1 reservedBits (frame 7): VXLAN header 88480abc00002a00") })
        let malformed = try #require(odd.errors.first { $0.contains(" malformed (frames ") })
        #expect(malformed.hasPrefix("  4 malformed (frames 1, 2, 3, 16): vxlan: badValue at byte 42"))
        #expect(odd.errors.contains { $0.hasPrefix("  1 zeroChecksumOverIPv6 (frame 15): ") })

        let lenient = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("odd/odd.pcap"), output: folder.file("odd-inner.pcap"), vni: nil,
                                  destinationPorts: [4789], udp6ZeroChecksumRx: true, groupBasedPolicy: true,
                                  console: lenient.console) == 0)
        #expect(try readFrames(folder.file("odd-inner.pcap")).count == 6)
    }

    @Test("encap refuses frames it cannot carry, by reason, and writes the rest")
    func encapRefusals() throws {
        let folder = try TemporaryFolder()
        let good = try #require(try kernelInnerFrames("flannel-v4").first)
        let frames = [
            good,
            Frame(number: 2, timestampNanoseconds: 2, originalLength: 1064, bytes: Array(good.bytes.prefix(90))),
            Frame(number: 3, timestampNanoseconds: 3, originalLength: 10, bytes: Array(good.bytes.prefix(10))),
            Frame(number: 4, timestampNanoseconds: 4, originalLength: 65_500, bytes: [UInt8](repeating: 1, count: 65_500)),
        ]
        try writeFrames(frames, to: folder.file("in.pcap"))
        let command = try encapCommand(["--vni", "1", "--local", "192.0.2.1", "--remote", "192.0.2.2"])
        let recorder = RecordingConsole()
        #expect(Encap.encapsulate(input: folder.file("in.pcap"), output: folder.file("out.pcap"),
                                  configuration: try command.tunnelConfiguration(), groupPolicyID: 0,
                                  console: recorder.console) == 0)
        #expect(try readFrames(folder.file("out.pcap")).map(\.bytes.count) == [good.bytes.count + 50])
        #expect(recorder.errors.count == 5)
        #expect(recorder.errors[1] == "encap: refused 3:")
        #expect(recorder.errors[2].hasPrefix("  1 cutShort (frame 2): the capture kept 90 of the frame's 1064 bytes"))
        #expect(recorder.errors[3].hasPrefix("  1 runt (frame 3): "))
        #expect(recorder.errors[4].hasPrefix("  1 tooLarge (frame 4): a 65500-byte frame does not fit one outer IP datagram"))
    }

    @Test("encap options are read as ip link reads them")
    func encapOptions() throws {
        let configuration = try encapCommand([
            "--vni", "42", "--local", "192.0.2.1", "--remote", "192.0.2.2", "--dstport", "8472",
            "--srcport", "49152", "65535", "--noudpcsum", "--df", "inherit", "--ttl", "inherit", "--tos", "28",
            "--gbp", "5", "--source-mac", "02:00:00:00:0a:01", "--seed", "9",
        ]).tunnelConfiguration()
        #expect(configuration.vni == 42)
        #expect(configuration.destinationPort == 8472)
        #expect(configuration.sourcePortRange == 49152..<65535)
        #expect(configuration.udpChecksum == false)
        #expect(configuration.df == .inherit)
        #expect(configuration.ttl == .inherit)
        #expect(configuration.tos == .fixed(0x28))
        #expect(configuration.groupBasedPolicy)
        #expect(configuration.underlaySourceMAC == MACAddress("02:00:00:00:0a:01"))
        #expect(configuration.underlayNextHopMAC == MACAddress("02:00:c0:00:02:02"))
        #expect(configuration.flowHashSeed == 9)

        let defaults = try encapCommand(["--vni", "1", "--local", "2001:db8::a:1", "--remote", "2001:db8::b:2"])
            .tunnelConfiguration()
        #expect(defaults.destinationPort == 4789 && defaults.udpChecksum && defaults.ttl == .auto && defaults.df == .unset)
        #expect(defaults.sourcePortRange == TunnelConfiguration.linuxEphemeralPorts)
        #expect(defaults.underlaySourceMAC == MACAddress("02:00:00:0a:00:01"))
    }

    @Test("bad encap options are refused by validate() with a sentence naming the option", arguments: [
        (["--vni", "16777216"], "--vni: VNI 16777216 exceeds 24 bits"),
        (["--srcport", "1"], "--srcport takes two ports, MIN and MAX; got 1"),
        (["--srcport", "9", "5"], "--srcport: MIN 9 must be below MAX 5"),
        (["--df", "maybe"], "--df: 'maybe' is not unset, set or inherit"),
        (["--ttl", "300"], "--ttl: '300' is not a number in range"),
        (["--tos", "zz"], "--tos: 'zz' is neither inherit nor a hex byte (00-ff) as ip link takes it"),
        (["--gbp", "0"], "--gbp 0 is an unmarked packet, which Linux sends without the GBP extension; give 1-65535"),
        (["--remote", "2001:db8::1"], "--local 192.0.2.1 and --remote 2001:db8::1 are different address families"),
        (["--local", "nowhere"], "--local: 'nowhere' is not an IPv4 or IPv6 address"),
        (["--source-mac", "02:00"], "--source-mac: '02:00' is not a MAC address like 02:00:c0:00:02:01"),
    ])
    func badEncapOptions(arguments: [String], message: String) throws {
        var base = ["--vni", "1", "--local", "192.0.2.1", "--remote", "192.0.2.2"]
        // A later option of the same name wins in ArgumentParser; drop the base one so the message is exact.
        for name in arguments where name.hasPrefix("--") {
            if let index = base.firstIndex(of: name) { base.removeSubrange(index...(index + 1)) }
        }
        do {
            _ = try encapCommand(base + arguments)
            Issue.record("expected \(arguments) to be refused")
        } catch {
            #expect(Encap.message(for: error) == message)
        }
    }

    @Test("the decode table pins its columns")
    func decodeTable() throws {
        let recorder = RecordingConsole()
        #expect(Decode.decode(path: fixture("kernel/frag-v4.pcap"), vxlanPorts: [4789], json: false,
                              console: recorder.console) == 0)
        #expect(recorder.output.first == DecodeTable.header)
        #expect(recorder.output[12] == "   12    88  192.0.2.1 → 192.0.2.2                  51736 → 4789         42  "
            + "10.244.0.5 → 10.244.1.7          ICMP    reassembled id 2434 from frames 11,12; "
            + "ICMP echo request id 7885 seq 1 len 1380")
        #expect(recorder.output[11] == "   11  1410  192.0.2.1 → 192.0.2.2                  -                     -  "
            + "-                                UDP     fragment id 2434 offset 0 MF")
        #expect(recorder.output[5] == "    5    42  02:00:00:00:0a:01 → ff:ff:ff:ff:ff:ff  -                     -  "
            + "-                                ARP")
        #expect(recorder.output.last == "27 frames, 15 VXLAN, 4 outer fragments, 2 datagrams reassembled, "
            + "0 with a bad checksum, 0 with errors")
        #expect(recorder.errors.isEmpty)
    }

    @Test("decode --json prints one JSON object a frame and nothing else")
    func decodeJSON() throws {
        let recorder = RecordingConsole()
        #expect(Decode.decode(path: fixture("kernel/gbp.pcap"), vxlanPorts: FrameDecoder.defaultVXLANPorts, json: true,
                              console: recorder.console) == 0)
        var decoder = FrameDecoder()
        #expect(recorder.output == (try readFrames(fixture("kernel/gbp.pcap"))).map { decoder.decode($0).jsonLine })
    }
}
