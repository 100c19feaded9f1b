import ClusterSim
import Foundation

/// One thing a simulated run and a testbed run disagree on.
public struct Difference: Codable, Hashable, Sendable {
    /// The capture file (`node-a-underlay.pcap`), or `report` for per-flow accounting and timing.
    public var point: String
    public var flow: String
    /// What was compared: `→ udp: frames`, `← icmp 3/4 about →: sender`, `SYN retransmission 2`.
    public var what: String
    public var simulated: String
    public var real: String
    /// False for a difference within the stated tolerance (listed, not failing).
    public var beyondTolerance: Bool
}

/// `overlay-sim compare`: per capture point and per flow, frames present in one run and not the other,
/// header fields that differ, ICMP errors, TCP retransmission times and the flows' counts.
///
/// What is compared, and how:
/// - Frames are grouped by flow, direction and kind (`→ udp`, `← echo reply`, `← icmp 3/4 about →`,
///   `→ tcp SYN`, `underlay icmp 3/4 about VXLAN → tcp data`); the count of each group must be equal,
///   except TCP data segments (±25% + 2, Linux coalesces and paces) and pure ACKs (not compared: Linux
///   delays and stretches them).
/// - Per group, the set of values of each header field: outer TTL, TOS, DF, destination port, VNI, VXLAN
///   flags, zero UDP checksum; inner TTL, TOS, DF and IP lengths (UDP and ICMP); for ICMP errors the
///   sender, the next-hop MTU and the quote length.
/// - Fields Linux randomises are compared by behaviour: the outer UDP source port by how many distinct
///   ports a group used and whether they lie in the configured range; IP IDs, TCP sequence numbers and
///   timestamps not at all.
/// - TCP: the times between retransmitted SYNs and the delay of each data retransmission, within
///   max(100 ms, 25%).
/// - Per flow, counted from the pod captures the same way for both runs: packets sent and delivered,
///   echo replies, ICMP errors at the sender, connections completed, retransmissions.
/// Only the first `window` of the simulated run is compared: the testbed's traffic was bounded by it.
public struct Comparison: Sendable {
    public var differences: [Difference] = []
    /// Sentences about what was not compared, and why.
    public var notes: [String] = []
    /// Groups compared and found equal, for the summary line.
    public var agreements = 0
    public var agrees: Bool { !differences.contains { $0.beyondTolerance } }

    /// ClusterSim's captures carry virtual time from 2026-01-01T00:00:00Z (CaptureSet.epochNanoseconds).
    static let simulatedEpoch: UInt64 = 1_767_225_600 * 1_000_000_000

    public static func loadReport(_ directory: String) throws(TestbedError) -> Report {
        let path = directory + "/report.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw TestbedError(.input, "\(path): no such file") }
        do { return try JSONDecoder().decode(Report.self, from: data) } catch {
            throw TestbedError(.input, "\(path): not a report.json of overlay-sim: \(error)")
        }
    }

