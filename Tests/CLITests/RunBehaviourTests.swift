import Foundation
import Testing
@testable import overlay_sim

/// `overlay-sim run` as a script sees it (issue 15, item 5): examples found from any folder, `--version`,
/// exit statuses, report.json with `--no-captures`, the decode hint, the progress line, `--seed -1`.
@Suite("run behaves for a user and a script", .enabled(if: Binary.isAvailable))
struct RunBehaviourTests {
    static let scenarios = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scenarios").path

    @Test("example scenarios are found by name from a folder that has no Scenarios/")
    func examplesFromAnyFolder() throws {
        let folder = try TemporaryFolder()
        let list = try Binary.run(["scenarios"], in: folder.path)
        #expect(list.status == 0)
        #expect(list.output.contains("fw-sg-port-mismatch") && list.output.contains("flannel-two-nodes"), "\(list.output.prefix(400))")
        let run = try Binary.run(["run", "flannel-two-nodes", "--no-captures"], in: folder.path)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("scenario flannel-two-nodes (seed"), "\(run.output.prefix(200))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test("--version prints the version and exits 0")
    func version() throws {
        let result = try Binary.run("--version")
        #expect(result.status == 0)
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == OverlaySim.version)
    }

    @Test("exit status: 0 all through, 2 a flow failed, 3 with --fail-on-drop a flow lost packets", arguments: [
        ("flannel-two-nodes", false, Int32(0)), ("flannel-two-nodes", true, 0),
        ("rollout-replacement", false, 0), ("rollout-replacement", true, 3),
        ("fw-sg-port-mismatch", false, 2), ("fw-sg-port-mismatch", true, 3),
    ])
    func exitStatus(scenario: String, failOnDrop: Bool, expected: Int32) throws {
        let result = try Binary.run(["run", "\(Self.scenarios)/\(scenario).yaml", "--no-captures", "--json"] + (failOnDrop ? ["--fail-on-drop"] : []))
        #expect(result.status == expected, "\(scenario) \(failOnDrop): \(result.errors)")
        // The report is printed in full whatever the status.
        let report = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        #expect(report?["scenario"] as? String == scenario)
    }

    @Test("run --help states the exit statuses and what sent counts; --seed -1 is explained")
    func helpAndSeed() throws {
        let help = try Binary.run("run", "--help")
        let text = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for phrase in ["Exit status: 0", "2 it finished but a flow failed", "3 with --fail-on-drop", "Sent, delivered and dropped count",
                       "There is no 'random' seed (-1 is not one)"] {
            #expect(text.contains(phrase), "\(phrase)")
        }
        let seed = try Binary.run("run", "--seed", "-1", "--no-captures")
        #expect(seed.status == 64)
        #expect(seed.errors.contains("The value '-1' is invalid for '--seed <N>'") && seed.errors.contains("-1 is not one"), "\(seed.errors)")
        #expect(seed.output.isEmpty)
    }

    @Test("--out with --no-captures writes report.json alone, in the same transaction")
    func reportWithoutCaptures() throws {
        let folder = try TemporaryFolder()
        let out = folder.path + "/out"
        let result = try Binary.run("run", "\(Self.scenarios)/flannel-two-nodes.yaml", "--no-captures", "--out", out)
        #expect(result.status == 0, "\(result.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["report.html", "report.json"])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as? [String: Any]
        #expect(report?["scenario"] as? String == "flannel-two-nodes")
        #expect((report?["captures"] as? [Any])?.isEmpty == true)
        #expect(result.output.hasSuffix("report.json and report.html in \(out)/\n"), "\(result.output.suffix(200))")
        // Rerunning replaces it, as a run with captures does.
        #expect(try Binary.run("run", "\(Self.scenarios)/flannel-two-nodes.yaml", "--no-captures", "--out", out).status == 0)
    }

    @Test("each firewall sentence is printed once")
    func sentenceOnce() throws {
        let result = try Binary.run("run", "\(Self.scenarios)/fw-sg-port-mismatch.yaml", "--no-captures")
        let json = try Binary.run("run", "\(Self.scenarios)/fw-sg-port-mismatch.yaml", "--no-captures", "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let explanations = try #require(report["firewallDrops"] as? [[String: Any]]).compactMap { $0["explanation"] as? String }
        #expect(explanations.count == 2)
        for sentence in explanations {
            #expect(result.output.components(separatedBy: sentence).count - 1 == 1, "\(sentence.prefix(80))")
        }
        #expect(result.output.contains("[firewallDenied]: security group sg-workers, default policy drop (why: under firewall drops)"))
    }

    @Test("after a run with captures on 8472, the tshark and tcpdump commands that decode it are printed, and work")
    func decodeHint() throws {
        let folder = try TemporaryFolder()
        let out = folder.path + "/out"
        let result = try Binary.run("run", "\(Self.scenarios)/fw-sg-port-mismatch.yaml", "--out", out)
        #expect(result.status == 2)
        let hint = try #require(result.outputLines.first { $0.hasPrefix("decode VXLAN on port 8472: ") }, "\(result.output.suffix(400))")
        #expect(hint.contains("tshark -r \(out)/node-a-underlay.pcap -d udp.port==8472,vxlan"))
        #expect(hint.contains("tcpdump -nr \(out)/node-a-underlay.pcap -T vxlan"))
        #expect(result.outputLines.contains { $0.hasPrefix("why each drop: tshark -r \(out)/drops.pcapng -T fields") })
        if Tshark.isAvailable {
            let decoded = try Tshark.run(try #require(Tshark.executable), ["-r", "\(out)/node-a-underlay.pcap", "-d", "udp.port==8472,vxlan",
                                                                         "-Y", "vxlan", "-T", "fields", "-e", "vxlan.vni"])
            #expect(!decoded.isEmpty && Set(decoded.split(separator: "\n")) == ["1"], "\(decoded)")
        }
        // On 4789 no option is needed, and none is printed.
        let plain = try Binary.run("run", "\(Self.scenarios)/fw-udp-4789-blocked.yaml", "--out", folder.path + "/plain")
        #expect(plain.outputLines.contains { $0.hasPrefix("decode: tshark -r ") && !$0.contains("-d udp.port") })
    }

    @Test("the progress line gives the total and the time left, and stops guessing past the estimate")
    func progressLine() {
        let early = RunCommand.progressLine(name: "big", packets: 250_000, estimated: 1_000_000, virtualTime: 40_200_000, elapsedSeconds: 2)
        #expect(early == "big: 250000 of about 1000000 packets (25%), virtual time 40.200 ms, 6 s left")
        let slow = RunCommand.progressLine(name: "big", packets: 10_000, estimated: 1_000_000, virtualTime: 1, elapsedSeconds: 30)
        #expect(slow.hasSuffix("50 min left"), "\(slow)")
        let past = RunCommand.progressLine(name: "big", packets: 1_200_000, estimated: 1_000_000, virtualTime: 1_000_000, elapsedSeconds: 9)
        #expect(past == "big: 1200000 packets (about 1000000 estimated), virtual time 1.000 ms")
    }
}
