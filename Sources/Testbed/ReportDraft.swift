import ClusterSim
import Foundation

/// report.json as the testbed fills it in: the same fields and keys as ClusterSim's public `Report`,
/// whose memberwise initialisers are internal to ClusterSim; encoded here and decoded as a `Report`, so
/// a field the two disagree on fails at once instead of writing a file the simulator would not read.
struct ReportDraft: Codable {
    /// A drop as ClusterSim reports it; the testbed lists none per flow (see TestbedRunner.buildReport).
    struct Drop: Codable { var place: String; var code: String; var reason: String; var count: Int }
    struct Flow: Codable {
        var name: String
        var `protocol`: String
        var from: String
        var to: String
        var packetsSent: Int
        var bytesSent: Int
        var packetsDelivered: Int
        var bytesDelivered: Int
        var packetsDropped: Int
        var drops: [Drop]
        var latency: Report.Latency?
        var retransmissions: Int
        var icmpErrorsReceived: Int
        var connections: Int?
        var connectionsCompleted: Int?
        var echoReplies: Int?
        var connectionsFailed: Int?
        var lowestMSS: Int?
        var endpoints: [String: Int]?
    }
    struct Link: Codable {
        var from: String
        var to: String
        var packets: Int
        var bytes: Int
        var utilisation: Double
        var encapsulationOverhead: Double
        var queueDrops: Int
        var lossDrops: Int
    }
    struct FirewallDrop: Codable {
        var firstNanoseconds: UInt64
        var lastNanoseconds: UInt64
        var count: Int
        var point: String
        var device: String
        var kind: String
        var chain: String
        var action: String
        var rule: Int?
        var ruleText: String?
        var defaultPolicy: Bool
        var explanation: String
        var flow: String?
    }

    var scenario: String
    var seed: UInt64
    var overlay: String
    var durationNanoseconds: UInt64
    var packetsSimulated: Int
    var flows: [Flow]
    var links: [Link]
    var pods: [Report.PodEntry]
    var captures: [String]
    var warnings: [String] = []
    var firewallDrops: [FirewallDrop] = []
    var firewallDropsUnlisted = 0
    var firewallRewrites: [String] = []

    func report() throws(TestbedError) -> Report {
        do {
            return try JSONDecoder().decode(Report.self, from: JSONEncoder().encode(self))
        } catch {
            throw TestbedError(.input, "report.json does not fit ClusterSim's Report: \(error)")
        }
    }
}
