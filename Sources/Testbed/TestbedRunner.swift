import ClusterSim
import Firewall
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a testbed run records beside report.json (`testbed.json`): when its traffic started, what it
/// built and could not build, and what every agent said.
public struct TestbedRecord: Codable, Sendable {
    /// Wall-clock nanoseconds since 1970 of the traffic's time 0 (the simulator's time 0).
    public var startNanoseconds: UInt64
    /// How long the traffic was given; nothing after it is compared.
    public var timeLimitNanoseconds: UInt64
    public var kernel: String
    public var layout: String
    public var sysctls: [String]
    public var closedFlows: [String]
    /// Settings of the scenario the testbed could not build, each a sentence.
    public var unsupported: [String]
    /// Per traffic entry, what each agent reported.
    public var agents: [String: [AgentResult]]
    /// Per namespace role (`node-a`, `link node-a↔router`), `nstat -az` counters that are not zero.
    public var kernelCounters: [String: [String: Int]]
    /// Frames the kernel dropped before libpcap read them, per capture file (should be 0).
    public var captureDrops: [String: Int]
}

/// Builds a scenario on this machine's kernel, runs its traffic with real sockets, captures at the
/// simulator's capture points and writes report.json and testbed.json; removes everything it made.
public final class TestbedRunner {
    public let scenario: Scenario
    public let options: TestbedOptions
    /// The `overlay-sim` binary, run in each pod namespace as `overlay-sim testbed-agent`.
    public let agentExecutable: String
    let simulatedPods: [Report.PodEntry]
    public var log: (String) -> Void = { _ in }

    /// - Parameters:
    ///   - scenario: the parsed scenario.
    ///   - pods: the pods as ClusterSim placed them (a simulated run's `Report.pods`).
    ///   - options: layout, sysctls, time limit, namespace prefix.
    ///   - agentExecutable: path of the binary that has the `testbed-agent` subcommand.
    public init(scenario: Scenario, pods: [Report.PodEntry], options: TestbedOptions, agentExecutable: String) {
        self.scenario = scenario
        self.simulatedPods = pods
        self.options = options
        self.agentExecutable = agentExecutable
    }

    /// Why the testbed cannot run here, or nil: it needs root and iproute2, nftables and tc.
    public static func unavailableReason() -> String? {
        if geteuid() != 0 { return "overlay-sim testbed needs root: it builds network namespaces, veth pairs and nftables rulesets (run it with sudo)" }
        for tool in ["ip", "bridge", "tc", "nft", "sysctl"] where !Shell.has(tool) {
            return "overlay-sim testbed needs `\(tool)` (Debian: apt-get install iproute2 nftables procps)"
        }
        let probe = "osb-probe-\(getpid())"
        guard (try? Shell.run(["ip", "netns", "add", probe]))?.status == 0 else {
            return "overlay-sim testbed cannot make a network namespace here (`ip netns add` failed)"
        }
        _ = try? Shell.run(["ip", "netns", "del", probe])
        return nil
    }

