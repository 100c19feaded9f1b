import ClusterSim
import Foundation
import Testing

/// The wire guard for restructuring: every capture and the report of the built-in default and of every
/// example scenario, as SHA-256 values committed in `Fixtures/capture-hashes.json`. A change that moves
/// code must leave every value as it is; a change that means to alter what goes on the wire updates the
/// file and says in its commit message which values changed and why.
///
/// `report.json` is hashed in a canonical form (keys sorted, compact) with the keys listed in
/// ``reportKeysAddedSinceHashing`` removed, so that adding a field to the report (a drop's code) does
/// not hide a change to any value that was there before.
///
/// To record new values (only when the wire is meant to change):
/// `OVERLAY_SIM_RECORD_HASHES=1 swift test --filter CaptureHashTests`.
@Suite("Captures and reports stay byte-identical")
struct CaptureHashTests {
    static let hashFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/capture-hashes.json").path

    /// Keys that report.json gained after the values were recorded, removed before hashing: each drop's
    /// `code` (issue 9, the rebuild's DropReason); the `topology` section `report.html` draws (issue 15).
    static let reportKeysAddedSinceHashing: Set<String> = ["code", "topology"]

    static let scenarios: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: scenariosFolder)) ?? []
        return ["default"] + names.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }()

    @Test("every capture and report.json hashes to its committed value", arguments: scenarios)
    func hashesUnchanged(name: String) throws {
        let hashes = try Self.run(name)
        let recording = ProcessInfo.processInfo.environment["OVERLAY_SIM_RECORD_HASHES"] == "1"
        if recording {
            try Self.record(name, hashes)
            return
        }
        let committed = try Self.committed()
        let expected = try #require(committed[name], "no committed hashes for \(name): record them (see the doc comment)")
        #expect(Set(hashes.keys) == Set(expected.keys), "\(name): files \(hashes.keys.sorted()) vs committed \(expected.keys.sorted())")
        for (file, value) in hashes.sorted(by: { $0.key < $1.key }) {
            #expect(expected[file] == value, "\(name)/\(file) changed: \(value), committed \(expected[file] ?? "none")")
        }
    }

    /// Runs the scenario as `overlay-sim run` does from the repository root (the file named
    /// `Scenarios/NAME.yaml`, so locations in warnings do not depend on where the checkout is).
    static func run(_ name: String) throws -> [String: String] {
        let scenario: Scenario
        if name == "default" {
            scenario = try ScenarioParser.parse(yaml: Scenario.defaultYAML, file: "<built-in default>")
        } else {
            let text = try String(contentsOfFile: "\(scenariosFolder)/\(name).yaml", encoding: .utf8)
            scenario = try ScenarioParser.parse(yaml: text, file: "Scenarios/\(name).yaml")
        }
        let folder = try temporaryFolder("hash-\(name)")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let report = try Simulation(scenario: scenario).run(captureDirectory: folder)
        var hashes: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) {
            hashes[file] = try sha256(ofFile: "\(folder)/\(file)")
        }
        hashes["report.json"] = try sha256(of: canonicalReport(report.json()))
        return hashes
    }

    /// report.json with sorted keys, no whitespace, and the keys added since recording removed.
    static func canonicalReport(_ json: String) throws -> Data {
        func strip(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                var kept: [String: Any] = [:]
                for (key, item) in object where !reportKeysAddedSinceHashing.contains(key) { kept[key] = strip(item) }
                return kept
            }
            if let array = value as? [Any] { return array.map(strip) }
            return value
        }
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8))
        return try JSONSerialization.data(withJSONObject: strip(parsed), options: [.sortedKeys, .withoutEscapingSlashes])
    }

    static func committed() throws -> [String: [String: String]] {
        guard let data = FileManager.default.contents(atPath: hashFile) else { return [:] }
        return try JSONDecoder().decode([String: [String: String]].self, from: data)
    }

    /// Writes one scenario's values into the file (tests run in parallel: the lock keeps writes whole).
    static func record(_ name: String, _ hashes: [String: String]) throws {
        recordLock.lock()
        defer { recordLock.unlock() }
        var all = try committed()
        all[name] = hashes
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try (String(decoding: try encoder.encode(all), as: UTF8.self) + "\n").write(toFile: hashFile, atomically: true, encoding: .utf8)
    }

    static let recordLock = NSLock()
}

/// SHA-256 of a file, from coreutils' sha256sum (present wherever the tests run).
func sha256(ofFile path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    return try #require(text.split(separator: " ").first.map(String.init), "sha256sum printed nothing for \(path)")
}

func sha256(of data: Data) throws -> String {
    let path = NSTemporaryDirectory() + "overlay-sim-hash-\(UUID().uuidString)"
    try data.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try sha256(ofFile: path)
}
