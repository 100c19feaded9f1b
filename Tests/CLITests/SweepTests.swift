import ClusterSim
import Foundation
import Testing
import Yams

/// `overlay-sim sweep`: combinations numbered as documented, each a separate run, one summary; the
/// Indexed Job it writes parses back as a Job that runs combination K in pod K.
@Suite("sweep: a scenario over combinations of values")
struct SweepTests {
    static let arguments = ["sweep", "pmtu-routed-black-hole", "--vary", "sysctl.'net.ipv4.ip_forward_use_pmtu'=[0,1]",
                            "--vary", "cluster.overlay.df=[inherit,unset]"]

    static func temporary() throws -> String {
        let folder = NSTemporaryDirectory() + "overlay-sim-sweep-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static func yaml(_ path: String) throws -> Node {
        try #require(try Yams.compose(yaml: try String(contentsOfFile: path, encoding: .utf8)))
    }

    @Test("the combinations, last --vary fastest, each path set in the YAML; ranges; quoted keys; bad paths said")
    func combinations() throws {
        let sweep = try ScenarioSweep([try .init(parsing: "cluster.overlay.mtu=[1400,1450]"), try .init(parsing: "seed=1..3")])
        #expect(sweep.count == 6)
        #expect((0..<6).map { sweep.combination($0) } == [["1400", "1"], ["1400", "2"], ["1400", "3"], ["1450", "1"], ["1450", "2"], ["1450", "3"]])
        let text = "name: x\nseed: 7\ncluster:\n  overlay: {vni: 1, mtu: 1500}\n"
        let changed = try #require(try Yams.compose(yaml: try sweep.apply(4, to: text, file: "x.yaml")))
        #expect(changed["seed"]?.int == 2)
        #expect(changed["cluster"]?["overlay"]?["mtu"]?.int == 1450)
        #expect(changed["cluster"]?["overlay"]?["vni"]?.int == 1)
        let dotted = try ScenarioSweep.Variation(parsing: "sysctl.'net.ipv4.ip_forward_use_pmtu'=[0,1]")
        #expect(dotted.path == ["sysctl", "net.ipv4.ip_forward_use_pmtu"])
        #expect(throws: SweepError("--vary 'seed': expected PATH=[V1,V2,...] or PATH=A..B")) { try ScenarioSweep.Variation(parsing: "seed") }
        #expect(throws: SweepError("--vary 'seed=3..1': the range 3..1 is empty")) { try ScenarioSweep.Variation(parsing: "seed=3..1") }
        let intoScalar = try ScenarioSweep([try .init(parsing: "name.first=[a]")])
        #expect(throws: SweepError("--vary name.first: the scenario has a single value where 'first' would go")) {
            try intoScalar.apply(0, to: text, file: "x.yaml")
        }
        let pastList = try ScenarioSweep([try .init(parsing: "links.3.mtu=[1]")])
        #expect(throws: SweepError("--vary links.3.mtu: '3' is not an index of the list there (it has 1 entries)")) {
            try pastList.apply(0, to: "links: [{mtu: 1500}]\n", file: "x.yaml")
        }
    }

    @Test("a local sweep: one run folder per combination, the summary in index order, the same bytes on a rerun")
    func localSweep() throws {
        guard Binary.isAvailable else { return }
        let folder = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try Binary.run(Self.arguments + ["--jobs", "2", "--out", folder + "/out"])
        #expect(result.status == 0, "\(result.errors)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/out").sorted()
        #expect(names == ["run-0", "run-1", "run-2", "run-3", "summary.csv", "summary.json"])
        // Combination 2 is ip_forward_use_pmtu=1 with df inherit: the scenario as run says so.
        let run2 = try Self.yaml(folder + "/out/run-2/scenario.yaml")
        #expect(run2["sysctl"]?["net.ipv4.ip_forward_use_pmtu"]?.int == 1)
        #expect(run2["cluster"]?["overlay"]?["df"]?.string == "inherit")
        let csv = try String(contentsOfFile: folder + "/out/summary.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "index,sysctl.net.ipv4.ip_forward_use_pmtu,cluster.overlay.df,status,flow,protocol,sent,delivered,dropped,connectionsCompleted,firstDropCode,firstDropPlace")
        #expect(csv.count == 1 + 4 * 3)
        // The black hole (run 0: df inherit, no ip_forward_use_pmtu) loses the upload; df unset (run 1) does not.
        let upload = csv.filter { $0.contains(",upload,") }.map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(upload.map { $0[0] } == ["0", "1", "2", "3"])
        #expect(upload[0][10] == "mtuExceeded" && upload[1][8] == "0")
        let first = try Data(contentsOf: URL(fileURLWithPath: folder + "/out/summary.csv"))
        #expect(try Binary.run(Self.arguments + ["--jobs", "1", "--out", folder + "/out"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/out/summary.csv")) == first)
        #expect(!FileManager.default.subpaths(atPath: folder + "/out")!.contains { $0.contains("partial") })
    }

    @Test("--emit-kubernetes-job: an Indexed Job with the scenario in a ConfigMap; --index K runs combination K alone, as the local sweep did")
    func kubernetesJob() throws {
        guard Binary.isAvailable else { return }
        let folder = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let emitted = try Binary.run(Self.arguments + ["--jobs", "3", "--emit-kubernetes-job", folder + "/job.yaml"])
        #expect(emitted.status == 0, "\(emitted.errors)")
        let documents = Array(try Yams.compose_all(yaml: try String(contentsOfFile: folder + "/job.yaml", encoding: .utf8)))
        #expect(documents.count == 2)
        let configMap = documents[0], job = documents[1]
        #expect(configMap["kind"]?.string == "ConfigMap")
        let scenarioText = try #require(configMap["data"]?["scenario.yaml"]?.string)
        #expect(scenarioText == (try String(contentsOfFile: "Scenarios/pmtu-routed-black-hole.yaml", encoding: .utf8)))
        #expect(job["apiVersion"]?.string == "batch/v1" && job["kind"]?.string == "Job")
        let spec = try #require(job["spec"])
        #expect(spec["completionMode"]?.string == "Indexed")
        #expect(spec["completions"]?.int == 4 && spec["parallelism"]?.int == 3)
        let pod = try #require(spec["template"]?["spec"])
        #expect(pod["restartPolicy"]?.string == "Never")
        let container = try #require(pod["containers"]?[0])
        let args = container["args"]?.sequence?.compactMap { $0.string } ?? []
        #expect(args.contains("$(JOB_COMPLETION_INDEX)"))
        #expect(pod["volumes"]?[0]?["configMap"]?["name"]?.string == configMap["metadata"]?["name"]?.string)
        #expect(container["volumeMounts"]?[0]?["mountPath"]?.string == "/scenario")
        // What pod 2 runs: the Job's own args with the index Kubernetes substitutes, the scenario from the ConfigMap.
        try scenarioText.write(toFile: folder + "/scenario.yaml", atomically: true, encoding: .utf8)
        #expect(args.first == "sweep")
        let substitutions = ["$(JOB_COMPLETION_INDEX)": "2", "/scenario/scenario.yaml": folder + "/scenario.yaml", "/results": folder + "/results"]
        let podArgs = args.map { substitutions[$0] ?? $0 }
        #expect(try Binary.run(podArgs).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/results") == ["run-2"])
        let local = try Binary.run(Self.arguments + ["--out", folder + "/local"])
        #expect(local.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/results/run-2/report.json"))
                == (try Data(contentsOf: URL(fileURLWithPath: folder + "/local/run-2/report.json"))))
        // The summary after the Job: built from the run folders, the missing ones said.
        let summary = try Binary.run(Self.arguments + ["--summarize", "--out", folder + "/results"])
        #expect(summary.status == 1)
        #expect(summary.output.contains("1 runs (3 missing)"))
    }
}
