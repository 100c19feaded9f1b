import Capture
import Foundation
import PacketWire
import TestFixtures
import Testing
@testable import overlay_sim

/// The real captures recorded by kernel_captures.sh (Linux cooked v1 and v2 from `tcpdump -i any`, VXLAN
/// cut at 128 bytes, VXLAN-GPE, a sender-side capture before offload, TSO packets) and the scapy-made
/// tunnels (Geneve, GPE with NSH, BIG TCP), decoded as tshark decodes them, field by field on the fields
/// both show.
@Suite("Real captures decode as tshark decodes them", .enabled(if: Tshark.isAvailable, "tshark is not installed"))
struct RealCaptureTests {
    static let files = ["kernel/captures/sll.pcap", "kernel/captures/sll2.pcap", "kernel/captures/any.pcap",
                        "kernel/captures/snap128-v4.pcap", "kernel/captures/snap128-v6.pcap", "kernel/captures/gpe.pcap",
                        "kernel/captures/offload.pcap", "kernel/captures/bigtcp.pcap", "odd/tunnels.pcap"]
    static let fields = [
        "frame.number", "frame.len", "frame.cap_len", "sll.pkttype", "sll.ifindex", "sll.src.eth", "sll.etype",
        "eth.src", "eth.dst", "ip.src", "ip.dst", "ip.proto", "ip.checksum.status", "ipv6.src", "ipv6.dst",
        "udp.srcport", "udp.dstport", "udp.checksum.status", "vxlan.vni", "vxlan.next_proto",
        "geneve.vni", "geneve.proto_type", "geneve.flags.critical", "geneve.option.class", "geneve.option.type",
        "nsh.spi", "nsh.si", "tcp.srcport", "tcp.dstport", "tcp.flags", "icmp.type", "icmp.code",
    ]

