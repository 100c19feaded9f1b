import Foundation
import Kubernetes
import PacketWire

/// A cluster's Kubernetes objects made into a ``Scenario``: what `overlay-sim run DIR` and `probe` simulate.
///
/// The manifests say the nodes (addresses, pod CIDRs, the VTEP MACs and addresses Flannel and Calico wrote
/// in their annotations), the namespaces, the pods (labels, nodes, addresses, container ports) and the
/// workloads that make them, the Services, the NetworkPolicies and the CNI's configuration. An
/// `apiVersion: overlay-sim/v1`, `kind: Scenario` document among them says what manifests cannot (the
/// underlay, the traffic, firewalls, `cni:`); what neither says has a default: nodes named by the pods'
/// `nodeName` (three when none is named), pod CIDRs that hold the pods' addresses, a flat underlay of
/// 1500-byte links, and one connection from every workload to every Service.
public struct ManifestScenario: Sendable {
    public var scenario: Scenario
    /// Objects read but not simulated (RBAC, Secrets, ...), each listed once.
    public var ignored: [IgnoredObject]
    /// Fields the simulation cannot honour, naming object and field.
    public var warnings: [ManifestWarning]
    /// What was taken from where, and which defaults were used, one sentence each.
    public var notes: [String]

    /// Pod names in a manifest scenario are `namespace/name`, as the e2e tests and `probe` name them.
    public static func podName(namespace: String, name: String) -> String { "\(namespace)/\(name)" }
}

extension NetworkPolicySettings {
    /// A label the conversion puts on every pod so that a Service's selector, which selects only in its own
    /// namespace, does so in the simulator's namespace-less selectors too. NetworkPolicy never sees it.
    public static let namespaceLabel = "overlay-sim.io/namespace"
}

/// Turns a ``Kubernetes/ManifestSet`` into a ``ManifestScenario``.
public enum ManifestConverter {
    /// Reads `paths` (files and folders of YAML) and converts what they hold.
    /// - Parameters:
    ///   - cni: the CNI to simulate, overriding the scenario document and the configuration found.
    /// - Throws: ``Kubernetes/ManifestError`` or ``ScenarioError``, each naming file, line and column.
    public static func read(paths: [String], cni: CNIMode? = nil) throws -> ManifestScenario {
        let set = try ManifestReader.read(paths: paths)
        let first = paths.first ?? "manifests"
        guard !set.isEmpty else {
            throw ScenarioError(SourceLocation(file: first, line: 1, column: 1),
                                "no Kubernetes objects and no overlay-sim Scenario document found (read \(set.files.count) files)")
        }
        let name = URL(fileURLWithPath: first).deletingPathExtension().lastPathComponent
        return try convert(set, name: name.isEmpty ? "manifests" : name, file: first, cni: cni)
    }

    /// Converts manifests already read.
    /// - Parameters:
    ///   - set: the objects.
    ///   - name: the scenario's name when no Scenario document gives one.
    ///   - file: where the manifests came from, for locations of defaults.
    ///   - cni: overrides the CNI the manifests and the Scenario document say.
    /// - Throws: ``ScenarioError`` naming where the manifests contradict themselves or the simulation.
    public static func convert(_ set: ManifestSet, name: String, file: String, cni: CNIMode? = nil) throws(ScenarioError) -> ManifestScenario {
        var builder = Builder(set: set, name: name, file: file)
        try builder.build(cni: cni)
        return ManifestScenario(scenario: builder.scenario, ignored: set.ignored, warnings: builder.warnings, notes: builder.notes)
    }
}

extension SourceLocation {
    init(_ location: ManifestLocation) { self.init(file: location.file, line: location.line, column: location.column) }
}

/// The conversion's state: the scenario as it grows, and what it noted.
struct Builder {
    let set: ManifestSet
    let file: String
    var scenario: Scenario
    var warnings: [ManifestWarning]
    var notes: [String] = []
    /// Per workload name in the scenario: its Kubernetes container ports.
    var containerPorts: [String: [Kubernetes.ContainerPort]] = [:]
    /// Per workload name: its namespace and labels as Kubernetes sees them.
    var workloadLabels: [String: (namespace: String, labels: [String: String])] = [:]

