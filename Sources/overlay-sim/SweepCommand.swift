import ArgumentParser
import ClusterSim
import Foundation
import Yams

/// `overlay-sim sweep`: one scenario run over every combination of the values given with `--vary`, each
/// run a separate `overlay-sim run` process (up to `--jobs` at once on this machine's cores), then one
/// summary table. `--emit-kubernetes-job` writes the same sweep as an Indexed Job (batch/v1, `completionMode:
/// Indexed`): Kubernetes gives each pod its completion index, and `--index K` runs combination K alone.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a scenario over combinations of values (--vary), locally or as a Kubernetes Indexed Job.",
        discussion: """
            Each --vary PATH=VALUES sets a field of the scenario's YAML: PATH is dotted (cluster.overlay.mtu, seed, \
            underlay.links.0.latency; a number indexes a list), VALUES a list [V1,V2,...] or an integer range A..B. \
            Combinations are numbered from 0, the last --vary changing fastest. Each run goes to OUT/run-K/ \
            (scenario.yaml as run, report.json, captures/ with --captures); OUT/summary.csv and summary.json hold \
            one row per run and flow.
            """
    )

    @Argument(help: ArgumentHelp("A scenario file or a name from `overlay-sim scenarios`.", valueName: "SCENARIO"))
    var input: String

    @Option(name: .customLong("vary"), help: ArgumentHelp("PATH=[V1,V2,...] or PATH=A..B; repeat for more dimensions.", valueName: "PATH=VALUES"))
    var variations: [String] = []

    @Option(help: "How many runs at once (default: this machine's cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Folder for the runs and the summary (default: Captures/<scenario name>-sweep/).")
    var out: String?

    @Flag(help: "Write each run's captures too (OUT/run-K/captures/); by default only reports.")
    var captures = false

    @Option(help: ArgumentHelp("Run combination K alone and write no summary (what each pod of the Indexed Job does).", valueName: "K"))
    var index: Int?

    @Flag(help: "Run nothing: build the summary from the run-K folders already in OUT (after a Kubernetes Job).")
    var summarize = false

    @Option(help: ArgumentHelp("Write a ConfigMap and an Indexed Job that run this sweep on a Kubernetes cluster, and run nothing.", valueName: "FILE"))
    var emitKubernetesJob: String?

    @Option(help: "The container image for --emit-kubernetes-job (one with overlay-sim on its PATH).")
    var image = "overlay-sim:latest"

    @Option(help: "The PersistentVolumeClaim the Job's pods write their run folders to.")
    var resultsClaim = "overlay-sim-results"

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs \(jobs): give at least 1") }
        if let index, index < 0 { throw ValidationError("--index \(index): combinations are numbered from 0") }
    }

    func run() throws {
        let source = try ScenarioLoader.read(input)
        let scenario = try ScenarioParser.parse(yaml: source.text, file: source.file)
        let sweep = try ScenarioSweep(variations.map { text throws(SweepError) in try ScenarioSweep.Variation(parsing: text) })
        // Every combination must make a scenario before any runs: a typo in a path fails now, not at run 900.
        for combination in 0..<sweep.count {
            let text = try sweep.apply(combination, to: source.text, file: source.file)
            do { _ = try ScenarioParser.parse(yaml: text, file: "\(source.file) with \(describe(sweep, combination))") } catch {
                throw RunFailure("combination \(combination) (\(describe(sweep, combination))): \(error)")
            }
        }
        if let emitKubernetesJob {
            try OutputFolder.writeReplacing(try KubernetesSweepJob.manifests(name: scenario.name, scenario: source.text, sweep: sweep,
                                                                 variations: variations, parallelism: jobs, image: image,
                                                                 resultsClaim: resultsClaim, captures: captures),
                                            at: emitKubernetesJob, folderGiven: "--emit-kubernetes-job names the file to write")
            print("wrote \(emitKubernetesJob): ConfigMap and Indexed Job for \(sweep.count) runs (kubectl apply -f \(emitKubernetesJob))")
            return
        }
        let folder = out ?? "Captures/\(scenario.name)-sweep"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if let index {
            guard index < sweep.count else {
                throw ValidationError("--index \(index): the sweep has \(sweep.count) combinations, 0 to \(sweep.count - 1)")
            }
            let result = try SweepRunner(folder: folder, captures: captures).run([index], sweep: sweep, source: source, jobs: 1)
            if let failure = result.first?.failure { throw RunFailure("combination \(index): \(failure)") }
            return
        }
        if !summarize {
            let results = try SweepRunner(folder: folder, captures: captures).run(Array(0..<sweep.count), sweep: sweep, source: source, jobs: jobs)
            let failed = results.filter { $0.failure != nil }
            if !failed.isEmpty {
                FileHandle.standardError.write(Data("\(failed.count) of \(results.count) runs failed: \(failed.map { "run-\($0.index)" }.joined(separator: ", ")) (their errors.txt says why)\n".utf8))
            }
        }
        let summary = try SweepSummary(folder: folder, sweep: sweep)
        try OutputFolder.writeReplacing(summary.csv, at: folder + "/summary.csv", folderGiven: "the sweep writes its summary there")
        try OutputFolder.writeReplacing(summary.json, at: folder + "/summary.json", folderGiven: "the sweep writes its summary there")
        print(summary.table)
        print("\n\(summary.runs) runs (\(summary.missing) missing) in \(folder)/: summary.csv, summary.json, run-K/report.json")
        if summary.missing > 0 || summary.failed > 0 { throw ExitCode(1) }
    }

    private func describe(_ sweep: ScenarioSweep, _ index: Int) -> String {
        zip(sweep.variations, sweep.combination(index)).map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
    }
}

