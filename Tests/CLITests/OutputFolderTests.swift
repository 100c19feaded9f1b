import Foundation
import PacketWire
import Testing

/// `run --out` as a transaction (OutputFolder.swift): the folder holds the previous result or a
/// complete new one, whatever happens to the run, and nothing else is left beside it.
@Suite("The output folder is a transaction", .enabled(if: Binary.isAvailable, "the overlay-sim binary was not built"),
       .serialized)
struct OutputFolderTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every example scenario by path, and the built-in default.
    static let scenarios: [String] = {
        let folder = repository.appendingPathComponent("Scenarios")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return ["default"] + names.filter { $0.hasSuffix(".yaml") }.sorted().map { folder.appendingPathComponent($0).path }
    }()

    static func temporary(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "overlay-sim-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Every file of a folder and its bytes.
    static func snapshot(_ folder: String) -> [String: Data] {
        var files: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            files[name] = FileManager.default.contents(atPath: folder + "/" + name)
        }
        return files
    }

    /// A complete result: report.json and report.html, and exactly the captures report.json lists.
    static func isComplete(_ files: [String: Data]) -> Bool {
        guard let report = files["report.json"],
              let object = try? JSONSerialization.jsonObject(with: report) as? [String: Any],
              let captures = object["captures"] as? [String] else { return false }
        return Set(files.keys) == Set(captures + ["report.json", "report.html"])
    }

    /// Starts `overlay-sim` without waiting.
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Binary.path))
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test("SIGINT at random moments of every example scenario leaves the previous or a complete new result, and no temporary file",
          arguments: scenarios)
    func interrupted(scenario: String) throws {
        let parent = try Self.temporary("sigint")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let out = parent + "/out"
        let began = Date()
        // Another seed makes the previous result differ from the new one; a scenario that names a
        // seed-dependent pod (a Deployment pod deleted by name) keeps its own seed.
        let keepsSeed = scenario.hasSuffix("rollout-replacement.yaml")
        func seed(_ value: Int) -> [String] { keepsSeed ? [] : ["--seed", "\(value)"] }
        let first = try Binary.run(["run", scenario, "--out", out, "--json"] + seed(1001))
        #expect(Binary.finished.contains(first.status), "\(first.errors)")
        let duration = Date().timeIntervalSince(began)
        let previous = Self.snapshot(out)
        #expect(Self.isComplete(previous))
        // More interruption points for quick scenarios, fewer for the scale run; seeded, so a failure
        // can be repeated.
        let points = duration < 3 ? 8 : 2
        var random = SplitMix64(seed: UInt64(scenario.utf8.count) &* 7919)
        var outcomes: [String] = []
        for _ in 0..<points {
            let delay = Double(random.next() % 1000) / 1000 * duration * 1.2
            let process = try Self.start(["run", scenario, "--out", out, "--json"] + seed(1002))
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning { kill(process.processIdentifier, SIGINT) }
            process.waitUntilExit()
            let status = process.terminationStatus
            #expect(Binary.finished.contains(status) || status == 130, "exit status \(status) after \(delay)s")
            let now = Self.snapshot(out)
            let kept = now == previous ? "previous" : Self.isComplete(now) ? "new" : "MIXED"
            outcomes.append("\(String(format: "%.3f", delay))s:\(status):\(kept)")
            #expect(kept != "MIXED", "after SIGINT at \(delay)s the folder holds \(now.keys.sorted())")
            let beside = try FileManager.default.contentsOfDirectory(atPath: parent)
            #expect(beside == ["out"], "left beside the folder: \(beside)")
            // The next interruption starts from the previous result again.
            if kept == "new" {
                try FileManager.default.removeItem(atPath: out)
                #expect(Binary.finished.contains(try Binary.run(["run", scenario, "--out", out, "--json"] + seed(1001)).status))
            }
        }
        print("\((scenario as NSString).lastPathComponent): \(outcomes.joined(separator: " "))")
    }

    @Test("a rerun replaces the folder as a whole: a pod capture of the previous run does not survive")
    func rerunLeavesNoStaleFile() throws {
        let parent = try Self.temporary("rerun")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let out = parent + "/out"
        #expect(Binary.finished.contains(try Binary.run("run", "--out", out).status))
        #expect(Self.snapshot(out).keys.contains { $0.hasPrefix("pod-") })
        let noPods = parent + "/no-pods.yaml"
        try TestScenarios.defaultWithoutPodCaptures.write(toFile: noPods, atomically: true, encoding: .utf8)
        let second = try Binary.run("run", noPods, "--out", out)
        #expect(Binary.finished.contains(second.status), "\(second.errors)")
        let files = Self.snapshot(out)
        #expect(!files.keys.contains { $0.hasPrefix("pod-") }, "\(files.keys.sorted())")
        #expect(Self.isComplete(files))
    }

    @Test("a second run into a folder in use is refused, naming the holder's PID; a stale lock file is taken over")
    func lock() throws {
        let parent = try Self.temporary("lock")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let out = parent + "/out"
        let first = try Self.start(["run", Self.repository.appendingPathComponent("Scenarios/service-spread.yaml").path, "--out", out])
        var waited = 0
        while !FileManager.default.fileExists(atPath: parent + "/.out.lock") && first.isRunning && waited < 400 {
            Thread.sleep(forTimeInterval: 0.005); waited += 1
        }
        let second = try Binary.run("run", "--out", out)
        if first.isRunning {
            #expect(second.status == 1)
            #expect(second.errors.contains("\(out): another overlay-sim run (PID \(first.processIdentifier)) is writing this folder"), "\(second.errors)")
        }
        first.waitUntilExit()
        #expect(Binary.finished.contains(first.terminationStatus))
        // A lock file whose holder is gone (no flock held) is taken over.
        try "999999\n".write(toFile: parent + "/.out.lock", atomically: false, encoding: .utf8)
        let third = try Binary.run("run", "--out", out)
        #expect(Binary.finished.contains(third.status), "\(third.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["out"])
    }

    @Test("--out naming a file, or under a file, is said as such")
    func outIsAFile() throws {
        let parent = try Self.temporary("file")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let file = parent + "/plain"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let onFile = try Binary.run("run", "--out", file)
        #expect(onFile.status == 1)
        #expect(onFile.errorLines == ["Error: \(file): is a file, not a folder; --out names the folder for the captures and report.json"])
        let under = try Binary.run("run", "--out", file + "/sub")
        #expect(under.errorLines == ["Error: \(file)/sub: cannot create the output folder: \(file) is a file, not a folder"])
        let foreign = parent + "/mine"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try "notes".write(toFile: foreign + "/notes.txt", atomically: true, encoding: .utf8)
        let refused = try Binary.run("run", "--out", foreign)
        #expect(refused.status == 1 && refused.errors.contains("holds 'notes.txt', which no run writes"), "\(refused.errors)")
        #expect(FileManager.default.fileExists(atPath: foreign + "/notes.txt"))
    }

    @Test("--max-packets and --max-capture-bytes stop a run with one line, keeping the previous result")
    func limits() throws {
        let parent = try Self.temporary("limits")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let out = parent + "/out"
        #expect(Binary.finished.contains(try Binary.run("run", "--out", out).status))
        let previous = Self.snapshot(out)
        let packets = try Binary.run("run", "--out", out, "--seed", "9", "--max-packets", "100")
        #expect(packets.status == 1)
        // One event may take several packets (a segment and its ACK), so the run stops at the first event
        // that reaches the limit: at least 100, never a whole burst more.
        let taken = packets.errors.firstMatch(of: /default: stopped after (\d+) packets at virtual time/).flatMap { Int($0.1) }
        #expect(packets.errorLines.count == 1 && taken.map { (100...104).contains($0) } == true, "\(packets.errors)")
        #expect(packets.errors.contains("the limit is 100 (--max-packets); \(out)/ keeps the previous result"), "\(packets.errors)")
        let bytes = try Binary.run("run", "--out", out, "--seed", "9", "--max-capture-bytes", "64KiB")
        #expect(bytes.status == 1)
        #expect(bytes.errors.contains("the captures reached the limit of 65536 bytes (--max-capture-bytes)"), "\(bytes.errors)")
        #expect(Self.snapshot(out) == previous)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["out"])
    }

    @Test("a scenario file over 64 MiB is refused before it is read")
    func largeFile() throws {
        let parent = try Self.temporary("large")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let file = parent + "/huge.yaml"
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.truncate(atOffset: 2 << 30)  // sparse: 2 GiB that take no disk
        try handle.close()
        let started = Date()
        let result = try Binary.run("run", file, "--no-captures")
        #expect(result.status == 1)
        #expect(result.errorLines == ["Error: \(file):1:1: the file is 2147483648 bytes; scenarios of at most 67108864 bytes (64 MiB) are read"])
        #expect(Date().timeIntervalSince(started) < 5, "refused without reading 2 GiB")
    }

    @Test("pod captures need no descriptor each: 400 pods under ulimit -n 256, files equal to a run with no limit")
    func fewDescriptors() throws {
        let parent = try Self.temporary("ulimit")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let scenario = parent + "/many-pods.yaml"
        try TestScenarios.manyPods(400).write(toFile: scenario, atomically: true, encoding: .utf8)
        let binary = try #require(Binary.path)
        let limited = Process()
        limited.executableURL = URL(fileURLWithPath: "/bin/sh")
        limited.arguments = ["-c", "ulimit -n 256 && exec \"$0\" run \"$1\" --out \"$2\" >/dev/null", binary, scenario, parent + "/limited"]
        try limited.run()
        limited.waitUntilExit()
        #expect(Binary.finished.contains(limited.terminationStatus))
        let unlimited = try Binary.run("run", scenario, "--out", parent + "/unlimited")
        #expect(Binary.finished.contains(unlimited.status), "\(unlimited.errors)")
        let a = Self.snapshot(parent + "/limited"), b = Self.snapshot(parent + "/unlimited")
        #expect(a.keys.filter { $0.hasPrefix("pod-") }.count == 400)
        #expect(a == b, "the same bytes whether pod captures were suspended or not")
    }
}

