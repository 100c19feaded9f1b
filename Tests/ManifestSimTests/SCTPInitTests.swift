import ClusterSim
import Foundation
import Testing

/// The SCTP INIT `probe --protocol sctp` sends, read back by tshark (the reference decoder) with its
/// CRC32c check on.
@Suite("SCTP INIT on the wire")
struct SCTPInitTests {
    @Test("tshark decodes the INIT and finds its CRC32c correct")
    func tsharkAgrees() throws {
        let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tshark else {
            print("SCTPInitTests: skipped, tshark is not installed")
            return
        }
        let scenario = try ScenarioParser.parse(yaml: """
            name: sctp-init
            cluster:
              nodes:
                - {name: n1, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
                - {name: n2, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
            workloads:
              - {kind: Pod, name: a, node: n1}
              - {kind: Pod, name: b, node: n2}
            traffic:
              - {name: init, from: a, to: b, protocol: sctp, count: 1, port: 80}
            """, file: "sctp-init.yaml")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sctp-init-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let report = try Simulation(scenario: scenario).run(captureDirectory: directory)
        #expect(report.flows.first?.packetsDelivered == 1)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tshark)
        process.arguments = ["-r", directory + "/pod-b.pcap", "-o", "sctp.checksum:CRC-32C", "-T", "fields",
                             "-e", "sctp.dstport", "-e", "sctp.chunk_type", "-e", "sctp.checksum.status", "-e", "sctp.init_nr_out_streams"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // Port 80, chunk type 1 (INIT), checksum status 1 (good), 10 outbound streams.
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "80\t1\t1\t10")
    }
}