    init(set: ManifestSet, name: String, file: String) {
        self.set = set
        self.file = file
        scenario = Scenario(name: name, file: file)
        warnings = set.warnings
    }

    var origin: SourceLocation { SourceLocation(file: file, line: 1, column: 1) }

    mutating func warn(_ object: ObjectReference, _ location: ManifestLocation, _ field: String, _ message: String) {
        warnings.append(ManifestWarning(location: location, object: object, field: field, message: message))
    }

    mutating func build(cni override: CNIMode?) throws(ScenarioError) {
        if set.scenarios.count > 1 {
            let second = set.scenarios[1]
            throw ScenarioError(SourceLocation(second.location),
                                "a second overlay-sim Scenario document; the first is at \(set.scenarios[0].location)")
        }
        if let document = set.scenarios.first {
            scenario = try ScenarioParser.parse(embedded: document.node, file: document.file, defaultName: scenario.name)
            notes.append("underlay, traffic and settings from the Scenario document at \(document.location)")
        }
        let documentTraffic = !scenario.traffic.isEmpty
        chooseCNI(override: override)
        try buildNodes()
        try buildNamespacesAndPods()
        try buildServices()
        if !documentTraffic { defaultTraffic() }
        buildPolicy()
        try ScenarioValidator.validate(&scenario)
    }

    // MARK: - CNI

    mutating func chooseCNI(override: CNIMode?) {
        let found: (CNIMode, String)?
        if let pool = set.calicoIPPools.first {
            found = (.calicoVXLAN, "Calico, from IPPool \(pool.metadata.name) at \(pool.metadata.location)")
        } else if let felix = set.felixConfigurations.first {
            found = (.calicoVXLAN, "Calico, from FelixConfiguration \(felix.metadata.name) at \(felix.metadata.location)")
        } else if let installation = set.calicoInstallations.first {
            found = (.calicoVXLAN, "Calico, from \(installation.source) at \(installation.location)")
        } else if let cilium = set.cilium.first {
            found = (.ciliumVXLAN, "Cilium, from \(cilium.configMap) at \(cilium.location)")
        } else if let flannel = set.flannel.first {
            found = (.flannel, "Flannel, from \(flannel.configMap) at \(flannel.location)")
        } else if let node = set.nodes.first(where: { $0.calico != nil }) {
            found = (.calicoVXLAN, "Calico, from the projectcalico.org annotations of Node \(node.metadata.name)")
        } else if let node = set.nodes.first(where: { $0.flannel != nil }) {
            found = (.flannel, "Flannel, from the flannel.alpha.coreos.com annotations of Node \(node.metadata.name)")
        } else {
            found = nil
        }
        let mode: CNIMode
        if let override {
            mode = override
            notes.append("CNI \(override) (given on the command line)")
        } else if let written = scenario.cniSettings.written {
            mode = scenario.cni
            notes.append("CNI \(mode) (the Scenario document's cni: at \(written))")
        } else if let found {
            mode = found.0
            notes.append("CNI \(found.1)")
        } else {
            mode = .flannel
            notes.append("CNI flannel (the default: no CNI configuration found)")
        }
        let overlayWritten = scenario.overlay.location != nil
        scenario.cni = mode
        guard !overlayWritten else { return }
        switch mode {
        case .flannel:
            scenario.overlay.vni = 1
            scenario.overlay.destinationPort = 8472
            scenario.overlay.mtu = 1450
            if let flannel = set.flannel.first {
                let backend = flannel.backend
                if backend.type != "vxlan" {
                    warn(flannel.configMap, flannel.location, "net-conf.json Backend.Type",
                         "backend '\(backend.type)' is simulated as vxlan, the only backend modelled")
                }
                scenario.overlay.vni = backend.vni
                scenario.overlay.destinationPort = backend.port
                scenario.overlay.groupBasedPolicy = backend.gbp
                if let mtu = backend.mtu, mtu > 0 { scenario.overlay.mtu = mtu - 50 }
                if backend.directRouting {
                    warn(flannel.configMap, flannel.location, "net-conf.json Backend.DirectRouting",
                         "direct routing between nodes on one subnet is not simulated: every cross-node packet is encapsulated")
                }
            }
        case .calicoVXLAN:
            scenario.overlay.vni = 4096
            scenario.overlay.destinationPort = 4789
            scenario.overlay.mtu = 1450
            if let felix = set.felixConfigurations.first {
                scenario.overlay.vni = felix.vxlanVNI
                scenario.overlay.destinationPort = felix.vxlanPort
                if let mtu = felix.vxlanMTU, mtu > 0 { scenario.overlay.mtu = mtu }
            } else if let mtu = set.calicoInstallations.first?.mtu, mtu > 0 {
                scenario.overlay.mtu = mtu
            }
            let pools = set.calicoIPPools + set.calicoInstallations.flatMap(\.ipPools)
            if let pool = pools.first(where: { !$0.disabled }) {
                switch pool.vxlanMode {
                case .crossSubnet:
                    scenario.cniSettings.crossSubnet = true
                case .never:
                    warn(pool.reference, pool.metadata.location, "spec.vxlanMode",
                         "vxlanMode Never (ipipMode \(pool.ipipMode.rawValue)) is simulated as VXLAN Always, the only Calico dataplane modelled")
                case .always:
                    break
                }
            }
        case .ciliumVXLAN:
            scenario.overlay.vni = mode.defaultVNI
            scenario.overlay.destinationPort = 8472
            scenario.overlay.mtu = 1450
            if let cilium = set.cilium.first {
                if cilium.routingMode != .tunnel || cilium.tunnelProtocol != .vxlan {
                    warn(cilium.configMap, cilium.location, "data.routing-mode",
                         "routing-mode \(cilium.routingMode.rawValue) with tunnel-protocol \(cilium.tunnelProtocol.rawValue) is simulated as a VXLAN tunnel")
                }
                scenario.overlay.destinationPort = cilium.tunnelProtocol == .vxlan ? cilium.tunnelPort : 8472
                if let mtu = cilium.mtu, mtu > 0 { scenario.overlay.mtu = mtu - 50 }
            }
        }
    }

