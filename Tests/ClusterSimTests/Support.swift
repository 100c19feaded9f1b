import Capture
import ClusterSim
import Foundation
import PacketWire

/// The repository's Scenarios/ folder.
let scenariosFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Scenarios").path

func loadScenario(_ name: String) throws -> Scenario {
    if name == "default" { return try ScenarioParser.parse(yaml: Scenario.defaultYAML, file: "<built-in default>") }
    let path = "\(scenariosFolder)/\(name).yaml"
    return try ScenarioParser.parse(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
}

/// A fresh, empty folder under the system's temporary folder.
func temporaryFolder(_ label: String) throws -> String {
    let path = NSTemporaryDirectory() + "overlay-sim-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a scenario with captures into a new folder; returns the report and the folder.
func runWithCaptures(_ scenario: Scenario, label: String) throws -> (Report, String) {
    let folder = try temporaryFolder(label)
    let report = try Simulation(scenario: scenario).run(captureDirectory: folder)
    return (report, folder)
}

func frames(in path: String) throws -> [Frame] {
    try PcapReader(path: path).readAll()
}

/// Inner IPv4 destination and UDP/TCP destination port of an Ethernet frame, when it has them.
func ipv4Destination(_ bytes: [UInt8]) -> (IPv4Address, UInt16)? {
    guard bytes.count >= 38, bytes[12] == 0x08, bytes[13] == 0x00 else { return nil }
    let ihl = Int(bytes[14] & 0x0F) * 4
    guard bytes.count >= 14 + ihl + 4 else { return nil }
    let address = IPv4Address(bytes[30], bytes[31], bytes[32], bytes[33])
    return (address, UInt16(bytes[14 + ihl + 2]) << 8 | UInt16(bytes[14 + ihl + 3]))
}

/// Runs tshark when it is installed; nil (with the reason printed) when it is not.
func tshark(_ arguments: [String]) -> String? {
    let candidates = ["/usr/bin/tshark", "/usr/local/bin/tshark"]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        print("tshark is not installed: skipping the comparison with Wireshark's dissectors (apt-get install tshark)")
        return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

let tsharkInstalled = ["/usr/bin/tshark", "/usr/local/bin/tshark"].contains { FileManager.default.isExecutableFile(atPath: $0) }