    @Test("each frame's fields agree with tshark's", arguments: files)
    func agree(file: String) throws {
        let path = fixture(file)
        let reader = try PcapReader(path: path)
        var decoder = FrameDecoder(linkType: reader.linkType)
        let ours = try reader.readAll().map { decoder.decode($0) }
        let theirs = try Tshark.fields(path, Self.fields, options: Tshark.standardOptions + ["-d", "udp.port==4790,vxlan_gpe"])
        try #require(ours.count == theirs.count && !ours.isEmpty)
        for (frame, row) in zip(ours, theirs) {
            compare(frame, row)
        }
        if file.contains("snap128") { #expect(ours.contains { $0.cut != nil && $0.vxlan != nil && $0.inner?.ip != nil }) }
        if file.contains("sll") || file.contains("any") { #expect(ours.allSatisfy { $0.outer.linuxCooked != nil }) }
    }

    func compare(_ frame: DecodedFrame, _ row: Tshark.Row, sourceLocation: SourceLocation = #_sourceLocation) {
        let label = Comment(rawValue: "frame \(frame.frame)")
        func value(_ field: String, _ index: Int = 0) -> String? {
            guard let values = row[field], index < values.count else { return nil }
            return values[index]
        }
        #expect(value("frame.len") == "\(frame.length)", label, sourceLocation: sourceLocation)
        #expect(value("frame.cap_len") == "\(frame.capturedLength)", label, sourceLocation: sourceLocation)
        if let cooked = frame.outer.linuxCooked {
            #expect(value("sll.pkttype") == "\(cooked.packetType)", label, sourceLocation: sourceLocation)
            #expect(value("sll.ifindex") == cooked.interfaceIndex.map(String.init), label, sourceLocation: sourceLocation)
            #expect(value("sll.src.eth") == cooked.source, label, sourceLocation: sourceLocation)
        }
        var ethernetIndex = 0
        if let ethernet = frame.outer.ethernet {
            #expect(value("eth.src") == ethernet.source, label, sourceLocation: sourceLocation)
            #expect(value("eth.dst") == ethernet.destination, label, sourceLocation: sourceLocation)
            ethernetIndex = 1
        }
        if let ip = frame.outer.ip {
            let family = ip.version == 4 ? "ip" : "ipv6"
            #expect(value("\(family).src") == ip.source, label, sourceLocation: sourceLocation)
            #expect(value("\(family).dst") == ip.destination, label, sourceLocation: sourceLocation)
            if ip.version == 4 {
                let status = value("ip.checksum.status")
                #expect((status == "1" ? true : status == "0" ? false : nil) == ip.checksumValid, label, sourceLocation: sourceLocation)
            }
        }
        if let udp = frame.outer.udp {
            #expect(value("udp.srcport") == "\(udp.sourcePort)", label, sourceLocation: sourceLocation)
            #expect(value("udp.dstport") == "\(udp.destinationPort)", label, sourceLocation: sourceLocation)
            let status = value("udp.checksum.status")
            let theirs: Bool? = status == "1" ? true : (status == "0" || status == "4") ? false : nil
            #expect(theirs == udp.checksumValid, label, sourceLocation: sourceLocation)
        }
        if let vxlan = frame.vxlan {
            #expect(value("vxlan.vni") == "\(vxlan.vni)", label, sourceLocation: sourceLocation)
        }
        if let gpe = frame.vxlanGPE {
            #expect(value("vxlan.vni") == "\(gpe.vni)", label, sourceLocation: sourceLocation)
            #expect(value("vxlan.next_proto") == "\(gpe.nextProtocol)", label, sourceLocation: sourceLocation)
        }
        if let geneve = frame.geneve {
            #expect(value("geneve.vni").flatMap { Int($0.dropFirst(2), radix: 16) } == geneve.vni, label, sourceLocation: sourceLocation)
            #expect(value("geneve.proto_type").flatMap { Int($0.dropFirst(2), radix: 16) } == geneve.protocolType, label,
                    sourceLocation: sourceLocation)
            #expect(value("geneve.flags.critical") == (geneve.critical ? "1" : "0"), label, sourceLocation: sourceLocation)
            #expect((row["geneve.option.class"] ?? []).compactMap { Int($0.dropFirst(2), radix: 16) } == geneve.options.map(\.optionClass),
                    label, sourceLocation: sourceLocation)
            #expect((row["geneve.option.type"] ?? []).compactMap { Int($0.dropFirst(2), radix: 16) } == geneve.options.map(\.type),
                    label, sourceLocation: sourceLocation)
        }
        if let nsh = frame.inner?.nsh {
            #expect(value("nsh.spi") == "\(nsh.servicePathIdentifier)", label, sourceLocation: sourceLocation)
            #expect(value("nsh.si") == "\(nsh.serviceIndex)", label, sourceLocation: sourceLocation)
        }
        guard let inner = frame.inner else { return }
        if let ethernet = inner.ethernet {
            #expect(value("eth.src", ethernetIndex) == ethernet.source, label, sourceLocation: sourceLocation)
            #expect(value("eth.dst", ethernetIndex) == ethernet.destination, label, sourceLocation: sourceLocation)
        }
        if let ip = inner.ip {
            let index = frame.outer.ip?.version == ip.version ? 1 : 0
            let family = ip.version == 4 ? "ip" : "ipv6"
            #expect(value("\(family).src", index) == ip.source, label, sourceLocation: sourceLocation)
            #expect(value("\(family).dst", index) == ip.destination, label, sourceLocation: sourceLocation)
        }
        if let tcp = inner.tcp {
            #expect(value("tcp.srcport") == "\(tcp.sourcePort)", label, sourceLocation: sourceLocation)
            #expect(value("tcp.dstport") == "\(tcp.destinationPort)", label, sourceLocation: sourceLocation)
            #expect(value("tcp.flags").flatMap { Int($0.dropFirst(2), radix: 16) } == tcp.flags, label, sourceLocation: sourceLocation)
        }
        if let udp = inner.udp {
            #expect(value("udp.srcport", 1) == "\(udp.sourcePort)", label, sourceLocation: sourceLocation)
            #expect(value("udp.dstport", 1) == "\(udp.destinationPort)", label, sourceLocation: sourceLocation)
        }
        if let icmp = inner.icmp, icmp.version == 4 {
            #expect(value("icmp.type") == "\(icmp.type)", label, sourceLocation: sourceLocation)
            #expect(value("icmp.code") == "\(icmp.code)", label, sourceLocation: sourceLocation)
        }
    }
}