    // MARK: - Nodes

    struct NodePlan {
        var name: String
        var address: IPAddress?
        var podCIDR: IPPrefix?
        var vtepMAC: MACAddress?
        var vtepAddress: IPv4Address?
        var addresses: [IPv4Address] = []
        var location: SourceLocation
    }

    mutating func buildNodes() throws(ScenarioError) {
        // Nodes the Scenario document lists are taken as they are; Node objects of the same name add their MACs.
        var plans: [NodePlan] = []
        if !scenario.nodes.isEmpty {
            plans = scenario.nodes.map { NodePlan(name: $0.name, address: $0.address, podCIDR: $0.podCIDR, location: $0.location) }
        }
        for node in set.nodes {
            let address = node.internalAddress ?? node.flannel?.publicIP ?? node.calico?.ipv4Address?.address
            let cidr = node.podCIDRs.first { !$0.isIPv6 }.flatMap { IPPrefix($0.description) }
            let vtepMAC = node.flannel?.vtepMAC ?? node.calico?.vxlanTunnelMAC
            let vtepAddress: IPv4Address? = switch node.calico?.vxlanTunnelAddress { case .v4(let a)?: a; default: nil }
            if let index = plans.firstIndex(where: { $0.name == node.metadata.name }) {
                plans[index].vtepMAC = vtepMAC
                plans[index].vtepAddress = vtepAddress
            } else if scenario.nodes.isEmpty {
                plans.append(NodePlan(name: node.metadata.name, address: address, podCIDR: cidr, vtepMAC: vtepMAC,
                                      vtepAddress: vtepAddress, location: SourceLocation(node.metadata.location)))
            }
            if let vni = node.flannel?.vni, scenario.cni == .flannel, vni != scenario.overlay.vni, scenario.overlay.location == nil {
                scenario.overlay.vni = vni
            }
            if let subnet = node.calico?.ipv4Address?.subnet { scenario.cniSettings.nodeSubnets[node.metadata.name] = subnet }
        }
        let calicoNodes = set.nodes.compactMap { $0.calico?.ipv4Address?.address }
        if scenario.cni == .calicoVXLAN, !calicoNodes.isEmpty { scenario.cniSettings.vxlanAllowlist = calicoNodes }
        // Nodes named only by pods.
        if scenario.nodes.isEmpty {
            for node in set.pods.compactMap(\.spec.nodeName) + set.workloads.compactMap(\.template.spec.nodeName)
            where !plans.contains(where: { $0.name == node }) {
                plans.append(NodePlan(name: node, location: origin))
            }
        }
        if plans.isEmpty {
            plans = (1...3).map { NodePlan(name: "node-\($0)", location: origin) }
            notes.append("three nodes (node-1, node-2, node-3): no Node objects and no pod names a node")
        }
        // Pods with addresses: to their node, or to the node whose pod CIDR holds them, or by /24.
        var podNode: [Int: Int] = [:]
        for (index, pod) in set.pods.enumerated() {
            guard let address = ipv4(pod.addresses.first) else { continue }
            if let name = pod.spec.nodeName, let node = plans.firstIndex(where: { $0.name == name }) {
                plans[node].addresses.append(address)
                podNode[index] = node
            }
        }
        for (index, pod) in set.pods.enumerated() where podNode[index] == nil {
            guard let address = ipv4(pod.addresses.first) else { continue }
            let slash24 = address.rawValue >> 8
            let node = plans.firstIndex { $0.podCIDR?.contains(address) == true }
                ?? plans.firstIndex { $0.podCIDR == nil && $0.addresses.contains { $0.rawValue >> 8 == slash24 } }
                ?? plans.firstIndex { $0.podCIDR == nil && $0.addresses.isEmpty }
                ?? plans.indices.min { plans[$0].addresses.count < plans[$1].addresses.count } ?? 0
            plans[node].addresses.append(address)
            podNode[index] = node
        }
        // Pod CIDRs: the given one when it holds the node's pods, else the smallest block of /24 or more that does.
        for index in plans.indices {
            var pods = plans[index].addresses
            if let tunnel = plans[index].vtepAddress, scenario.cni == .calicoVXLAN, !pods.isEmpty { pods.append(tunnel) }
            if let given = plans[index].podCIDR, pods.allSatisfy(given.contains) { continue }
            guard let first = pods.first else { continue }
            var length = 24
            while length > 8, !pods.allSatisfy({ IPPrefix.containing(first, length: length).contains($0) }) { length -= 1 }
            let derived = IPPrefix.containing(first, length: length)
            if let given = plans[index].podCIDR {
                notes.append("node \(plans[index].name): pod CIDR \(derived), which holds its pods' addresses (spec.podCIDR \(given) does not; Calico's IPAM blocks need not lie in it)")
            } else {
                notes.append("node \(plans[index].name): pod CIDR \(derived), holding its pods' addresses")
            }
            plans[index].podCIDR = derived
        }
        var third: UInt32 = 0
        for index in plans.indices where plans[index].podCIDR == nil {
            while true {
                let candidate = IPPrefix.containing(IPv4Address(rawValue: 0x0AF4_0000 | third << 8), length: 24)
                third += 1
                if !plans.contains(where: { $0.podCIDR?.overlaps(candidate) == true }) {
                    plans[index].podCIDR = candidate
                    break
                }
                if third > 255 { throw ScenarioError(plans[index].location, "no free /24 in 10.244.0.0/16 for node \(plans[index].name)") }
            }
            notes.append("node \(plans[index].name): pod CIDR \(plans[index].podCIDR?.description ?? "") (none given)")
        }
        var host: UInt32 = 11
        for index in plans.indices where plans[index].address == nil {
            while plans.contains(where: { $0.address == .v4(IPv4Address(rawValue: 0xC0A8_0A00 | host)) }) { host += 1 }
            plans[index].address = .v4(IPv4Address(rawValue: 0xC0A8_0A00 | host))
            notes.append("node \(plans[index].name): address 192.168.10.\(host) (no InternalIP given)")
            host += 1
        }
        scenario.nodes = plans.map { plan in
            var spec = NodeSpec(name: plan.name, address: plan.address ?? .v4(.any), podCIDR: plan.podCIDR ?? IPPrefix.containing(.any, length: 24),
                                location: plan.location)
            spec.vtepMAC = plan.vtepMAC
            spec.vtepAddress = plan.vtepAddress
            return spec
        }
        podNodes = podNode.mapValues { plans[$0].name }
        if scenario.links.isEmpty && scenario.routers.isEmpty && scenario.switches.isEmpty {
            notes.append("a flat underlay: a direct 1500-byte link between every two nodes")
        }
    }

