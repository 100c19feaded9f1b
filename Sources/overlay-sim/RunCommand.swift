import ArgumentParser
import ClusterSim
import Foundation
import Kubernetes

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario: simulate the cluster, write captures and a report.",
        discussion: """
            Without INPUT, runs the built-in default scenario. INPUT is a scenario file, the name of one of the \
            examples (`overlay-sim scenarios` lists them, found wherever the binary is run from), or files and \
            folders of Kubernetes manifests (what `kubectl get -o yaml` prints), with an optional \
            `apiVersion: overlay-sim/v1`, `kind: Scenario` document for the underlay, traffic and settings.

            Sent, delivered and dropped count the packets that carry a flow forward: UDP datagrams, ICMP echo \
            requests, TCP SYNs and data segments, retransmissions included.

            Exit status: 0 the run finished and every flow got through; 1 it could not run (a bad scenario, an \
            output folder that cannot be written, a capture error, a limit reached); 2 it finished but a flow \
            failed (delivered none of its packets, or completed none of its TCP connections); 3 with \
            --fail-on-drop, it finished and a flow lost packets; 64 the arguments are wrong.
            """
    )

    /// The exit statuses of a run that finished (1 and 64 are ArgumentParser's and RunFailure's).
    enum Status {
        /// A flow delivered none of its packets, or completed none of its TCP connections.
        static let flowsFailed: Int32 = 2
        /// `--fail-on-drop`: a flow lost packets.
        static let packetsDropped: Int32 = 3
    }

    @Argument(help: ArgumentHelp("A scenario file, a name from `overlay-sim scenarios`, or Kubernetes manifests (files, folders).",
                                 valueName: "INPUT"))
    var inputs: [String] = []

    @Option(help: "The CNI to simulate (flannel, calico-vxlan, cilium-vxlan), overriding what the input says.")
    var cni: CNIMode?

    @Option(help: "Folder for the captures, report.json and report.html (default: Captures/<scenario name>/); with --no-captures, the reports only.")
    var out: String?

    @Option(help: ArgumentHelp("Also write the report as one self-contained HTML page to FILE (report.html is always in the --out folder).",
                               valueName: "FILE"))
    var html: String?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Override the scenario's random seed: a whole number from 0 to 18446744073709551615. "
                               + "There is no 'random' seed (-1 is not one): the same scenario and seed give the same "
                               + "captures and report, byte for byte, so give another number for another run.",
                               valueName: "N"))
    var seed: Seed?

    @Flag(help: "Exit with status 3 when any flow lost packets (see the exit statuses below).")
    var failOnDrop = false

    @Flag(help: "Print the report as JSON instead of a table.")
    var json = false

    @Flag(help: "Write no captures (the report still lists every drop).")
    var noCaptures = false

    @Option(help: ArgumentHelp("Trace one traffic entry hop by hop: every firewall rule it meets and each verdict.",
                               valueName: "FLOW"))
    var explain: String?

    @Option(help: ArgumentHelp("Stop the run (and keep nothing) after simulating this many packets.", valueName: "N"))
    var maxPackets: Int?

    @Option(help: ArgumentHelp("Stop the run (and keep nothing) when the captures reach this size: bytes, or with KiB, MiB, GiB, TiB.",
                               valueName: "SIZE"))
    var maxCaptureBytes: ByteCount = ByteCount(bytes: 4 << 30)

    func validate() throws {
        if let maxPackets, maxPackets < 1 { throw ValidationError("--max-packets \(maxPackets): give at least 1") }
    }

    func run() throws {
        let input = try ScenarioInput.load(inputs, cni: cni)
        var loaded = input.scenario
        if let seed { loaded.seed = seed.value }
        if let manifests = input.manifests {
            for line in ScenarioInput.describe(manifests) {
                if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
            }
            if !json { print("") }
        }
        if let explain, !loaded.traffic.contains(where: { $0.name == explain }) {
            let names = loaded.traffic.map(\.name)
            throw ValidationError("--explain \(explain): the scenario has no flow of that name; its flows are \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        let simulation = try Simulation(scenario: loaded)
        simulation.explainFlow = explain
        simulation.limits = RunLimits(maximumPackets: maxPackets, maximumCaptureBytes: noCaptures ? nil : maxCaptureBytes.bytes)
        let estimate = simulation.estimate(capturesEnabled: !noCaptures)
        if estimate.isLarge {
            FileHandle.standardError.write(Data("\(loaded.name): \(estimate.description); --max-packets N stops it sooner\n".utf8))
        }
        // The output folder is a transaction: the run writes beside it and replaces it only when done.
        // --no-captures with --out still writes report.json there.
        let folder = noCaptures && out == nil ? nil : try OutputFolder(out ?? "Captures/\(loaded.name)")
        let started = Date()
        var lastDrawn = Date.distantPast
        let name = loaded.name
        simulation.progress = { time, packets in
            let now = Date()
            guard now.timeIntervalSince(started) > 1, now.timeIntervalSince(lastDrawn) > 0.2 else { return }
            lastDrawn = now
            OutputFolder.progressLineShown = true
            let line = Self.progressLine(name: name, packets: packets, estimated: estimate.packets, virtualTime: time,
                                         elapsedSeconds: now.timeIntervalSince(started))
            FileHandle.standardError.write(Data("\r\(line)   ".utf8))
        }
        let report: Report
        do {
            report = try simulation.run(captureDirectory: noCaptures ? nil : folder?.staging)
        } catch {
            let kept = folder?.abort()
            if OutputFolder.progressLineShown { FileHandle.standardError.write(Data("\n".utf8)) }
            throw RunFailure("\(error)" + (kept.map { "; \($0)" } ?? ""))
        }
        if OutputFolder.progressLineShown { FileHandle.standardError.write(Data("\n".utf8)) }
        OutputFolder.progressLineShown = false
        if let stop = simulation.stopped {
            let kept = folder?.abort()
            throw RunFailure("\(loaded.name): \(stop)" + (kept.map { "; \($0)" } ?? ""))
        }
        let json = report.json()
        let page = folder != nil || html != nil ? report.html() : ""
        if let folder {
            // Captures name the staging folder's files; the report names the files, not the folder.
            try folder.commit(reportJSON: json + "\n", reportHTML: page)
        }
        if let html { try OutputFolder.writeReplacing(page, at: html) }
        print(self.json ? json : report.table())
        if !self.json, let folder {
            if noCaptures {
                print("\nreport.json and report.html in \(folder.shown)")
            } else {
                print("\ncaptures, report.json and report.html in \(folder.shown)")
                for line in Self.decodeHint(folder: folder.shown, report: report, port: loaded.overlay.destinationPort) { print(line) }
            }
        }
        if !self.json, let html { print("report page in \(html)") }
        if let status = Self.exitStatus(of: report, failOnDrop: failOnDrop) { throw ExitCode(status) }
    }

    /// The status of a run that finished: nil (0) when every flow got through, ``Status/packetsDropped``
    /// with `--fail-on-drop` when a flow lost anything, ``Status/flowsFailed`` when a flow failed.
    static func exitStatus(of report: Report, failOnDrop: Bool) -> Int32? {
        if failOnDrop, report.flows.contains(where: { $0.packetsDropped > 0 || !$0.drops.isEmpty }) { return Status.packetsDropped }
        if report.flows.contains(where: flowFailed) { return Status.flowsFailed }
        return nil
    }

    /// A flow failed when it sent and nothing arrived, or none of its TCP connections completed.
    static func flowFailed(_ flow: Report.Flow) -> Bool {
        if let connections = flow.connections, connections > 0, flow.connectionsCompleted == 0 { return true }
        return flow.packetsDelivered == 0 && (flow.packetsSent > 0 || !flow.drops.isEmpty)
    }

    /// How to open the captures in tshark and tcpdump: on any port but 4789 both need telling that it is
    /// VXLAN (tshark decodes only 4789 as VXLAN; tcpdump reads 8472 as Cisco's OTV,
    /// draft-hasmit-otv, which uses the same port).
    static func decodeHint(folder: String, report: Report, port: UInt16) -> [String] {
        let underlay = report.captures.first { $0.hasSuffix("-underlay.pcap") }
        var lines: [String] = []
        if let underlay {
            let file = folder + underlay
            if port == 4789 {
                lines.append("decode: tshark -r \(file)   tcpdump -nr \(file)")
            } else {
                lines.append("decode VXLAN on port \(port): tshark -r \(file) -d udp.port==\(port),vxlan   tcpdump -nr \(file) -T vxlan")
            }
        }
        if report.captures.contains("drops.pcapng") {
            lines.append("why each drop: tshark -r \(folder)drops.pcapng -T fields -e frame.interface_name -e frame.comment"
                         + (port == 4789 ? "" : " -d udp.port==\(port),vxlan"))
        }
        return lines
    }

    /// `NAME: 120000 of about 1000000 packets (12%), virtual time 40.2 ms, 8 s left`: the estimate is the
    /// traffic's own packets before retransmissions and replies the network adds, so past it the line
    /// says so instead of a time.
    static func progressLine(name: String, packets: Int, estimated: UInt64, virtualTime: Nanoseconds, elapsedSeconds: Double) -> String {
        let virtual = "virtual time " + String(format: "%.3f ms", Double(virtualTime) / 1e6)
        guard estimated > 0, UInt64(packets) < estimated, packets > 0 else {
            return "\(name): \(packets) packets (about \(estimated) estimated), \(virtual)"
        }
        let share = Double(packets) / Double(estimated)
        let left = elapsedSeconds * (1 - share) / share
        let eta = left < 60 ? "\(Int(left.rounded(.up))) s left" : "\(Int((left / 60).rounded(.up))) min left"
        return "\(name): \(packets) of about \(estimated) packets (\(Int(share * 100))%), \(virtual), \(eta)"
    }
}

/// `--seed N`: read as text, so that `-1` reaches the check (and its explanation) instead of being taken
/// for an option.
struct Seed: ExpressibleByArgument {
    var value: UInt64
    init?(argument: String) {
        guard let value = UInt64(argument) else { return nil }
        self.value = value
    }
    var defaultValueDescription: String { "the scenario's seed" }
}

extension CNIMode: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
}