    public init(scenario: Scenario, simulatedDirectory: String, realDirectory: String) throws(TestbedError) {
        let simulatedReport = try Self.loadReport(simulatedDirectory)
        let realReport = try Self.loadReport(realDirectory)
        let recordPath = realDirectory + "/testbed.json"
        guard let recordData = FileManager.default.contents(atPath: recordPath),
              let record = try? JSONDecoder().decode(TestbedRecord.self, from: recordData) else {
            throw TestbedError(.input, "\(recordPath): missing or not written by overlay-sim testbed")
        }
        let window = record.timeLimitNanoseconds
        if simulatedReport.durationNanoseconds > window {
            notes.append("the simulated run lasts \(Comparison.duration(simulatedReport.durationNanoseconds)); only its first \(Comparison.duration(window)) (the testbed's time limit) is compared")
        }
        for sentence in record.unsupported { notes.append("testbed could not build: \(sentence)") }
        notes.append("testbed: Linux \(record.kernel), VTEP \(record.layout)" + (record.sysctls.isEmpty ? "" : ", " + record.sysctls.joined(separator: ", ")))
        notes.append("not compared: TCP pure ACKs, IGMP/MLD/neighbour discovery, IP IDs, TCP sequence numbers and options' values, payload bytes, latency")
        let map = FlowMap(scenario: scenario, pods: simulatedReport.pods)
        let ports = Set([Int(scenario.overlay.destinationPort)])
        let files = Set(Self.pcaps(simulatedDirectory) + Self.pcaps(realDirectory)).subtracting(["drops.pcap"]).sorted()
        var simulatedPods: [String: [FrameFacts]] = [:], realPods: [String: [FrameFacts]] = [:]
        for file in files {
            let simulated = try Self.frames(simulatedDirectory + "/" + file, epoch: Self.simulatedEpoch, ports: ports).filter { $0.time <= window }
            let real = try Self.frames(realDirectory + "/" + file, epoch: record.startNanoseconds, ports: ports).filter { $0.time <= window }
            if file.hasPrefix("pod-") {
                let pod = String(file.dropFirst(4).dropLast(5))
                simulatedPods[pod] = simulated
                realPods[pod] = real
            }
            comparePoint(file, simulated: simulated, real: real, map: map, range: scenario.overlay.sourcePortRange)
        }
        // Per flow, counted the same way from both runs' pod captures.
        for spec in scenario.traffic {
            var simulated = FlowCounts(), real = FlowCounts()
            for identity in map.identities where identity.name == spec.name {
                FlowCounts.count(identity, map: map, pods: simulatedPods, window: window, into: &simulated)
                FlowCounts.count(identity, map: map, pods: realPods, window: window, into: &real)
            }
            let loose = spec.protocol == .tcp
            let fields: [(String, Int, Int, Bool)] = [
                ("packets sent", simulated.packetsSent, real.packetsSent, loose),
                ("packets delivered", simulated.packetsDelivered, real.packetsDelivered, loose),
                ("echo replies", simulated.echoReplies, real.echoReplies, false),
                ("ICMP errors at the sender", simulated.icmpErrorsReceived, real.icmpErrorsReceived, false),
                ("connections completed", simulated.connectionsCompleted, real.connectionsCompleted, false),
                ("retransmissions", simulated.retransmissions, real.retransmissions, loose),
            ]
            for (what, a, b, tolerant) in fields {
                count(point: "flow", flow: spec.name, what: what, a, b, tolerant: tolerant)
            }
            if spec.protocol == .tcp {
                compareTimes(flow: spec.name, what: "SYN sent at", simulated.synTimes, real.synTimes)
                compareTimes(flow: spec.name, what: "data retransmission after", simulated.retransmissionDelays, real.retransmissionDelays)
                if simulated.largestSegment != real.largestSegment {
                    differences.append(Difference(point: "flow", flow: spec.name, what: "largest TCP payload (MSS)", simulated: "\(simulated.largestSegment)",
                                                  real: "\(real.largestSegment)", beyondTolerance: true))
                } else { agreements += 1 }
            }
            if simulatedReport.durationNanoseconds <= window,
               let a = simulatedReport.flows.first(where: { $0.name == spec.name }),
               let b = realReport.flows.first(where: { $0.name == spec.name }), spec.protocol == .tcp {
                count(point: "report", flow: spec.name, what: "connections failed", a.connectionsFailed ?? 0, b.connectionsFailed ?? 0, tolerant: false)
            }
        }
    }

    /// `1.5 s`, `200 ms`, `50 µs`.
    static func duration(_ nanoseconds: UInt64) -> String {
        if nanoseconds >= 1_000_000_000 { return String(format: "%.3g s", Double(nanoseconds) / 1e9) }
        if nanoseconds >= 1_000_000 { return String(format: "%.3g ms", Double(nanoseconds) / 1e6) }
        return String(format: "%.3g µs", Double(nanoseconds) / 1e3)
    }