    /// The node each Pod object with an address was placed on.
    var podNodes: [Int: String] = [:]

    func ipv4(_ address: IPAddress?) -> IPv4Address? {
        if case .v4(let v4)? = address { return v4 }
        return nil
    }

    // MARK: - Namespaces, pods and workloads

    mutating func buildNamespacesAndPods() throws(ScenarioError) {
        var namespaces: [String: [String: String]] = [:]
        for namespace in set.namespaces { namespaces[namespace.name] = namespace.labels }
        func ensure(_ name: String) {
            if namespaces[name] == nil { namespaces[name] = [NamespaceManifest.nameLabel: name] }
        }
        var leastLoaded: [String: Int] = Dictionary(uniqueKeysWithValues: scenario.nodes.map { ($0.name, 0) })
        func nextNode() -> String {
            scenario.nodes.map(\.name).min { (leastLoaded[$0] ?? 0, $0) < (leastLoaded[$1] ?? 0, $1) } ?? ""
        }
        var represented = Set<ObjectReference>()
        for (index, pod) in set.pods.enumerated() {
            let namespace = pod.metadata.namespace ?? "default"
            ensure(namespace)
            if pod.spec.hostNetwork {
                warn(pod.reference, pod.metadata.location, "spec.hostNetwork",
                     "host-network pods use their node's address and are not simulated as pods (NetworkPolicy does not select them)")
                continue
            }
            if let phase = pod.phase, phase == "Succeeded" || phase == "Failed" {
                warn(pod.reference, pod.metadata.location, "status.phase", "a \(phase) pod has no network and is left out")
                continue
            }
            for workload in set.workloads where workload.metadata.namespace == pod.metadata.namespace {
                let selector = workload.selector ?? Kubernetes.LabelSelector(matchLabels: workload.template.labels)
                if !selector.selectsEverything, selector.matches(pod.metadata.labels) { represented.insert(workload.reference) }
            }
            let node = podNodes[index] ?? pod.spec.nodeName ?? nextNode()
            leastLoaded[node, default: 0] += 1
            let name = ManifestScenario.podName(namespace: namespace, name: pod.metadata.name)
            var workload = WorkloadSpec(kind: .pod, name: name, replicas: 1, labels: labels(pod.metadata.labels, namespace),
                                        ports: simulatorPorts(pod.spec.ports), nodes: [node], location: SourceLocation(pod.metadata.location))
            workload.address = ipv4(pod.addresses.first)
            if pod.addresses.first != nil && workload.address == nil {
                warn(pod.reference, pod.metadata.location, "status.podIP", "an IPv6 pod address is not simulated; the node's IPAM gives an IPv4 one")
            }
            workload.namespace = namespace
            containerPorts[name] = pod.spec.ports
            workloadLabels[name] = (namespace, pod.metadata.labels)
            scenario.workloads.append(workload)
        }
        let deployments = Set(set.workloads.filter { $0.kind == .deployment }.map(\.reference))
        for workload in set.workloads {
            let namespace = workload.metadata.namespace ?? "default"
            ensure(namespace)
            if represented.contains(workload.reference) {
                notes.append("\(workload.reference): its pods are given as Pod objects, which are simulated instead of its template")
                continue
            }
            if workload.kind == .replicaSet, workload.metadata.owners.contains(where: { deployments.contains(ObjectReference(kind: "Deployment", namespace: namespace, name: $0.name)) }) {
                continue
            }
            if workload.template.spec.hostNetwork {
                warn(workload.reference, workload.metadata.location, "spec.template.spec.hostNetwork",
                     "host-network pods use their node's address and are not simulated as pods")
                continue
            }
            let kind: WorkloadKind
            switch workload.kind {
            case .deployment, .replicaSet: kind = .deployment
            case .statefulSet: kind = .statefulSet
            case .daemonSet: kind = .daemonSet
            case .job, .cronJob:
                kind = .deployment
                warn(workload.reference, workload.metadata.location, workload.kind == .job ? "spec" : "spec.schedule",
                     "a \(workload.kind.rawValue)'s pods are simulated as running for the whole run, \(workload.replicas ?? 1) at a time")
            }
            let name = ManifestScenario.podName(namespace: namespace, name: workload.metadata.name)
            var spec = WorkloadSpec(kind: kind, name: name, replicas: workload.replicas ?? 1,
                                    labels: labels(workload.template.labels, namespace), ports: simulatorPorts(workload.template.spec.ports),
                                    nodes: workload.template.spec.nodeName.map { [$0] } ?? [], location: SourceLocation(workload.metadata.location))
            spec.namespace = namespace
            containerPorts[name] = workload.template.spec.ports
            workloadLabels[name] = (namespace, workload.template.labels)
            scenario.workloads.append(spec)
        }
        for policy in set.networkPolicies { ensure(policy.namespace) }
        for service in set.services { ensure(service.metadata.namespace ?? "default") }
        scenario.networkPolicy.namespaces = namespaces
    }

