import Firewall
import PacketWire
import Yams

/// Reads the `firewalls:` section: each device's placement, kind, rules and options, every problem at
/// its line and column, and a warning for each rule that can never match.
extension Context {
    func firewalls(_ node: Node, scenario: Scenario) throws(ScenarioError) -> ([FirewallSpec], [ScenarioWarning]) {
        var specs: [FirewallSpec] = []
        var warnings: [ScenarioWarning] = []
        for entry in try sequence(node, "firewalls") {
            let (placed, found) = try firewall(entry, scenario: scenario)
            if let spec = placed.first, let other = specs.first(where: { $0.name == spec.name }) {
                throw error(entry, "firewall '\(spec.name)' is defined twice (first at \(other.location))")
            }
            for spec in placed {
                if case .node(let name) = spec.placement, let other = specs.first(where: { $0.placement == spec.placement }) {
                    throw error(entry, "node '\(name)' already has host firewall '\(other.name)'; put all its chains (input, output, forward) in one")
                }
                if case .interface(let name) = spec.placement, let other = specs.first(where: { $0.placement == spec.placement }) {
                    throw error(entry, "the interface of '\(name)' already has security group '\(other.name)'; put all its rules in one")
                }
            }
            specs += placed
            warnings += found
        }
        return (specs, warnings)
    }

    /// The kinds the section knows, in the order error messages list them: each with where it sits and
    /// the function that reads its options. A new kind is one line here and one reading function.
    static let firewallKinds: [FirewallKindReader] = [
        FirewallKindReader(kind: HostFirewall.kind, seat: .node, matchesConnectionState: HostFirewall.matchesConnectionState,
                           read: Context.hostFirewall),
        FirewallKindReader(kind: SecurityGroup.kind, seat: .interface, matchesConnectionState: SecurityGroup.matchesConnectionState,
                           read: Context.securityGroup),
        FirewallKindReader(kind: AccessList.kind, seat: .link, matchesConnectionState: AccessList.matchesConnectionState,
                           read: Context.accessList),
        FirewallKindReader(kind: StatefulFirewall.kind, seat: .link, matchesConnectionState: StatefulFirewall.matchesConnectionState,
                           read: Context.statefulFirewall),
        FirewallKindReader(kind: FragmentFilter.kind, seat: .link, read: Context.fragmentFilter),
        FirewallKindReader(kind: ICMPFilter.kind, seat: .link, read: Context.icmpFilter),
        FirewallKindReader(kind: DeepPacketInspector.kind, seat: .link, read: Context.deepPacketInspector),
        FirewallKindReader(kind: SourceNAT.kind, seat: .link, read: Context.sourceNAT),
    ]

    /// The kinds that sit on a link.
    static var middleboxKinds: [FirewallKindReader] { firewallKinds.filter { $0.seat == .link } }

