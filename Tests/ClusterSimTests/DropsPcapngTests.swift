import Capture
import ClusterSim
import Foundation
import Testing

/// drops.pcapng (issue 15, item 3): the frames of drops.pcap, each with its drop's code, place and sentence
/// as a pcapng comment, and each place an interface, read back by libpcap and by tshark.
@Suite("drops.pcapng carries each drop's reason")
struct DropsPcapngTests {
    /// Scenarios whose drops happen at several places, for several reasons, some outside any flow.
    static let scenarios = ["default", "fw-sg-port-mismatch", "fw-pmtu-black-hole", "fw-outer-fragments", "linux-closed-port"]

    @Test("libpcap reads back drops.pcap's frames from drops.pcapng, byte for byte, with their times", arguments: scenarios)
    func libpcapReadsTheSameFrames(name: String) throws {
        let (_, folder) = try runWithCaptures(try loadScenario(name), label: "pcapng-\(name)")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plain = try frames(in: "\(folder)/drops.pcap")
        let reader = try PcapReader(path: "\(folder)/drops.pcapng")
        #expect(reader.linkType == .ethernet)
        let annotated = try reader.readAll()
        #expect(!plain.isEmpty, "\(name) drops frames")
        #expect(annotated == plain)
    }

    @Test("tshark shows every drop's comment on its place's interface, nothing malformed, and filters on the code",
          .enabled(if: tsharkInstalled, "tshark is not installed: skipping the drops.pcapng comparison with Wireshark"),
          arguments: scenarios)
    func tsharkShowsEveryComment(name: String) throws {
        let scenario = try loadScenario(name)
        let (report, folder) = try runWithCaptures(scenario, label: "pcapng-tshark-\(name)")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/drops.pcapng"
        let output = try #require(tshark(["-r", path, "-T", "fields", "-E", "separator=/t", "-e", "frame.number",
                                          "-e", "frame.interface_name", "-e", "frame.comment"]))
        let rows = output.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == (try frames(in: "\(folder)/drops.pcap")).count)
        let codes = Set(DropCode.allCases.map(\.rawValue))
        // (place, code, flow, sentence) → frames, from the comments; every frame has one, on its place.
        var fromComments: [String: Int] = [:]
        for row in rows {
            try #require(row.count == 3, "\(row)")
            let (place, comment) = (row[1], row[2])
            let code = String(comment.prefix { $0 != " " })
            #expect(codes.contains(code), "frame \(row[0]): \(comment)")
            #expect(comment.hasPrefix("\(code) at \(place)"), "frame \(row[0]) on interface \(place): \(comment)")
            let rest = comment.dropFirst("\(code) at \(place)".count)
            guard rest.hasPrefix(" (flow ") else { continue }
            let flow = rest.dropFirst(" (flow ".count).prefix { $0 != ")" }
            let sentence = rest.dropFirst(" (flow ".count + flow.count + "): ".count)
            fromComments["\(place)|\(code)|\(flow)|\(sentence)", default: 0] += 1
        }
        // What the report counts for each flow is what the comments say, drop for drop (a sender that
        // found no destination built no frame, so it has no record).
        var fromReport: [String: Int] = [:]
        for flow in report.flows {
            for drop in flow.drops where drop.code != .destinationUnavailable {
                fromReport["\(drop.place)|\(drop.code.rawValue)|\(flow.name)|\(drop.reason)", default: 0] += drop.count
            }
        }
        #expect(fromComments == fromReport)
        let denied = rows.filter { $0.count == 3 && $0[2].hasPrefix("firewallDenied ") }.map { $0[0] }
        let filtered = try #require(tshark(["-r", path, "-Y", "frame.comment contains \"firewallDenied\"", "-T", "fields", "-e", "frame.number"]))
        #expect(filtered.split(separator: "\n").map(String.init) == denied)
        let malformed = try #require(tshark(["-r", path, "-d", "udp.port==\(scenario.overlay.destinationPort),vxlan",
                                             "-Y", "_ws.malformed || _ws.expert.severity >= 8388608 && !icmp && !tcp"]))
        #expect(malformed.isEmpty, "\(malformed.prefix(500))")
        // One interface per place, each named.
        let interfaces = try #require(tshark(["-r", path, "-T", "fields", "-e", "frame.interface_name"]))
        #expect(Set(interfaces.split(separator: "\n")).count == Set(rows.map { $0[1] }).count)
    }

    @Test("the same scenario and seed write the same drops.pcapng, byte for byte")
    func deterministic() throws {
        let scenario = try loadScenario("default")
        let (_, first) = try runWithCaptures(scenario, label: "pcapng-once")
        let (_, second) = try runWithCaptures(scenario, label: "pcapng-twice")
        defer { for folder in [first, second] { try? FileManager.default.removeItem(atPath: folder) } }
        let a = try Data(contentsOf: URL(fileURLWithPath: "\(first)/drops.pcapng"))
        let b = try Data(contentsOf: URL(fileURLWithPath: "\(second)/drops.pcapng"))
        #expect(a.count > 1000 && a == b)
    }

    @Test("a run without drops writes a drops.pcapng that libpcap opens (one unused interface, no frames)")
    func noDrops() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("flannel-two-nodes"), label: "pcapng-none")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(report.flows.allSatisfy { $0.drops.isEmpty })
        #expect(report.captures.contains("drops.pcapng"))
        #expect(try PcapReader(path: "\(folder)/drops.pcapng").readAll().isEmpty)
        if tsharkInstalled {
            let output = try #require(tshark(["-r", "\(folder)/drops.pcapng"]))
            #expect(output.isEmpty)
        }
    }

    @Test("without drops.pcap there is no drops.pcapng")
    func followsDropsSetting() throws {
        var scenario = try loadScenario("fw-sg-port-mismatch")
        scenario.captures.drops = false
        let (report, folder) = try runWithCaptures(scenario, label: "pcapng-off")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(!files.contains("drops.pcapng") && !files.contains("drops.pcap"))
        #expect(!report.captures.contains("drops.pcapng"))
    }
}