    /// Labels as the simulator keeps them: the pod's, and its namespace's marker for Service selectors.
    func labels(_ labels: [String: String], _ namespace: String) -> [String: String] {
        var labels = labels
        labels[NetworkPolicySettings.namespaceLabel] = namespace
        return labels
    }

    /// The ports the simulator's pods listen on (TCP and UDP; SCTP ones are for NetworkPolicy's named ports).
    func simulatorPorts(_ ports: [Kubernetes.ContainerPort]) -> [ContainerPort] {
        ports.compactMap { port in
            switch port.protocol {
            case .tcp: ContainerPort(name: port.name, port: port.number, protocol: .tcp)
            case .udp: ContainerPort(name: port.name, port: port.number, protocol: .udp)
            case .sctp: nil
            }
        }
    }

    // MARK: - Services

    mutating func buildServices() throws(ScenarioError) {
        var nextClusterIP: UInt32 = 0x0A60_0064
        let used = Set(set.services.flatMap(\.clusterIPs))
        for service in set.services {
            let namespace = service.metadata.namespace ?? "default"
            let reference = service.reference
            let location = service.metadata.location
            switch service.type {
            case .externalName:
                warn(reference, location, "spec.type", "an ExternalName Service is a DNS name only; nothing is simulated for it")
                continue
            case .nodePort, .loadBalancer:
                warn(reference, location, "spec.type", "\(service.type.rawValue): its ClusterIP is simulated, its node ports and load balancer are not")
            case .clusterIP:
                break
            }
            if service.isHeadless {
                notes.append("\(reference) is headless: no ClusterIP, so no kube-proxy rules (DNS answers with the pods' addresses)")
                continue
            }
            guard let selector = service.selector, !selector.isEmpty else {
                warn(reference, location, "spec.selector",
                     "a Service without a selector gets its endpoints from EndpointSlices, which are not simulated")
                continue
            }
            let selected = workloadLabels.filter { entry in
                entry.value.namespace == namespace && selector.allSatisfy { key, value in entry.value.labels[key] == value }
            }.keys.sorted()
            guard !selected.isEmpty else {
                warn(reference, location, "spec.selector", "selects no pod of namespace \(namespace); not simulated")
                continue
            }
            let clusterIP: IPv4Address
            if case .v4(let given)? = service.clusterIPs.first {
                clusterIP = given
            } else {
                while used.contains(.v4(IPv4Address(rawValue: nextClusterIP))) { nextClusterIP += 1 }
                clusterIP = IPv4Address(rawValue: nextClusterIP)
                nextClusterIP += 1
                notes.append("\(reference): ClusterIP \(clusterIP) (none given)")
            }
            var ports: [ServicePortSpec] = []
            for (index, port) in service.ports.enumerated() {
                let field = "spec.ports[\(index)]"
                let proto: ServiceProtocol
                switch port.protocol {
                case .tcp: proto = .tcp
                case .udp: proto = .udp
                case .sctp:
                    warn(reference, location, field + ".protocol", "kube-proxy's SCTP translation is not simulated")
                    continue
                }
                let target: UInt16
                switch port.targetPort {
                case .number(let number):
                    target = number
                case .name(let name):
                    let numbers = Set(selected.compactMap { workload in
                        containerPorts[workload]?.first { $0.name == name && $0.protocol == port.protocol }?.number
                    })
                    guard let number = numbers.min() else {
                        warn(reference, location, field + ".targetPort",
                             "no selected pod has a \(port.protocol) container port named '\(name)'; kube-proxy would have no endpoint for it")
                        continue
                    }
                    if numbers.count > 1 {
                        warn(reference, location, field + ".targetPort",
                             "the selected pods number port '\(name)' differently (\(numbers.sorted().map(String.init).joined(separator: ", "))); \(number) is simulated")
                    }
                    target = number
                }
                ports.append(ServicePortSpec(port: port.port, targetPort: target, protocol: proto))
            }
            guard !ports.isEmpty else { continue }
            if service.internalTrafficPolicy == .local {
                warn(reference, location, "spec.internalTrafficPolicy", "Local is not simulated: every ready endpoint is used")
            }
            if case .clientIP = service.sessionAffinity {
                warn(reference, location, "spec.sessionAffinity", "ClientIP affinity is not simulated (each flow keeps its endpoint anyway)")
            }
            var labels = selector
            labels[NetworkPolicySettings.namespaceLabel] = namespace
            scenario.services.append(ServiceSpec(name: ManifestScenario.podName(namespace: namespace, name: service.metadata.name),
                                                 clusterIP: clusterIP, selector: LabelSelector(labels: labels), ports: ports,
                                                 location: SourceLocation(location)))
        }
    }