    /// One entry of `firewalls:`. A host firewall or security group given a list of nodes becomes one
    /// device per node, each with its own state, as every node runs its own nftables and a cloud tracks
    /// connections per interface.
    func firewall(_ node: Node, scenario: Scenario) throws(ScenarioError) -> ([FirewallSpec], [ScenarioWarning]) {
        let f = try fields(node, "a firewall")
        let name = try string(try f.required("name"), "firewall name")
        let placements = try firewallPlacements(f, name: name, scenario: scenario)
        let placement = placements[0]
        let reader: FirewallKindReader
        if let kindNode = f.optional("kind") {
            let text = try string(kindNode, "kind")
            guard let parsed = Self.firewallKinds.first(where: { $0.kind.rawValue == text.lowercased() }) else {
                throw error(kindNode, "kind '\(text)' is not a device overlay-sim knows; expected one of: \(Self.firewallKinds.map(\.kind.rawValue).joined(separator: ", "))")
            }
            reader = parsed
        } else {
            switch placement {
            case .node: reader = Self.firewallKinds[0]
            case .interface: reader = Self.firewallKinds[1]
            case .link: throw error(node, "firewall '\(name)' sits on a link and needs a 'kind': one of \(Self.middleboxKinds.map(\.kind.rawValue).joined(separator: ", "))")
            }
        }
        switch (placement, reader.seat) {
        case (.node, .node), (.interface, .interface), (.link, .link): break
        case (.node, _):
            throw error(node, "firewall '\(name)' is on a node, where only kind host fits (a node's own nftables/iptables); middleboxes go on a 'link'")
        case (.interface, _):
            throw error(node, "firewall '\(name)' is on an interface, where only kind security-group fits")
        case (.link, _):
            throw error(node, "kind \(reader.kind) cannot sit on a link; put a host firewall on a 'node' and a security group on an 'interface'")
        }
        var vxlanAware = false
        var vxlanPorts: [UInt16]
        if let value = f.optional("vxlanAware") { vxlanAware = try bool(value, "vxlanAware") }
        if let value = f.optional("vxlanPorts") {
            vxlanPorts = try items(value).map { (item: Node) throws(ScenarioError) -> UInt16 in
                UInt16(try int(item, "a VXLAN port", in: 1...65535))
            }
        } else {
            vxlanPorts = Array(Set([4789, 8472, scenario.overlay.destinationPort])).sorted()
        }
        var entry = FirewallEntry(fields: f, name: name, scenario: scenario, reader: reader, placements: placements)
        var configuration = FirewallConfiguration(name: name, try reader.read(self)(&entry))
        configuration.vxlanAware = vxlanAware
        configuration.vxlanPorts = vxlanPorts
        try f.finish()
        var spec = FirewallSpec(configuration: configuration, placement: placement, location: location(node))
        spec.ruleLocations = entry.ruleLocations
        let specs = entry.placements.map { placement -> FirewallSpec in
            var placed = spec
            placed.placement = placement
            return placed
        }
        return (specs, firewallWarnings(spec, scenario: scenario))
    }

    // MARK: - Each kind's options

    func hostFirewall(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        var host = HostFirewall()
        try hostChains(&entry, into: &host.rules)
        host.conntrack = try connectionTracking(entry, kernel: true)
        return host
    }

    func securityGroup(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        var group = SecurityGroup()
        for chain in SecurityGroup.chains {
            guard let value = entry.fields.optional(chain.rawValue) else { continue }
            let (rules, locations) = try ruleList(value, kind: entry.reader, chain: chain, scenario: entry.scenario)
            group.rules[chain] = RuleSet(rules: rules, policy: .drop)
            entry.ruleLocations[chain] = locations
        }
        group.conntrack = try connectionTracking(entry, kernel: false)
        return group
    }

    func accessList(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        AccessList(transit: try transitChain(&entry))
    }

    func statefulFirewall(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        let transit = try transitChain(&entry)
        return StatefulFirewall(transit: transit, conntrack: try connectionTracking(entry, kernel: true))
    }

    /// `policy` and `rules` of a device on a link.
    func transitChain(_ entry: inout FirewallEntry) throws(ScenarioError) -> RuleSet {
        let policy = try entry.fields.optional("policy").map { (n: Node) throws(ScenarioError) in try action(n, "policy") } ?? .drop
        var rules: [Rule] = [], locations: [SourceLocation] = []
        if let value = entry.fields.optional("rules") {
            (rules, locations) = try ruleList(value, kind: entry.reader, chain: .transit, scenario: entry.scenario)
        }
        entry.ruleLocations[.transit] = locations
        return RuleSet(rules: rules, policy: policy)
    }

    func fragmentFilter(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        var filter = FragmentFilter()
        if let value = entry.fields.optional("drop") {
            let text = try string(value, "drop")
            switch text {
            case "all", "any": filter.drop = .any
            case "first": filter.drop = .first
            case "non-first": filter.drop = .nonFirst
            default: throw error(value, "drop '\(text)' must be all, first or non-first")
            }
        }
        return filter
    }

    func icmpFilter(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        var filter = ICMPFilter()
        let f = entry.fields
        if let value = f.optional("types") {
            filter.types = try items(value).map { (item: Node) throws(ScenarioError) -> UInt8 in try icmpType(item).type }
        }
        if let value = f.optional("rateLimit") {
            filter.ratePerSecond = try rate(value, "rateLimit")
        }
        if let value = f.optional("burst") { filter.burst = try int(value, "burst", in: 1...1_000_000) }
        return filter
    }

