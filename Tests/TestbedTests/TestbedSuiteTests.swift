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

/// One entry of `Fixtures/known-differences.json`.
struct KnownDifference: Codable, Sendable, Hashable {
    /// `point | flow | what`, as the comparison names it.
    var difference: String
    /// Why the simulator differs; required.
    var reason: String
    /// Kernel timing makes it come and go (an absence is not a failure).
    var intermittent: Bool?
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

    /// Differences still known, per case: `point | flow | what` and the written reason the simulator
    /// differs (what Linux does that it does not, or why the testbed cannot build the same thing). A known
    /// difference without a reason fails the suite, and so does one that no longer differs (remove it);
    /// `intermittent` marks one that kernel timing makes come and go, which may be absent.
    static let known: [String: [KnownDifference]] = {
        guard let url = Bundle.module.url(forResource: "Fixtures/known-differences", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return [:] }
        return (try? JSONDecoder().decode([String: [KnownDifference]].self, from: data)) ?? [:]
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
        let entries = Suite.known[testCase.name] ?? []
        for entry in entries where entry.reason.trimmingCharacters(in: .whitespacesAndNewlines).count < 20 {
            Issue.record("\(testCase.name): known difference '\(entry.difference)' has no written reason (known-differences.json)")
        }
        let known = Set(entries.map(\.difference))
        var seen = Set<String>()
        for difference in comparison.differences where difference.beyondTolerance {
            let key = "\(difference.point) | \(difference.flow) | \(difference.what)"
            seen.insert(key)
            let sentence = "\(testCase.name): \(key): simulated \(difference.simulated), Linux \(difference.real)"
            if known.contains(key) {
                let reason = entries.first { $0.difference == key }?.reason ?? ""
                withKnownIssue("a known difference (Tests/TestbedTests/Fixtures/known-differences.json): \(reason)") { Issue.record(Comment(rawValue: sentence)) }
            } else {
                Issue.record(Comment(rawValue: sentence))
            }
        }
        // OVERLAY_SIM_RECORD_KNOWN=FILE adds what differs now to FILE (a person reviews it into the fixture
        // and writes each one's reason).
        if let record = ProcessInfo.processInfo.environment["OVERLAY_SIM_RECORD_KNOWN"] {
            var all = (try? JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: URL(fileURLWithPath: record)))) ?? [:]
            all[testCase.name] = Array(Set(all[testCase.name] ?? []).union(seen)).sorted()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(all).write(to: URL(fileURLWithPath: record))
        }
        for entry in entries where !seen.contains(entry.difference) {
            let sentence = "\(testCase.name): now agrees: \(entry.difference) (remove it from known-differences.json)"
            if entry.intermittent == true { print(sentence + "; marked intermittent") } else { Issue.record(Comment(rawValue: sentence)) }
        }
    }
}

/// The fixture itself, checked everywhere (no root needed): it decodes, names only cases that exist, lists
/// each difference once, and gives each a reason.
@Suite("known-differences.json: every remaining difference has its reason")
struct KnownDifferencesFixtureTests {
    @Test("decodes, names real cases, no duplicates, a reason for each")
    func everyDifferenceHasAReason() throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/known-differences", withExtension: "json"))
        let known = try JSONDecoder().decode([String: [KnownDifference]].self, from: Data(contentsOf: url))
        let cases = Set(TestbedCase.all.map(\.name))
        #expect(!cases.isEmpty)
        for (name, entries) in known {
            #expect(cases.contains(name), "\(name) is not a case of cases.json")
            #expect(Set(entries.map(\.difference)).count == entries.count, "\(name): a difference listed twice")
            for entry in entries {
                #expect(entry.difference.split(separator: "|").count == 3, "\(name): '\(entry.difference)' is not 'point | flow | what'")
                #expect(entry.reason.trimmingCharacters(in: .whitespacesAndNewlines).count >= 20, "\(name): '\(entry.difference)' has no written reason")
            }
        }
    }
}
