import Yams

/// One top-level section of a scenario file (`cluster:`, `firewalls:`, `sysctl:` ...) and the reader that
/// fills its part of the ``Scenario``.
///
/// A feature's section is one entry in ``Context/sections``, read in the table's order whatever the
/// order in the file, so a section may use what an earlier one read (firewalls name the nodes and links
/// read before them). A field at the top of the file that no entry names is an unknown field, reported at
/// its line with the list of the known ones.
struct ScenarioSection: Sendable {
    /// The field's name at the top of the file.
    let key: String
    /// Whether a scenario must have it.
    let isRequired: Bool
    /// Reads the section's value into the scenario being read.
    let read: @Sendable (Context, Node, inout ScenarioReading) throws(ScenarioError) -> Void
}

/// What the section readers build together: the scenario, and the names that must be unique across
/// sections (nodes, routers and switches are places on the underlay, found by name: one name, one place).
struct ScenarioReading {
    var scenario: Scenario
    /// A Scenario document among Kubernetes manifests: every section optional, `cluster.nodes` too.
    var embedded = false
    var places: [String: (what: String, location: SourceLocation)] = [:]

    mutating func claim(_ name: String, _ what: String, at node: Node, in context: Context) throws(ScenarioError) {
        if let first = places[name] {
            throw context.error(node, "'\(name)' is already the name of \(first.what) (at \(first.location)); nodes, routers and switches need distinct names", code: .duplicateName)
        }
        places[name] = (what, context.location(node))
    }
}

extension Context {
    /// Every section of the format, in reading order. A new feature adds its entry here and its reader
    /// in a file of its own (`FirewallSectionReader.swift`, `SysctlSectionReader.swift`).
    static let sections: [ScenarioSection] = [
        ScenarioSection(key: "description", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            reading.scenario.description = try context.string(node, "description")
        },
        ScenarioSection(key: "seed", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            reading.scenario.seed = UInt64(try context.int(node, "seed", in: 0...Int.max))
        },
        // Before `cluster`, so the overlay section can override the CNI's port and VNI.
        ScenarioSection(key: "cni", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            try context.cniSection(node, into: &reading)
        },
        ScenarioSection(key: "cloud", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            let cloud = try context.fields(node, "cloud")
            if let value = cloud.optional("sourceDestinationCheck") {
                reading.scenario.cniSettings.cloudSourceDestinationCheck = try context.bool(value, "cloud.sourceDestinationCheck")
            }
            try cloud.finish()
        },
        ScenarioSection(key: "cluster", isRequired: true) { (context, node, reading) throws(ScenarioError) in
            try context.clusterSection(node, into: &reading)
        },
        ScenarioSection(key: "underlay", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            try context.underlaySection(node, into: &reading)
        },
        // After `underlay`: an attacker is a place, cabled to one the underlay names.
        ScenarioSection(key: "attackers", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            try context.attackersSection(node, into: &reading)
        },
        // Before `firewalls`: netfilter's conntrack timeouts start from the sysctls.
        ScenarioSection(key: "sysctl", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            reading.scenario.sysctls = try context.sysctls(node)
        },
        ScenarioSection(key: "firewalls", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            (reading.scenario.firewalls, reading.scenario.warnings) = try context.firewalls(node, scenario: reading.scenario)
        },
        ScenarioSection(key: "workloads", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            for workload in try context.sequence(node, "workloads") { reading.scenario.workloads.append(try context.workload(workload)) }
        },
        ScenarioSection(key: "services", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            for service in try context.sequence(node, "services") { reading.scenario.services.append(try context.service(service)) }
        },
        ScenarioSection(key: "traffic", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            try context.trafficSection(node, into: &reading)
        },
        ScenarioSection(key: "events", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            for event in try context.sequence(node, "events") { reading.scenario.events.append(try context.event(event)) }
        },
        ScenarioSection(key: "captures", isRequired: false) { (context, node, reading) throws(ScenarioError) in
            try context.capturesSection(node, into: &reading)
        },
    ]