    /// Runs the scenario and writes `report.json`, `testbed.json` and the captures into `directory`.
    @discardableResult
    public func run(outputDirectory directory: String) throws(TestbedError) -> Report {
        if let reason = Self.unavailableReason() { throw TestbedError(.unavailable, reason) }
        let plan = try TestbedPlan(scenario: scenario, pods: simulatedPods, options: options)
        let cleanup = Cleanup.shared
        cleanup.installSignalHandlers()
        defer { cleanup.removeAll() }
        for namespace in plan.namespaces { cleanup.register(namespace: namespace) }
        var unsupported = plan.unsupported
        log("building \(plan.namespaces.count) namespaces (\(plan.steps.count) commands)")
        for step in plan.steps {
            if cleanup.interrupted { throw TestbedError(.interrupted, "interrupted") }
            let result = try Shell.run(step.arguments, input: step.input)
            if result.status != 0 {
                if step.optional {
                    if let note = step.unsupportedNote, !unsupported.contains(note) { unsupported.append(note) }
                    if step.arguments.contains("sysctl") { unsupported.append("`\(step.description)` failed: \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))") }
                    continue
                }
                throw TestbedError.command(step.arguments, status: result.status, errors: result.errors)
            }
        }
        for entry in plan.rulesets {
            try Shell.check(Shell.inNamespace(entry.namespace, ["nft", "-f", "-"]), input: entry.ruleset.text)
            for (name, value) in entry.ruleset.sysctls {
                try Shell.check(Shell.inNamespace(entry.namespace, ["sysctl", "-qw", "\(name)=\(value)"]))
            }
        }
        // Capture points: one libpcap handle per interface.
        var handles: [(point: CapturePoint, captures: [LiveCapture])] = []
        for point in plan.captures {
            var captures: [LiveCapture] = []
            for interface in point.interfaces {
                let capture = LiveCapture(namespace: point.namespace, interface: interface)
                try capture.start()
                captures.append(capture)
            }
            handles.append((point, captures))
        }
        let counterNamespaces = plan.places.filter { !$0.isSwitch }.map { ($0.name, $0.namespace) }
        let countersBefore = counterNamespaces.map { kernelCounters($0.1) }
        // Traffic: servers first, then every client at its start time.
        let map = FlowMap(scenario: scenario, pods: simulatedPods)
        let start = TestbedAgent.now() + 1_500_000_000
        let limit = UInt64(options.timeLimit * 1e9)
        let deadline = start + limit
        var servers: [String: (pod: String, role: String, port: Int)] = [:]
        for identity in map.identities where identity.protocol != .icmp && !options.closedFlows.contains(identity.name) {
            for server in identity.servers {
                let role = identity.protocol == .udp ? "udp-server" : "tcp-server"
                servers["\(server)/\(role)/\(identity.serverPort)"] = (server, role, identity.serverPort)
            }
        }
        var serverProcesses: [(key: String, process: Process, output: Pipe)] = []
        for (key, server) in servers.sorted(by: { $0.key < $1.key }) {
            guard let pod = plan.pods.first(where: { $0.name == server.pod }) else { continue }
            let (process, output) = try launchAgent(pod.namespace, ["--role", server.role, "--port", "\(server.port)",
                                                                   "--deadline", "\(deadline + 1_000_000_000)"])
            serverProcesses.append((key, process, output))
        }
        var clientProcesses: [(flow: String, process: Process, output: Pipe)] = []
        for identity in map.identities {
            guard let spec = scenario.traffic.first(where: { $0.name == identity.name }),
                  let pod = plan.pods.first(where: { $0.name == identity.client }) else { continue }
            let role = "\(identity.protocol.rawValue)-client"
            let interval = UInt64((1e9 / spec.rate).rounded())
            let (process, output) = try launchAgent(pod.namespace, [
                "--role", role, "--destination", identity.destinationAddress, "--port", "\(identity.destinationPort)",
                "--source-port", "\(identity.clientPort)", "--size", "\(spec.size)", "--count", "\(spec.count)",
                "--interval-ns", "\(interval)", "--df", spec.dontFragment.map { $0 ? "1" : "0" } ?? "want",
                "--start-at", "\(start + spec.start)", "--deadline", "\(deadline)",
            ])
            clientProcesses.append((identity.name, process, output))
        }
        log("traffic: \(clientProcesses.count) senders, \(serverProcesses.count) servers, at most \(options.timeLimit) s")
        var agents: [String: [AgentResult]] = [:]
        for client in clientProcesses {
            agents[client.flow, default: []].append(try finish(client.process, client.output))
        }
        // Let the last packets land, then stop the servers.
        TestbedAgent.sleep(until: min(deadline, TestbedAgent.now() + 500_000_000))
        for server in serverProcesses where server.process.isRunning { server.process.terminate() }
        var serverResults: [AgentResult] = []
        for server in serverProcesses { serverResults.append(try finish(server.process, server.output)) }
        let finishedAt = TestbedAgent.now()
        var captureDrops: [String: Int] = [:]
        for (point, captures) in handles {
            for capture in captures { capture.stop() }
            captureDrops[point.file] = captures.reduce(0) { $0 + Int($1.kernelDrops) }
            try LiveCapture.write(captures, to: directory + "/" + point.file)
        }
        var counters: [String: [String: Int]] = [:]
        for (index, (name, namespace)) in counterNamespaces.enumerated() {
            var changed: [String: Int] = [:]
            for (key, value) in kernelCounters(namespace) where value != countersBefore[index][key, default: 0] {
                changed[key] = value - countersBefore[index][key, default: 0]
            }
            counters[name] = changed
        }
        let firewallDrops = readFirewallCounters(plan)
        let links = readLinkCounters(plan)
        let window = min(limit, finishedAt > start ? finishedAt - start : 0)
        let report = try buildReport(plan: plan, map: map, directory: directory, start: start, window: window,
                                     agents: agents, firewallDrops: firewallDrops, links: links)
        var uname = utsname()
        _ = Glibc.uname(&uname)
        let release = withUnsafeBytes(of: &uname.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        agents["servers"] = serverResults
        let record = TestbedRecord(startNanoseconds: start, timeLimitNanoseconds: window, kernel: release,
                                   layout: options.layout.rawValue, sysctls: options.sysctls.map { "\($0.name)=\($0.value)" },
                                   closedFlows: options.closedFlows.sorted(), unsupported: unsupported, agents: agents,
                                   kernelCounters: counters, captureDrops: captureDrops)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try Data((report.json() + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/report.json"), options: .atomic)
            try encoder.encode(record).write(to: URL(fileURLWithPath: directory + "/testbed.json"), options: .atomic)
        } catch {
            throw TestbedError(.input, "\(directory): cannot write report.json or testbed.json: \(error)")
        }
        return report
    }

    // MARK: - Agents

    func launchAgent(_ namespace: String, _ arguments: [String]) throws(TestbedError) -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace, agentExecutable, "testbed-agent"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw TestbedError(.agent, "cannot start the agent in \(namespace): \(error)") }
        Cleanup.shared.register(process: process)
        return (process, output)
    }

