import ArgumentParser
import ClusterSim
import Foundation
import Kubernetes

/// `overlay-sim probe`: the Kubernetes e2e NetworkPolicy tests' reachability matrix, each cell one connection
/// attempt simulated through the cluster.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Try every pod against every other pod through the simulated cluster and print the truth table.",
        discussion: """
            For every ordered pair of distinct pods and every port and protocol asked (default TCP 80), one connection \\
            attempt (a TCP SYN and handshake, a UDP datagram or an SCTP INIT) goes through the pods' stacks, kube-proxy, \\
            the CNI's NetworkPolicy and host rules, the overlay and the underlay; destination pods listen on the probed \\
            ports. Rows are sources, columns destinations: '.' connected, 'X' blocked, as the e2e tests print it.
            """
    )

    @Argument(help: ArgumentHelp("Kubernetes manifests (files, folders) or a scenario file.", valueName: "FILES"))
    var inputs: [String] = []

    @Option(name: .customLong("port"), help: "A port to probe (repeat for more; default 80).")
    var ports: [UInt16] = []

    @Option(name: .customLong("protocol"), help: "tcp, udp or sctp (repeat for more; default tcp).")
    var protocols: [String] = []

    @Option(help: "The CNI to simulate (flannel, calico-vxlan, cilium-vxlan), overriding what the input says.")
    var cni: CNIMode?

    @Flag(help: "One JSON object per attempt instead of the table.")
    var json = false

    @Flag(help: "Also probe each pod to itself (the e2e tests leave loopback out).")
    var includeSelf = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("probe needs manifests or a scenario file") }
        for name in protocols where TransportProtocol(rawValue: name.uppercased()) == nil {
            throw ValidationError("--protocol \(name): must be tcp, udp or sctp")
        }
    }

    func run() throws {
        let input = try ScenarioInput.load(inputs, cni: cni)
        if let manifests = input.manifests {
            for line in ScenarioInput.describe(manifests) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        for warning in input.scenario.warnings { FileHandle.standardError.write(Data((warning.description + "\n").utf8)) }
        let chosenProtocols = protocols.isEmpty ? [TransportProtocol.tcp]
            : protocols.compactMap { TransportProtocol(rawValue: $0.uppercased()) }
        let chosenPorts = ports.isEmpty ? [UInt16(80)] : ports
        let targets = chosenPorts.flatMap { port in chosenProtocols.map { Probe.Target(port: port, protocol: $0) } }
        let pods = try Probe.pods(of: input.scenario)
        let results = try Probe.run(input.scenario, targets: targets, includeSelf: includeSelf)
        if json {
            for result in results { print(Self.json(result)) }
            return
        }
        for target in targets {
            print("\(target.protocol) \(target.port):")
            print(Probe.table(results, pods: pods, target: target).description)
            let blocked = results.filter { !$0.connected && $0.port == target.port && $0.protocol == target.protocol }
            if !blocked.isEmpty {
                print("")
                for result in blocked {
                    guard let reason = result.reason else { continue }
                    print("\(result.from) → \(result.to) blocked [\(reason.code?.rawValue ?? "noAnswer")] at \(reason.place): \(reason.sentence)")
                }
            }
            print("")
        }
        let connected = results.filter(\.connected).count
        print("\(results.count) attempts: \(connected) connected, \(results.count - connected) blocked")
    }

    /// `{"from":"x/a","to":"y/b","port":80,"protocol":"TCP","connected":false,"reason":{...}}`.
    static func json(_ result: Probe.Result) -> String {
        var fields = ["\"from\":\(quote(result.from))", "\"to\":\(quote(result.to))", "\"port\":\(result.port)",
                      "\"protocol\":\(quote(result.protocol.rawValue))", "\"connected\":\(result.connected)"]
        if let reason = result.reason {
            let parts = ["\"code\":" + (reason.code.map { quote($0.rawValue) } ?? "null"),
                         "\"place\":\(quote(reason.place))",
                         "\"policy\":" + (reason.policy.map(quote) ?? "null"),
                         "\"rule\":" + (reason.rule.map(quote) ?? "null"),
                         "\"sentence\":\(quote(reason.sentence))"]
            fields.append("\"reason\":{" + parts.joined(separator: ",") + "}")
        } else {
            fields.append("\"reason\":null")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
