import ClusterSim
import Foundation
import Testing
@testable import Testbed

/// One run of the suite: a scenario of Scenarios/linux-*.yaml, the VTEP layout and sysctls the testbed
/// builds it with, and the flows whose destination does not listen.
struct TestbedCase: Codable, Sendable, CustomTestStringConvertible {
    var name: String
    var scenario: String
    var vtep: String
    var sysctls: [String]?
    var closed: [String]?
    /// Seconds the testbed's traffic may take (4 unless the case needs longer).
    var timeLimit: Double?
    var testDescription: String { name }

    static let all: [TestbedCase] = {
        guard let url = Bundle.module.url(forResource: "Fixtures/cases", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return [] }
        return (try? JSONDecoder().decode([TestbedCase].self, from: data)) ?? []
    }()
}

enum Suite {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built `overlay-sim`, which the testbed runs as its agent inside each namespace.
    static let agent: String? = {
        let build = repository.appendingPathComponent(".build")
        let candidates = ["debug/overlay-sim", "release/overlay-sim"]
            + ((try? FileManager.default.contentsOfDirectory(atPath: build.path)) ?? []).flatMap { ["\($0)/debug/overlay-sim", "\($0)/release/overlay-sim"] }
        return candidates.map { build.appendingPathComponent($0).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Why the suite cannot run here (printed), or nil.
    static let skipReason: String? = {
        let reason = TestbedRunner.unavailableReason() ?? (agent == nil ? "the overlay-sim binary was not built beside the tests" : nil)
        if let reason { print("TestbedTests skipped: \(reason)") }
        return reason
    }()

    /// Differences already known, per case: `point | flow | what`. The simulator is being brought to
    /// Linux's behaviour (issue 10); each entry is one item of that work, and goes when it is fixed.
    static let known: [String: [String]] = {
        guard let url = Bundle.module.url(forResource: "Fixtures/known-differences", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return [:] }
        return (try? JSONDecoder().decode([String: [String]].self, from: data)) ?? [:]
    }()
}

@Suite("testbed and compare: the simulator against this kernel", .serialized,
       .enabled(if: Suite.skipReason == nil, "needs root, iproute2, nftables and network namespaces"))
struct TestbedSuiteTests {
    @Test("the simulator agrees with Linux, apart from the known differences", arguments: TestbedCase.all)
    func agreesWithLinux(_ testCase: TestbedCase) throws {
        let file = Suite.repository.appendingPathComponent("Scenarios/\(testCase.scenario).yaml").path
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var scenario = try ScenarioParser.parse(yaml: text, file: file)
        // The simulator runs what the testbed builds: the case's VTEP layout and sysctls.
        scenario.overlay.vtep = VTEPLayout(rawValue: testCase.vtep) ?? .routed
        for setting in testCase.sysctls ?? [] {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            #expect(parts.count == 2 && scenario.sysctls.set(parts[0], to: Int(parts[1]) ?? -1), "sysctl \(setting)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-sim-testbed-\(testCase.name)-\(UUID().uuidString.prefix(8))")
        let simulated = folder.appendingPathComponent("sim").path, real = folder.appendingPathComponent("real").path
        for path in [simulated, real] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try Simulation(scenario: scenario).run(captureDirectory: simulated)
        try (report.json() + "\n").write(toFile: simulated + "/report.json", atomically: true, encoding: .utf8)

        var options = TestbedOptions(prefix: "osbt\(String(getpid() % 1296, radix: 36))\(String((TestbedCase.all.firstIndex { $0.name == testCase.name } ?? 0), radix: 36))")
        options.layout = VTEPLayout(rawValue: testCase.vtep) ?? .routed
        options.sysctls = (testCase.sysctls ?? []).map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        options.closedFlows = Set(testCase.closed ?? [])
        options.timeLimit = testCase.timeLimit ?? 4
        let runner = TestbedRunner(scenario: scenario, pods: report.pods, options: options, agentExecutable: Suite.agent ?? "")
        try runner.run(outputDirectory: real)
        // Nothing the run made is left behind.
        let left = try Shell.run(["ip", "netns", "list"]).output.split(separator: "\n").filter { $0.hasPrefix(options.prefix + "-") }
        #expect(left.isEmpty, "namespaces left behind: \(left)")

        let comparison = try Comparison(scenario: scenario, simulatedDirectory: simulated, realDirectory: real)
        print("== \(testCase.name)\n\(comparison.table())")
        let known = Set(Suite.known[testCase.name] ?? [])
        var seen = Set<String>()
        for difference in comparison.differences where difference.beyondTolerance {
            let key = "\(difference.point) | \(difference.flow) | \(difference.what)"
            seen.insert(key)
            let sentence = "\(testCase.name): \(key): simulated \(difference.simulated), Linux \(difference.real)"
            if known.contains(key) {
                withKnownIssue("a known difference (Tests/TestbedTests/Fixtures/known-differences.json)") { Issue.record(Comment(rawValue: sentence)) }
            } else {
                Issue.record(Comment(rawValue: sentence))
            }
        }
        // OVERLAY_SIM_RECORD_KNOWN=FILE adds what differs now to FILE (a person reviews it into the fixture).
        if let record = ProcessInfo.processInfo.environment["OVERLAY_SIM_RECORD_KNOWN"] {
            var all = (try? JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: URL(fileURLWithPath: record)))) ?? [:]
            all[testCase.name] = Array(Set(all[testCase.name] ?? []).union(seen)).sorted()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(all).write(to: URL(fileURLWithPath: record))
        }
        for key in known.subtracting(seen).sorted() {
            print("\(testCase.name): now agrees: \(key) (remove it from known-differences.json)")
        }
    }
}
