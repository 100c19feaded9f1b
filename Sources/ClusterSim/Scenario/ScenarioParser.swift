import PacketWire
import VXLAN
import Yams

/// Reads a scenario from YAML, reporting the first problem as `file:line:column: message`.
///
/// The YAML is composed into a node tree (which keeps every node's position) and read field by field,
/// so an unknown field, a wrong type or an impossible value is reported where it is written.
public enum ScenarioParser {
    public static func parse(yaml: String, file: String) throws(ScenarioError) -> Scenario {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw ScenarioError(SourceLocation(file: file, line: 1, column: 1), "the file is empty")
            }
            root = composed
        } catch let error as ScenarioError {
            throw error
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        } catch {
            throw ScenarioError(SourceLocation(file: file, line: 1, column: 1), "not YAML: \(error)")
        }
        let context = Context(file: file)
        var scenario = try context.scenario(root)
        try ScenarioValidator.validate(&scenario)
        return scenario
    }

    /// Reads an `apiVersion: overlay-sim/v1`, `kind: Scenario` document found among Kubernetes manifests: the
    /// same fields as a scenario file, every one optional (the manifests say the rest). Not validated: the
    /// caller completes it from the manifests first.
    /// - Parameters:
    ///   - document: the composed document, with its line and column marks.
    ///   - file: the file it is in.
    ///   - defaultName: the name when the document gives none.
    public static func parse(embedded document: Node, file: String, defaultName: String) throws(ScenarioError) -> Scenario {
        try Context(file: file).scenario(document, embeddedName: defaultName)
    }

    static func yamlError(_ error: YamlError, file: String) -> ScenarioError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
            return ScenarioError(SourceLocation(file: file, line: mark.line, column: mark.column), "invalid YAML: \(what)")
        case let .composer(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
            return ScenarioError(SourceLocation(file: file, line: mark.line, column: mark.column), "invalid YAML: \(what)")
        default:
            return ScenarioError(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }
}

/// Reads typed values out of YAML nodes, each error pointing at the node it is about.
struct Context {
    let file: String

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func error(_ node: Node, _ message: String) -> ScenarioError { ScenarioError(location(node), message) }

    /// A mapping's fields, checked against the names the caller reads: whatever is left is unknown.
    final class Fields {
        let context: Context
        let node: Node
        let what: String
        var values: [String: (key: Node, value: Node)] = [:]
        var order: [String] = []
        var read: Set<String> = []

        init(_ node: Node, what: String, context: Context) throws(ScenarioError) {
            self.context = context
            self.node = node
            self.what = what
            guard case .mapping(let mapping) = node else {
                throw context.error(node, "\(what) must be a mapping of fields")
            }
            for (key, value) in mapping {
                guard let name = key.string else { throw context.error(key, "field names must be text") }
                guard values[name] == nil else { throw context.error(key, "field '\(name)' appears twice in \(what)") }
                values[name] = (key, value)
                order.append(name)
            }
        }

        func optional(_ name: String) -> Node? {
            read.insert(name)
            return values[name]?.value
        }

        func required(_ name: String) throws(ScenarioError) -> Node {
            read.insert(name)
            guard let value = values[name]?.value else {
                throw context.error(node, "\(what) needs a '\(name)' field")
            }
            return value
        }

        /// Call after reading every known field.
        func finish() throws(ScenarioError) {
            for name in order where !read.contains(name) {
                let known = read.sorted().joined(separator: ", ")
                throw context.error(values[name]!.key, "unknown field '\(name)' in \(what); expected one of: \(known)")
            }
        }
    }

    func fields(_ node: Node, _ what: String) throws(ScenarioError) -> Fields {
        try Fields(node, what: what, context: self)
    }

    func string(_ node: Node, _ what: String) throws(ScenarioError) -> String {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else { throw error(node, "\(what) must be text") }
        return scalar.string
    }