@Suite("decap and encap on real captures")
struct RealCaptureConversionTests {
    @Test("decap of tcpdump -i any (cooked v1 and v2) yields the VXLAN frames' inner frames", arguments: ["sll", "sll2", "any"])
    func decapCooked(name: String) throws {
        let folder = try TemporaryFolder()
        let recorder = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("kernel/captures/\(name).pcap"), output: folder.file("inner.pcap"), vni: nil,
                                  destinationPorts: [8472], console: recorder.console) == 0)
        let inner = try readFrames(folder.file("inner.pcap"))
        var decoder = FrameDecoder(linkType: try PcapReader(path: fixture("kernel/captures/\(name).pcap")).linkType)
        let expected = try readFrames(fixture("kernel/captures/\(name).pcap")).map { decoder.decode($0) }.filter { $0.vxlan != nil }
        #expect(inner.count == expected.count && !inner.isEmpty)
        #expect(inner.map { Array($0.bytes[6..<12]) }.allSatisfy { $0 == [2, 0, 0, 0, 0xaa, 1] || $0 == [2, 0, 0, 0, 0xbb, 1] })
        #expect(recorder.errors.contains { $0.contains("each frame was given an Ethernet header") })
    }

    @Test("a capture taken before checksum offload: refused with a hint, accepted with --ignore-checksums")
    func offload() throws {
        let folder = try TemporaryFolder()
        let strict = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("kernel/captures/offload.pcap"), output: folder.file("a.pcap"), vni: nil,
                                  destinationPorts: [4789], console: strict.console) == 0)
        #expect(try readFrames(folder.file("a.pcap")).isEmpty)
        #expect(strict.errors.contains { $0.hasPrefix("decap: hint: ") && $0.hasSuffix("Run with --ignore-checksums to accept them.") })
        let lenient = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("kernel/captures/offload.pcap"), output: folder.file("b.pcap"), vni: nil,
                                  destinationPorts: [4789], ignoreChecksums: true, console: lenient.console) == 0)
        #expect(try readFrames(folder.file("b.pcap")).count == 13)
        #expect(!lenient.errors.contains { $0.contains(" malformed ") })
    }

    @Test("a VXLAN-GPE header on port 4789 is refused by decap, not written out as Ethernet")
    func gpeOnVXLANPort() throws {
        let folder = try TemporaryFolder()
        let recorder = RecordingConsole()
        #expect(Decap.decapsulate(input: fixture("odd/tunnels.pcap"), output: folder.file("x.pcap"), vni: nil,
                                  destinationPorts: [4789], console: recorder.console) == 0)
        #expect(try readFrames(folder.file("x.pcap")).isEmpty)
        #expect(recorder.errors.contains { $0.hasPrefix("  1 reservedBits (frame 7): ") && $0.contains("VXLAN-GPE") })
    }

    @Test("encap and decap refuse an output that is their input, by any name, and leave it untouched")
    func sameFile() throws {
        let folder = try TemporaryFolder()
        try writeFrames(try kernelInnerFrames("flannel-v4"), to: folder.file("x.pcap"))
        let before = try Data(contentsOf: URL(fileURLWithPath: folder.file("x.pcap")))
        symlink(folder.file("x.pcap"), folder.file("link.pcap"))
        let recorder = RecordingConsole()
        let configuration = try Encap.parse(["a", "b", "--vni", "1", "--local", "192.0.2.1", "--remote", "192.0.2.2"]).tunnelConfiguration()
        for output in [folder.file("x.pcap"), folder.path + "/./x.pcap", folder.file("link.pcap")] {
            #expect(Encap.encapsulate(input: folder.file("x.pcap"), output: output, configuration: configuration, groupPolicyID: 0,
                                      console: recorder.console) == 1)
            #expect(Decap.decapsulate(input: folder.file("x.pcap"), output: output, vni: nil, destinationPorts: [4789],
                                      console: recorder.console) == 1)
        }
        #expect(recorder.errors.allSatisfy { $0.contains("is the input file") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("x.pcap"))) == before)
        #expect(try folder.contents() == ["link.pcap", "x.pcap"])
    }

    @Test("--dstport 0 is refused by encap and decap, and port 0 by decode", arguments: [
        ["encap", "in", "out", "--vni", "1", "--local", "192.0.2.1", "--remote", "192.0.2.2", "--dstport", "0"],
        ["decap", "in", "out", "--dstport", "0"],
        ["decode", "in", "--vxlan-port", "0"],
    ])
    func portZero(arguments: [String]) throws {
        #expect(throws: (any Error).self) { _ = try OverlaySim.parseAsRoot(arguments) }
    }
}

@Suite("Geneve and --direction")
struct GeneveDirectionTests {
    /// The inner frames of the flannel kernel capture, both directions of every exchange.
    func innerCapture(_ folder: TemporaryFolder) throws -> String {
        let path = folder.file("inner.pcap")
        try writeFrames(try kernelInnerFrames("flannel-v4"), to: path)
        return path
    }

