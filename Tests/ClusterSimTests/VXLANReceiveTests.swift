@testable import ClusterSim
import Foundation
import PacketWire
import Testing
import VXLAN

/// The simulated node's VTEP refuses what `vxlan_rcv` refuses (drivers/net/vxlan/vxlan_core.c: after the
/// VNI lookup it compares the header with the device's `reserved_bits`; a plain device uses only I, `gbp`
/// adds G and bytes 1-3; the frame is dropped and `rx_frame_errors` counted): a frame with another flag or
/// a reserved field set is dropped at the node's VTEP with the code `vxlanRefused` and a sentence naming
/// the bits, and goes no further.
@Suite("The node's VTEP refuses what vxlan_rcv refuses")
struct VXLANReceiveTests {
    /// Records every drop.
    final class DropRecorder: PacketObserver {
        var drops: [(place: String, reason: DropReason)] = []
        func dropped(_ frame: UnsafeRawBufferPointer, tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds) {
            drops.append((place, reason))
        }
    }

    static let yaml = """
    name: vxlan-receive
    cluster:
      overlay: {vni: 1, dstport: 8472, mtu: 1450}
      nodes:
        - {name: node-a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        - {name: node-b, address: 10.0.1.1, podCIDR: 10.244.1.0/24}
    underlay:
      links:
        - {between: [node-a, node-b], latency: 100us}
    workloads:
      - {kind: Pod, name: client, node: node-a}
      - {kind: Pod, name: server, node: node-b}
    """

    /// Node-a's VTEP encapsulates an inner UDP frame to node-b's pod; `edit` then changes the 8 VXLAN bytes
    /// (the outer UDP checksum is cleared, which IPv4 allows, so only the VXLAN header is at fault); node-b's
    /// VTEP receives it.
    func receive(gbp: Bool = false, _ edit: (UnsafeMutableRawBufferPointer) -> Void) throws -> [(place: String, reason: DropReason)] {
        var scenario = try ScenarioParser.parse(yaml: Self.yaml, file: "vxlan-receive.yaml")
        scenario.overlay.groupBasedPolicy = gbp
        let simulation = try Simulation(scenario: scenario)
        let network = simulation.network
        let recorder = DropRecorder()
        network.observers.others = [recorder]
        let a = network.nodes[0], b = network.nodes[1]
        let buffer = network.pool.take()
        PodPackets.udp(buffer, PodPackets.Addressing(sourceMAC: a.overlay.vtepMAC, destinationMAC: b.overlay.innerMAC,
                                                     source: IPv4Address(10, 244, 0, 2), destination: IPv4Address(10, 244, 1, 2),
                                                     dontFragment: true, identification: 1),
                       sourcePort: 40000, destinationPort: 9000, payload: 64, seed: 1)
        try a.overlay.mode.encapsulate(buffer, to: TunnelDestination(address: b.underlayAddress, nextHopMAC: b.underlayMAC),
                                       groupPolicyID: 0, flowHash: 0, tunnelKey: nil)
        let bytes = buffer.mutableBytes
        let udp = 14 + 20
        bytes[udp + 6] = 0
        bytes[udp + 7] = 0
        edit(UnsafeMutableRawBufferPointer(rebasing: bytes[(udp + 8)..<(udp + 16)]))
        b.overlay.receive(buffer, .none, at: b)
        return recorder.drops
    }

    @Test("a plain device: only I; any other flag, or a reserved byte, is dropped with vxlanRefused", arguments: [
        (0, UInt8(0x0C)), (0, 0x88), (0, 0x48), (1, 0x01), (3, 0x80), (7, 0x01),
    ] as [(Int, UInt8)])
    func plainDeviceDrops(byte: Int, value: UInt8) throws {
        let drops = try receive { header in header[byte] |= value }
        #expect(drops.count == 1)
        let drop = try #require(drops.first)
        #expect(drop.place == "node-b vtep" && drop.reason.code == .vxlanRefused)
        #expect(drop.reason.sentence.contains("reserved") || drop.reason.sentence.contains("flag"), "\(drop.reason.sentence)")
    }

    @Test("without the I flag the frame is dropped")
    func missingIFlag() throws {
        let drops = try receive { header in header[0] = 0 }
        #expect(drops.count == 1 && drops.first?.reason.code == .vxlanRefused && drops.first?.place == "node-b vtep")
    }

    @Test("the header the node sends itself passes; with gbp, G and bytes 1-3 pass, byte 7 does not")
    func validHeadersPass() throws {
        #expect(try receive { _ in }.isEmpty)
        #expect(try receive(gbp: true) { header in header[0] = 0x88; header[1] = 0x48; header[2] = 0x12 }.isEmpty)
        let drops = try receive(gbp: true) { header in header[0] = 0x88; header[7] = 1 }
        #expect(drops.count == 1 && drops.first?.reason.code == .vxlanRefused)
    }
}
