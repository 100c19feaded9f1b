import ArgumentParser
import ClusterSim
import Foundation
import Testbed

/// `overlay-sim testbed SCENARIO --out DIR`: the scenario on this machine's kernel.
struct TestbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "testbed",
        abstract: "Build the scenario on this kernel in network namespaces, run its traffic, capture, write report.json (root).",
        discussion: """
        A namespace per node, pod, router and middlebox; Flannel's cni0 and flannel.1 (a kernel vxlan device) with \
        its routes, neighbour and FDB entries; links as veth pairs with netem; firewalls as nftables rulesets. The \
        traffic runs with real sockets, bounded by --time-limit; captures are taken with libpcap at the simulator's \
        capture points. Every namespace is removed at the end, on error and on SIGINT/SIGTERM.
        """
    )

    @Argument(help: "A scenario file, or a name from `overlay-sim scenarios`.")
    var scenario: String

    @Option(help: "Folder for the captures, report.json and testbed.json.")
    var out: String

    @Option(help: "Where the VTEP sits: routed (Flannel) or bridged (a port of cni0).")
    var vtep: String = "routed"

    @Option(name: .customLong("sysctl"), help: ArgumentHelp("A sysctl set in every namespace (repeatable).", valueName: "NAME=VALUE"))
    var sysctls: [String] = []

    @Option(help: "Seconds the traffic may take in all.")
    var timeLimit: Double = 10

    @Option(name: .customLong("closed"), help: ArgumentHelp("A traffic entry whose destination does not listen (repeatable).", valueName: "FLOW"))
    var closedFlows: [String] = []

    func validate() throws {
        guard VTEPLayout(rawValue: vtep) != nil else { throw ValidationError("--vtep \(vtep): expected routed or bridged") }
        for sysctl in sysctls where !sysctl.contains("=") { throw ValidationError("--sysctl \(sysctl): expected NAME=VALUE") }
        guard timeLimit > 0, timeLimit <= 600 else { throw ValidationError("--time-limit \(timeLimit): expected 0 to 600 seconds") }
    }

    func run() throws {
        if let reason = TestbedRunner.unavailableReason() { throw RunFailure(reason) }
        let loaded = try ScenarioLoader.load(scenario)
        for flow in closedFlows where !loaded.traffic.contains(where: { $0.name == flow }) {
            throw ValidationError("--closed \(flow): the scenario has no flow of that name")
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw RunFailure("\(out): cannot create the output folder (\(error.localizedDescription))")
        }
        var options = TestbedOptions(prefix: "osb\(String(getpid(), radix: 36))")
        options.layout = VTEPLayout(rawValue: vtep) ?? .routed
        options.sysctls = sysctls.map { text in
            let parts = text.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        options.timeLimit = timeLimit
        options.closedFlows = Set(closedFlows)
        // Pods, addresses and MACs as ClusterSim assigns them: its control plane, run without captures.
        let pods = try Simulation(scenario: loaded).run(captureDirectory: nil).pods
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let runner = TestbedRunner(scenario: loaded, pods: pods, options: options, agentExecutable: executable)
        runner.log = { FileHandle.standardError.write(Data("testbed: \($0)\n".utf8)) }
        let report: Report
        do {
            report = try runner.run(outputDirectory: out)
        } catch {
            throw RunFailure("overlay-sim testbed: \(error.reason)")
        }
        print(report.table())
        print("\ncaptures, report.json and testbed.json in \(out)/")
    }
}

/// The agent `testbed` runs inside each pod's namespace; not for people.
struct TestbedAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "testbed-agent", shouldDisplay: false)

    @Argument(parsing: .allUnrecognized)
    var words: [String] = []

    func run() throws {
        let status = TestbedAgent.main(words)
        if status != 0 { throw ExitCode(status) }
    }
}
