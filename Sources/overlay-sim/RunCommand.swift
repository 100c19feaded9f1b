import ArgumentParser
import ClusterSim
import Foundation
import Kubernetes

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario: simulate the cluster, write captures and a report.",
        discussion: """
            Without INPUT, runs the built-in default scenario. INPUT is a scenario file, the name of one in Scenarios/, \
            or files and folders of Kubernetes manifests (what `kubectl get -o yaml` prints), with an optional \
            `apiVersion: overlay-sim/v1`, `kind: Scenario` document for the underlay, traffic and settings.
            """
    )

    @Argument(help: ArgumentHelp("A scenario file, a name from `overlay-sim scenarios`, or Kubernetes manifests (files, folders).",
                                 valueName: "INPUT"))
    var inputs: [String] = []

    @Option(help: "The CNI to simulate (flannel, calico-vxlan, cilium-vxlan), overriding what the input says.")
    var cni: CNIMode?

    @Option(help: "Folder for the captures, report.json and report.html (default: Captures/<scenario name>/).")
    var out: String?

    @Option(help: ArgumentHelp("Also write the report as one self-contained HTML page to FILE (report.html is always in the --out folder).",
                               valueName: "FILE"))
    var html: String?

    @Option(help: "Override the scenario's random seed.")
    var seed: UInt64?

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
        if let seed { loaded.seed = seed }
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
        let folder = noCaptures ? nil : try OutputFolder(out ?? "Captures/\(loaded.name)")
        let started = Date()
        var lastDrawn = Date.distantPast
        simulation.progress = { time, packets in
            let now = Date()
            guard now.timeIntervalSince(started) > 1, now.timeIntervalSince(lastDrawn) > 0.2 else { return }
            lastDrawn = now
            OutputFolder.progressLineShown = true
            FileHandle.standardError.write(Data("\r\(loaded.name): \(packets) packets, virtual time \(Double(time) / 1e6) ms   ".utf8))
        }
        let report: Report
        do {
            report = try simulation.run(captureDirectory: folder?.staging)
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
        if !self.json, let folder { print("\ncaptures, report.json and report.html in \(folder.shown)") }
        if !self.json, let html { print("report page in \(html)") }
    }
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
        commandName: "scenarios", abstract: "List the built-in scenario and the examples in Scenarios/.")

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
    static let folder = "Scenarios"

    static func exampleFiles() -> [String] {
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
        if !FileManager.default.fileExists(atPath: path) {
            for candidate in ["\(folder)/\(reference).yaml", "\(folder)/\(reference).yml"] where FileManager.default.fileExists(atPath: candidate) {
                path = candidate
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            guard !reference.contains("/") else { throw RunFailure("\(reference): no such scenario file") }
            let name = reference.hasSuffix(".yaml") ? String(reference.dropLast(5)) : reference
            throw RunFailure("\(reference): no such scenario file, and no \(folder)/\(name).yaml; `overlay-sim scenarios` lists them")
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