/// Runs combinations as child `overlay-sim run` processes, at most `jobs` at a time.
struct SweepRunner: Sendable {
    let folder: String
    let captures: Bool

    struct Result: Sendable {
        var index: Int
        var failure: String?
    }

    /// This process's own executable, which the children run (`/proc/self/exe` on Linux).
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    func run(_ indices: [Int], sweep: ScenarioSweep, source: (text: String, file: String), jobs: Int) throws -> [Result] {
        // Each run's folder is written before any child starts, so a failure to write is said at once.
        for index in indices {
            let runFolder = "\(folder)/run-\(index)"
            try FileManager.default.createDirectory(atPath: runFolder, withIntermediateDirectories: true)
            try OutputFolder.writeReplacing(try sweep.apply(index, to: source.text, file: source.file), at: runFolder + "/scenario.yaml",
                                            folderGiven: "the sweep writes the run's scenario there")
        }
        let collected = Collected()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = jobs
        let runner = self
        for index in indices {
            queue.addOperation { collected.add(runner.runOne(index)) }
        }
        queue.waitUntilAllOperationsAreFinished()
        return collected.results.sorted { $0.index < $1.index }
    }

    /// The runs' results as the worker threads finish them; the lock is the only way in.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [Result] = []
        func add(_ result: Result) { lock.withLock { stored.append(result) } }
        var results: [Result] { lock.withLock { stored } }
    }

    private func runOne(_ index: Int) -> Result {
        let runFolder = "\(folder)/run-\(index)"
        let report = runFolder + "/report.json", partial = runFolder + "/.report.json.partial"
        let errors = runFolder + "/errors.txt"
        try? FileManager.default.removeItem(atPath: errors)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        var arguments = ["run", runFolder + "/scenario.yaml", "--json"]
        arguments += captures ? ["--out", runFolder + "/captures"] : ["--no-captures"]
        process.arguments = arguments
        guard FileManager.default.createFile(atPath: partial, contents: nil),
              let output = FileHandle(forWritingAtPath: partial) else {
            return Result(index: index, failure: "\(partial): cannot be written")
        }
        let errorPipe = Pipe()
        process.standardOutput = output
        process.standardError = errorPipe
        do { try process.run() } catch {
            try? output.close()
            unlink(partial)
            return Result(index: index, failure: "cannot start \(Self.executable): \(error)")
        }
        let errorText = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try? output.close()
        // `run` exits 0 when every flow got through and 2 (3 with --fail-on-drop) when the run finished but
        // flows failed: both are finished runs with a report. Any other status is a failed run.
        guard [0, 2, 3].contains(process.terminationStatus), rename(partial, report) == 0 else {
            unlink(partial)
            try? errorText.write(toFile: errors, atomically: true, encoding: .utf8)
            let last = errorText.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            return Result(index: index, failure: last)
        }
        return Result(index: index, failure: nil)
    }
}

/// The sweep's table: one row per run and flow, from each run-K/report.json, in index order.
struct SweepSummary {
    var csv = ""
    var json = ""
    var table = ""
    var runs = 0
    var missing = 0
    var failed = 0

