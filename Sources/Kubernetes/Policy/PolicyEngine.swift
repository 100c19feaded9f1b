import PacketWire

/// NetworkPolicy compiled for per-packet decisions.
///
/// Built once from a ``PolicyCluster`` (rebuild it when pods, labels or policies change): every policy's
/// pod selector is resolved to the pods it selects, and every rule's pod and namespace selectors to a set of
/// pods (a bit per pod), using an index of pods by label. Deciding a connection then costs, per direction, a
/// walk over the policies that select the pod and a bit test per rule, with no allocation.
///
/// Semantics (the Kubernetes NetworkPolicy documentation and API reference, networking.k8s.io/v1):
/// - a pod is isolated for ingress (egress) when some policy whose `policyTypes` contain Ingress (Egress)
///   selects it; a pod no such policy selects admits (sends) everything in that direction;
/// - an isolated pod admits a connection when any rule of any policy that isolates it matches both the peer
///   and the port: the policies are a union, and their order does not matter;
/// - a connection is allowed when egress from its source and ingress to its destination both admit it;
///   replies of an allowed connection are conntrack's business, not this engine's;
/// - named ports resolve against the destination pod's container ports (for egress, the remote pod);
/// - `ipBlock` matches addresses, pods' included;
/// - host-network pods are neither selected nor matched by pod selectors (their traffic is the node's).
/// Traffic from a pod to itself is decided like any other; the upstream e2e tests leave it undefined.
public struct PolicyEngine: Sendable {
    /// The pods, in the order given; ``PodIndex`` values index this.
    public let pods: [PolicyPod]
    /// The policies, in the order given.
    public let policies: [NetworkPolicy]

    let hostNetwork: [Bool]
    let primaryAddress: [IPAddress?]
    let addressIndex: [IPAddress: PodIndex]
    let nameIndex: [String: PodIndex]
    /// Per pod, its named container ports as (name id, protocol, number): `namedPortStart[i]..<namedPortStart[i+1]`.
    let namedPortStart: [Int32]
    let namedPorts: [NamedPort]
    /// Per pod, the policies isolating it for ingress / egress: `...Start[i]..<...Start[i+1]` in `...List`.
    let ingressStart: [Int32]
    let ingressList: [Int32]
    let egressStart: [Int32]
    let egressList: [Int32]
    /// Per policy, its rules in `rules`.
    let ingressRules: [Range<Int32>]
    let egressRules: [Range<Int32>]
    let rules: [CompiledRule]

    struct NamedPort: Sendable {
        let name: Int32
        let `protocol`: TransportProtocol
        let number: UInt16
    }

    struct CompiledRule: Sendable {
        /// `from`/`to` empty: every peer.
        let everyPeer: Bool
        /// The pods the rule's pod and namespace selector peers select.
        let peerPods: PodSet
        let ipBlocks: [IPBlock]
        /// `ports` empty: every port.
        let everyPort: Bool
        let ports: [CompiledPort]
    }

    struct CompiledPort: Sendable {
        enum Match: Sendable {
            case every
            case range(UInt16, UInt16)
            /// A container port name, interned; -1 when no pod has a port of that name.
            case named(Int32)
        }
        let `protocol`: TransportProtocol
        let match: Match
    }