enum TestScenarios {
    /// Two nodes, two pods, a ping, and pod captures off.
    static var defaultWithoutPodCaptures: String {
        """
        name: no-pods
        cluster:
          nodes:
            - {name: node-a, address: 192.168.10.1, podCIDR: 10.244.0.0/24}
            - {name: node-b, address: 192.168.10.2, podCIDR: 10.244.1.0/24}
        workloads:
          - {kind: Pod, name: client, node: node-a, labels: {app: client}}
          - {kind: Pod, name: server, node: node-b, labels: {app: server}}
        traffic: [{from: client, to: server, protocol: icmp, count: 3}]
        captures: {underlay: true, vtep: true, pods: false}
        """
    }

    /// `count` pods on two nodes, each pinging a pod on the other node, so every pod capture is written
    /// to again and again, interleaved.
    static func manyPods(_ count: Int) -> String {
        """
        name: many-pods
        cluster:
          nodes:
            - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/22}
            - {name: b, address: 10.0.0.2, podCIDR: 10.244.4.0/22}
        workloads:
          - {kind: StatefulSet, name: left, replicas: \(count / 2), labels: {side: left}, nodes: [a]}
          - {kind: StatefulSet, name: right, replicas: \(count / 2), labels: {side: right}, nodes: [b]}
        traffic:
          - {from: {selector: {side: left}}, to: right-0, protocol: icmp, count: 3, rate: 1000/s}
          - {from: {selector: {side: right}}, to: left-0, protocol: icmp, count: 3, rate: 1000/s}

        """
    }
}
