import ClusterSim
import Foundation

/// The repository's Scenarios/ folder.
let scenariosFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Scenarios").path

/// A scenario by name: the built-in default, `Scenarios/NAME.yaml`, or a folder of manifests there.
func loadScenario(_ name: String) throws -> Scenario {
    if name == "default" { return try ScenarioParser.parse(yaml: Scenario.defaultYAML, file: "<built-in default>") }
    let folder = "\(scenariosFolder)/\(name)"
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue {
        return try ManifestConverter.read(paths: [folder]).scenario
    }
    return try ScenarioParser.parse(yaml: try String(contentsOfFile: folder + ".yaml", encoding: .utf8), file: "Scenarios/\(name).yaml")
}

/// The report pages the tests open: each a scenario, how it is run, and what it must show.
struct PageCase: CustomStringConvertible, Sendable {
    var name: String
    var explain: String?
    /// Packets per client of the first flow, when the scenario's count is too many for a test (the 100-node
    /// scenario's 10,000 per client: the page has the same parts, only the counts differ).
    var countPerClient: Int?
    var description: String { name + (explain.map { " --explain \($0)" } ?? "") }

    static let all: [PageCase] = [
        PageCase(name: "default"),
        PageCase(name: "fw-udp-4789-blocked", explain: "ping-backend"),
        PageCase(name: "k8s-calico-shop"),
        PageCase(name: "large-100-nodes", countPerClient: 2),
    ]

    /// The case's report, simulated once per test run (several tests open the same pages).
    func report() throws -> Report {
        let key = description + "|\(countPerClient ?? 0)"
        if let cached = reportCache[key] { return cached }
        let report = try simulate()
        reportCache[key] = report
        return report
    }

    /// A new simulation of the case, every time.
    func simulate() throws -> Report {
        var scenario = try loadScenario(name)
        if let countPerClient, !scenario.traffic.isEmpty { scenario.traffic[0].count = countPerClient }
        let simulation = try Simulation(scenario: scenario)
        simulation.explainFlow = explain
        return try simulation.run(captureDirectory: nil)
    }
}

/// Reports already simulated, by case.
private final class ReportCache: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [String: Report] = [:]
    subscript(key: String) -> Report? {
        get { lock.withLock { reports[key] } }
        set { lock.withLock { reports[key] = newValue } }
    }
}
private let reportCache = ReportCache()

/// A fresh, empty folder under the system's temporary folder.
func temporaryFolder(_ label: String) throws -> String {
    let path = NSTemporaryDirectory() + "overlay-sim-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// An attribute value as Chromium serialises it in `--dump-dom` (`&`, `"` and no-break space escaped;
/// HTML Living Standard §13.3 "escaping a string" in attribute mode; `<` and `>` as well since 2025).
func serialisedAttribute(_ value: String) -> String {
    value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
        .replacingOccurrences(of: "\u{A0}", with: "&nbsp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}

/// The opening tags in `dom` whose class attribute starts with `classPrefix`.
func tags(in dom: String, classPrefix: String) -> [String] {
    var found: [String] = []
    var rest = dom[...]
    let needle = "class=\"\(classPrefix)"
    while let range = rest.range(of: needle) {
        let start = rest[..<range.lowerBound].lastIndex(of: "<") ?? range.lowerBound
        let end = rest[range.upperBound...].firstIndex(of: ">") ?? rest.endIndex
        found.append(String(rest[start..<end]))
        rest = rest[end...]
    }
    return found
}