    /// The whole file: its name, then each section of ``sections``.
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
        var reading = ScenarioReading(scenario: Scenario(name: name, file: file), embedded: embeddedName != nil)
        for section in Self.sections {
            let value = section.isRequired && embeddedName == nil ? try top.required(section.key) : top.optional(section.key)
            guard let value else { continue }
            try section.read(self, value, &reading)
        }
        try top.finish()
        return reading.scenario
    }

    func clusterSection(_ node: Node, into reading: inout ScenarioReading) throws(ScenarioError) {
        let cluster = try fields(node, "cluster")
        if let node = cluster.optional("overlay") { reading.scenario.overlay = try overlay(node, base: reading.scenario.overlay) }
        let nodes = reading.embedded ? cluster.optional("nodes") : try cluster.required("nodes")
        for node in try nodes.map({ (n: Node) throws(ScenarioError) in try sequence(n, "cluster.nodes") }) ?? [] {
            let spec = try clusterNode(node)
            try reading.claim(spec.name, "a node", at: node, in: self)
            reading.scenario.nodes.append(spec)
        }
        try cluster.finish()
    }

    /// `cni: flannel | calico-vxlan | cilium-vxlan`: the CNI's dataplane, with its port and VNI unless the
    /// overlay section says otherwise.
    func cniSection(_ node: Node, into reading: inout ScenarioReading) throws(ScenarioError) {
        let text = try string(node, "cni")
        guard let mode = CNIMode(rawValue: text) else {
            throw error(node, "cni '\(text)' must be one of: \(CNIMode.allCases.map(\.rawValue).joined(separator: ", "))", code: .invalidValue)
        }
        reading.scenario.cni = mode
        reading.scenario.cniSettings.written = location(node)
        if mode != .flannel {
            reading.scenario.overlay.destinationPort = mode.defaultPort
            reading.scenario.overlay.vni = mode.defaultVNI
        }
    }

    func underlaySection(_ node: Node, into reading: inout ScenarioReading) throws(ScenarioError) {
        let underlay = try fields(node, "underlay")
        if let routers = underlay.optional("routers") {
            for router in try sequence(routers, "underlay.routers") {
                // A name, or {name: NAME, icmpQuote: rfc1812 | rfc792}: how much of the offending packet the
                // router's ICMP errors quote (Linux: as much as fits in 576 bytes, RFC 1812 §4.3.2.3; some
                // routers and firewalls: RFC 792's IP header + 8 bytes).
                var name: String
                if case .mapping = router {
                    let entry = try fields(router, "a router")
                    name = try string(try entry.required("name"), "a router name")
                    if let quote = entry.optional("icmpQuote") {
                        switch try string(quote, "icmpQuote") {
                        case "rfc1812": break
                        case "rfc792": reading.scenario.minimalQuoteRouters.insert(name)
                        case let other: throw error(quote, "icmpQuote '\(other)' must be rfc1812 (as much as fits in 576 bytes, as Linux quotes) or rfc792 (the IP header and 8 bytes)")
                        }
                    }
                    try entry.finish()
                } else {
                    name = try string(router, "a router name")
                }
                try reading.claim(name, "a router", at: router, in: self)
                reading.scenario.routers.append(name)
            }
        }
        if let switches = underlay.optional("switches") {
            for device in try sequence(switches, "underlay.switches") {
                let name = try string(device, "a switch name")
                try reading.claim(name, "a switch", at: device, in: self)
                reading.scenario.switches.append(name)
            }
        }
        if let links = underlay.optional("links") {
            for link in try sequence(links, "underlay.links") { reading.scenario.links.append(try self.link(link)) }
        }
        try underlay.finish()
    }

    func trafficSection(_ node: Node, into reading: inout ScenarioReading) throws(ScenarioError) {
        // A flow is named in the report, in --explain and in events: one name, one flow.
        var flowNames: [String: SourceLocation] = [:]
        for (index, flow) in try sequence(node, "traffic").enumerated() {
            let spec = try traffic(flow, index: index)
            if let first = flowNames[spec.name] {
                throw error(flow, "flow '\(spec.name)' is defined twice (first at \(first)); flows need distinct names", code: .duplicateName)
            }
            flowNames[spec.name] = spec.location
            reading.scenario.traffic.append(spec)
        }
    }

    func capturesSection(_ node: Node, into reading: inout ScenarioReading) throws(ScenarioError) {
        let captures = try fields(node, "captures")
        if let value = captures.optional("underlay") { reading.scenario.captures.underlay = try bool(value, "captures.underlay") }
        if let value = captures.optional("vtep") { reading.scenario.captures.vtep = try bool(value, "captures.vtep") }
        if let value = captures.optional("pods") { reading.scenario.captures.pods = try bool(value, "captures.pods") }
        if let value = captures.optional("drops") { reading.scenario.captures.drops = try bool(value, "captures.drops") }
        try captures.finish()
    }
}