    @Test("decap --geneve --external (encap --geneve x) == x, options and the C bit on the wire; without --external the C bit is dropped")
    func roundTrip() throws {
        let folder = try TemporaryFolder()
        let inner = try innerCapture(folder)
        let command = try Encap.parse([inner, folder.file("outer.pcap"), "--geneve", "--vni", "77", "--local", "192.0.2.1",
                                       "--remote", "192.0.2.2", "--geneve-option", "0x0102:0x80:00000001",
                                       "--geneve-option", "0x0103:1:0000000200000003"])
        let recorder = RecordingConsole()
        #expect(Encap.encapsulate(input: inner, output: folder.file("outer.pcap"), configuration: try command.tunnelConfiguration(),
                                  groupPolicyID: 0, geneve: try command.geneveConfiguration(), console: recorder.console) == 0)
        var decoder = FrameDecoder()
        let decoded = try readFrames(folder.file("outer.pcap")).map { decoder.decode($0) }
        #expect(decoded.allSatisfy { $0.geneve?.vni == 77 && $0.geneve?.critical == true && $0.geneve?.options.count == 2 })
        #expect(decoded.allSatisfy { $0.outer.udp?.destinationPort == 6081 && $0.outer.udp?.checksumValid == true })
        #expect(Decap.decapsulate(input: folder.file("outer.pcap"), output: folder.file("back.pcap"), vni: 77, destinationPorts: [6081],
                                  geneve: true, geneveExternal: true, console: recorder.console) == 0)
        #expect(try readFrames(folder.file("back.pcap")) == readFrames(inner))
        let strict = RecordingConsole()
        #expect(Decap.decapsulate(input: folder.file("outer.pcap"), output: folder.file("none.pcap"), vni: 77, destinationPorts: [6081],
                                  geneve: true, console: strict.console) == 0)
        #expect(try readFrames(folder.file("none.pcap")).isEmpty)
        #expect(strict.errors.contains { $0.contains(" reservedBits (frames ") && $0.contains("C bit") })
        if Tshark.isAvailable {
            // The kernel capture's UDP 5353 datagram is malformed mDNS in the original too (see TsharkTests).
            let rows = try Tshark.fields(folder.file("outer.pcap"), ["geneve.vni", "ip.checksum.status", "udp.checksum.status", "_ws.malformed"],
                                         options: Tshark.standardOptions + ["--disable-protocol", "mdns"])
            #expect(rows.count == decoded.count)
            #expect(rows.allSatisfy { $0["geneve.vni"] == ["0x00004d"] && $0["udp.checksum.status"]?.first == "1"
                && $0["ip.checksum.status"]?.first == "1" && $0["_ws.malformed"] == [] })
        }
    }

    @Test("--direction sends each frame from its sender's VTEP, learned from the inner addresses")
    func direction() throws {
        let folder = try TemporaryFolder()
        let inner = try innerCapture(folder)
        let command = try Encap.parse([inner, "x", "--vni", "1", "--local", "192.0.2.1", "--remote", "192.0.2.2", "--direction"])
        let recorder = RecordingConsole()
        #expect(Encap.encapsulate(input: inner, output: folder.file("outer.pcap"), configuration: try command.tunnelConfiguration(),
                                  groupPolicyID: 0, direction: true, console: recorder.console) == 0)
        var decoder = FrameDecoder()
        let decoded = try readFrames(folder.file("outer.pcap")).map { decoder.decode($0) }
        try #require(!decoded.isEmpty)
        for frame in decoded {
            guard let innerSource = frame.inner?.ip?.source else { continue }
            // Pod 10.244.0.5 sits behind 192.0.2.1, pod 10.244.1.7 behind 192.0.2.2.
            #expect(frame.outer.ip?.source == (innerSource == "10.244.0.5" ? "192.0.2.1" : "192.0.2.2"), "frame \(frame.frame)")
        }
        #expect(decoded.contains { $0.outer.ip?.source == "192.0.2.2" })
        #expect(recorder.errors.contains { $0.hasSuffix("(--direction)") })
    }
}

@Suite("decode table")
struct DecodeTableAlignmentTests {
    @Test("long IPv6 addresses widen the address columns so every row stays aligned")
    func ipv6Widens() {
        var long = DecodedFrame(frame: 1, timestampNanoseconds: 0, length: 150, capturedLength: 150)
        long.outer.ip = .init(version: 6, source: "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", destination: "2001:db8:aaaa:bbbb:cccc:dddd:eeee:2",
                              protocol: 17, ttl: 64)
        long.inner = .init(ip: .init(version: 6, source: "fd00:244:1111:2222:3333:4444:5555:6", destination: "fd00:244::7", protocol: 58))
        var short = DecodedFrame(frame: 2, timestampNanoseconds: 0, length: 42, capturedLength: 42)
        short.outer.ethernet = .init(source: "02:00:00:00:0a:01", destination: "ff:ff:ff:ff:ff:ff", etherType: 0x0806)
        var table = DecodeTable()
        table.fit([long, short])
        let lines = [table.header, table.row(long), table.row(short)]
        // The ports column starts at the same character on every line; so does the inner column.
        let ports = 5 + 1 + 5 + 2 + table.outerWidth + 2
        let inner = ports + 13 + 2 + 8 + 2
        #expect(table.outerWidth > 37 && table.innerWidth > 31)
        for line in lines.map(Array.init) {
            #expect(line.count > inner && (line[ports] == "s" || line[ports] == "-") && line[ports - 1] == " ", "\(String(line))")
            #expect(line[inner] == "i" || line[inner] == "f" || line[inner] == "-", "\(String(line))")
        }
        #expect(DecodeTable().row(short) == DecodeTable.row(short))
    }
}
