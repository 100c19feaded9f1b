import Capture
import Foundation
import PacketWire
import TestFixtures
import Testing
import VXLAN
@testable import overlay_sim

/// The decoder and `encap` checked against Wireshark's dissectors. Skipped, with the reason printed,
/// when tshark is not installed (CI installs it: `make test-deps`).
@Suite("Agreement with tshark", .enabled(if: Tshark.isAvailable, "tshark is not installed"))
struct TsharkTests {
    static let comparedFields = [
        "frame.number", "eth.src", "eth.dst",
        "ip.src", "ip.dst", "ip.proto", "ip.checksum.status", "ip.flags.mf", "ip.frag_offset",
        "ipv6.src", "ipv6.dst", "ipv6.nxt",
        "udp.srcport", "udp.dstport", "udp.checksum.status",
        "vxlan.flags", "vxlan.vni", "vxlan.gbp",
    ]

    @Test("decoding every kernel vector agrees with tshark on every frame", arguments: Fixtures.kernelScenarios)
    func kernelVectors(scenario: String) throws {
        let path = fixture("kernel/\(scenario).pcap")
        var decoder = FrameDecoder()
        let ours = try PcapReader(path: path).readAll().map { decoder.decode($0) }
        let theirs = try Tshark.fields(path, Self.comparedFields)
        try #require(ours.count == theirs.count)
        #expect(ours.contains { $0.vxlan != nil })
        for (frame, row) in zip(ours, theirs) {
            #expect(frame.error == nil, "frame \(frame.frame): \(frame.error?.message ?? "")")
            compare(frame, row, strict: true)
        }
    }

    /// Odd frames: what we decode agrees; where we stop (an error) or tshark goes further (inside ICMP
    /// errors, past a truncated capture) is not compared.
    @Test("decoding the odd frames agrees with tshark on what both decode", arguments: ["odd/odd.pcap", "odd/odd.pcapng"])
    func oddFrames(file: String) throws {
        let path = fixture(file)
        var decoder = FrameDecoder()
        let ours = try PcapReader(path: path).readAll().map { decoder.decode($0) }
        let theirs = try Tshark.fields(path, Self.comparedFields)
        try #require(ours.count == theirs.count)
        for (frame, row) in zip(ours, theirs) {
            compare(frame, row, strict: false)
        }
    }

    /// Compares one decoded frame with tshark's fields. `strict` also requires tshark to find nothing
    /// where we found nothing.
    func compare(_ frame: DecodedFrame, _ row: Tshark.Row, strict: Bool,
                 sourceLocation: SourceLocation = #_sourceLocation) {
        let label = Comment(rawValue: "frame \(frame.frame)")
        func first(_ field: String, _ index: Int = 0) -> String? {
            guard let values = row[field], index < values.count else { return nil }
            return values[index]
        }
        #expect(first("frame.number") == "\(frame.frame)", label, sourceLocation: sourceLocation)
        #expect(first("eth.src") == frame.outer.ethernet?.source, label, sourceLocation: sourceLocation)
        #expect(first("eth.dst") == frame.outer.ethernet?.destination, label, sourceLocation: sourceLocation)

        if let ip = frame.outer.ip {
            let family = ip.version == 4 ? "ip" : "ipv6"
            #expect(first("\(family).src") == ip.source, label, sourceLocation: sourceLocation)
            #expect(first("\(family).dst") == ip.destination, label, sourceLocation: sourceLocation)
            if ip.version == 4 {
                #expect(checksumStatus(first("ip.checksum.status")) == ip.checksumValid, label, sourceLocation: sourceLocation)
                if let fragment = frame.fragment {
                    #expect(first("ip.flags.mf") == (fragment.moreFragments ? "1" : "0"), label, sourceLocation: sourceLocation)
                    #expect(first("ip.frag_offset").flatMap { Int($0) }.map { $0 * 8 } == fragment.offset, label,
                            sourceLocation: sourceLocation)
                } else {
                    #expect(first("ip.flags.mf") == "0", label, sourceLocation: sourceLocation)
                }
            }
        } else if strict {
            #expect(row["ip.src"] == [] && row["ipv6.src"] == [], label, sourceLocation: sourceLocation)
        }

        if let udp = frame.outer.udp {
            #expect(first("udp.srcport") == "\(udp.sourcePort)", label, sourceLocation: sourceLocation)
            #expect(first("udp.dstport") == "\(udp.destinationPort)", label, sourceLocation: sourceLocation)
            #expect(checksumStatus(first("udp.checksum.status")) == udp.checksumValid, label, sourceLocation: sourceLocation)
        } else if strict {
            #expect(row["udp.srcport"] == [], label, sourceLocation: sourceLocation)
        }

