import Capture
@testable import ClusterSim
import Foundation
import PacketWire
import Testing

/// Cilium's security identity in the VNI (`cni: cilium-vxlan`): pods alike in namespace and
/// identity-relevant labels share a number from 256 up, each VXLAN packet carries its sender's, and the
/// receiving node's ingress policy judges the packet by it rather than by the inner source address.
@Suite("Cilium: the security identity in the VNI")
struct CiliumIdentityTests {
    /// Three nodes; two frontend pods (one label set, different pod-template-hash), payments, batch; a
    /// policy letting only app=frontend reach payments on 9000.
    static let manifests = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cilium-config, namespace: kube-system}
        data: {routing-mode: tunnel, tunnel-protocol: vxlan}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop, labels: {team: shop}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: frontend-1, namespace: shop, labels: {app: frontend, pod-template-hash: 5d8f9}}
        spec: {nodeName: node-1, containers: [{name: web, image: nginx}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: frontend-2, namespace: shop, labels: {app: frontend, pod-template-hash: 77c4b}}
        spec: {nodeName: node-3, containers: [{name: web, image: nginx}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: payments, namespace: shop, labels: {app: payments}}
        spec: {nodeName: node-2, containers: [{name: pay, image: pay, ports: [{containerPort: 9000}]}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: batch, namespace: shop, labels: {app: batch}}
        spec: {nodeName: node-3, containers: [{name: b, image: b}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: payments-from-frontend, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: payments}}
          policyTypes: [Ingress]
          ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}], ports: [{port: 9000}]}]
        ---
        apiVersion: overlay-sim/v1
        kind: Scenario
        name: cilium-identity
        traffic:
          - {name: f1-to-payments, from: shop/frontend-1, to: shop/payments, protocol: tcp, size: 2000, port: 9000, start: 1ms}
          - {name: f2-to-payments, from: shop/frontend-2, to: shop/payments, protocol: tcp, size: 2000, port: 9000, start: 1ms}
          - {name: batch-to-payments, from: shop/batch, to: shop/payments, protocol: tcp, size: 2000, port: 9000, start: 1ms}
        """

    static func scenario(in folder: String) throws -> Scenario {
        let file = folder + "/cluster.yaml"
        try manifests.write(toFile: file, atomically: true, encoding: .utf8)
        return try ManifestConverter.read(paths: [file]).scenario
    }

    static func temporaryFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "overlay-sim-cilium-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
        return folder
    }

    /// (VNI, inner source) of every VXLAN packet in an underlay capture, read with PacketWire's views.
    static func vxlanPackets(_ path: String, port: UInt16) throws -> [(vni: UInt32, innerSource: IPv4Address, inner: [UInt8])] {
        var found: [(UInt32, IPv4Address, [UInt8])] = []
        for frame in try PcapReader(path: path).readAll() {
            try frame.bytes.withUnsafeBytes { bytes in
                let ethernet = try EthernetFrame(checking: bytes)
                guard let ip = try? IPv4Packet(checking: ethernet.payload, frameOffset: 14), ip.protocol == .udp,
                      let udp = try? UDPDatagram(checking: ip.payload), udp.destinationPort == port else { return }
                let vxlan = try VXLANPacket(checking: udp.payload)
                let header = try VXLANHeader(vxlan)
                let inner = try EthernetFrame(checking: vxlan.payload)
                let innerIP = try IPv4Packet(checking: inner.payload)
                found.append((header.vni, innerIP.source, Array(vxlan.payload)))
            }
        }
        return found
    }

    @Test("each packet's VNI is its sender's identity: one for both frontends, others for payments and batch; the device is `external`")
    func identitiesOnTheWire() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let simulation = try Simulation(scenario: Self.scenario(in: folder))
        let report = try simulation.run(captureDirectory: folder + "/out")
        #expect(report.overlay.hasPrefix("vxlan external "), "\(report.overlay)")
        let identities = try #require(simulation.network.ciliumIdentities)
        let cluster = simulation.network.cluster
        func identity(_ name: String) throws -> UInt32 {
            let pod = try #require(cluster.pods.first { $0.name == name })
            return identities.byPod[pod.id.index]
        }
        let frontend = try identity("shop/frontend-1"), payments = try identity("shop/payments"), batch = try identity("shop/batch")
        #expect(try identity("shop/frontend-2") == frontend, "pod-template-hash is not identity-relevant")
        #expect(Set([frontend, payments, batch]).count == 3)
        #expect([frontend, payments, batch].allSatisfy { $0 >= CiliumIdentities.firstPodIdentity })
        #expect(identities.labels[frontend] == ["app=frontend", "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop",
                                                "io.cilium.k8s.namespace.labels.team=shop", "io.kubernetes.pod.namespace=shop"])
        var seen: [IPv4Address: Set<UInt32>] = [:]
        for node in ["node-1", "node-2", "node-3"] {
            for packet in try Self.vxlanPackets(folder + "/out/\(node)-underlay.pcap", port: 8472) {
                seen[packet.innerSource, default: []].insert(packet.vni)
            }
        }
        let address = { (name: String) in cluster.pods.first { $0.name == name }!.address }
        #expect(seen[address("shop/frontend-1")] == [frontend])
        #expect(seen[address("shop/frontend-2")] == [frontend])
        #expect(seen[address("shop/payments")] == [payments])
        #expect(seen[address("shop/batch")] == [batch])
        let flows = Dictionary(uniqueKeysWithValues: report.flows.map { ($0.name, $0) })
        #expect(flows["f1-to-payments"]?.connectionsCompleted == 1)
        #expect(flows["f2-to-payments"]?.connectionsCompleted == 1)
        #expect(flows["batch-to-payments"]?.drops.map(\.code) == [.policyDenied])
    }

    @Test("ingress is judged by the VNI's identity: batch's SYN with the frontend identity is admitted, with its own or a reserved one denied")
    func forgedIdentity() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let scenario = try Self.scenario(in: folder)
        _ = try Simulation(scenario: scenario).run(captureDirectory: folder + "/out")
        // batch's first SYN as node-3's VTEP sent it (the inner frame, as node-2 has it after decapsulation).
        let batchAddress = IPv4Address(rawValue: 0x0AF4_0103)  // 10.244.1.3, the second pod on node-3
        let syn = try #require(try Self.vxlanPackets(folder + "/out/node-3-underlay.pcap", port: 8472)
            .first { $0.innerSource == batchAddress }?.inner)

        let simulation = try Simulation(scenario: scenario)
        let network = simulation.network
        let identities = try #require(network.ciliumIdentities)
        let enforcer = try #require(network.policy)
        let node = try #require(network.nodes.first { $0.name == "node-2" })
        let cluster = network.cluster
        #expect(cluster.pod(at: batchAddress).map { cluster[$0].name } == "shop/batch")
        let frontend = identities.byPod[try #require(cluster.pods.first { $0.name == "shop/frontend-1" }).id.index]
        let batch = identities.byPod[try #require(cluster.pod(at: batchAddress)).index]
        func admitted(identity: UInt32) -> Bool {
            let buffer = network.pool.take()
            _ = syn.withUnsafeBytes { buffer.load($0) }
            var tag = PacketTag.none
            tag.tunnelIdentity = identity
            let filter = NetworkPolicyFilter(enforcer: enforcer, node: node)
            let passed = filter.filter(buffer, &tag, at: .forward, in: node)
            if passed { network.pool.release(buffer) }
            return passed
        }
        #expect(admitted(identity: frontend), "a forged VNI is a forged identity: Cilium admits it as a frontend")
        #expect(!admitted(identity: batch))
        #expect(!admitted(identity: CiliumIdentities.world))
        #expect(!admitted(identity: 0), "without a tunnel identity the inner address decides: batch")
    }
}