    func deepPacketInspector(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        let value = try entry.fields.required("protocols")
        let protocols = try items(value).map { (item: Node) throws(ScenarioError) -> DPIProtocol in
            let text = try string(item, "a protocol")
            guard let known = DPIProtocol.named(text) else {
                throw error(item, "protocol '\(text)' is not one the DPI box knows; expected one of: \(DPIProtocol.catalogue.map(\.name).joined(separator: ", ")), optionally with ports (vxlan:8472)")
            }
            return known
        }
        return DeepPacketInspector(protocols: protocols)
    }

    func sourceNAT(_ entry: inout FirewallEntry) throws(ScenarioError) -> any PacketInspector {
        var nat = SourceNAT()
        let f = entry.fields
        if let value = f.optional("sourceAddress") {
            let text = try string(value, "sourceAddress")
            guard let address = IPv4Address(text) else { throw error(value, "sourceAddress '\(text)' is not an IPv4 address") }
            nat.sourceAddress = .v4(address)
        }
        if let value = f.optional("ports") {
            let ranges: [PortRange] = try valueRanges(value, "ports", bounds: 1...65535)
            guard ranges.count == 1, let range = ranges.first, !range.isEmpty else {
                throw error(value, "ports must be one range such as 1024-65535")
            }
            nat.ports = range
        }
        if let value = f.optional("randomFully") { nat.randomFully = try bool(value, "randomFully") }
        if let value = f.optional("checksum") {
            let text = try string(value, "checksum")
            guard let mode = SourceNAT.ChecksumMode(rawValue: text) else {
                throw error(value, "checksum '\(text)' must be recompute or offload-bug")
            }
            nat.checksum = mode
        }
        if let value = f.optional("inside") {
            let inside = try string(value, "inside")
            guard case let .link(a, b) = entry.placements[0], inside == a || inside == b else {
                throw error(value, "inside '\(inside)' must be one end of the NAT's link")
            }
            if inside == b { entry.placements = [.link(b, a)] }
        }
        if let value = f.optional("tableSize") { nat.tableSize = try int(value, "tableSize", in: 1...10_000_000) }
        return nat
    }

    /// Where the entry puts its device: `node` (one or a list), `interface` (one or a list) or `link`.
    func firewallPlacements(_ f: Fields, name: String, scenario: Scenario) throws(ScenarioError) -> [FirewallPlacement] {
        let nodeNames = Set(scenario.nodes.map(\.name))
        var placements: [FirewallPlacement] = []
        var kinds = 0
        if let value = f.optional("node") {
            kinds += 1
            for item in try items(value) {
                let node = try string(item, "node")
                guard nodeNames.contains(node) else { throw error(item, "firewall '\(name)' is on node '\(node)', which does not exist", code: .unknownReference) }
                placements.append(.node(node))
            }
        }
        if let value = f.optional("interface") {
            kinds += 1
            for item in try items(value) {
                let node = try string(item, "interface")
                guard nodeNames.contains(node) else {
                    throw error(item, "firewall '\(name)' is on the interface of '\(node)', which is not a node (an interface is named by its node)", code: .unknownReference)
                }
                placements.append(.interface(node))
            }
        }
        if let value = f.optional("link") {
            let ends = try sequence(value, "link")
            guard ends.count == 2 else { throw error(value, "link must name the two ends of a link: [a, b]") }
            let a = try string(ends[0], "a link end"), b = try string(ends[1], "a link end")
            let places = nodeNames.union(scenario.routers)
            for (end, endNode) in [(a, ends[0]), (b, ends[1])] where !places.contains(end) {
                throw error(endNode, "link end '\(end)' is neither a node nor a router")
            }
            let joined = scenario.links.isEmpty
                ? nodeNames.contains(a) && nodeNames.contains(b) && a != b
                : scenario.links.contains { ($0.a == a && $0.b == b) || ($0.a == b && $0.b == a) }
            guard joined else { throw error(value, "no link joins '\(a)' and '\(b)'") }
            kinds += 1
            placements.append(.link(a, b))
        }
        guard kinds == 1, !placements.isEmpty, Set(placements).count == placements.count else {
            throw error(f.node, "firewall '\(name)' needs exactly one of 'node' (a host firewall), 'interface' (a security group) or 'link' (a middlebox), each place once")
        }
        return placements
    }

