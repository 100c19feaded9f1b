/// A NetworkPolicy decision with its reasons, direction by direction, in the manner of np-guard's
/// netpol-analyzer `explain`: what admitted the connection, or for a drop, every policy that isolates the pod
/// and why none of its rules admits it. Sentences are made only when asked for.
public struct PolicyDecision: Sendable, CustomStringConvertible {
    /// The connection, named: `x/a`, `y/b` or an address.
    public struct Connection: Hashable, Sendable {
        public var source: String
        public var destination: String
        public var `protocol`: TransportProtocol
        public var port: UInt16
    }

    public var connection: Connection
    /// Egress from the source.
    public var egress: DirectionVerdict
    /// Ingress to the destination.
    public var ingress: DirectionVerdict

    /// Both directions admit the connection.
    public var allowed: Bool { egress.admits && ingress.admits }

    /// The direction that dropped it (egress is checked first, on the source's node); nil when allowed.
    public var deniedDirection: NetworkPolicy.PolicyType? {
        if !egress.admits { return .egress }
        if !ingress.admits { return .ingress }
        return nil
    }

    /// The policies that decided: for a drop, those isolating the pod in the denying direction; for an
    /// allowed connection, those whose rules admitted it.
    public var decidingPolicies: [String] {
        if let direction = deniedDirection {
            let verdict = direction == .egress ? egress : ingress
            if case .denied(let refusals) = verdict.outcome { return refusals.map(\.policy.qualifiedName) }
            return []
        }
        return [egress, ingress].compactMap {
            if case .admitted(let reference) = $0.outcome { return reference.policy.qualifiedName }
            return nil
        }
    }

    /// "x/b → x/a TCP 80 dropped: x/a is selected by x/deny-all (Ingress), which allows no ingress".
    public var description: String {
        let head = "\(connection.source) → \(connection.destination) \(connection.protocol) \(connection.port)"
        if let direction = deniedDirection {
            return "\(head) dropped: " + (direction == .egress ? egress : ingress).sentence
        }
        return "\(head) allowed: " + egress.sentence + "; " + ingress.sentence
    }
}

/// What one direction's policies said.
public struct DirectionVerdict: Sendable, CustomStringConvertible {
    public enum Outcome: Sendable {
        /// The subject is not a pod (an address outside the cluster's pods): NetworkPolicy does not apply.
        case notAPod
        /// The subject is a host-network pod: policies do not select it.
        case hostNetwork
        /// No policy isolates the pod in this direction: everything is admitted.
        case notIsolated
        /// A rule admitted the connection.
        case admitted(RuleReference)
        /// Policies isolate the pod and none of their rules admits the connection.
        case denied([PolicyRefusal])
    }

    public var direction: NetworkPolicy.PolicyType
    /// The pod the direction is about: the destination for ingress, the source for egress.
    public var subject: String
    /// The other end.
    public var peer: String
    public var `protocol`: TransportProtocol
    public var port: UInt16
    public var outcome: Outcome

    public var admits: Bool {
        if case .denied = outcome { return false }
        return true
    }

    /// The sentence for this direction.
    public var sentence: String {
        let way = direction == .ingress ? "ingress to" : "egress from"
        switch outcome {
        case .notAPod:
            return "\(way) \(subject) is not subject to NetworkPolicy (not a pod)"
        case .hostNetwork:
            return "\(way) \(subject) is not subject to NetworkPolicy (host network)"
        case .notIsolated:
            return "no policy selects \(subject) for \(direction), so \(way) it is not restricted"
        case .admitted(let reference):
            let rule = reference.rule
            return "\(way) \(subject) is allowed by \(reference.policy.qualifiedName) \(direction.lowercasedName) rule \(reference.ruleNumber)"
                + " (\(RuleWords.peers(rule, of: reference.policy, direction: direction)) on \(RuleWords.ports(rule)))"
        case .denied(let refusals):
            return refusals.map { refusal in
                let policy = refusal.policy.qualifiedName
                guard !refusal.misses.isEmpty else {
                    return "\(subject) is selected by \(policy) (\(direction)), which allows no \(direction.lowercasedName)"
                }
                let reasons = refusal.misses.map { miss in
                    RuleWords.miss(miss, of: refusal.policy, direction: direction, peer: peer, protocol: `protocol`, port: port)
                }
                return "\(subject) is selected by \(policy) (\(direction)); none of its \(direction.lowercasedName) rules allows"
                    + " \(peer) on \(`protocol`) \(port): " + reasons.joined(separator: "; ")
            }.joined(separator: "; and ")
        }
    }

    public var description: String { sentence }
}

/// A rule of a policy.
public struct RuleReference: Sendable {
    public var policy: NetworkPolicy
    public var direction: NetworkPolicy.PolicyType
    /// 1-based, as netpol-analyzer and `kubectl describe networkpolicy` count.
    public var ruleNumber: Int

    public var rule: NetworkPolicyRule { policy.rules(direction)[ruleNumber - 1] }
}

/// A policy that isolates the pod, and how each of its rules missed.
public struct PolicyRefusal: Sendable {
    public var policy: NetworkPolicy
    /// One per rule, in order; empty when the policy has no rules for the direction.
    public var misses: [RuleMiss]
}

/// How a rule missed: the peer, the port, or both.
public struct RuleMiss: Sendable {
    /// 1-based.
    public var ruleNumber: Int
    public var peerMatches: Bool
    public var portMatches: Bool
}

