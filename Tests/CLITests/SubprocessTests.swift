import Foundation
import TestFixtures
import Testing

/// The built `overlay-sim` binary run as a user runs it: exit statuses and what reaches each stream.
@Suite("overlay-sim as a subprocess", .enabled(if: Binary.isAvailable, "the overlay-sim binary was not built"))
struct SubprocessTests {
    @Test("--help lists the capture subcommands")
    func help() throws {
        let result = try Binary.run("--help")
        #expect(result.status == 0)
        for name in ["decode", "encap", "decap"] {
            #expect(result.output.contains("  \(name) "), "\(result.output)")
        }
    }

    @Test("run writes the captures and report.json, and prints the report as JSON with --json")
    func runScenario() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-sim-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try Binary.run("run", "--out", folder, "--json")
        // The default scenario's sql-to-db completes none of its connections: finished, a flow failed.
        #expect(result.status == 2)
        let report = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        #expect(report?["scenario"] as? String == "default")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(files.contains("report.json") && files.contains("node-a-underlay.pcap"))
        #expect(!files.contains { $0.hasPrefix(".") }, "no temporary file is left: \(files)")
    }

    @Test("run names the file, line and column of a bad scenario, and a missing one, with status 1")
    func runBadScenario() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
        try "name: x\ncluster:\n  nodes:\n    - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24, colour: red}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bad = try Binary.run("run", path, "--no-captures")
        #expect(bad.status == 1)
        #expect(bad.errors.contains("\(path):4:60: unknown field 'colour' in a node"), "\(bad.errors)")
        let missing = try Binary.run("run", path + ".missing")
        #expect(missing.status == 1)
        #expect(missing.errorLines == ["Error: \(path).missing: no such scenario file"])
    }

    @Test("decode prints a header, a line a frame and a summary, and exits 0")
    func decodeTable() throws {
        let result = try Binary.run("decode", fixture("kernel/gbp.pcap"))
        #expect(result.status == 0)
        #expect(result.errors.isEmpty)
        #expect(result.outputLines.count == 25 + 2)
        #expect(result.outputLines.contains { $0.contains("gbp 2748") })
    }

    @Test("decode --json prints JSON Lines only")
    func decodeJSON() throws {
        let result = try Binary.run("decode", "--json", "--vxlan-port", "8472", fixture("kernel/flannel-v4.pcap"))
        #expect(result.status == 0)
        #expect(result.outputLines.count == 26)
        for line in result.outputLines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["frame"] != nil && object?.keys.contains("vxlan") == true)
        }
    }

    @Test("decode of a damaged file prints what it read, then one error line naming the file and frame; exit 1")
    func decodeDamaged() throws {
        let path = fixture("odd/truncated.pcap")
        let result = try Binary.run("decode", path)
        #expect(result.status == 1)
        #expect(result.outputLines.count == 1 + 16 + 1)
        #expect(result.errorLines == ["error: \(path): frame 17: truncated dump file; tried to read 60 captured bytes, only got 50"])
    }

    @Test("decode of a missing file: one line, exit 1")
    func decodeMissing() throws {
        let result = try Binary.run("decode", "/nonexistent/capture.pcap")
        #expect(result.status == 1)
        #expect(result.output.isEmpty)
        #expect(result.errors == "error: /nonexistent/capture.pcap: no such file\n")
    }

    @Test("encap then decap through the binary gives back the input; counts on stderr")
    func encapDecap() throws {
        let folder = try TemporaryFolder()
        let inner = folder.file("inner.pcap")
        let outer = folder.file("outer.pcap")
        let back = folder.file("back.pcap")
        let decap = try Binary.run("decap", fixture("kernel/calico-v4.pcap"), inner, "--vni", "42", "--dstport", "4789")
        #expect(decap.status == 0)
        #expect(decap.errorLines.first?.hasPrefix("decap: read 24 frames from ") == true, "\(decap.errors)")
        let encap = try Binary.run("encap", inner, outer, "--vni", "42", "--local", "192.0.2.1", "--remote", "192.0.2.2")
        #expect(encap.status == 0)
        #expect(encap.errorLines.count == 1)
        #expect(encap.errorLines.first?.contains("(vxlan id 42 remote 192.0.2.2 local 192.0.2.1 srcport 32768 61000 dstport 4789") == true)
        let again = try Binary.run("decap", outer, back)
        #expect(again.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: back)) == Data(contentsOf: URL(fileURLWithPath: inner)))
    }

    @Test("argument errors exit 64 with ArgumentParser's message")
    func argumentErrors() throws {
        let result = try Binary.run("encap", "in.pcap", "out.pcap", "--vni", "1", "--local", "192.0.2.1",
                                    "--remote", "192.0.2.2", "--df", "sometimes")
        #expect(result.status == 64)
        #expect(result.errors.hasPrefix("Error: --df: 'sometimes' is not unset, set or inherit\n"))
        let missing = try Binary.run("encap", "in.pcap", "out.pcap")
        #expect(missing.status == 64)
        #expect(missing.errors.contains("--vni"))
    }

    @Test("a bad input to encap: one line naming the file, exit 1, no output")
    func encapRandomBytes() throws {
        let folder = try TemporaryFolder()
        let output = folder.file("out.pcap")
        let path = fixture("odd/random.bin")
        let result = try Binary.run("encap", path, output, "--vni", "1", "--local", "192.0.2.1", "--remote", "192.0.2.2")
        #expect(result.status == 1)
        #expect(result.errorLines.count == 1)
        #expect(result.errorLines.first?.hasPrefix("error: \(path): not a pcap or pcapng file") == true)
        #expect(try folder.contents().isEmpty)
    }
}