    /// A host firewall's chains: `input:`, `output:`, `forward:` blocks, or one `chain:` with `policy`
    /// and `rules` beside it.
    func hostChains(_ entry: inout FirewallEntry, into chains: inout [Chain: RuleSet]) throws(ScenarioError) {
        let f = entry.fields
        if let chainNode = f.optional("chain") {
            let text = try string(chainNode, "chain")
            guard let chain = Chain(rawValue: text), HostFirewall.chains.contains(chain) else {
                throw error(chainNode, "chain '\(text)' must be input, output or forward")
            }
            let policy = try f.optional("policy").map { (n: Node) throws(ScenarioError) in try action(n, "policy") } ?? .accept
            var rules: [Rule] = [], locations: [SourceLocation] = []
            if let value = f.optional("rules") { (rules, locations) = try ruleList(value, kind: entry.reader, chain: chain, scenario: entry.scenario) }
            chains[chain] = RuleSet(rules: rules, policy: policy)
            entry.ruleLocations[chain] = locations
            return
        }
        for chain in HostFirewall.chains {
            guard let value = f.optional(chain.rawValue) else { continue }
            let block = try fields(value, "the \(chain) chain")
            let policy = try block.optional("policy").map { (n: Node) throws(ScenarioError) in try action(n, "policy") } ?? .accept
            var rules: [Rule] = [], locations: [SourceLocation] = []
            if let list = block.optional("rules") { (rules, locations) = try ruleList(list, kind: entry.reader, chain: chain, scenario: entry.scenario) }
            try block.finish()
            chains[chain] = RuleSet(rules: rules, policy: policy)
            entry.ruleLocations[chain] = locations
        }
    }

    /// Conntrack options: `timeouts`, `tableSize`, `notrack`.
    /// - Parameter kernel: the device is Linux netfilter (a host firewall, a stateful middlebox built as
    ///   nftables): its UDP timeouts start from the scenario's `net.netfilter.nf_conntrack_udp_timeout`
    ///   and `_stream` sysctls (read before this section), and the firewall's own `timeouts` override them.
    ///   A cloud security group keeps its own defaults.
    func connectionTracking(_ entry: FirewallEntry, kernel: Bool) throws(ScenarioError) -> ConnectionTracking {
        var tracking = ConnectionTracking()
        if kernel {
            tracking.timeouts.udp = entry.scenario.sysctls.conntrackUDPTimeout
            tracking.timeouts.udpStream = entry.scenario.sysctls.conntrackUDPStreamTimeout
        }
        let f = entry.fields
        if let value = f.optional("tableSize") { tracking.tableSize = try int(value, "tableSize", in: 1...10_000_000) }
        if let value = f.optional("timeouts") {
            let t = try fields(value, "timeouts")
            let names: [(String, WritableKeyPath<ConntrackTimeouts, UInt64>)] = [
                ("udp", \.udp), ("udpStream", \.udpStream), ("tcpEstablished", \.tcpEstablished),
                ("tcpUnestablished", \.tcpUnestablished), ("tcpClosing", \.tcpClosing), ("icmp", \.icmp), ("other", \.other),
            ]
            for (name, path) in names {
                if let value = t.optional(name) {
                    let duration = try self.duration(value, "timeout \(name)")
                    guard duration > 0 else { throw error(value, "timeout \(name) must be longer than 0") }
                    tracking.timeouts[keyPath: path] = duration
                }
            }
            try t.finish()
        }
        if let value = f.optional("notrack") {
            for item in try sequence(value, "notrack") {
                let rule = try firewallRule(item, kind: entry.reader, chain: nil, scenario: entry.scenario)
                tracking.notrack.append(rule.match)
            }
        }
        return tracking
    }

    func ruleList(_ node: Node, kind: FirewallKindReader, chain: Chain, scenario: Scenario) throws(ScenarioError) -> ([Rule], [SourceLocation]) {
        var rules: [Rule] = [], locations: [SourceLocation] = []
        for item in try sequence(node, "\(chain) rules") {
            rules.append(try firewallRule(item, kind: kind, chain: chain, scenario: scenario))
            locations.append(location(item))
        }
        return (rules, locations)
    }