extension NetworkPolicy.PolicyType {
    var lowercasedName: String { self == .ingress ? "ingress" : "egress" }
}

/// The words for rules, peers and ports.
enum RuleWords {
    /// "pods pod=b in x", "every pod in namespace y", "10.0.0.0/8 except 10.1.0.0/16", joined with "or".
    static func peers(_ rule: NetworkPolicyRule, of policy: NetworkPolicy, direction: NetworkPolicy.PolicyType) -> String {
        if rule.peers.isEmpty { return direction == .ingress ? "from anywhere" : "to anywhere" }
        let words = rule.peers.map { peer -> String in
            switch peer {
            case .ipBlock(let block):
                return block.description
            case let .pods(podSelector, namespaceSelector):
                let pods = podSelector.map { $0.selectsEverything ? "every pod" : "pods \($0)" } ?? "every pod"
                guard let namespaceSelector else { return "\(pods) in \(policy.namespace)" }
                return "\(pods) in " + namespaces(namespaceSelector)
            }
        }
        return (direction == .ingress ? "from " : "to ") + words.joined(separator: " or ")
    }

    static func namespaces(_ selector: LabelSelector) -> String {
        if selector.selectsEverything { return "every namespace" }
        if selector.matchExpressions.isEmpty, selector.matchLabels.count == 1,
           let name = selector.matchLabels[NamespaceManifest.nameLabel] {
            return "namespace \(name)"
        }
        return "namespaces \(selector)"
    }

    /// "any port", "TCP 80", "TCP 80, UDP 53".
    static func ports(_ rule: NetworkPolicyRule) -> String {
        rule.ports.isEmpty ? "any port" : rule.ports.map(\.description).joined(separator: ", ")
    }

    static func miss(_ miss: RuleMiss, of policy: NetworkPolicy, direction: NetworkPolicy.PolicyType, peer: String,
                     protocol: TransportProtocol, port: UInt16) -> String {
        let rule = policy.rules(direction)[miss.ruleNumber - 1]
        let peers = Self.peers(rule, of: policy, direction: direction)
        switch (miss.peerMatches, miss.portMatches) {
        case (false, true): return "rule \(miss.ruleNumber) allows \(peers), not \(peer)"
        case (true, false): return "rule \(miss.ruleNumber) allows \(peer) only on \(ports(rule))"
        default: return "rule \(miss.ruleNumber) allows \(peers) on \(ports(rule))"
        }
    }
}

// MARK: - Recording the walk

/// What ``PolicyEngine``'s walk tells whoever listens. The fast path listens to nothing, and the generic walk
/// specialised for it records nothing and allocates nothing.
protocol PolicyWalkRecorder {
    /// Whether the walk must evaluate peer and port separately to report which missed.
    static var recordsMisses: Bool { get }
    mutating func notAPod()
    mutating func hostNetwork()
    mutating func notIsolated()
    mutating func isolated(by policy: Int)
    mutating func admitted(by policy: Int, rule: Int)
    mutating func missed(policy: Int, rule: Int, peerMatches: Bool, portMatches: Bool)
}

struct SilentRecorder: PolicyWalkRecorder {
    static var recordsMisses: Bool { false }
    @inline(__always) mutating func notAPod() {}
    @inline(__always) mutating func hostNetwork() {}
    @inline(__always) mutating func notIsolated() {}
    @inline(__always) mutating func isolated(by policy: Int) {}
    @inline(__always) mutating func admitted(by policy: Int, rule: Int) {}
    @inline(__always) mutating func missed(policy: Int, rule: Int, peerMatches: Bool, portMatches: Bool) {}
}

/// Builds a ``DirectionVerdict`` from the walk.
struct VerdictRecorder: PolicyWalkRecorder {
    static var recordsMisses: Bool { true }
    let engine: PolicyEngine
    var verdict: DirectionVerdict
    private var refusals: [PolicyRefusal] = []

    init(engine: PolicyEngine, direction: NetworkPolicy.PolicyType, connection: PolicyConnection) {
        self.engine = engine
        let subject = direction == .ingress ? connection.destination : connection.source
        let peer = direction == .ingress ? connection.source : connection.destination
        verdict = DirectionVerdict(direction: direction, subject: engine.name(subject), peer: engine.name(peer),
                                   protocol: connection.protocol, port: connection.port, outcome: .denied([]))
    }

    mutating func notAPod() { verdict.outcome = .notAPod }
    mutating func hostNetwork() { verdict.outcome = .hostNetwork }
    mutating func notIsolated() { verdict.outcome = .notIsolated }

    mutating func isolated(by policy: Int) {
        refusals.append(PolicyRefusal(policy: engine.policies[policy], misses: []))
        verdict.outcome = .denied(refusals)
    }

    mutating func admitted(by policy: Int, rule: Int) {
        verdict.outcome = .admitted(RuleReference(policy: engine.policies[policy], direction: verdict.direction,
                                                  ruleNumber: rule + 1))
    }

    mutating func missed(policy: Int, rule: Int, peerMatches: Bool, portMatches: Bool) {
        guard !refusals.isEmpty else { return }
        refusals[refusals.count - 1].misses.append(RuleMiss(ruleNumber: rule + 1, peerMatches: peerMatches,
                                                            portMatches: portMatches))
        verdict.outcome = .denied(refusals)
    }
}