    /// Compiles `cluster`.
    public init(_ cluster: PolicyCluster) {
        pods = cluster.pods
        policies = cluster.policies
        let count = pods.count
        hostNetwork = pods.map(\.hostNetwork)
        primaryAddress = pods.map(\.addresses.first)

        var addressIndex: [IPAddress: PodIndex] = [:]
        var nameIndex: [String: PodIndex] = [:]
        var portNames: [String: Int32] = [:]
        var namedPortStart: [Int32] = [0]
        var namedPorts: [NamedPort] = []
        var podsByNamespace: [String: [Int]] = [:]
        // "key=value" → pods carrying that label, ascending: the candidates of a selector with matchLabels.
        var labelIndex: [String: [Int]] = [:]
        for (offset, pod) in pods.enumerated() {
            let index = PodIndex(rawValue: Int32(offset))
            nameIndex[pod.description] = index
            if !pod.hostNetwork {
                for address in pod.addresses where addressIndex[address] == nil { addressIndex[address] = index }
                podsByNamespace[pod.namespace, default: []].append(offset)
                for (key, value) in pod.labels { labelIndex["\(key)=\(value)", default: []].append(offset) }
            }
            for port in pod.ports {
                guard let name = port.name else { continue }
                let id = portNames[name] ?? Int32(portNames.count)
                portNames[name] = id
                namedPorts.append(NamedPort(name: id, protocol: port.protocol, number: port.number))
            }
            namedPortStart.append(Int32(namedPorts.count))
        }
        self.addressIndex = addressIndex
        self.nameIndex = nameIndex
        self.namedPortStart = namedPortStart
        self.namedPorts = namedPorts

        /// The non-host-network pods of `namespaces` (nil: all namespaces) that `selector` selects.
        func select(_ selector: LabelSelector, in namespaces: [String]?) -> [Int] {
            let allowed = namespaces.map(Set.init)
            var candidates: [Int]
            if let (key, value) = selector.matchLabels.min(by: {
                (labelIndex["\($0.key)=\($0.value)"]?.count ?? 0) < (labelIndex["\($1.key)=\($1.value)"]?.count ?? 0)
            }) {
                candidates = labelIndex["\(key)=\(value)"] ?? []
                if let allowed { candidates = candidates.filter { allowed.contains(cluster.pods[$0].namespace) } }
            } else if let namespaces {
                candidates = namespaces.flatMap { podsByNamespace[$0] ?? [] }
            } else {
                candidates = podsByNamespace.values.flatMap { $0 }
            }
            return candidates.filter { selector.matches(cluster.pods[$0].labels) }
        }
        let namespaceNames = cluster.namespaces.keys.sorted()
        func namespaces(_ selector: LabelSelector) -> [String] {
            namespaceNames.filter { selector.matches(cluster.namespaces[$0] ?? [:]) }
        }

        var ingressByPod = [[Int32]](repeating: [], count: count)
        var egressByPod = [[Int32]](repeating: [], count: count)
        var ingressRules: [Range<Int32>] = []
        var egressRules: [Range<Int32>] = []
        var rules: [CompiledRule] = []
        func compile(_ rule: NetworkPolicyRule, of policy: NetworkPolicy) -> CompiledRule {
            var peerPods = PodSet()
            var blocks: [IPBlock] = []
            for peer in rule.peers {
                switch peer {
                case .ipBlock(let block):
                    blocks.append(block)
                case let .pods(podSelector, namespaceSelector):
                    let scope = namespaceSelector.map(namespaces) ?? [policy.namespace]
                    for pod in select(podSelector ?? .everything, in: scope) { peerPods.insert(pod) }
                }
            }
            let ports = rule.ports.map { port -> CompiledPort in
                switch (port.port, port.endPort) {
                case (nil, _): return CompiledPort(protocol: port.protocol, match: .every)
                case (.number(let start)?, let end): return CompiledPort(protocol: port.protocol, match: .range(start, end ?? start))
                case (.name(let name)?, _): return CompiledPort(protocol: port.protocol, match: .named(portNames[name] ?? -1))
                }
            }
            return CompiledRule(everyPeer: rule.peers.isEmpty, peerPods: peerPods, ipBlocks: blocks,
                                everyPort: rule.ports.isEmpty, ports: ports)
        }
        for (policyOffset, policy) in policies.enumerated() {
            let selected = select(policy.podSelector, in: [policy.namespace])
            if policy.isolates(.ingress) { for pod in selected { ingressByPod[pod].append(Int32(policyOffset)) } }
            if policy.isolates(.egress) { for pod in selected { egressByPod[pod].append(Int32(policyOffset)) } }
            let ingressFirst = Int32(rules.count)
            rules += policy.ingress.map { compile($0, of: policy) }
            ingressRules.append(ingressFirst..<Int32(rules.count))
            let egressFirst = Int32(rules.count)
            rules += policy.egress.map { compile($0, of: policy) }
            egressRules.append(egressFirst..<Int32(rules.count))
        }
        func flatten(_ lists: [[Int32]]) -> (start: [Int32], list: [Int32]) {
            var start: [Int32] = [0]
            var list: [Int32] = []
            for entries in lists {
                list += entries
                start.append(Int32(list.count))
            }
            return (start, list)
        }
        (ingressStart, ingressList) = flatten(ingressByPod)
        (egressStart, egressList) = flatten(egressByPod)
        self.ingressRules = ingressRules
        self.egressRules = egressRules
        self.rules = rules
    }

    // MARK: - Finding pods

    /// The pod with `address` (host-network pods excluded: their address is the node's).
    public func pod(at address: IPAddress) -> PodIndex? { addressIndex[address] }

    /// The pod `namespace/name`.
    public func pod(namespace: String, name: String) -> PodIndex? { nameIndex["\(namespace)/\(name)"] }

    /// The endpoint a packet's address is: the pod that has it, or an address outside the pods.
    public func endpoint(for address: IPAddress) -> PolicyEndpoint {
        PolicyEndpoint(pod: addressIndex[address], address: address)
    }

    public subscript(index: PodIndex) -> PolicyPod { pods[index.offset] }

    // MARK: - Deciding

    /// Whether the policies allow `connection`: egress from its source and ingress to its destination.
    /// Allocates nothing; for the reason, ask ``decide(_:)``.
    public func allows(_ connection: PolicyConnection) -> Bool {
        var silent = SilentRecorder()
        return walk(.egress, connection, recorder: &silent) && walk(.ingress, connection, recorder: &silent)
    }

    /// Whether the policies of one direction admit `connection` (egress: from its source; ingress: to its
    /// destination). Allocates nothing.
    public func admits(_ connection: PolicyConnection, _ direction: NetworkPolicy.PolicyType) -> Bool {
        var silent = SilentRecorder()
        return walk(direction, connection, recorder: &silent)
    }