    // MARK: - Traffic

    /// One flow from every workload to each Service it is not behind, per protocol the Service serves: a
    /// 1000-byte TCP transfer, or one 64-byte UDP datagram (a DNS query's size).
    mutating func defaultTraffic() {
        var flows = 0
        for workload in scenario.workloads {
            for service in scenario.services where !service.selector.matches(workload.labels) {
                for proto in [ServiceProtocol.tcp, .udp] {
                    guard let port = service.ports.first(where: { $0.protocol == proto }) else { continue }
                    let isTCP = proto == .tcp
                    var selector = workload.labels
                    selector[NetworkPolicySettings.namespaceLabel] = workload.namespace
                    let from: Endpoint = workload.kind == .pod ? .pod(workload.name) : .selector(LabelSelector(labels: selector))
                    scenario.traffic.append(TrafficSpec(
                        name: "\(workload.name)-to-\(service.name)-\(port.port)-\(proto.rawValue.lowercased())",
                        from: from, to: .service(service.name), protocol: isTCP ? .tcp : .udp, size: isTCP ? 1000 : 64,
                        count: 1, rate: 100, start: 10_000_000, port: port.port, dontFragment: isTCP, location: origin))
                    flows += 1
                }
            }
        }
        if flows > 0 {
            notes.append("traffic: \(flows) flows, from every workload to every Service it is not behind, one per protocol (the Scenario document gives none)")
        }
    }

    // MARK: - NetworkPolicy

    mutating func buildPolicy() {
        scenario.networkPolicy.policies = set.networkPolicies
        scenario.networkPolicy.containerPorts = containerPorts
        guard !set.networkPolicies.isEmpty else { return }
        let names = set.networkPolicies.map(\.qualifiedName)
        let list = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", ..." : "")
        if scenario.cni.enforcesNetworkPolicy {
            notes.append("\(names.count) NetworkPolicies (\(list)): \(scenario.cni.policyEnforcement)")
        } else {
            let location = set.networkPolicies[0].metadata.location
            scenario.warnings.append(ScenarioWarning(SourceLocation(location),
                "\(names.count) NetworkPolicies (\(list)) are given, but \(scenario.cni.policyEnforcement); every connection they would deny gets through"))
        }
    }
}

extension IPPrefix {
    /// The IPv4 prefix of `length` bits (clamped to 0...32) holding `address`.
    static func containing(_ address: IPv4Address, length: Int) -> IPPrefix {
        IPPrefix(address: .v4(address), length: max(0, min(32, length))) ?? IPPrefix(host: .v4(address))
    }
}
