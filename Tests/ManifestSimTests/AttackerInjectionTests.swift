import Capture
import ClusterSim
import Foundation
import PacketWire
import Testing

/// Issue 13, part 1: an attacker on the underlay that is not a node sends crafted VXLAN; the target node's
/// own code decides what becomes of it. Each test reads the report's attack lines and the captures' bytes.
@Suite("Attackers: crafted VXLAN from the underlay")
struct AttackerInjectionTests {
    static let payload = Array("DROP TABLE users;".utf8)

    static func load(_ relative: String) throws -> Scenario {
        let path = RepositoryPaths.path("Scenarios/security/\(relative)")
        if relative.hasSuffix(".yaml") {
            return try ScenarioParser.parse(yaml: String(contentsOfFile: path, encoding: .utf8), file: "Scenarios/security/\(relative)")
        }
        return try ManifestConverter.read(paths: [path]).scenario
    }

    static func run(_ relative: String) throws -> (report: Report, folder: String, attacks: [String: Report.Attack]) {
        let folder = NSTemporaryDirectory() + "overlay-sim-attack-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let report = try Simulation(scenario: load(relative)).run(captureDirectory: folder)
        let attacks = Dictionary(uniqueKeysWithValues: (report.attacks ?? []).map { ($0.name, $0) })
        return (report, folder, attacks)
    }

    /// (outer source, VNI, inner source, inner destination, inner UDP payload) of every VXLAN packet in a capture.
    static func vxlan(_ path: String, port: UInt16) throws -> [(outer: IPv4Address, vni: UInt32, source: IPv4Address, destination: IPv4Address, payload: [UInt8])] {
        var found: [(IPv4Address, UInt32, IPv4Address, IPv4Address, [UInt8])] = []
        for frame in try PcapReader(path: path).readAll() {
            try frame.bytes.withUnsafeBytes { bytes in
                let ethernet = try EthernetFrame(checking: bytes)
                guard let ip = try? IPv4Packet(checking: ethernet.payload, frameOffset: 14), ip.protocol == .udp,
                      let udp = try? UDPDatagram(checking: ip.payload), udp.destinationPort == port else { return }
                let vxlan = try VXLANPacket(checking: udp.payload)
                let header = try VXLANHeader(vxlan)
                let inner = try EthernetFrame(checking: vxlan.payload)
                let innerIP = try IPv4Packet(checking: inner.payload)
                let innerUDP = try UDPDatagram(checking: innerIP.payload)
                found.append((ip.source, header.vni, innerIP.source, innerIP.destination, Array(innerUDP.payload)))
            }
        }
        return found
    }

    /// (source, destination, UDP payload) of every UDP frame in a pod's capture.
    static func podUDP(_ path: String) throws -> [(source: IPv4Address, destination: IPv4Address, payload: [UInt8])] {
        var found: [(IPv4Address, IPv4Address, [UInt8])] = []
        for frame in try PcapReader(path: path).readAll() {
            try frame.bytes.withUnsafeBytes { bytes in
                let ethernet = try EthernetFrame(checking: bytes)
                guard let ip = try? IPv4Packet(checking: ethernet.payload, frameOffset: 14), ip.protocol == .udp else { return }
                let udp = try UDPDatagram(checking: ip.payload)
                found.append((ip.source, ip.destination, Array(udp.payload)))
            }
        }
        return found
    }

    @Test("Flannel: nothing filters the VXLAN port, so db's capture holds the injected datagram as if frontend sent it")
    func flannelAcceptsInjection() throws {
        let (report, folder, attacks) = try Self.run("flannel-vxlan-injection.yaml")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let attack = try #require(attacks["inject-db"])
        #expect(attack.attacker == "mallory")
        #expect(attack.packetsSent == 3)
        #expect(attack.packetsReachedPod == 3)
        #expect(attack.packetsDelivered == 3)
        #expect(attack.drops.isEmpty)
        let frontend = try #require(report.pods.first { $0.name == "frontend" }?.address)
        let db = try #require(report.pods.first { $0.name == "db" }?.address)
        // On node-2's underlay interface: mallory's own outer source, VNI 1, the forged inner packet.
        let outer = try Self.vxlan(folder + "/node-2-underlay.pcap", port: 8472)
        #expect(outer.count == 3)
        #expect(outer.allSatisfy { $0.outer.description == "10.0.0.66" && $0.vni == 1 && $0.payload == Self.payload })
        #expect(outer.allSatisfy { $0.source.description == frontend && $0.destination.description == db })
        let inPod = try Self.podUDP(folder + "/pod-db.pcap")
        #expect(inPod.count == 3)
        #expect(inPod.allSatisfy { $0.source.description == frontend && $0.payload == Self.payload })
    }

