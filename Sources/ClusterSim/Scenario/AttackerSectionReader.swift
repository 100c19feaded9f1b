import PacketWire
import Yams

extension Context {
    /// `attackers:`, a list of hosts on the underlay that are not nodes:
    /// ```
    /// attackers:
    ///   - name: mallory
    ///     address: 192.0.2.66
    ///     attach: spine            # a router, a switch or a node the attacker's link goes to
    ///     send:
    ///       - name: inject-db
    ///         target: node-b       # whose VTEP receives it
    ///         vni: 1               # default: the cluster's
    ///         outerSource: 192.0.2.10   # default: the attacker's own address (a node's: a spoof)
    ///         from: frontend-0     # inner source: a pod's name or an address
    ///         to: db-0             # inner destination: a pod's name or an address
    ///         protocol: udp        # udp or tcp (a SYN)
    ///         port: 5432
    ///         payload: "DROP TABLE users;"
    ///         count: 3
    ///         rate: 10/s
    /// ```
    func attackersSection(_ node: Node, into reading: inout ScenarioReading) throws(ScenarioError) {
        for (index, entry) in try sequence(node, "attackers").enumerated() {
            let f = try fields(entry, "an attacker")
            let nameNode = try f.required("name")
            let name = try string(nameNode, "an attacker name")
            try reading.claim(name, "an attacker", at: nameNode, in: self)
            let address = try ipv4(try f.required("address"), "address")
            let attachNode = try f.required("attach")
            let attach = try string(attachNode, "attach")
            // A router or a switch: a node forwards no underlay traffic for others.
            guard let place = reading.places[attach], place.what == "a router" || place.what == "a switch" else {
                throw error(attachNode, "attach '\(attach)' is not a router or switch of this scenario's underlay (an attacker's link goes to one)", code: .unknownReference)
            }
            var link = LinkSpec(a: name, b: attach, location: location(attachNode))
            if let value = f.optional("latency") { link.latency = try duration(value, "latency") }
            if let value = f.optional("bandwidth") { link.bandwidth = try bandwidth(value, "bandwidth") }
            var mac = MACAddress(rawValue: 0x0200_0000_EE00 | UInt64(index + 1))
            if let value = f.optional("mac") {
                let text = try string(value, "mac")
                guard let parsed = MACAddress(text) else { throw error(value, "mac '\(text)' is not a MAC address (aa:bb:cc:dd:ee:ff)") }
                mac = parsed
            }
            var sends: [InjectionSpec] = []
            for (number, send) in try sequence(try f.required("send"), "send").enumerated() {
                sends.append(try injection(send, name: "\(name)-\(number + 1)", reading: reading))
            }
            try f.finish()
            reading.scenario.attackers.append(AttackerSpec(name: name, address: address, attach: attach, mac: mac, link: link,
                                                           sends: sends, location: location(entry)))
        }
    }

    func injection(_ node: Node, name: String, reading: ScenarioReading) throws(ScenarioError) -> InjectionSpec {
        let f = try fields(node, "a crafted VXLAN stream")
        let targetNode = try f.required("target")
        let target = try string(targetNode, "target")
        // Among manifests the nodes come from Node objects read after this document: checked when the network is built.
        guard reading.embedded || reading.scenario.nodes.contains(where: { $0.name == target }) else {
            throw error(targetNode, "target '\(target)' is not a node of this scenario (the VTEP that receives the packets)", code: .unknownReference)
        }
        let protocolNode = f.optional("protocol")
        let protocolText = try protocolNode.map { (n: Node) throws(ScenarioError) in try string(n, "protocol") } ?? "udp"
        guard let proto = InjectionSpec.InnerProtocol(rawValue: protocolText.lowercased()) else {
            throw error(protocolNode ?? node, "protocol '\(protocolText)' must be udp or tcp")
        }
        var spec = InjectionSpec(
            name: try f.optional("name").map { (n: Node) throws(ScenarioError) in try string(n, "name") } ?? name,
            target: target, vni: nil, outerSource: nil, port: nil,
            innerSource: try string(try f.required("from"), "from"), innerDestination: try string(try f.required("to"), "to"),
            protocol: proto, sourcePort: 40000, destinationPort: 80, payload: Array("injected".utf8), count: 1, rate: 10,
            start: 0, location: location(node))
        if let value = f.optional("vni") { spec.vni = UInt32(try int(value, "vni", in: 0...0xFF_FFFF)) }
        if let value = f.optional("outerSource") { spec.outerSource = try ipv4(value, "outerSource") }
        if let value = f.optional("vxlanPort") { spec.port = UInt16(try int(value, "vxlanPort", in: 1...65535)) }
        if let value = f.optional("sourcePort") { spec.sourcePort = UInt16(try int(value, "sourcePort", in: 1...65535)) }
        if let value = f.optional("port") { spec.destinationPort = UInt16(try int(value, "port", in: 1...65535)) }
        if let value = f.optional("payload") {
            guard case .scalar(let scalar) = value else { throw error(value, "payload must be text", code: .wrongType) }
            spec.payload = Array(scalar.string.utf8)
            guard spec.payload.count <= 1400 else { throw error(value, "payload of \(spec.payload.count) bytes is longer than 1400", code: .outOfRange) }
        }
        if let value = f.optional("count") { spec.count = try int(value, "count", in: 1...10_000_000) }
        if let value = f.optional("rate") { spec.rate = try rate(value, "rate") }
        if let value = f.optional("start") { spec.start = try duration(value, "start") }
        try f.finish()
        return spec
    }
}