    static func pcaps(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".pcap") }
    }

    static func frames(_ path: String, epoch: UInt64, ports: Set<Int>) throws(TestbedError) -> [FrameFacts] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try FrameReader.frames(path: path, epoch: epoch, vxlanPorts: ports)
    }

    mutating func count(point: String, flow: String, what: String, _ a: Int, _ b: Int, tolerant: Bool) {
        guard a != b else { agreements += 1; return }
        let beyond = tolerant ? abs(a - b) > max(a, b) / 4 + 2 : true
        differences.append(Difference(point: point, flow: flow, what: what, simulated: "\(a)", real: "\(b)", beyondTolerance: beyond))
    }

    /// Index by index, within max(100 ms, 25%).
    mutating func compareTimes(flow: String, what: String, _ a: [UInt64], _ b: [UInt64]) {
        let base = { (times: [UInt64]) -> [UInt64] in what.hasPrefix("SYN") ? times.map { $0 - (times.first ?? 0) } : times }
        let left = base(a), right = base(b)
        for index in 0..<max(left.count, right.count) {
            let x = index < left.count ? left[index] : nil, y = index < right.count ? right[index] : nil
            let label = "\(what) #\(index + 1)"
            guard let x, let y else {
                differences.append(Difference(point: "flow", flow: flow, what: label, simulated: x.map { Comparison.duration($0) } ?? "-",
                                              real: y.map { Comparison.duration($0) } ?? "-", beyondTolerance: true))
                continue
            }
            let tolerance = max(100_000_000, max(x, y) / 4)
            if (x > y ? x - y : y - x) > tolerance {
                differences.append(Difference(point: "flow", flow: flow, what: label, simulated: Comparison.duration(x), real: Comparison.duration(y), beyondTolerance: true))
            } else { agreements += 1 }
        }
    }

    /// Groups of one capture point: counts, then header fields of groups present in both.
    mutating func comparePoint(_ point: String, simulated: [FrameFacts], real: [FrameFacts], map: FlowMap, range: Range<UInt16>) {
        func group(_ frames: [FrameFacts]) -> [Classification: [FrameFacts]] {
            var groups: [Classification: [FrameFacts]] = [:]
            for frame in frames {
                let key: Classification
                if let housekeeping = frame.housekeeping {
                    key = Classification(flow: "link", direction: "", kind: housekeeping)
                } else if let packet = frame.packet, let classified = map.classify(packet) {
                    key = classified
                } else if let outer = frame.outer, frame.packet == nil {
                    key = Classification(flow: "underlay", direction: "", kind: "VXLAN frame without a readable inner packet (\(outer.ip.isFragment ? "fragment" : "?"))")
                } else if let packet = frame.packet {
                    key = Classification(flow: "other", direction: "", kind: packet.isFragment ? "IP fragment \(packet.source) → \(packet.destination)"
                                         : "protocol \(packet.protocol) \(packet.source) → \(packet.destination)")
                } else {
                    key = Classification(flow: "other", direction: "", kind: "unreadable frame")
                }
                groups[key, default: []].append(frame)
            }
            return groups
        }
        let left = group(simulated), right = group(real)
        for key in Set(left.keys).union(right.keys).sorted() {
            let a = left[key] ?? [], b = right[key] ?? []
            // Pure ACKs are Linux's delayed and stretched ones; IGMP, MLD and neighbour discovery are the
            // kernel announcing its own interfaces, which the simulator does not model.
            if key.kind == "tcp ACK" || (key.flow == "link" && key.kind != "arp") { continue }
            count(point: point, flow: key.flow, what: "\(key.key): frames", a.count, b.count, tolerant: key.kind.hasPrefix("tcp data"))
            guard !a.isEmpty, !b.isEmpty else { continue }
            for (field, read) in Self.fields {
                let x = Self.values(a, read), y = Self.values(b, read)
                guard x != y else { agreements += 1; continue }
                differences.append(Difference(point: point, flow: key.flow, what: "\(key.key): \(field)", simulated: x, real: y, beyondTolerance: true))
            }
            // The outer source port: Linux hashes the inner flow (udp_flow_src_port), so only its
            // behaviour is compared: how many ports one group used, and that they lie in the range.
            let portsA = Set(a.compactMap { $0.outer?.udpSourcePort }), portsB = Set(b.compactMap { $0.outer?.udpSourcePort })
            if !portsA.isEmpty || !portsB.isEmpty {
                count(point: point, flow: key.flow, what: "\(key.key): distinct outer UDP source ports", portsA.count, portsB.count, tolerant: false)
                let outside = portsB.filter { !range.contains(UInt16(clamping: $0)) }
                if !outside.isEmpty {
                    differences.append(Difference(point: point, flow: key.flow, what: "\(key.key): outer source port outside \(range.lowerBound)-\(range.upperBound - 1)",
                                                  simulated: "-", real: outside.sorted().map(String.init).joined(separator: ","), beyondTolerance: true))
                }
            }
        }
    }

    /// The header fields compared per group, each read as text from a frame (nil: not present).
    static let fields: [(String, @Sendable (FrameFacts) -> String?)] = [
        ("outer TTL", { $0.outer.map { "\($0.ip.ttl)" } }),
        ("outer TOS", { $0.outer.map { "0x" + String($0.ip.tos, radix: 16) } }),
        ("outer DF", { $0.outer.map { $0.ip.isIPv4 ? "\($0.ip.dontFragment)" : "n/a" } }),
        ("outer destination port", { $0.outer?.udpDestinationPort.map(String.init) }),
        ("VNI", { $0.outer?.vni.map(String.init) }),
        ("VXLAN flags", { $0.outer?.vxlanFlags.map { "0x" + String($0, radix: 16) } }),
        ("outer UDP checksum zero", { $0.outer?.udpChecksumZero.map { "\($0)" } }),
        ("outer source → destination", { $0.outer.map { "\($0.ip.source) → \($0.ip.destination)" } }),
        ("TTL", { $0.packet.map { "\($0.ttl)" } }),
        ("TOS", { $0.packet.map { "0x" + String($0.tos, radix: 16) } }),
        ("DF", { $0.packet.map { "\($0.dontFragment)" } }),
        ("IP length", { frame in
            guard let packet = frame.packet, packet.protocol != 6 else { return nil }
            return "\(packet.length)"
        }),
        ("sender", { frame in frame.packet.flatMap { $0.quoted != nil ? $0.source : nil } }),
        ("MAC source → destination", { frame in frame.packet.map { "\($0.sourceMAC) → \($0.destinationMAC)" } }),
        ("next-hop MTU", { $0.packet?.icmpMTU.map(String.init) }),
        ("ICMP quote length", { $0.packet?.quoteLength.map(String.init) }),
    ]

    /// The distinct values of a field in a group, sorted, as one text (`64` or `63,64`).
    static func values(_ frames: [FrameFacts], _ read: (FrameFacts) -> String?) -> String {
        let set = Set(frames.compactMap(read))
        if set.isEmpty { return "-" }
        let sorted = set.sorted { (Int($0) ?? .max, $0) < (Int($1) ?? .max, $1) }
        return sorted.count > 6 ? sorted.prefix(6).joined(separator: ",") + ",… (\(sorted.count))" : sorted.joined(separator: ",")
    }

    /// The readable table: one row per difference.
    public func table() -> String {
        var lines = notes.map { "note: \($0)" }
        lines.append("")
        var rows = [["point", "flow", "what", "simulated", "testbed", ""]]
        for difference in differences {
            rows.append([difference.point, difference.flow, difference.what, difference.simulated, difference.real,
                         difference.beyondTolerance ? "DIFFERS" : "within tolerance"])
        }
        let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows where differences.count > 0 {
            lines.append(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
        let failing = differences.filter(\.beyondTolerance).count
        lines.append("")
        lines.append(agrees ? "agree: \(agreements) comparisons equal, \(differences.count) within tolerance"
                     : "differ: \(failing) differences beyond tolerance, \(differences.count - failing) within, \(agreements) comparisons equal")
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        struct Output: Codable { var agrees: Bool; var agreements: Int; var notes: [String]; var differences: [Difference] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Output(agrees: agrees, agreements: agreements, notes: notes, differences: differences))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