        if let vxlan = frame.vxlan {
            #expect(first("vxlan.vni") == "\(vxlan.vni)", label, sourceLocation: sourceLocation)
            // tshark reads bytes 2-3 as the policy ID whether or not G is set; they are zero without it.
            #expect(first("vxlan.gbp") == "\(vxlan.groupPolicyID ?? 0)", label, sourceLocation: sourceLocation)
            #expect(first("vxlan.flags").flatMap { Int($0.dropFirst(2), radix: 16) }.map { $0 >> 8 } == vxlan.flags,
                    label, sourceLocation: sourceLocation)
        } else if strict {
            #expect(row["vxlan.vni"] == [], label, sourceLocation: sourceLocation)
        }

        if let inner = frame.inner {
            #expect(first("eth.src", 1) == inner.ethernet?.source, label, sourceLocation: sourceLocation)
            #expect(first("eth.dst", 1) == inner.ethernet?.destination, label, sourceLocation: sourceLocation)
            if let ip = inner.ip {
                // tshark numbers occurrences per protocol: the inner header is the second IPv4 header only
                // when the outer one is IPv4 too.
                let index = frame.outer.ip?.version == ip.version ? 1 : 0
                let family = ip.version == 4 ? "ip" : "ipv6"
                #expect(first("\(family).src", index) == ip.source, label, sourceLocation: sourceLocation)
                #expect(first("\(family).dst", index) == ip.destination, label, sourceLocation: sourceLocation)
                #expect(first(ip.version == 4 ? "ip.proto" : "ipv6.nxt", index) == "\(ip.protocol)", label,
                        sourceLocation: sourceLocation)
            }
        } else if strict {
            #expect((row["eth.src"] ?? []).count <= 1, label, sourceLocation: sourceLocation)
        }
    }

    /// tshark's checksum status: 0 bad, 1 good, 2 unverified, 3 not present (zero over IPv4), 4 illegal
    /// (zero over IPv6).
    func checksumStatus(_ status: String?) -> Bool? {
        switch status {
        case "1": true
        case "0", "4": false
        default: nil
        }
    }

    // MARK: encap's output

    /// Device settings encap is checked with, as `ip link` words beyond id/local/remote/dstport.
    static let variants: [(name: String, ipv6: Bool, words: [String], groupPolicyID: UInt16)] = [
        ("defaults", false, [], 0),
        ("ipv6 underlay", true, [], 0),
        ("gbp, df inherit, ttl inherit, tos inherit", false, ["gbp", "df", "inherit", "ttl", "inherit", "tos", "inherit"], 2748),
        ("ipv6, gbp, tos 0x28, ttl 17", true, ["gbp", "tos", "28", "ttl", "17"], 7),
        ("noudpcsum, RFC 7348 source ports", false, ["noudpcsum", "srcport", "49152", "65535"], 0),
    ]

    @Test("a capture written by encap has every IPv4 and UDP checksum good and nothing malformed",
          arguments: Fixtures.kernelScenarios, 0..<variants.count)
    func encapOutput(scenario: String, variant: Int) throws {
        let (_, ipv6, words, groupPolicyID) = Self.variants[variant]
        let folder = try TemporaryFolder()
        let inner = folder.file("inner.pcap")
        let outer = folder.file("outer.pcap")
        try writeFrames(try kernelInnerFrames(scenario), to: inner)
        let device = try KernelDevice(scenario)
        var linkWords = ["id", "\(device.vni)", "dstport", "\(device.destinationPort)"]
        linkWords += ipv6 ? ["local", "2001:db8:77::1", "remote", "2001:db8:77::2"] : ["local", "192.0.2.1", "remote", "192.0.2.2"]
        var configuration = try TunnelConfiguration(ipLinkArguments: linkWords + words)
        configuration.underlaySourceMAC = MACAddress(0x02, 0, 0, 0, 0x0a, 0x01)
        configuration.underlayNextHopMAC = MACAddress(0x02, 0, 0, 0, 0x0b, 0x01)

        let recorder = RecordingConsole()
        #expect(Encap.encapsulate(input: inner, output: outer, configuration: configuration,
                                  groupPolicyID: groupPolicyID, console: recorder.console) == 0)
        #expect(recorder.errors.count == 1, "\(recorder.errors)")

        // Every kernel capture holds one inner UDP datagram to port 5353 that tshark's mDNS dissector calls
        // malformed in the kernel capture itself (`tshark -r kernel/X.pcap -Y _ws.malformed`); the mDNS
        // dissector is off here so that anything malformed is ours.
        let options = Tshark.standardOptions + ["--disable-protocol", "mdns"]
        let rows = try Tshark.fields(outer, ["frame.number", "ip.checksum.status", "udp.checksum.status", "vxlan.vni",
                                             "vxlan.gbp", "ipv6.src", "_ws.malformed", "_ws.expert.severity"],
                                     options: options)
        try #require(rows.count == (try readFrames(inner)).count)
        let zeroUDPChecksum = words.contains("noudpcsum") && !ipv6
        let errorSeverity = 0x0080_0000
        for row in rows {
            let label = Comment(rawValue: "frame \(row["frame.number"] ?? [])")
            #expect(row["vxlan.vni"] == ["\(device.vni)"], label)
            #expect(row["vxlan.gbp"] == ["\(groupPolicyID)"], label)
            #expect((row["ip.checksum.status"] ?? []).allSatisfy { $0 == "1" }, label)
            var udp = row["udp.checksum.status"] ?? []
            #expect(!udp.isEmpty, label)
            if zeroUDPChecksum, !udp.isEmpty {
                #expect(udp.removeFirst() == "3", label) // "not present": a zero checksum over IPv4
            }
            #expect(udp.allSatisfy { $0 == "1" }, label)
            #expect(row["ipv6.src"]?.first == (ipv6 ? "2001:db8:77::1" : nil), label)
            #expect(row["_ws.malformed"] == [], label)
            #expect((row["_ws.expert.severity"] ?? []).allSatisfy { (Int($0) ?? errorSeverity) < errorSeverity },
                    "\(label): \(row["_ws.expert.severity"] ?? [])")
        }
    }
}