    @Test("Calico: cali-INPUT drops VXLAN from mallory's own address, and passes it with node-1's address spoofed")
    func calicoAllowlistAndSpoof() throws {
        let (_, folder, attacks) = try Self.run("calico-vxlan-injection.yaml")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let own = try #require(attacks["own-source"])
        #expect(own.packetsSent == 3)
        #expect(own.packetsReachedPod == 0)
        #expect(own.drops.map(\.code) == [.cniDenied])
        #expect(own.drops.first?.place == "node-2 cali-INPUT")
        #expect(own.drops.first?.count == 3)
        #expect(own.drops.first?.reason.contains("all-vxlan-net ipset (10.0.0.1, 10.0.0.2); 10.0.0.66 is not one of them") == true)
        let spoofed = try #require(attacks["spoofed-node-1"])
        #expect(spoofed.packet.hasPrefix("outer 10.0.0.1 (spoofed) → 10.0.0.2 VXLAN VNI 4096"))
        #expect(spoofed.packetsReachedPod == 3)
        #expect(spoofed.drops.isEmpty)
        let outer = try Self.vxlan(folder + "/node-2-underlay.pcap", port: 4789)
        #expect(outer.map(\.outer.description) == ["10.0.0.66", "10.0.0.66", "10.0.0.66", "10.0.0.1", "10.0.0.1", "10.0.0.1"])
        #expect(try Self.podUDP(folder + "/pod-db.pcap").filter { $0.payload == Self.payload }.count == 3)
    }

    @Test("Cilium: the VNI is the sender's identity; world (2) is denied by db's policy, a forged frontend identity is admitted")
    func ciliumForgedIdentity() throws {
        let (_, folder, attacks) = try Self.run("cilium-forged-identity")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let world = try #require(attacks["world-identity"])
        #expect(world.packetsReachedPod == 0)
        #expect(world.drops.map(\.code) == [.policyDenied])
        #expect(world.drops.first?.place == "node-2 cilium endpoint default/db (ingress)")
        #expect(world.drops.first?.reason.contains("default/db is selected by default/db-from-frontend") == true)
        let forged = try #require(attacks["forged-frontend-identity"])
        #expect(forged.packetsSent == 2)
        #expect(forged.packetsReachedPod == 2)
        #expect(forged.drops.isEmpty)
        let outer = try Self.vxlan(folder + "/node-2-underlay.pcap", port: 8472)
        #expect(outer.map(\.vni) == [2, 2, 256, 256])
    }

    @Test("an attacker's attach place and inner pod are checked, with the file, line and column")
    func badReferences() throws {
        let base = try String(contentsOfFile: RepositoryPaths.path("Scenarios/security/flannel-vxlan-injection.yaml"), encoding: .utf8)
        do {
            _ = try ScenarioParser.parse(yaml: base.replacingOccurrences(of: "attach: tor", with: "attach: node-1"), file: "x.yaml")
            Issue.record("attaching to a node was accepted")
        } catch {
            #expect(error.code == .unknownReference)
            #expect(error.message.contains("attach 'node-1' is not a router or switch"))
            #expect(error.location.line == 23)
        }
        let unknownPod = try ScenarioParser.parse(yaml: base.replacingOccurrences(of: "to: db", with: "to: nosuch"), file: "x.yaml")
        do {
            _ = try Simulation(scenario: unknownPod)
            Issue.record("an unknown inner destination was accepted")
        } catch {
            #expect(error.code == .unknownReference)
            #expect(error.message == "to 'nosuch' of inject-db is neither a pod of this scenario nor an IPv4 address")
            #expect(error.location.line == 25)
        }
    }
}