    /// One rule. `chain` nil reads a `notrack` match (no action).
    func firewallRule(_ node: Node, kind: FirewallKindReader, chain: Chain?, scenario: Scenario) throws(ScenarioError) -> Rule {
        let f = try fields(node, chain.map { "a rule of the \($0) chain" } ?? "a notrack match")
        var match = RuleMatch()
        var ruleAction = RuleAction.accept
        if kind.kind == SecurityGroup.kind || chain == nil {
            if let (key, _) = f.values["action"] {
                throw error(key, kind.kind == SecurityGroup.kind
                    ? "security group rules only allow traffic: remove 'action' (anything no rule allows is denied)"
                    : "a notrack match has no action")
            }
        } else {
            ruleAction = try action(try f.required("action"), "action")
        }
        if let value = f.optional("protocol") { match.protocol = try ipProtocol(value, "protocol") }
        if let value = f.optional("source") { match.source = try prefixes(value, "source", scenario: scenario) }
        if let value = f.optional("destination") { match.destination = try prefixes(value, "destination", scenario: scenario) }
        if let value = f.optional("sport") { match.sourcePorts = try valueRanges(value, "sport", bounds: 0...65535) }
        if let value = f.optional("dport") { match.destinationPorts = try valueRanges(value, "dport", bounds: 0...65535) }
        if let value = f.optional("fragment") { match.fragment = try fragment(value) }
        if let value = f.optional("df") { match.dontFragment = try bool(value, "df") }
        if let value = f.optional("fragmentOffset") {
            let ranges: [ValueRange<Int>] = try valueRanges(value, "fragmentOffset", bounds: 0...65528)
            guard ranges.count == 1 else { throw error(value, "fragmentOffset must be one range of bytes such as 1-65528") }
            match.fragmentOffset = ranges[0]
        }
        if let value = f.optional("length") {
            let ranges: [ValueRange<Int>] = try valueRanges(value, "length", bounds: 0...65535)
            guard ranges.count == 1 else { throw error(value, "length must be one range such as 0-1400") }
            match.length = ranges[0]
        }
        if let value = f.optional("icmpType") {
            let (type, code) = try icmpType(value)
            match.icmpType = type
            if let code { match.icmpCode = code }
        }
        if let value = f.optional("tcpFlags") {
            let words: [String]
            if case .scalar = value { words = [try string(value, "tcpFlags")] } else {
                words = try sequence(value, "tcpFlags").map { (n: Node) throws(ScenarioError) -> String in try string(n, "a TCP flag") }
            }
            switch TCPFlagCondition.parse(words) {
            case .success(let condition): match.tcpFlags = condition
            case .failure(let unknown):
                throw error(value, "tcpFlags: '\(unknown.word)' is not a TCP flag (fin, syn, rst, psh, ack, urg, ecn, cwr, each may start with !)")
            }
        }
        if let value = f.optional("icmpCode") { match.icmpCode = UInt8(try int(value, "icmpCode", in: 0...255)) }
        if let value = f.optional("state") {
            guard kind.matchesConnectionState else {
                let article = "aeiouAEIOU".contains(kind.kind.displayName.first ?? "x") ? "an" : "a"
                throw error(value, "\(article) \(kind.kind.displayName) keeps no connection state to match; 'state' needs a host or stateful firewall")
            }
            var states = ConnectionStates()
            for item in try items(value) {
                let text = try string(item, "a connection state")
                guard let state = ConnectionState(rawValue: text.lowercased()) else {
                    throw error(item, "state '\(text)' must be new, established, related, invalid or untracked")
                }
                states.insert(ConnectionStates(state))
            }
            match.states = states
        }
        if let value = f.optional("vni") { match.vni = try valueRanges(value, "vni", bounds: 0...0xFF_FFFF) }
        if let value = f.optional("innerSource") { match.innerSource = try prefixes(value, "innerSource", scenario: nil) }
        if let value = f.optional("innerDestination") { match.innerDestination = try prefixes(value, "innerDestination", scenario: nil) }
        if let value = f.optional("innerProtocol") { match.innerProtocol = try ipProtocol(value, "innerProtocol") }
        if let value = f.optional("innerSport") { match.innerSourcePorts = try valueRanges(value, "innerSport", bounds: 0...65535) }
        if let value = f.optional("innerDport") { match.innerDestinationPorts = try valueRanges(value, "innerDport", bounds: 0...65535) }
        if let value = f.optional("sourceMAC") { match.sourceMAC = try mac(value, "sourceMAC") }
        if let value = f.optional("destinationMAC") { match.destinationMAC = try mac(value, "destinationMAC") }
        if let value = f.optional("etherType") {
            let text = try string(value, "etherType")
            switch text.lowercased() {
            case "ipv4", "ip": match.etherType = .ipv4
            case "ipv6", "ip6": match.etherType = .ipv6
            case "arp": match.etherType = .arp
            default:
                guard text.hasPrefix("0x"), let raw = UInt16(text.dropFirst(2), radix: 16) else {
                    throw error(value, "etherType '\(text)' must be ipv4, ipv6, arp or a number such as 0x88cc")
                }
                match.etherType = EtherType(rawValue: raw)
            }
        }
        let comment = try f.optional("comment").map { (n: Node) throws(ScenarioError) in try string(n, "comment") }
        try f.finish()
        return Rule(match: match, action: ruleAction, comment: comment)
    }

