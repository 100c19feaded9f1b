import PacketWire
import VXLAN

/// Checks what YAML types cannot: names that must exist, prefixes that must not overlap, selectors that
/// must select something, MTUs that must leave room for the tunnel.
enum ScenarioValidator {
    static func validate(_ scenario: inout Scenario) throws(ScenarioError) {
        var nodes: [String: NodeSpec] = [:]
        for node in scenario.nodes {
            guard nodes[node.name] == nil else { throw ScenarioError(node.location, "node '\(node.name)' is defined twice", code: .duplicateName) }
            for other in nodes.values where other.podCIDR.overlaps(node.podCIDR) {
                throw ScenarioError(node.location, "podCIDR \(node.podCIDR) of '\(node.name)' overlaps \(other.podCIDR) of '\(other.name)'", code: .conflict)
            }
            for other in nodes.values where other.address == node.address {
                throw ScenarioError(node.location, "address \(node.address) of '\(node.name)' is already used by '\(other.name)'", code: .duplicateName)
            }
            nodes[node.name] = node
        }
        guard let first = scenario.nodes.first else {
            throw ScenarioError(SourceLocation(file: scenario.file, line: 1, column: 1), "the cluster has no nodes", code: .missingField)
        }
        for node in scenario.nodes where node.address.isIPv6 != first.address.isIPv6 {
            throw ScenarioError(node.location, "node '\(node.name)' mixes address families: every underlay address must be IPv4, or every one IPv6", code: .conflict)
        }
        let overhead = TunnelEndpoint.overhead(ipv6: first.address.isIPv6)
        if let location = scenario.overlay.location, scenario.overlay.mtu < 68 {
            throw ScenarioError(location, "overlay mtu \(scenario.overlay.mtu) is below IPv4's minimum of 68", code: .outOfRange)
        }
        let places = Set(scenario.nodes.map(\.name)).union(scenario.routers).union(scenario.switches)
        for link in scenario.links {
            for end in [link.a, link.b] where !places.contains(end) {
                throw ScenarioError(link.location, "link end '\(end)' is not a node, router or switch", code: .unknownReference)
            }
            guard link.a != link.b else { throw ScenarioError(link.location, "a link cannot join '\(link.a)' to itself", code: .invalidValue) }
            if link.mtu - overhead < 68 {
                throw ScenarioError(link.location, "link mtu \(link.mtu) leaves \(link.mtu - overhead) bytes after the overlay's \(overhead) bytes of VXLAN headers; IPv4 needs at least 68", code: .conflict)
            }
        }
        var workloadNames = Set<String>()
        for workload in scenario.workloads {
            guard workloadNames.insert(workload.name).inserted else {
                throw ScenarioError(workload.location, "workload '\(workload.name)' is defined twice", code: .duplicateName)
            }
            for node in workload.nodes where nodes[node] == nil {
                throw ScenarioError(workload.location, "\(workload.kind.rawValue) '\(workload.name)' names node '\(node)', which does not exist", code: .unknownReference)
            }
        }
        let allLabels = scenario.workloads.map(\.labels)
        func selects(_ selector: LabelSelector) -> Bool { allLabels.contains { selector.matches($0) } }
        var serviceNames = Set<String>()
        var clusterIPs: [IPv4Address: String] = [:]
        for service in scenario.services {
            guard serviceNames.insert(service.name).inserted else { throw ScenarioError(service.location, "service '\(service.name)' is defined twice", code: .duplicateName) }
            // The API server allocates each clusterIP once (pkg/registry/core/service/ipallocator).
            if let other = clusterIPs[service.clusterIP] {
                throw ScenarioError(service.location, "clusterIP \(service.clusterIP) of service '\(service.name)' is already service '\(other)''s: the API server gives each Service its own", code: .conflict)
            }
            clusterIPs[service.clusterIP] = service.name
            guard selects(service.selector) else {
                throw ScenarioError(service.location, "the selector \(service.selector) of service '\(service.name)' matches no workload", code: .unknownReference)
            }
            for node in scenario.nodes where node.podCIDR.contains(service.clusterIP) {
                throw ScenarioError(service.location, "clusterIP \(service.clusterIP) lies in the podCIDR of '\(node.name)'", code: .conflict)
            }
        }
        let podNames = try uniquePodNamesAtStart(scenario)
        for flow in scenario.traffic {
            for end in [flow.from, flow.to] {
                switch end {
                case .pod(let name) where !podNames.contains(name):
                    throw ScenarioError(flow.location, "flow '\(flow.name)' names pod '\(name)', which no workload creates (pods are \(podNames.sorted().prefix(8).joined(separator: ", "))\(podNames.count > 8 ? ", ..." : ""))", code: .unknownReference)
                case .selector(let selector) where !selects(selector):
                    throw ScenarioError(flow.location, "the selector \(selector) of flow '\(flow.name)' matches no workload", code: .unknownReference)
                case .service(let name) where !serviceNames.contains(name):
                    throw ScenarioError(flow.location, "flow '\(flow.name)' names service '\(name)', which does not exist", code: .unknownReference)
                default: break
                }
            }
            if case .service = flow.from { throw ScenarioError(flow.location, "flow '\(flow.name)' cannot start from a service", code: .invalidValue) }
            // The last packet must be due within the run: count-1 intervals after the start.
            if flow.protocol != .tcp {
                let sending = Double(flow.count - 1) / flow.rate * 1e9
                if sending > Double(Units.maximumDuration) {
                    throw ScenarioError(flow.location, "flow '\(flow.name)' sends \(flow.count) packets at \(flow.rate)/s, which takes longer than 10 years; send fewer or faster", code: .outOfRange)
                }
            }
            if case .service = flow.to, flow.protocol == .icmp {
                throw ScenarioError(flow.location, "flow '\(flow.name)' pings a ClusterIP: kube-proxy translates only the service's TCP and UDP ports", code: .invalidValue)
            }
            if case .service(let name) = flow.to, let location = flow.portLocation,
               let service = scenario.services.first(where: { $0.name == name }),
               !service.ports.contains(where: { $0.port == flow.port && $0.protocol.rawValue.lowercased() == flow.protocol.rawValue }) {
                let ports = service.ports.map { "\($0.port)/\($0.protocol.rawValue)" }.joined(separator: ", ")
                throw ScenarioError(location, "flow '\(flow.name)' sends to port \(flow.port)/\(flow.protocol.rawValue.uppercased()) of service '\(name)', which has only \(ports): kube-proxy has no rule for it", code: .unknownReference)
            }
        }
        scenario.traffic = expandingEach(scenario)
        for event in scenario.events {
            switch event.action {
            case .deletePod(let name) where !podNames.contains(name):
                throw ScenarioError(event.location, "event deletes pod '\(name)', which no workload creates", code: .unknownReference)
            case .deleteDeploymentPod(let name) where !scenario.workloads.contains(where: { $0.kind == .deployment && $0.name == name }):
                throw ScenarioError(event.location, "event deletes a pod of Deployment '\(name)', which does not exist", code: .unknownReference)
            default: break
            }
        }
    }