    func int(_ node: Node, _ what: String, in range: ClosedRange<Int>) throws(ScenarioError) -> Int {
        guard case .scalar = node, let value = node.int else { throw error(node, "\(what) must be a whole number") }
        guard range.contains(value) else {
            throw error(node, "\(what) \(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func bool(_ node: Node, _ what: String) throws(ScenarioError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw error(node, "\(what) must be true or false") }
        return value
    }

    func double(_ node: Node, _ what: String, in range: ClosedRange<Double>) throws(ScenarioError) -> Double {
        guard case .scalar = node, let value = node.float ?? node.int.map(Double.init) else {
            throw error(node, "\(what) must be a number")
        }
        guard range.contains(value) else { throw error(node, "\(what) \(value) is out of range \(range)") }
        return value
    }

    func duration(_ node: Node, _ what: String) throws(ScenarioError) -> Nanoseconds {
        let text = try string(node, what)
        guard let value = Units.duration(text) else {
            throw error(node, "\(what) '\(text)' is not a duration such as 250us, 1.5ms or 2s")
        }
        return value
    }

    func sequence(_ node: Node, _ what: String) throws(ScenarioError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw error(node, "\(what) must be a list") }
        return Array(sequence)
    }

    func labels(_ node: Node, _ what: String) throws(ScenarioError) -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error(node, "\(what) must be a mapping of label: value") }
        var labels: [String: String] = [:]
        for (key, value) in mapping {
            labels[try string(key, "a label name")] = try string(value, "label value")
        }
        return labels
    }

    func ipv4(_ node: Node, _ what: String) throws(ScenarioError) -> IPv4Address {
        let text = try string(node, what)
        guard let address = IPv4Address(text) else { throw error(node, "\(what) '\(text)' is not an IPv4 address") }
        return address
    }

    // MARK: - The scenario

    /// - Parameter embeddedName: for a document among manifests (`apiVersion` and `kind` present, every
    ///   section optional), the name to use when it has none; nil for a scenario file.
    func scenario(_ root: Node, embeddedName: String? = nil) throws(ScenarioError) -> Scenario {
        let top = try fields(root, "the scenario")
        let name: String
        if let embeddedName {
            _ = top.optional("apiVersion")
            _ = top.optional("kind")
            name = try top.optional("name").map { (n: Node) throws(ScenarioError) in try string(n, "name") } ?? embeddedName
        } else {
            name = try string(try top.required("name"), "name")
        }
        var scenario = Scenario(name: name, file: file)
        if let node = top.optional("description") { scenario.description = try string(node, "description") }
        if let node = top.optional("seed") { scenario.seed = UInt64(try int(node, "seed", in: 0...Int.max)) }
        if let node = top.optional("cni") {
            let text = try string(node, "cni")
            guard let mode = CNIMode(rawValue: text) else {
                throw error(node, "cni '\(text)' must be one of: \(CNIMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            scenario.cni = mode
            scenario.cniSettings.written = location(node)
            // The CNI's own port and VNI, unless the overlay section below says otherwise.
            if mode != .flannel {
                scenario.overlay.destinationPort = mode.defaultPort
                scenario.overlay.vni = mode.defaultVNI
            }
        }
        let clusterNode = embeddedName == nil ? try top.required("cluster") : top.optional("cluster")
        if let clusterNode {
            let cluster = try fields(clusterNode, "cluster")
            if let node = cluster.optional("overlay") { scenario.overlay = try overlay(node, base: scenario.overlay) }
            let nodesNode = embeddedName == nil ? try cluster.required("nodes") : cluster.optional("nodes")
            if let nodesNode {
                for node in try sequence(nodesNode, "cluster.nodes") {
                    scenario.nodes.append(try self.clusterNode(node))
                }
            }
            try cluster.finish()
        }
        if let node = top.optional("underlay") {
            let underlay = try fields(node, "underlay")
            if let routers = underlay.optional("routers") {
                for router in try sequence(routers, "underlay.routers") {
                    scenario.routers.append(try string(router, "a router name"))
                }
            }
            if let switches = underlay.optional("switches") {
                for device in try sequence(switches, "underlay.switches") {
                    scenario.switches.append(try string(device, "a switch name"))
                }
            }
            if let links = underlay.optional("links") {
                for link in try sequence(links, "underlay.links") { scenario.links.append(try self.link(link)) }
            }
            try underlay.finish()
        }
        if let node = top.optional("firewalls") {
            (scenario.firewalls, scenario.warnings) = try firewalls(node, scenario: scenario)
        }
        if let node = top.optional("workloads") {
            for workload in try sequence(node, "workloads") { scenario.workloads.append(try self.workload(workload)) }
        }
        if let node = top.optional("services") {
            for service in try sequence(node, "services") { scenario.services.append(try self.service(service)) }
        }
        if let node = top.optional("traffic") {
            for (index, flow) in try sequence(node, "traffic").enumerated() {
                scenario.traffic.append(try self.traffic(flow, index: index))
            }
        }
        if let node = top.optional("events") {
            for event in try sequence(node, "events") { scenario.events.append(try self.event(event)) }
        }
        if let node = top.optional("sysctl") { scenario.sysctls = try sysctls(node) }
        if let node = top.optional("cloud") {
            let cloud = try fields(node, "cloud")
            if let value = cloud.optional("sourceDestinationCheck") {
                scenario.cniSettings.cloudSourceDestinationCheck = try bool(value, "cloud.sourceDestinationCheck")
            }
            try cloud.finish()
        }
        if let node = top.optional("captures") {
            let captures = try fields(node, "captures")
            if let value = captures.optional("underlay") { scenario.captures.underlay = try bool(value, "captures.underlay") }
            if let value = captures.optional("vtep") { scenario.captures.vtep = try bool(value, "captures.vtep") }
            if let value = captures.optional("pods") { scenario.captures.pods = try bool(value, "captures.pods") }
            if let value = captures.optional("drops") { scenario.captures.drops = try bool(value, "captures.drops") }
            try captures.finish()
        }
        try top.finish()
        return scenario
    }

    func overlay(_ node: Node, base: OverlaySettings = OverlaySettings()) throws(ScenarioError) -> OverlaySettings {
        let f = try fields(node, "cluster.overlay")
        var overlay = base
        overlay.location = location(node)
        if let value = f.optional("vni") { overlay.vni = UInt32(try int(value, "vni", in: 0...0xFF_FFFF)) }
        if let value = f.optional("dstport") { overlay.destinationPort = UInt16(try int(value, "dstport", in: 1...65535)) }
        if let value = f.optional("mtu") { overlay.mtu = try int(value, "mtu", in: 68...65535) }
        if let value = f.optional("udpcsum") { overlay.udpChecksum = try bool(value, "udpcsum") }
        if let value = f.optional("gbp") { overlay.groupBasedPolicy = try bool(value, "gbp") }
        if let value = f.optional("df") {
            let text = try string(value, "df")
            guard let policy = DFPolicy(rawValue: text) else { throw error(value, "df '\(text)' must be unset, set or inherit") }
            overlay.df = policy
        }
        if let value = f.optional("ttl") {
            let text = try string(value, "ttl")
            switch text {
            case "auto": overlay.ttl = .auto
            case "inherit": overlay.ttl = .inherit
            default: overlay.ttl = .fixed(UInt8(try int(value, "ttl", in: 1...255)))
            }
        }
        if let value = f.optional("tos") {
            if (try? string(value, "tos")) == "inherit" {
                overlay.tos = .inherit
            } else {
                overlay.tos = .fixed(UInt8(try int(value, "tos", in: 0...255)))
            }
        }
        if let value = f.optional("srcport") {
            let pair = try sequence(value, "srcport")
            guard pair.count == 2 else { throw error(value, "srcport must be [MIN, MAX]") }
            let low = try int(pair[0], "srcport MIN", in: 1...65535), high = try int(pair[1], "srcport MAX", in: 1...65535)
            guard low < high else { throw error(value, "srcport MIN \(low) must be below MAX \(high)") }
            overlay.sourcePortRange = UInt16(low)..<UInt16(high)
        }
        if let value = f.optional("fdb") {
            let text = try string(value, "fdb")
            guard let mode = FDBMode(rawValue: text) else { throw error(value, "fdb '\(text)' must be static or learning") }
            overlay.fdb = mode
        }
        if let value = f.optional("vtep") {
            let text = try string(value, "vtep")
            guard let layout = VTEPLayout(rawValue: text) else { throw error(value, "vtep '\(text)' must be routed (Flannel, Calico, Cilium) or bridged (a vxlan device on the pods' bridge)") }
            overlay.vtep = layout
        }
        try f.finish()
        return overlay
    }

    func clusterNode(_ node: Node) throws(ScenarioError) -> NodeSpec {
        let f = try fields(node, "a node")
        let name = try string(try f.required("name"), "node name")
        let addressNode = try f.required("address")
        let addressText = try string(addressNode, "address")
        guard let address = IPAddress(addressText) else {
            throw error(addressNode, "address '\(addressText)' is not an IPv4 or IPv6 address")
        }
        let cidrNode = try f.required("podCIDR")
        let cidrText = try string(cidrNode, "podCIDR")
        guard let cidr = IPPrefix(cidrText), !cidr.isIPv6, cidr.length <= 30 else {
            throw error(cidrNode, "podCIDR '\(cidrText)' is not an IPv4 prefix such as 10.244.1.0/24 (at most /30)")
        }
        try f.finish()
        return NodeSpec(name: name, address: address, podCIDR: cidr, location: location(node))
    }

    func link(_ node: Node) throws(ScenarioError) -> LinkSpec {
        let f = try fields(node, "a link")
        let between = try f.required("between")
        let ends = try sequence(between, "between")
        guard ends.count == 2 else { throw error(between, "between must name two nodes or routers") }
        var link = LinkSpec(a: try string(ends[0], "a link end"), b: try string(ends[1], "a link end"), location: location(between))
        if let value = f.optional("latency") { link.latency = try duration(value, "latency") }
        if let value = f.optional("bandwidth") {
            let text = try string(value, "bandwidth")
            guard let bits = Units.bandwidth(text) else { throw error(value, "bandwidth '\(text)' is not a rate such as 10Gbps") }
            link.bandwidth = bits
        }
        if let value = f.optional("mtu") { link.mtu = try int(value, "mtu", in: 68...65535) }
        if let value = f.optional("loss") { link.loss = try double(value, "loss", in: 0...1) }
        if let value = f.optional("queue") { link.queue = try int(value, "queue", in: 1...1_000_000) }
        try f.finish()
        return link
    }

    func workload(_ node: Node) throws(ScenarioError) -> WorkloadSpec {
        let f = try fields(node, "a workload")
        let kindNode = try f.required("kind")
        let kindText = try string(kindNode, "kind")
        guard let kind = WorkloadKind(rawValue: kindText.lowercased()) else {
            throw error(kindNode, "kind '\(kindText)' must be Pod, Deployment, StatefulSet or DaemonSet")
        }
        var workload = WorkloadSpec(kind: kind, name: try string(try f.required("name"), "name"), replicas: 1,
                                    labels: [:], nodes: [], location: location(node))
        if let value = f.optional("labels") { workload.labels = try labels(value, "labels") }
        if let value = f.optional("ports") { workload.ports = try containerPorts(value) }
        switch kind {
        case .pod:
            workload.nodes = [try string(try f.required("node"), "node")]
        case .deployment, .statefulSet:
            if let value = f.optional("replicas") { workload.replicas = try int(value, "replicas", in: 0...100_000) }
            if let value = f.optional("nodes") {
                workload.nodes = try sequence(value, "nodes").map { (n: Node) throws(ScenarioError) -> String in try string(n, "a node name") }
            }
        case .daemonSet:
            break
        }
        try f.finish()
        return workload
    }

    /// `ports: [8080, {port: 53, protocol: UDP, name: dns}]`.
    func containerPorts(_ node: Node) throws(ScenarioError) -> [ContainerPort] {
        var ports: [ContainerPort] = []
        for item in try sequence(node, "ports") {
            if case .scalar = item {
                ports.append(ContainerPort(port: UInt16(try int(item, "port", in: 1...65535)), protocol: .tcp))
                continue
            }
            let p = try fields(item, "a container port")
            let port = UInt16(try int(try p.required("port"), "port", in: 1...65535))
            var proto = ServiceProtocol.tcp
            if let value = p.optional("protocol") {
                let text = try string(value, "protocol")
                guard let parsed = ServiceProtocol(rawValue: text.uppercased()) else { throw error(value, "protocol '\(text)' must be TCP or UDP") }
                proto = parsed
            }
            let name = try p.optional("name").map { (n: Node) throws(ScenarioError) in try string(n, "port name") }
            try p.finish()
            ports.append(ContainerPort(name: name, port: port, protocol: proto))
        }
        return ports
    }

    func service(_ node: Node) throws(ScenarioError) -> ServiceSpec {
        let f = try fields(node, "a service")
        let name = try string(try f.required("name"), "name")
        let clusterIP = try ipv4(try f.required("clusterIP"), "clusterIP")
        let selector = LabelSelector(labels: try labels(try f.required("selector"), "selector"))
        var ports: [ServicePortSpec] = []
        for portNode in try sequence(try f.required("ports"), "ports") {
            let p = try fields(portNode, "a service port")
            let port = UInt16(try int(try p.required("port"), "port", in: 1...65535))
            let target = try p.optional("targetPort").map { (n: Node) throws(ScenarioError) in UInt16(try int(n, "targetPort", in: 1...65535)) } ?? port
            var proto = ServiceProtocol.tcp
            if let value = p.optional("protocol") {
                let text = try string(value, "protocol")
                guard let parsed = ServiceProtocol(rawValue: text.uppercased()) else { throw error(value, "protocol '\(text)' must be TCP or UDP") }
                proto = parsed
            }
            try p.finish()
            ports.append(ServicePortSpec(port: port, targetPort: target, protocol: proto))
        }
        try f.finish()
        return ServiceSpec(name: name, clusterIP: clusterIP, selector: selector, ports: ports, location: location(node))
    }

    func endpoint(_ node: Node, _ what: String) throws(ScenarioError) -> Endpoint {
        if case .scalar = node { return .pod(try string(node, what)) }
        let f = try fields(node, what)
        let result: Endpoint
        if let value = f.optional("pod") {
            result = .pod(try string(value, "pod"))
        } else if let value = f.optional("service") {
            result = .service(try string(value, "service"))
        } else if let value = f.optional("selector") {
            result = .selector(LabelSelector(labels: try labels(value, "selector")))
        } else {
            throw error(node, "\(what) must be a pod name, or have a 'pod', 'service' or 'selector' field")
        }
        try f.finish()
        return result
    }

    func traffic(_ node: Node, index: Int) throws(ScenarioError) -> TrafficSpec {
        let f = try fields(node, "a traffic flow")
        let protocolNode = try f.required("protocol")
        let protocolText = try string(protocolNode, "protocol")
        guard let proto = TrafficProtocol(rawValue: protocolText.lowercased()) else {
            throw error(protocolNode, "protocol '\(protocolText)' must be icmp, udp, tcp or sctp")
        }
        var flow = TrafficSpec(
            name: try f.optional("name").map { (n: Node) throws(ScenarioError) in try string(n, "name") } ?? "flow-\(index + 1)",
            from: try endpoint(try f.required("from"), "from"), to: try endpoint(try f.required("to"), "to"),
            protocol: proto, size: proto == .tcp ? 100_000 : 56, count: 10, rate: 100, start: 0,
            port: proto == .udp ? 5353 : 80, dontFragment: proto != .udp, location: location(node))
        if let value = f.optional("size") { flow.size = try int(value, "size", in: 0...1_000_000_000) }
        if let value = f.optional("count") { flow.count = try int(value, "count", in: 1...1_000_000_000) }
        if let value = f.optional("rate") {
            let text = try string(value, "rate")
            guard let rate = Units.rate(text) else { throw error(value, "rate '\(text)' is not a rate such as 100/s") }
            flow.rate = rate
        }
        if let value = f.optional("start") { flow.start = try duration(value, "start") }
        if let value = f.optional("port") { flow.port = UInt16(try int(value, "port", in: 1...65535)) }
        if let value = f.optional("df") { flow.dontFragment = try bool(value, "df") }
        try f.finish()
        return flow
    }

    func event(_ node: Node) throws(ScenarioError) -> EventSpec {
        let f = try fields(node, "an event")
        let at = try duration(try f.required("at"), "at")
        let target = try string(try f.required("delete"), "delete")
        try f.finish()
        let action: EventAction = target.hasPrefix("deployment/")
            ? .deleteDeploymentPod(String(target.dropFirst("deployment/".count))) : .deletePod(target)
        return EventSpec(at: at, action: action, location: location(node))
    }
}
