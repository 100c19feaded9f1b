import Firewall
import Foundation
import Kubernetes

extension Report {
    /// The cluster a run simulated, as `report.json` names it and `report.html` draws it: nodes, the
    /// underlay's routers and switches, where each firewall and NetworkPolicy sits, and on which nodes each
    /// flow's pods ran. The links and their counters are ``Report/links``; the pods are ``Report/pods``.
    public struct Topology: Codable, Sendable {
        public struct Node: Codable, Sendable {
            public var name: String
            public var address: String
            public var podCIDR: String
        }
        /// A firewall device and where the scenario placed it.
        public struct Firewall: Codable, Sendable {
            public var name: String
            /// The kind as scenario files name it: `host`, `security-group`, `acl`, ...
            public var kind: String
            /// `node` (a host firewall), `interface` (a node's underlay interface) or `link` (a middlebox).
            public var placement: String
            /// The node, or the link's two ends.
            public var at: [String]
        }
        /// A NetworkPolicy and the pods it selects (`podSelector` in its namespace).
        public struct Policy: Codable, Sendable {
            public var name: String
            public var namespace: String
            /// False when the CNI enforces no NetworkPolicy (Flannel): the policy is there but nothing acts on it.
            public var enforced: Bool
            public var pods: [String]
        }
        /// The nodes a traffic entry's clients and servers ran on, in name order.
        public struct FlowEnds: Codable, Sendable {
            public var flow: String
            public var clientNodes: [String]
            public var serverNodes: [String]
        }
        public var nodes: [Node]
        public var routers: [String]
        public var switches: [String]
        public var firewalls: [Firewall]
        public var networkPolicies: [Policy]
        public var flowEnds: [FlowEnds]
        /// True when the scenario listed no links and every node pair got a direct one (a flat L3 network).
        public var fullMesh: Bool
        public var cni: String
    }
}

extension ReportBuilder {
    static func topology(of network: Network) -> Report.Topology {
        let scenario = network.scenario
        let cluster = network.cluster
        let nodes = cluster.nodes.map { Report.Topology.Node(name: $0.name, address: "\($0.address)", podCIDR: "\($0.podCIDR)") }
        let firewalls = scenario.firewalls.map { spec -> Report.Topology.Firewall in
            let kind = type(of: spec.configuration.inspector).kind.rawValue
            switch spec.placement {
            case .node(let name): return .init(name: spec.name, kind: kind, placement: "node", at: [name])
            case .interface(let name): return .init(name: spec.name, kind: kind, placement: "interface", at: [name])
            case let .link(a, b): return .init(name: spec.name, kind: kind, placement: "link", at: [a, b])
            }
        }
        let namespaceOf = { (pod: Pod) -> String in
            cluster.workloads.first { $0.name == pod.workload }?.namespace ?? "default"
        }
        let policies = scenario.networkPolicy.policies.map { policy -> Report.Topology.Policy in
            let namespace = policy.metadata.namespace ?? "default"
            let selected = cluster.pods.filter { !$0.deleted && namespaceOf($0) == namespace && policy.podSelector.matches($0.labels) }
            return .init(name: policy.metadata.name, namespace: namespace, enforced: scenario.cni.enforcesNetworkPolicy,
                         pods: selected.map(\.name).sorted())
        }
        let podsOf = { (endpoint: Endpoint) -> [PodID] in
            switch endpoint {
            case .pod(let name): return cluster.pod(named: name).map { [$0] } ?? []
            case .selector(let selector): return cluster.pods(matching: selector, at: .max)
            case .service(let name):
                guard let service = scenario.services.first(where: { $0.name == name }) else { return [] }
                return cluster.pods(matching: service.selector, at: .max)
            }
        }
        let nodeNames = { (pods: [PodID]) -> [String] in
            Set(pods.map { cluster.nodes[cluster.pods[$0.index].node.index].name }).sorted()
        }
        let ends = scenario.traffic.map {
            Report.Topology.FlowEnds(flow: $0.name, clientNodes: nodeNames(podsOf($0.from)), serverNodes: nodeNames(podsOf($0.to)))
        }
        return Report.Topology(nodes: nodes, routers: scenario.routers, switches: scenario.switches, firewalls: firewalls,
                               networkPolicies: policies, flowEnds: ends, fullMesh: scenario.links.isEmpty,
                               cni: scenario.cni.rawValue)
    }
}