    /// `to: {selector: ..., choose: each}` becomes one flow per pod the selector matches at start, in
    /// order of pod name, each named `FLOW/POD` and sent to that pod alone; the other flows stay as they are.
    /// Run last, once the selector is known to match something.
    static func expandingEach(_ scenario: Scenario) -> [TrafficSpec] {
        scenario.traffic.flatMap { flow -> [TrafficSpec] in
            guard flow.choose == .each, case .selector(let selector) = flow.to else { return [flow] }
            let pods = scenario.workloads.filter { selector.matches($0.labels) }
                .flatMap { podNames(of: $0, in: scenario) }.sorted()
            return pods.map { pod in
                var one = flow
                one.name = "\(flow.name)/\(pod)"
                one.to = .pod(pod)
                one.choose = .one
                return one
            }
        }
    }

    /// ``podNamesAtStart(_:)``, refusing a pod name that two workloads would both create (a bare Pod
    /// `db-0` and StatefulSet `db`, a DaemonSet pod and a Pod of the same name), at the second workload.
    static func uniquePodNamesAtStart(_ scenario: Scenario) throws(ScenarioError) -> Set<String> {
        var creator: [String: WorkloadSpec] = [:]
        for workload in scenario.workloads {
            for name in podNames(of: workload, in: scenario) {
                if let first = creator[name], first.name != workload.name || first.kind != workload.kind {
                    throw ScenarioError(workload.location, "\(workload.kind.rawValue) '\(workload.name)' would create pod '\(name)', which \(first.kind.rawValue) '\(first.name)' (at \(first.location)) creates already; pods need distinct names", code: .duplicateName)
                }
                creator[name] = workload
            }
        }
        return Set(creator.keys)
    }

    static func podNames(of workload: WorkloadSpec, in scenario: Scenario) -> [String] {
        switch workload.kind {
        case .pod: [workload.name]
        case .statefulSet: (0..<workload.replicas).map { "\(workload.name)-\($0)" }
        case .daemonSet: scenario.nodes.map { "\(workload.name)-\($0.name)" }
        case .deployment: (0..<workload.replicas).map { Cluster.deploymentPodName(workload.name, seed: scenario.seed, ordinal: $0) }
        }
    }

    /// Names of the pods the workloads create at start (Deployment pod names depend on the seed, so flows
    /// name Deployment pods through selectors).
    static func podNamesAtStart(_ scenario: Scenario) -> Set<String> {
        var names = Set<String>()
        for workload in scenario.workloads {
            switch workload.kind {
            case .pod: names.insert(workload.name)
            case .statefulSet: for index in 0..<workload.replicas { names.insert("\(workload.name)-\(index)") }
            case .daemonSet: for node in scenario.nodes { names.insert("\(workload.name)-\(node.name)") }
            case .deployment: for index in 0..<workload.replicas { names.insert(Cluster.deploymentPodName(workload.name, seed: scenario.seed, ordinal: index)) }
            }
        }
        return names
    }
}