    // MARK: - Values

    /// A scalar as a one-item list, or a list.
    func items(_ node: Node) throws(ScenarioError) -> [Node] {
        if case .sequence(let list) = node { return Array(list) }
        return [node]
    }

    func action(_ node: Node, _ what: String) throws(ScenarioError) -> RuleAction {
        let text = try string(node, what)
        guard let parsed = RuleAction(rawValue: text.lowercased()) else {
            throw error(node, "\(what) '\(text)' must be accept, drop or reject")
        }
        return parsed
    }

    func ipProtocol(_ node: Node, _ what: String) throws(ScenarioError) -> IPProtocol? {
        if let number = node.int, case .scalar = node {
            guard (0...255).contains(number) else { throw error(node, "\(what) \(number) is out of range 0...255") }
            return IPProtocol(rawValue: UInt8(number))
        }
        let text = try string(node, what)
        switch text.lowercased() {
        case "udp": return .udp
        case "tcp": return .tcp
        case "icmp": return .icmp
        case "icmpv6", "ipv6-icmp": return .icmpv6
        case "any", "all": return nil
        default: throw error(node, "\(what) '\(text)' must be udp, tcp, icmp, icmpv6, any or a protocol number")
        }
    }

    /// Prefixes, or (for outer addresses) node and router names standing for their addresses.
    func prefixes(_ node: Node, _ what: String, scenario: Scenario?) throws(ScenarioError) -> [IPPrefix] {
        try items(node).map { (item: Node) throws(ScenarioError) -> IPPrefix in
            let text = try string(item, what)
            if let prefix = IPPrefix(text) { return prefix }
            if let scenario {
                if let spec = scenario.nodes.first(where: { $0.name == text }) { return IPPrefix(host: spec.address) }
                if let index = scenario.routers.firstIndex(of: text) { return IPPrefix(host: .v4(Underlay.routerAddress(index))) }
                throw error(item, "\(what) '\(text)' is not an address prefix (such as 10.0.0.0/16) or the name of a node or router")
            }
            throw error(item, "\(what) '\(text)' is not an address prefix such as 10.244.1.0/24")
        }
    }

    /// `4789`, `30000-32767`, or a list of them; each end within `bounds`. A range whose low end is
    /// above its high end is kept (and warned about as never matching).
    func valueRanges<V: FixedWidthInteger & Sendable>(_ node: Node, _ what: String, bounds: ClosedRange<Int>) throws(ScenarioError) -> [ValueRange<V>] {
        try items(node).map { (item: Node) throws(ScenarioError) -> ValueRange<V> in
            if case .scalar = item, let value = item.int {
                guard bounds.contains(value) else { throw error(item, "\(what) \(value) is out of range \(bounds.lowerBound)...\(bounds.upperBound)") }
                return ValueRange(V(value))
            }
            let text = try string(item, what)
            let ends = text.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 2, let low = Int(ends[0].trimmingCharacters(in: " ")), let high = Int(ends[1].trimmingCharacters(in: " ")) else {
                throw error(item, "\(what) '\(text)' is not a number, a range such as 30000-32767, or a list of them")
            }
            for end in [low, high] where !bounds.contains(end) {
                throw error(item, "\(what) \(end) in '\(text)' is out of range \(bounds.lowerBound)...\(bounds.upperBound)")
            }
            return ValueRange(V(low), V(high))
        }
    }

