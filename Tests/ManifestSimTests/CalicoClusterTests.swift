import ClusterSim
import Foundation
import Kubernetes
import PacketWire
import Testing

/// Issue 11's "done when": Scenarios/k8s-calico-shop, a folder of `kubectl get -o yaml` output for a 3-node
/// Calico cluster (namespaces shop and kube-system, a Deployment, a StatefulSet, a Service, CoreDNS's
/// Deployment and Service, three NetworkPolicies), simulated with every drop explained.
@Suite("The Calico cluster from kubectl get -o yaml")
struct CalicoClusterTests {
    static let folder = RepositoryPaths.path("Scenarios/k8s-calico-shop")

    @Test("the objects become the cluster: Calico's port, VNI and VTEP MACs, the pods' own addresses")
    func conversion() throws {
        let converted = try ManifestConverter.read(paths: [Self.folder])
        let scenario = converted.scenario
        #expect(scenario.cni == .calicoVXLAN)
        #expect(scenario.overlay.destinationPort == 4789)
        #expect(scenario.overlay.vni == 4096)
        #expect(scenario.nodes.map(\.name) == ["cp-1", "worker-1", "worker-2"])
        #expect(scenario.nodes.map { $0.vtepMAC?.description } == ["66:2a:4c:11:8e:01", "66:2a:4c:11:8e:02", "66:2a:4c:11:8e:03"])
        #expect(scenario.nodes.map(\.address.description) == ["10.10.0.11", "10.10.0.12", "10.10.0.13"])
        let db0 = try #require(scenario.workloads.first { $0.name == "shop/db-0" })
        #expect(db0.address?.description == "10.244.201.194")
        #expect(db0.nodes == ["worker-2"])
        // Pods given as objects stand for their workloads: no template pods beside them.
        #expect(try Probe.pods(of: scenario).count == 6)
        #expect(scenario.services.map(\.name).sorted() == ["kube-system/kube-dns", "shop/web"])
        // targetPort `http` resolves to the pods' container port.
        #expect(scenario.services.first { $0.name == "shop/web" }?.ports.first?.targetPort == 8080)
        #expect(scenario.networkPolicy.policies.map(\.qualifiedName) == ["shop/default-deny", "shop/web", "shop/db"])
        #expect(converted.notes.contains { $0.contains("shop/db is headless") })
    }

    @Test("every drop is a policy drop that names the policies and why none of their rules allows it")
    func run() throws {
        let converted = try ManifestConverter.read(paths: [Self.folder])
        let report = try Simulation(scenario: converted.scenario).run(captureDirectory: nil)
        let flows = Dictionary(uniqueKeysWithValues: report.flows.map { ($0.name, $0) })
        let allowed = try #require(flows["web-to-db"])
        #expect(allowed.connectionsCompleted == 1)
        #expect(allowed.drops.isEmpty)
        let dns = try #require(flows["web-dns"])
        #expect(dns.packetsDelivered == 0 && dns.packetsSent == 6)
        #expect(dns.drops.allSatisfy { $0.code == .policyDenied && $0.place.contains("(egress)") })
        #expect(dns.drops.contains { $0.reason.contains("is selected by shop/web (Egress); none of its egress rules allows kube-system/coredns-") })
        let dbToWeb = try #require(flows["db-to-web"])
        #expect(dbToWeb.connectionsCompleted == 0)
        #expect(dbToWeb.drops.allSatisfy { $0.code == .policyDenied && $0.reason.hasSuffix("shop/db-1 is selected by shop/default-deny (Egress), which allows no egress") })
        let dnsToDB = try #require(flows["dns-to-db"])
        #expect(dnsToDB.drops.allSatisfy { $0.code == .policyDenied && $0.place == "worker-1 felix policy on shop/db-1's cali interface (ingress)" })
        #expect(dnsToDB.drops.contains { $0.reason.contains("rule 1 allows from pods app=web in shop, not kube-system/coredns-7c65d6cfc9-4hn8p") })
        for flow in report.flows {
            for drop in flow.drops { #expect(drop.code == .policyDenied && !drop.reason.isEmpty, "\(flow.name): \(drop.reason)") }
        }
    }

    @Test("captures hold the cluster's own VTEP MACs, and drops.pcap the policy drops")
    func captures() throws {
        let converted = try ManifestConverter.read(paths: [Self.folder])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-calico-shop-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let report = try Simulation(scenario: converted.scenario).run(captureDirectory: directory)
        let drops = try Data(contentsOf: URL(fileURLWithPath: directory + "/drops.pcap"))
        let dropped = report.flows.flatMap(\.drops).map(\.count).reduce(0, +)
        // A pcap header of 24 bytes and, per frame, a 16-byte record header and the frame.
        #expect(drops.count > 24 + dropped * (16 + 42))
        let vtep = try Data(contentsOf: URL(fileURLWithPath: directory + "/worker-1-vtep.pcap"))
        let mac: [UInt8] = [0x66, 0x2a, 0x4c, 0x11, 0x8e, 0x02]
        #expect(vtep.firstRange(of: Data(mac)) != nil, "worker-1's vxlan.calico MAC from its annotation")
        // Pod capture files are named after namespace and pod.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files.contains("pod-shop_db-0.pcap"))
    }
}