    func finish(_ process: Process, _ output: Pipe) throws(TestbedError) -> AgentResult {
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let result = try? JSONDecoder().decode(AgentResult.self, from: Data(line.utf8)) else {
            throw TestbedError(.agent, "an agent (\(process.arguments?.joined(separator: " ") ?? "")) ended with status \(process.terminationStatus) and no report")
        }
        return result
    }

    // MARK: - Counters

    /// `nstat -az --json` in a namespace: the kernel's SNMP counters (IpFragFails, IcmpOutDestUnreachs ...).
    func kernelCounters(_ namespace: String) -> [String: Int] {
        guard let result = try? Shell.run(Shell.inNamespace(namespace, ["nstat", "-asz", "--json"])), result.status == 0,
              let object = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
              let kernel = object["kernel"] as? [String: Any] else { return [:] }
        return kernel.compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    /// Packets each dropping or rejecting nft rule took, as report.json's firewall drops.
    func readFirewallCounters(_ plan: TestbedPlan) -> [ReportDraft.FirewallDrop] {
        var drops: [ReportDraft.FirewallDrop] = []
        for entry in plan.rulesets {
            guard let result = try? Shell.run(Shell.inNamespace(entry.namespace, ["nft", "-j", "list", "ruleset"])), result.status == 0,
                  let object = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
                  let items = object["nftables"] as? [[String: Any]] else { continue }
            for item in items {
                guard let rule = item["rule"] as? [String: Any], let comment = rule["comment"] as? String,
                      let chainName = rule["chain"] as? String, let expressions = rule["expr"] as? [[String: Any]] else { continue }
                let packets = expressions.compactMap { ($0["counter"] as? [String: Any])?["packets"] as? Int }.first ?? 0
                let verdict = expressions.contains { $0["drop"] != nil } ? "drop" : expressions.contains { $0["reject"] != nil } ? "reject" : "accept"
                guard packets > 0, verdict != "accept" else { continue }
                let chain = Chain(rawValue: chainName) ?? .transit
                let set = (entry.firewall.configuration.inspector as? any RuleBasedInspector)?.ruleSet(chain)
                let index = comment.hasPrefix("r") ? Int(comment.dropFirst()) : nil
                let ruleText = index.flatMap { i in set.flatMap { i - 1 < $0.rules.count ? $0.rules[i - 1].match.text : nil } }
                drops.append(ReportDraft.FirewallDrop(
                    firstNanoseconds: 0, lastNanoseconds: 0, count: packets,
                    point: entry.point.hasPrefix("link") ? entry.point : "\(entry.point) \(chainName) chain",
                    device: entry.firewall.name, kind: entry.firewall.configuration.kind.rawValue, chain: chain.rawValue,
                    action: verdict, rule: index, ruleText: ruleText, defaultPolicy: comment == "policy",
                    explanation: "counted by nft rule `\(comment)` in \(entry.namespace) (times are not recorded by nft counters)",
                    flow: nil))
            }
        }
        return drops
    }

    /// Transmitted packets and bytes of each end of each link (`ip -s -j link`).
    func readLinkCounters(_ plan: TestbedPlan) -> [ReportDraft.Link] {
        var links: [ReportDraft.Link] = []
        for link in plan.links {
            for (from, to) in [(link.a, link.b), (link.b, link.a)] {
                let namespace = plan.places[from.place].namespace
                var packets = 0, bytes = 0, dropped = 0
                if let result = try? Shell.run(["ip", "-n", namespace, "-s", "-j", "link", "show", "dev", from.interface]), result.status == 0,
                   let array = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]],
                   let stats = array.first?["stats64"] as? [String: Any], let tx = stats["tx"] as? [String: Any] {
                    packets = tx["packets"] as? Int ?? 0
                    bytes = tx["bytes"] as? Int ?? 0
                    dropped = tx["dropped"] as? Int ?? 0
                }
                links.append(ReportDraft.Link(from: plan.places[from.place].name, to: plan.places[to.place].name, packets: packets, bytes: bytes,
                                         utilisation: 0, encapsulationOverhead: 0, queueDrops: dropped, lossDrops: 0))
            }
        }
        return links
    }

    // MARK: - Report

    func buildReport(plan: TestbedPlan, map: FlowMap, directory: String, start: UInt64, window: UInt64,
                     agents: [String: [AgentResult]], firewallDrops: [ReportDraft.FirewallDrop], links: [ReportDraft.Link]) throws(TestbedError) -> Report {
        let ports = Set([Int(scenario.overlay.destinationPort)])
        var pods: [String: [FrameFacts]] = [:]
        var framesCaptured = 0
        for point in plan.captures {
            let frames = try FrameReader.frames(path: directory + "/" + point.file, epoch: start, vxlanPorts: ports)
            framesCaptured += frames.count
            if point.file.hasPrefix("pod-") { pods[String(point.file.dropFirst(4).dropLast(5))] = frames }
        }
        var flows: [ReportDraft.Flow] = []
        for spec in scenario.traffic {
            var counts = FlowCounts()
            let identities = map.identities.filter { $0.name == spec.name }
            for identity in identities { FlowCounts.count(identity, map: map, pods: pods, window: window, into: &counts) }
            let results = agents[spec.name] ?? []
            let isTCP = spec.protocol == .tcp
            let failed = results.filter { $0.connected == false && $0.connectError != "still connecting at the deadline" }.count
                + results.filter { $0.connected == true && ($0.transferError.map { $0 != "deadline" } ?? false) }.count
            let lowestMTU = results.compactMap { $0.pathMTU }.filter { $0 < scenario.overlay.mtu }.min()
            var endpoints: [String: Int]?
            if case .service = spec.to {
                var seen: [String: Int] = [:]
                for identity in identities {
                    for server in identity.servers {
                        let reached = (pods[server] ?? []).contains { frame in
                            frame.packet.map { $0.source == identity.clientAddress && map.classify($0)?.flow == identity.name } ?? false
                        }
                        if reached { seen[server, default: 0] += 1 }
                    }
                }
                endpoints = seen
            }
            let dropped = max(0, counts.packetsSent - counts.packetsDelivered)
            flows.append(ReportDraft.Flow(
                name: spec.name, protocol: spec.protocol.rawValue, from: spec.from.description, to: spec.to.description,
                packetsSent: counts.packetsSent, bytesSent: results.reduce(0) { $0 + ($1.role == "tcp-client" ? $1.sent : 0) },
                packetsDelivered: counts.packetsDelivered, bytesDelivered: 0, packetsDropped: dropped,
                // Where each lost packet died is not observed per flow (the kernel counts per namespace:
                // testbed.json's kernelCounters); ClusterSim's drop codes name a place and a cause.
                drops: [],
                latency: nil, retransmissions: isTCP ? results.reduce(0) { $0 + ($1.retransmissions ?? 0) } : 0,
                icmpErrorsReceived: counts.icmpErrorsReceived,
                connections: isTCP ? identities.count : nil, connectionsCompleted: isTCP ? counts.connectionsCompleted : nil,
                echoReplies: spec.protocol == .icmp ? counts.echoReplies : nil, connectionsFailed: isTCP ? failed : nil,
                lowestMSS: lowestMTU.map { $0 - 40 }, endpoints: endpoints))
        }
        var report = ReportDraft(scenario: scenario.name, seed: scenario.seed, overlay: "ip link add flannel.1 type " + plan.vxlanArguments(node: 0).dropFirst(4).joined(separator: " "),
                            durationNanoseconds: window, packetsSimulated: framesCaptured, flows: flows, links: links,
                            pods: simulatedPods, captures: plan.captures.map(\.file).sorted())
        report.warnings = plan.unsupported.map { "testbed: \($0)" }
        report.firewallDrops = firewallDrops
        return try report.report()
    }
}