    func fragment(_ node: Node) throws(ScenarioError) -> FragmentMatch {
        if case .scalar = node, let flag = node.bool { return flag ? .any : .none }
        let text = try string(node, "fragment")
        guard let parsed = FragmentMatch(rawValue: text) else {
            throw error(node, "fragment '\(text)' must be true, false, first, non-first, any or none")
        }
        return parsed
    }

    /// An ICMP type number or name; `fragmentation-needed` also sets code 4.
    func icmpType(_ node: Node) throws(ScenarioError) -> (type: UInt8, code: UInt8?) {
        if case .scalar = node, let number = node.int {
            guard (0...255).contains(number) else { throw error(node, "icmpType \(number) is out of range 0...255") }
            return (UInt8(number), nil)
        }
        let text = try string(node, "icmpType")
        switch text.lowercased() {
        case "echo-reply": return (0, nil)
        case "destination-unreachable": return (3, nil)
        case "fragmentation-needed": return (3, 4)
        case "echo-request": return (8, nil)
        case "time-exceeded": return (11, nil)
        default:
            throw error(node, "icmpType '\(text)' must be a number or one of echo-reply, destination-unreachable, fragmentation-needed, echo-request, time-exceeded")
        }
    }

    func mac(_ node: Node, _ what: String) throws(ScenarioError) -> MACAddress {
        let text = try string(node, what)
        guard let address = MACAddress(text) else { throw error(node, "\(what) '\(text)' is not a MAC address such as 02:00:00:00:0a:01") }
        return address
    }

    // MARK: - Warnings

    /// Rules that can never match, at the line of the rule; inner rules a device cannot apply to the
    /// overlay's port, at the device.
    func firewallWarnings(_ spec: FirewallSpec, scenario: Scenario) -> [ScenarioWarning] {
        var warnings: [ScenarioWarning] = []
        for warning in RuleLint.warnings(for: spec.configuration) {
            let location = spec.ruleLocations[warning.chain].flatMap { $0.indices.contains(warning.ruleIndex) ? $0[warning.ruleIndex] : nil }
            warnings.append(ScenarioWarning(location ?? spec.location, warning.message))
        }
        let configuration = spec.configuration
        let chains = (configuration.inspector as? any RuleBasedInspector)?.rules ?? [:]
        let usesInner = chains.values.contains { $0.rules.contains { $0.match.usesInnerFields } }
        if configuration.vxlanAware, usesInner, !configuration.vxlanPorts.contains(scenario.overlay.destinationPort) {
            warnings.append(ScenarioWarning(spec.location,
                "\(configuration.title) reads VXLAN only on UDP \(configuration.vxlanPorts.map(String.init).joined(separator: ", ")), but the overlay uses \(scenario.overlay.destinationPort): its inner rules never match the overlay's packets"))
        }
        return warnings
    }
}

/// Where a kind of device sits.
enum FirewallSeat: Sendable {
    /// On a node: the host firewall.
    case node
    /// On a node's underlay interface: the security group.
    case interface
    /// On a link: the middleboxes.
    case link
}

/// One kind the `firewalls:` section knows: its name, where it sits, whether its rules may match `state`,
/// and the function that reads its options.
struct FirewallKindReader: Sendable {
    let kind: FirewallKind
    let seat: FirewallSeat
    let matchesConnectionState: Bool
    let read: @Sendable (Context) -> (inout FirewallEntry) throws(ScenarioError) -> any PacketInspector

    init(kind: FirewallKind, seat: FirewallSeat, matchesConnectionState: Bool = false,
         read: @escaping @Sendable (Context) -> (inout FirewallEntry) throws(ScenarioError) -> any PacketInspector) {
        self.kind = kind
        self.seat = seat
        self.matchesConnectionState = matchesConnectionState
        self.read = read
    }
}

/// What a kind's reading function works with: the entry's fields and the scenario, and what it may
/// change: where its rules were written and (a NAT's `inside`) which way round its link is.
struct FirewallEntry {
    let fields: Context.Fields
    let name: String
    let scenario: Scenario
    let reader: FirewallKindReader
    var placements: [FirewallPlacement]
    var ruleLocations: [Chain: [SourceLocation]] = [:]
}