    /// The decision with its reasons: which policy and rule admitted each direction, or which policies isolate
    /// the pod and why none of their rules admits the connection.
    public func decide(_ connection: PolicyConnection) -> PolicyDecision {
        var egress = VerdictRecorder(engine: self, direction: .egress, connection: connection)
        _ = walk(.egress, connection, recorder: &egress)
        var ingress = VerdictRecorder(engine: self, direction: .ingress, connection: connection)
        _ = walk(.ingress, connection, recorder: &ingress)
        return PolicyDecision(connection: describe(connection), egress: egress.verdict, ingress: ingress.verdict)
    }

    /// The one walk both ``allows(_:)`` and ``decide(_:)`` take, so the explanation is what decided.
    func walk<Recorder: PolicyWalkRecorder>(_ direction: NetworkPolicy.PolicyType, _ connection: PolicyConnection,
                                            recorder: inout Recorder) -> Bool {
        let subject = direction == .ingress ? connection.destination : connection.source
        let peer = direction == .ingress ? connection.source : connection.destination
        guard let subjectPod = subject.pod?.offset, subjectPod < pods.count else {
            recorder.notAPod()
            return true
        }
        if hostNetwork[subjectPod] {
            recorder.hostNetwork()
            return true
        }
        let start = Int(direction == .ingress ? ingressStart[subjectPod] : egressStart[subjectPod])
        let end = Int(direction == .ingress ? ingressStart[subjectPod + 1] : egressStart[subjectPod + 1])
        if start == end {
            recorder.notIsolated()
            return true
        }
        var peerPod = peer.pod.map(\.offset)
        if let offset = peerPod, offset >= pods.count || hostNetwork[offset] { peerPod = nil }
        let peerAddress = peer.address ?? peerPod.flatMap { primaryAddress[$0] }
        let destinationPod = direction == .ingress ? subjectPod : peerPod
        for entry in start..<end {
            let policy = Int(direction == .ingress ? ingressList[entry] : egressList[entry])
            recorder.isolated(by: policy)
            let range = direction == .ingress ? ingressRules[policy] : egressRules[policy]
            for ruleOffset in range {
                let rule = rules[Int(ruleOffset)]
                let ruleNumber = Int(ruleOffset - range.lowerBound)
                if Recorder.recordsMisses {
                    let peerMatches = matchesPeer(rule, pod: peerPod, address: peerAddress)
                    let portMatches = matchesPort(rule, connection.protocol, connection.port, destinationPod: destinationPod)
                    if peerMatches && portMatches {
                        recorder.admitted(by: policy, rule: ruleNumber)
                        return true
                    }
                    recorder.missed(policy: policy, rule: ruleNumber, peerMatches: peerMatches, portMatches: portMatches)
                } else if matchesPeer(rule, pod: peerPod, address: peerAddress),
                          matchesPort(rule, connection.protocol, connection.port, destinationPod: destinationPod) {
                    return true
                }
            }
        }
        return false
    }

    @inline(__always)
    func matchesPeer(_ rule: CompiledRule, pod: Int?, address: IPAddress?) -> Bool {
        if rule.everyPeer { return true }
        if let pod, rule.peerPods.contains(pod) { return true }
        if let address {
            for block in rule.ipBlocks where block.contains(address) { return true }
        }
        return false
    }

    @inline(__always)
    func matchesPort(_ rule: CompiledRule, _ protocol: TransportProtocol, _ port: UInt16, destinationPod: Int?) -> Bool {
        if rule.everyPort { return true }
        for entry in rule.ports where entry.protocol == `protocol` {
            switch entry.match {
            case .every:
                return true
            case let .range(low, high):
                if low <= port && port <= high { return true }
            case .named(let name):
                guard name >= 0, let pod = destinationPod else { continue }
                for index in Int(namedPortStart[pod])..<Int(namedPortStart[pod + 1]) {
                    let named = namedPorts[index]
                    if named.name == name && named.protocol == `protocol` && named.number == port { return true }
                }
            }
        }
        return false
    }

    // MARK: - Names

    /// `x/a` for a pod, the address otherwise.
    func name(_ endpoint: PolicyEndpoint) -> String {
        if let pod = endpoint.pod, pod.offset < pods.count { return pods[pod.offset].description }
        return endpoint.address?.description ?? "an unknown address"
    }

    func describe(_ connection: PolicyConnection) -> PolicyDecision.Connection {
        PolicyDecision.Connection(source: name(connection.source), destination: name(connection.destination),
                                  protocol: connection.protocol, port: connection.port)
    }
}

/// A set of pods, a bit each.
struct PodSet: Sendable {
    private var words: [UInt64]

    /// Empty; storage grows to the highest member, so a rule without pod peers stores nothing.
    init() { words = [] }

    mutating func insert(_ member: Int) {
        let word = member >> 6
        if word >= words.count { words += [UInt64](repeating: 0, count: word + 1 - words.count) }
        words[word] |= 1 << UInt64(member & 63)
    }

    @inline(__always)
    func contains(_ member: Int) -> Bool {
        let word = member >> 6
        return word < words.count && words[word] & (1 << UInt64(member & 63)) != 0
    }
}
