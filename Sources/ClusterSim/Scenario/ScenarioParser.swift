import Foundation
import PacketWire
import VXLAN
import Yams

/// Reads a scenario from YAML, reporting the first problem as `file:line:column: message`.
///
/// The YAML is composed into a node tree (which keeps every node's position) and read field by field,
/// so an unknown field, a wrong type or an impossible value is reported where it is written.
public enum ScenarioParser {
    /// The largest scenario text read: 64 MiB. A file of flows that size already asks for gigabytes
    /// as a YAML tree; callers refuse a larger file before reading it (``checkSize(ofFileAt:)``).
    public static let maximumBytes = 64 << 20

    public static func parse(yaml: String, file: String) throws(ScenarioError) -> Scenario {
        guard yaml.utf8.count <= maximumBytes else {
            throw ScenarioError(SourceLocation(file: file, line: 1, column: 1),
                                "the scenario is \(yaml.utf8.count) bytes; the most read is \(maximumBytes) (64 MiB)", code: .unreadableFile)
        }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw ScenarioError(SourceLocation(file: file, line: 1, column: 1), "the file is empty", code: .unreadableFile)
            }
            root = composed
        } catch let error as ScenarioError {
            throw error
        } catch let error as YamlError {
            throw yamlError(error, yaml: yaml, file: file)
        } catch {
            throw ScenarioError(SourceLocation(file: file, line: 1, column: 1), "not YAML", code: .invalidYAML)
        }
        let context = Context(file: file)
        var scenario = try context.scenario(root)
        try ScenarioValidator.validate(&scenario)
        return scenario
    }

    /// Refuses a scenario file over ``maximumBytes`` before anything is read: the message names the
    /// file and its size. A file that cannot be looked at is left to the read that follows to report.
    public static func checkSize(ofFileAt path: String) throws(ScenarioError) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber else { return }
        guard size.int64Value <= Int64(maximumBytes) else {
            throw ScenarioError(SourceLocation(file: path, line: 1, column: 1),
                                "the file is \(size.int64Value) bytes; scenarios of at most \(maximumBytes) bytes (64 MiB) are read", code: .unreadableFile)
        }
    }

    /// libyaml's and Yams' errors as one line at the place of the problem. Yams' own descriptions
    /// quote the whole document (a duplicate key's context is the entire file), so none is used here.
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

    static func yamlError(_ error: YamlError, yaml: String, file: String) -> ScenarioError {
        func at(_ line: Int, _ column: Int, _ message: String) -> ScenarioError {
            ScenarioError(SourceLocation(file: file, line: max(1, line), column: max(1, column)), message, code: .invalidYAML)
        }
        func describe(_ context: YamlError.Context?, _ problem: String) -> String {
            // libyaml's nesting-limit text ends in a stray ')' and names a C function; say what it means.
            if problem.hasPrefix("Maximum nesting level reached") {
                return "lists and mappings nest deeper than 1000 levels, the most libyaml reads"
            }
            return [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            // libyaml says a tab "cannot start any token"; YAML 1.2 §6.1 allows only spaces for indentation.
            if character(atLine: mark.line, column: mark.column, in: yaml) == "\t" {
                return at(mark.line, mark.column, "invalid YAML: a tab, where YAML allows only spaces for indentation (YAML 1.2 §6.1)")
            }
            return at(mark.line, mark.column, "invalid YAML: \(describe(context, problem))")
        case let .reader(problem, offset, value, _):
            let (line, column) = offset.map { lineAndColumn(ofByte: $0, in: yaml) } ?? (1, 1)
            let character = value >= 0 ? String(format: " (byte or character 0x%02X)", value) : ""
            return at(line, column, "not readable as YAML text: \(problem)\(character)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? ""
            let second = secondOccurrence(ofKey: key, after: context.mark, in: yaml)
            let line = second?.line ?? context.mark.line, column = second?.column ?? context.mark.column
            let quoted = quote(line: line, of: yaml)
            return at(line, column, "key '\(key)' appears twice in one mapping (first at line \(context.mark.line))\(quoted)")
        case .memory:
            return at(1, 1, "invalid YAML: the parser ran out of memory")
        default:
            return at(1, 1, "invalid YAML")
        }
    }

    /// The character at a 1-based line and column, when there is one.
    static func character(atLine line: Int, column: Int, in text: String) -> Character? {
        guard line >= 1, column >= 1 else { return nil }
        var current = 1
        for row in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == line {
                guard column <= row.count else { return nil }
                return row[row.index(row.startIndex, offsetBy: column - 1)]
            }
            current += 1
        }
        return nil
    }

    /// 1-based line and column of a byte offset.
    static func lineAndColumn(ofByte offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for (index, byte) in text.utf8.enumerated() {
            if index >= offset { break }
            if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    /// Where `key` is written again after its first use at `first`: the next `key:` (plain or quoted)
    /// at the same indentation in a block mapping, or later on the same line in a flow mapping.
    static func secondOccurrence(ofKey key: String, after first: Mark, in yaml: String) -> (line: Int, column: Int)? {
        guard !key.isEmpty else { return nil }
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line <= lines.count else { return nil }
        let spellings = [key, "\"\(key)\"", "'\(key)'"]
        func keyColumns(in line: Substring, from start: Int) -> [Int] {
            let characters = Array(line)
            var found: [Int] = []
            var index = start
            while index < characters.count {
                let before: Character? = index == 0 ? nil : characters[index - 1]
                if before == nil || before == " " || before == "{" || before == "," || before == "-" {
                    for spelling in spellings {
                        let end = index + spelling.count
                        guard end <= characters.count, String(characters[index..<end]) == spelling else { continue }
                        var next = end
                        while next < characters.count && characters[next] == " " { next += 1 }
                        if next < characters.count && characters[next] == ":" { found.append(index + 1) }
                    }
                }
                index += 1
            }
            return found
        }
        // Later on the first key's own line (a flow mapping such as {a: 1, a: 2}).
        if let column = keyColumns(in: lines[first.line - 1], from: first.column).first {
            return (first.line, column)
        }
        // A later line where the key stands at the first key's column (a block mapping).
        for number in first.line..<lines.count {
            if keyColumns(in: lines[number], from: 0).contains(first.column) { return (number + 1, first.column) }
        }
        // Anywhere later, if the indentation differs (a flow mapping over several lines).
        for number in first.line..<lines.count {
            if let column = keyColumns(in: lines[number], from: 0).first { return (number + 1, column) }
        }
        return nil
    }

    /// `: <the line>` quoted for a message, cut to 160 characters.
    static func quote(line number: Int, of yaml: String) -> String {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard number >= 1, number <= lines.count else { return "" }
        var text = lines[number - 1].trimmingCharacters(in: " ")
        if text.count > 160 { text = String(text.prefix(160)) + "..." }
        return ": `\(text)`"
    }
}

/// Reads typed values out of YAML nodes, each error pointing at the node it is about.
struct Context {
    let file: String

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func error(_ node: Node, _ message: String, code: ScenarioError.Code = .invalidValue) -> ScenarioError {
        ScenarioError(location(node), message, code: code)
    }

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
                throw context.error(node, "\(what) must be a mapping of fields", code: .wrongType)
            }
            for (key, value) in mapping {
                guard let name = key.string else { throw context.error(key, "field names must be text", code: .wrongType) }
                guard values[name] == nil else { throw context.error(key, "field '\(name)' appears twice in \(what)", code: .invalidYAML) }
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
                throw context.error(node, "\(what) needs a '\(name)' field", code: .missingField)
            }
            return value
        }

        /// Call after reading every known field.
        func finish() throws(ScenarioError) {
            for name in order where !read.contains(name) {
                let known = read.sorted().joined(separator: ", ")
                throw context.error(values[name]!.key, "unknown field '\(name)' in \(what); expected one of: \(known)", code: .unknownField)
            }
        }
    }

    func fields(_ node: Node, _ what: String) throws(ScenarioError) -> Fields {
        try Fields(node, what: what, context: self)
    }

    func string(_ node: Node, _ what: String) throws(ScenarioError) -> String {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else { throw error(node, "\(what) must be text", code: .wrongType) }
        return scalar.string
    }

    func int(_ node: Node, _ what: String, in range: ClosedRange<Int>) throws(ScenarioError) -> Int {
        guard case .scalar = node, let value = node.int else { throw error(node, "\(what) must be a whole number", code: .wrongType) }
        guard range.contains(value) else {
            throw error(node, "\(what) \(value) is out of range \(range.lowerBound)...\(range.upperBound)", code: .outOfRange)
        }
        return value
    }

    func bool(_ node: Node, _ what: String) throws(ScenarioError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw error(node, "\(what) must be true or false", code: .wrongType) }
        return value
    }

    func double(_ node: Node, _ what: String, in range: ClosedRange<Double>) throws(ScenarioError) -> Double {
        guard case .scalar = node, let value = node.float ?? node.int.map(Double.init) else {
            throw error(node, "\(what) must be a number", code: .wrongType)
        }
        guard range.contains(value) else { throw error(node, "\(what) \(value) is out of range \(range)", code: .outOfRange) }
        return value
    }

    func duration(_ node: Node, _ what: String) throws(ScenarioError) -> Nanoseconds {
        let text = try string(node, what)
        guard let value = Units.durationValue(text) else {
            throw error(node, "\(what) '\(text)' is not a duration such as 250us, 1.5ms or 2s")
        }
        guard value >= 0 else { throw error(node, "\(what) '\(text)' is negative", code: .outOfRange) }
        guard value <= Double(Units.maximumDuration) else {
            throw error(node, "\(what) '\(text)' is longer than the longest a scenario may give, 10 years (3650d)", code: .outOfRange)
        }
        return Nanoseconds(value.rounded())
    }

    /// Bits per second, 1 bit/s to 1 Pbit/s.
    func bandwidth(_ node: Node, _ what: String) throws(ScenarioError) -> UInt64 {
        let text = try string(node, what)
        guard let value = Units.bandwidthValue(text) else { throw error(node, "\(what) '\(text)' is not a rate such as 10Gbps") }
        guard value >= Units.bandwidthRange.lowerBound else { throw error(node, "\(what) '\(text)' is below 1 bit per second") }
        guard value <= Units.bandwidthRange.upperBound else { throw error(node, "\(what) '\(text)' is above 1 Pbit per second (1000Tbps)") }
        return UInt64(value)
    }

    /// Packets per second, from one per 10 years to one a nanosecond.
    func rate(_ node: Node, _ what: String) throws(ScenarioError) -> Double {
        let text: String
        if case .scalar(let scalar) = node { text = scalar.string } else { text = try string(node, what) }
        guard let value = Units.rateValue(text) else { throw error(node, "\(what) '\(text)' is not a rate such as 100/s") }
        guard value > 0 else { throw error(node, "\(what) '\(text)' must be above 0") }
        guard value >= Units.rateRange.lowerBound else {
            throw error(node, "\(what) '\(text)' is below one packet per 10 years: packets would be due after the run's end")
        }
        guard value <= Units.rateRange.upperBound else { throw error(node, "\(what) '\(text)' is above one packet a nanosecond (1e9/s), the clock's resolution") }
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
            link.bandwidth = try bandwidth(value, "bandwidth")
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
        var choice: TargetChoice?
        return try endpoint(node, what, choice: &choice)
    }

    /// A flow's end; `choice` reads `choose: one|each`, which only a destination selector may have.
    func endpoint(_ node: Node, _ what: String, choice: inout TargetChoice?) throws(ScenarioError) -> Endpoint {
        if case .scalar = node { return .pod(try string(node, what)) }
        let f = try fields(node, what)
        if let value = f.optional("choose") {
            guard what == "to", f.optional("selector") != nil else {
                throw error(value, "'choose' goes with a destination selector (to: {selector: ..., choose: one|each})")
            }
            let text = try string(value, "choose")
            guard let parsed = TargetChoice(rawValue: text) else {
                throw error(value, "choose '\(text)' must be one (the first running matching pod by name) or each (a flow to every matching pod)")
            }
            choice = parsed
        }
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
        var choice: TargetChoice?
        let protocolNode = try f.required("protocol")
        let protocolText = try string(protocolNode, "protocol")
        guard let proto = TrafficProtocol(rawValue: protocolText.lowercased()) else {
            throw error(protocolNode, "protocol '\(protocolText)' must be icmp, udp, tcp or sctp")
        }
        var flow = TrafficSpec(
            name: try f.optional("name").map { (n: Node) throws(ScenarioError) in try string(n, "name") } ?? "flow-\(index + 1)",
            from: try endpoint(try f.required("from"), "from"), to: try endpoint(try f.required("to"), "to", choice: &choice),
            protocol: proto, size: proto == .tcp ? 100_000 : 56, count: 10, rate: 100, start: 0,
            port: proto == .udp ? 5353 : 80, dontFragment: nil, location: location(node))
        if let value = f.optional("size") {
            // UDP and ICMP: the payload of one datagram, at most what IPv4's 16-bit total length leaves
            // after 20 bytes of IP header and 8 of UDP or ICMP header (RFC 791, RFC 768). TCP: the
            // bytes of the whole transfer.
            flow.size = try int(value, proto == .tcp ? "size (bytes to transfer)" : "size (payload bytes of one datagram)",
                                in: proto == .tcp ? 0...1_000_000_000 : 0...65_507)
        }
        if let value = f.optional("count") { flow.count = try int(value, "count", in: 1...1_000_000_000) }
        if let value = f.optional("rate") { flow.rate = try rate(value, "rate") }
        if let value = f.optional("start") { flow.start = try duration(value, "start") }
        if let value = f.optional("port") {
            flow.port = UInt16(try int(value, "port", in: 1...65535))
            flow.portLocation = location(value)
        }
        if let value = f.optional("df") { flow.dontFragment = try bool(value, "df") }
        if let choice { flow.choose = choice }
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