/// A size in bytes from `4294967296`, `64KiB`, `10MiB`, `4GiB`, `1TiB` (or KB, MB, GB, TB: powers of
/// ten).
struct ByteCount: ExpressibleByArgument {
    var bytes: UInt64
    init(bytes: UInt64) { self.bytes = bytes }
    init?(argument: String) {
        let units: [(String, UInt64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
                                         ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1)]
        var number = argument, factor: UInt64 = 1
        for (suffix, value) in units where argument.hasSuffix(suffix) {
            number = String(argument.dropLast(suffix.count))
            factor = value
            break
        }
        guard let value = UInt64(number), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        bytes = product
    }
    var defaultValueDescription: String { bytes == 4 << 30 ? "4GiB" : "\(bytes)" }
}

struct ScenariosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenarios", abstract: "List the built-in scenario and the examples (Scenarios/, found wherever the binary runs).")

    func run() throws {
        var rows = [("default", "(built in) " + ((try? ScenarioLoader.load(nil).description) ?? ""))]
        for file in ScenarioLoader.exampleFiles() {
            let entry = (try? ScenarioLoader.load(file)).map { ($0.name, $0.description) }
            rows.append(entry.map { ($0.0, "\($0.1)  [\(file)]") } ?? (file, "(does not load)"))
        }
        let width = rows.map(\.0.count).max() ?? 0
        for (name, description) in rows { print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + description) }
    }
}