    init(folder: String, sweep: ScenarioSweep) throws {
        let paths = sweep.variations.map(\.description)
        var csvLines = [(["index"] + paths + ["status", "flow", "protocol", "sent", "delivered", "dropped", "connectionsCompleted", "firstDropCode", "firstDropPlace"]).map(Self.csvField).joined(separator: ",")]
        var rows: [[String: Any]] = []
        var tableRows: [[String]] = [["run"] + paths + ["flow", "sent", "delivered", "dropped", "first drop"]]
        for index in 0..<sweep.count {
            let values = sweep.combination(index)
            let runFolder = "\(folder)/run-\(index)"
            var row: [String: Any] = ["index": index, "values": Dictionary(uniqueKeysWithValues: zip(paths, values))]
            guard let data = FileManager.default.contents(atPath: runFolder + "/report.json"),
                  let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                let failedRun = FileManager.default.fileExists(atPath: runFolder + "/errors.txt")
                let status = failedRun ? "failed" : "missing"
                if failedRun { failed += 1 } else { missing += 1 }
                csvLines.append(([String(index)] + values + [status, "", "", "", "", "", "", "", ""]).map(Self.csvField).joined(separator: ","))
                row["status"] = status
                rows.append(row)
                tableRows.append(["run-\(index)"] + values + [status, "", "", "", ""])
                continue
            }
            runs += 1
            row["status"] = "ok"
            row["report"] = "run-\(index)/report.json"
            var flowRows: [[String: Any]] = []
            for flow in report["flows"] as? [[String: Any]] ?? [] {
                let drops = flow["drops"] as? [[String: Any]] ?? []
                let first = drops.first
                let number = { (key: String) in (flow[key] as? Int).map(String.init) ?? "" }
                let fields = [String(index)] + values + ["ok", flow["name"] as? String ?? "", flow["protocol"] as? String ?? "",
                               number("packetsSent"), number("packetsDelivered"), number("packetsDropped"),
                               number("connectionsCompleted"), first?["code"] as? String ?? "", first?["place"] as? String ?? ""]
                csvLines.append(fields.map(Self.csvField).joined(separator: ","))
                tableRows.append(["run-\(index)"] + values + [flow["name"] as? String ?? "", number("packetsSent"),
                                  number("packetsDelivered"), number("packetsDropped"), first?["code"] as? String ?? "-"])
                var flowRow: [String: Any] = ["name": flow["name"] ?? "", "protocol": flow["protocol"] ?? "",
                                              "sent": flow["packetsSent"] ?? 0, "delivered": flow["packetsDelivered"] ?? 0,
                                              "dropped": flow["packetsDropped"] ?? 0]
                if let completed = flow["connectionsCompleted"] { flowRow["connectionsCompleted"] = completed }
                flowRow["drops"] = drops.map { ["code": $0["code"] ?? "", "place": $0["place"] ?? "", "count": $0["count"] ?? 0] }
                flowRows.append(flowRow)
            }
            row["flows"] = flowRows
            rows.append(row)
        }
        csv = csvLines.joined(separator: "\n") + "\n"
        let document: [String: Any] = ["variations": zip(paths, sweep.variations.map(\.values)).map { ["path": $0.0, "values": $0.1] },
                                       "runs": rows]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        json = String(decoding: data, as: UTF8.self) + "\n"
        let widths = tableRows[0].indices.map { column in tableRows.map { $0[column].count }.max() ?? 0 }
        table = tableRows.map { row in
            zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The sweep as Kubernetes objects: a ConfigMap holding the scenario and an Indexed Job whose pod K runs
/// `overlay-sim sweep ... --index K` into a shared volume. The Job controller puts each pod's index in the
/// environment variable JOB_COMPLETION_INDEX (Kubernetes documentation, "Indexed Job"; pkg/controller/job
/// `addCompletionIndexEnvVariables`), which the container's args expand as `$(JOB_COMPLETION_INDEX)`.
enum KubernetesSweepJob {
    static func manifests(name: String, scenario: String, sweep: ScenarioSweep, variations: [String], parallelism: Int,
                          image: String, resultsClaim: String, captures: Bool) throws -> String {
        let objectName = dnsLabel("overlay-sim-sweep-" + name)
        var arguments = ["sweep", "/scenario/scenario.yaml"]
        for variation in variations { arguments += ["--vary", variation] }
        arguments += ["--index", "$(JOB_COMPLETION_INDEX)", "--out", "/results"]
        if captures { arguments.append("--captures") }
        let configMap: Node = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": Node(objectName)],
            "data": ["scenario.yaml": Node(scenario)],
        ]
        let container: Node = [
            "name": "sweep", "image": Node(image),
            "command": ["overlay-sim"],
            "args": Node(arguments.map { Node($0) }),
            "volumeMounts": [["name": "scenario", "mountPath": "/scenario", "readOnly": "true"],
                             ["name": "results", "mountPath": "/results"]],
        ]
        let job: Node = [
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": ["name": Node(objectName)],
            "spec": [
                "completionMode": "Indexed",
                "completions": Node(String(sweep.count), Tag(.int)),
                "parallelism": Node(String(min(parallelism, sweep.count)), Tag(.int)),
                "backoffLimit": Node(String(sweep.count), Tag(.int)),
                "template": ["spec": [
                    "restartPolicy": "Never",
                    "containers": [container],
                    "volumes": [["name": "scenario", "configMap": ["name": Node(objectName)]],
                                ["name": "results", "persistentVolumeClaim": ["claimName": Node(resultsClaim)]]],
                ]],
            ],
        ]
        return try Yams.serialize(nodes: [configMap, job], explicitStart: true)
    }

    /// A name Kubernetes accepts (RFC 1123 label: lower case, digits and '-', at most 63 characters).
    static func dnsLabel(_ text: String) -> String {
        let mapped = text.lowercased().map { $0.isLetter && $0.isASCII || $0.isNumber ? $0 : "-" }
        var label = String(String(mapped).prefix(63))
        while label.hasSuffix("-") { label.removeLast() }
        return label
    }
}
