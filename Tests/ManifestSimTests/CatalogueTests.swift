import ClusterSim
import Foundation
import Kubernetes
import Testing

/// The catalogue's manifest scenarios (Scenarios/catalogue/*): each simulated, each drop where and why the
/// entry says.
@Suite("Catalogue: manifest scenarios")
struct CatalogueTests {
    static func run(_ name: String) throws -> (ManifestScenario, [String: Report.Flow]) {
        let converted = try ManifestConverter.read(paths: [RepositoryPaths.path("Scenarios/catalogue/\(name)")])
        let report = try Simulation(scenario: converted.scenario).run(captureDirectory: nil)
        return (converted, Dictionary(uniqueKeysWithValues: report.flows.map { ($0.name, $0) }))
    }

    @Test("a default-deny namespace that forgot DNS egress: the lookup dies at the pod's egress, the app's own rule works")
    func dnsEgressForgotten() throws {
        let (_, flows) = try Self.run("dns-egress-forgotten")
        let lookup = try #require(flows["lookup"])
        #expect(lookup.packetsDelivered == 0)
        #expect(lookup.drops.count == 1)
        #expect(lookup.drops.first?.code == .policyDenied)
        #expect(lookup.drops.first?.place.hasSuffix("cali interface (egress)") == true)
        #expect(lookup.drops.first?.reason.contains("none of its egress rules allows kube-system/coredns-") == true)
        #expect(lookup.drops.first?.reason.contains("on UDP 53: rule 1 allows to pods app=ledger in billing on TCP 8443") == true)
        #expect(flows["to-ledger"]?.connectionsCompleted == 1)
    }

    @Test("a policy that allows the Service's port: ingress is judged after DNAT, at targetPort 8080")
    func servicePortInsteadOfTargetPort() throws {
        let (_, flows) = try Self.run("policy-allows-service-port")
        let flow = try #require(flows["client-to-api"])
        #expect(flow.connectionsCompleted == 0)
        #expect(flow.drops.map(\.code) == [.policyDenied])
        #expect(flow.drops.first?.reason == "web/client → web/api TCP 8080: web/api is selected by web/api-from-clients (Ingress); none of its ingress rules allows web/client on TCP 8080: rule 1 allows web/client only on TCP 80")
    }

    @Test("a policy on a Flannel cluster: a warning, and the connection it would deny completes")
    func flannelIgnoresPolicy() throws {
        let (converted, flows) = try Self.run("flannel-ignores-policy")
        #expect(converted.scenario.cni == .flannel)
        #expect(converted.scenario.warnings.contains { $0.message.contains("Flannel does not implement NetworkPolicy") })
        let flow = try #require(flows["frontend-to-payments"])
        #expect(flow.connectionsCompleted == 1)
        #expect(flow.drops.isEmpty)
    }

    @Test("Calico's VXLAN allowlist: node-3's packets come from an address not in all-vxlan-net")
    func calicoAllowlist() throws {
        let (converted, flows) = try Self.run("calico-vxlan-allowlist")
        #expect(converted.scenario.cniSettings.vxlanAllowlist?.map(\.description) == ["10.0.0.11", "10.0.0.12", "10.0.1.13"])
        let udp = try #require(flows["c-to-a"])
        #expect(udp.packetsDelivered == 0)
        #expect(udp.drops.map(\.place) == ["node-1 cali-INPUT"])
        #expect(udp.drops.first?.code == .cniDenied)
        // The SYNs to node-3 arrive; node-3's SYN-ACKs are what node-1 drops.
        let tcp = try #require(flows["a-to-c"])
        #expect(tcp.packetsDelivered == tcp.packetsSent)
        #expect(tcp.connectionsCompleted == 0)
        #expect(tcp.drops.allSatisfy { $0.code == .cniDenied && $0.reason.contains("10.0.0.13 is not one of them") })
    }

    @Test("Calico CrossSubnet meets the cloud's source/destination check on the same subnet only")
    func crossSubnetSourceCheck() throws {
        let (converted, flows) = try Self.run("calico-crosssubnet-source-check")
        #expect(converted.scenario.cniSettings.crossSubnet)
        let same = try #require(flows["a-to-b-same-subnet"])
        #expect(same.connectionsCompleted == 0)
        #expect(same.drops.map(\.place) == ["node-1 cloud interface source/destination check"])
        #expect(same.drops.first?.reason.contains("10.244.10.10 is not the instance's own address 10.0.1.11") == true)
        let other = try #require(flows["a-to-c-other-subnet"])
        #expect(other.connectionsCompleted == 1)
    }

    @Test("CrossSubnet without the check: same-subnet pod packets cross unencapsulated and arrive")
    func crossSubnetWithoutCheck() throws {
        var converted = try ManifestConverter.read(paths: [RepositoryPaths.path("Scenarios/catalogue/calico-crosssubnet-source-check")])
        converted.scenario.cniSettings.cloudSourceDestinationCheck = false
        let report = try Simulation(scenario: converted.scenario).run(captureDirectory: nil)
        let same = try #require(report.flows.first { $0.name == "a-to-b-same-subnet" })
        #expect(same.connectionsCompleted == 1)
        // No VXLAN on node-1 ↔ node-2: the bytes on that path are the pods' frames alone.
        let link = try #require(report.links.first { $0.from == "node-1" && $0.to == "subnet-1" })
        #expect(link.packets > 0)
    }
}