enum ScenarioLoader {
    /// The examples' folder: `Scenarios/` in the working folder (the repository root, as before), else
    /// `$OVERLAY_SIM_SCENARIOS`, else the first `Scenarios/` in the executable's folder or above it (a
    /// build in `.build/release/` finds the checkout's), else `share/overlay-sim/Scenarios` beside the
    /// executable's `bin/` (an installed copy). So a name from `overlay-sim scenarios` runs from anywhere.
    static var folder: String { candidateFolders().first { holdsScenarios($0) } ?? "Scenarios" }

    static func candidateFolders() -> [String] {
        var folders = ["Scenarios"]
        if let given = ProcessInfo.processInfo.environment["OVERLAY_SIM_SCENARIOS"], !given.isEmpty { folders.append(given) }
        if let executable = executablePath() {
            var folder = (executable as NSString).deletingLastPathComponent
            folders.append(((folder as NSString).deletingLastPathComponent as NSString).appendingPathComponent("share/overlay-sim/Scenarios"))
            for _ in 0..<6 where folder != "/" && !folder.isEmpty {
                folders.append((folder as NSString).appendingPathComponent("Scenarios"))
                folder = (folder as NSString).deletingLastPathComponent
            }
        }
        return folders
    }

    /// The running executable with symbolic links resolved (Linux's `/proc/self/exe`), else argv[0].
    static func executablePath() -> String? {
        if let resolved = realpath("/proc/self/exe", nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return Bundle.main.executablePath
    }

    static func holdsScenarios(_ folder: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.contains { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
    }

    static func exampleFiles() -> [String] {
        let folder = self.folder
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(folder)/\($0)" }
    }

    /// The built-in default for nil; a path; or a name in Scenarios/.
    static func load(_ reference: String?) throws -> Scenario {
        let source = try read(reference)
        return try ScenarioParser.parse(yaml: source.text, file: source.file)
    }

    /// The text of the scenario `reference` names (as ``load(_:)`` finds it) and the file it came from.
    static func read(_ reference: String?) throws -> (text: String, file: String) {
        guard let reference, reference != "default" else {
            return (Scenario.defaultYAML, "<built-in default>")
        }
        var path = reference
        let folder = self.folder
        if !FileManager.default.fileExists(atPath: path) {
            for candidate in ["\(folder)/\(reference).yaml", "\(folder)/\(reference).yml"] where FileManager.default.fileExists(atPath: candidate) {
                path = candidate
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            guard !reference.contains("/") else { throw RunFailure("\(reference): no such scenario file") }
            let name = reference.hasSuffix(".yaml") ? String(reference.dropLast(5)) : reference
            throw RunFailure("\(reference): no such scenario file, and no \(folder)/\(name).yaml; `overlay-sim scenarios` lists them (set OVERLAY_SIM_SCENARIOS to the examples' folder if they are elsewhere)")
        }
        guard !isDirectory.boolValue else { throw RunFailure("\(path): is a folder, not a scenario file") }
        // Refused before reading when the file says it is too large; a device or pipe is read up to the
        // limit and refused if it goes on.
        try ScenarioParser.checkSize(ofFileAt: path)
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RunFailure("\(path): cannot be read (\(String(cString: strerror(errno))))") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: ScenarioParser.maximumBytes + 1) ?? Data() } catch {
            throw RunFailure("\(path): cannot be read (\(String(cString: strerror(errno))))")
        }
        guard data.count <= ScenarioParser.maximumBytes else {
            throw RunFailure("\(path): holds more than \(ScenarioParser.maximumBytes) bytes (64 MiB), the most a scenario may be")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw RunFailure("\(path): is not UTF-8 text") }
        return (text, path)
    }
}

/// A failure to run (a missing or unreadable scenario, an output folder that cannot be made): one line,
/// exit status 1, and no usage text, since the arguments themselves were fine.
struct RunFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
