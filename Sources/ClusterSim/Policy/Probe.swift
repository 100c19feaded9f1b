import Kubernetes
import PacketWire

/// `overlay-sim probe`: one connection attempt for every ordered pair of pods, port and protocol, simulated
/// through the whole cluster (the pod's stack, kube-proxy, every filter at the nodes' hooks, the overlay, the
/// underlay), as the Kubernetes e2e NetworkPolicy tests probe with agnhost (test/e2e/network/netpol
/// `probe.go`: every pod of the model to every other, on each port and protocol the step asks).
///
/// An attempt is a TCP connection (SYN, handshake, FIN; connected when it completes), one UDP datagram or one
/// SCTP INIT (connected when the destination pod's stack receives it). The destination pods listen on every
/// probed port, as the e2e servers do. All attempts run in one simulation, started together once every pod
/// is ready.
public enum Probe {
    /// One port and protocol to try.
    public struct Target: Hashable, Sendable {
        public var port: UInt16
        public var `protocol`: TransportProtocol

        public init(port: UInt16, protocol: TransportProtocol) {
            self.port = port
            self.protocol = `protocol`
        }
    }

    /// Why an attempt did not connect.
    public struct Reason: Hashable, Sendable {
        /// The drop's code (``DropCode``); nil when nothing was dropped (the attempt got no answer).
        public var code: DropCode?
        public var place: String
        /// For a policy drop, the policies that select the pod in the denying direction.
        public var policy: String?
        /// For a policy drop, how each of their rules missed.
        public var rule: String?
        public var sentence: String
    }

    /// One attempt.
    public struct Result: Hashable, Sendable {
        public var from: String
        public var to: String
        public var port: UInt16
        public var `protocol`: TransportProtocol
        public var connected: Bool
        /// Nil when connected.
        public var reason: Reason?
    }

    /// The pods a probe runs between, in the order the table lists them (names sorted, as the e2e model
    /// lists namespaces and pods).
    public static func pods(of scenario: Scenario) throws(ScenarioError) -> [String] {
        var checked = scenario
        try ScenarioValidator.validate(&checked)
        return ScenarioValidator.podNamesAtStart(scenario).sorted()
    }

    /// Simulates every attempt.
    /// - Parameters:
    ///   - scenario: the cluster; its own traffic and events are left out.
    ///   - targets: the ports and protocols, each tried for every pair.
    ///   - includeSelf: also a pod to itself (upstream's tests leave it out: `ignoreLoopback`).
    /// - Returns: the results in table order: by source, destination, then target.
    /// - Throws: ``ScenarioError`` when the scenario cannot be simulated.
    public static func run(_ scenario: Scenario, targets: [Target], includeSelf: Bool = false) throws(ScenarioError) -> [Result] {
        let names = try pods(of: scenario)
        var probing = scenario
        probing.events = []
        probing.traffic = []
        probing.captures = CaptureSettings(underlay: false, vtep: false, pods: false, drops: false)
        // The destinations listen on the probed ports, as agnhost's servers do; a pod that declares its ports
        // gets the probed ones added.
        for index in probing.workloads.indices where !probing.workloads[index].ports.isEmpty {
            for target in targets {
                let proto: ServiceProtocol? = switch target.protocol { case .tcp: .tcp; case .udp: .udp; case .sctp: nil }
                guard let proto, !probing.workloads[index].ports.contains(where: { $0.port == target.port && $0.protocol == proto }) else { continue }
                probing.workloads[index].ports.append(ContainerPort(port: target.port, protocol: proto))
            }
        }
        // Every pod is ready by then (StatefulSets start their pods one after another).
        let start = Nanoseconds(max(1, probing.workloads.filter { $0.kind == .statefulSet }.map(\.replicas).max() ?? 0))
            * Cluster.orderedStartInterval + 1_000_000
        var cells: [(from: String, to: String, target: Target)] = []
        for from in names {
            for to in names where includeSelf || from != to {
                for target in targets {
                    let proto: TrafficProtocol = switch target.protocol { case .tcp: .tcp; case .udp: .udp; case .sctp: .sctp }
                    probing.traffic.append(TrafficSpec(
                        name: "probe \(from) → \(to) \(target.protocol) \(target.port)", from: .pod(from), to: .pod(to),
                        protocol: proto, size: proto == .tcp ? 0 : 16, count: 1, rate: 1, start: start, port: target.port,
                        dontFragment: true, location: SourceLocation(file: scenario.file, line: 1, column: 1)))
                    cells.append((from, to, target))
                }
            }
        }
        let simulation = try Simulation(scenario: probing)
        _ = try? simulation.run(captureDirectory: nil)
        let network = simulation.network
        let flows = network.observers.accounting.flows
        var results: [Result] = []
        results.reserveCapacity(cells.count)
        for (index, cell) in cells.enumerated() {
            let statistics = flows[index]
            let connected = cell.target.protocol == .tcp ? statistics.connectionsCompleted > 0 : statistics.packetsDelivered > 0
            var reason: Reason?
            if !connected {
                if let denial = network.policy?.denials[FlowID(index)] {
                    reason = Reason(code: .policyDenied, place: denial.place, policy: denial.policies.joined(separator: ", "),
                                    rule: denial.rules.isEmpty ? nil : denial.rules.joined(separator: "; "), sentence: denial.sentence)
                } else if let drop = statistics.drops.sorted(by: { ($1.value.count, $0.key.place) < ($0.value.count, $1.key.place) }).first {
                    reason = Reason(code: drop.key.reason.code, place: drop.key.place, policy: nil, rule: nil, sentence: drop.key.reason.sentence)
                } else {
                    reason = Reason(code: nil, place: cell.from, policy: nil, rule: nil,
                                    sentence: cell.target.protocol == .tcp ? "no answer to the SYN (connection not completed)" : "not received")
                }
            }
            results.append(Result(from: cell.from, to: cell.to, port: cell.target.port, protocol: cell.target.protocol,
                                  connected: connected, reason: reason))
        }
        return results
    }

    /// The e2e tests' truth table of one port and protocol: rows sources, columns destinations.
    public static func table(_ results: [Result], pods: [String], target: Target) -> TruthTable {
        var table = TruthTable(items: pods)
        for result in results where result.port == target.port && result.protocol == target.protocol {
            table[result.from, result.to] = result.connected
        }
        return table
    }
}
