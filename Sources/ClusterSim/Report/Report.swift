import Firewall
import Foundation

/// What a run produced, as `report.json` and the table on stdout.
public struct Report: Codable, Sendable {
    public struct Latency: Codable, Sendable {
        public var minimumNanoseconds: UInt64
        public var medianNanoseconds: UInt64
        public var maximumNanoseconds: UInt64
    }
    /// Packets of one flow dropped at one place for one reason.
    public struct Drop: Codable, Sendable {
        public var place: String
        /// The stable code of the reason (``DropCode``): what tests and scripts match.
        public var code: DropCode
        /// The sentence.
        public var reason: String
        /// Frames dropped: the flow's own packets and the replies, acknowledgments, ICMP errors and
        /// later fragments that belong to it.
        public var count: Int
        /// Of ``count``, the flow's forward packets (those ``Flow/packetsSent`` counts; a datagram in
        /// fragments counts once). Over a flow's drops these add up to its ``Flow/packetsDropped``.
        public var flowPackets: Int
        /// Virtual time of the first and the last of these drops.
        public var firstNanoseconds: UInt64
        public var lastNanoseconds: UInt64
    }
    public struct Flow: Codable, Sendable {
        public var name: String
        public var `protocol`: String
        public var from: String
        public var to: String
        public var packetsSent: Int
        public var bytesSent: Int
        public var packetsDelivered: Int
        public var bytesDelivered: Int
        /// Sent, delivered and dropped count the packets that carry the flow forward: UDP datagrams, ICMP
        /// echo requests, TCP SYNs and data segments, retransmissions included (a datagram in fragments
        /// is one packet).
        /// Forward packets lost (sent − delivered, unless still in flight when the run ended); ``drops``
        /// lists every packet of the flow dropped, replies and ICMP errors included, and their
        /// ``Drop/flowPackets`` add up to this.
        public var packetsDropped: Int
        public var drops: [Drop]
        public var latency: Latency?
        public var retransmissions: Int
        public var icmpErrorsReceived: Int
        public var connections: Int?
        public var connectionsCompleted: Int?
        /// For ICMP flows: echo replies that made it back to the sender.
        public var echoReplies: Int?
        /// Connections that gave up after too many retransmission timeouts.
        public var connectionsFailed: Int?
        /// The smallest TCP MSS PMTU discovery brought a connection to.
        public var lowestMSS: Int?
        /// For flows to a Service: how many connections each endpoint got. For flows to a selector
        /// (`choose: one`): which pods they reached, per connection (TCP) or per packet.
        public var endpoints: [String: Int]?
    }
    public struct Link: Codable, Sendable {
        public var from: String
        public var to: String
        public var packets: Int
        public var bytes: Int
        /// Share of the link's bandwidth used over the run.
        public var utilisation: Double
        /// Share of the bytes that are not the pods' frames: VXLAN outer headers, fragment headers, and
        /// underlay control traffic such as ICMP errors.
        public var encapsulationOverhead: Double
        public var queueDrops: Int
        public var lossDrops: Int
    }
    /// Packets one firewall dropped at one point for one reason: when, where, which device, which rule
    /// (index and text) or the default policy, and the sentence.
    public struct FirewallDrop: Codable, Sendable {
        /// Virtual time of the first and the last of these drops.
        public var firstNanoseconds: UInt64
        public var lastNanoseconds: UInt64
        public var count: Int
        /// The capture point: "node-b input chain", "link router→node-b", "node-b security group".
        public var point: String
        public var device: String
        public var kind: String
        public var chain: String
        public var action: String
        /// 1-based; nil when a policy or a device mechanism decided.
        public var rule: Int?
        public var ruleText: String?
        public var defaultPolicy: Bool
        public var explanation: String
        /// The traffic entry the packets belonged to (nil for underlay control traffic).
        public var flow: String?
    }
    /// Packets a NAT rewrote and let through, with one sentence saying what and why it still works.
    public struct FirewallRewrite: Codable, Sendable {
        public var firstNanoseconds: UInt64
        public var count: Int
        public var point: String
        public var device: String
        public var flow: String?
        public var explanation: String
    }
    /// The hop-by-hop trace of one flow (`--explain`).
    public struct Explanation: Codable, Sendable {
        public var flow: String
        public var lines: [String]
    }
    public struct PodEntry: Codable, Sendable {
        public var name: String
        public var workload: String
        public var node: String
        public var address: String
        public var deleted: Bool
    }

    /// One attacker stream (`attackers:` … `send:`): what it sent and what became of it.
    public struct Attack: Codable, Sendable {
        public var name: String
        public var attacker: String
        /// `outer 192.0.2.66 → 192.0.2.11 VNI 1, inner 10.244.0.5 → 10.244.1.7 UDP 5432`.
        public var packet: String
        public var packetsSent: Int
        /// Crossed the veth into the destination pod (its eth0 capture shows them).
        public var packetsReachedPod: Int
        /// Taken by the pod's stack (a socket, or the kernel's answer for a closed port).
        public var packetsDelivered: Int
        public var drops: [Drop]
    }

    public var scenario: String
    public var seed: UInt64
    public var overlay: String
    public var durationNanoseconds: UInt64
    public var packetsSimulated: Int
    public var flows: [Flow]
    public var links: [Link]
    public var pods: [PodEntry]
    public var captures: [String]
    /// Suspicious but legal things in the scenario: firewall rules that can never match.
    public var warnings: [String] = []
    public var firewallDrops: [FirewallDrop] = []
    /// Drops in groups past the report's limit, counted but not listed.
    public var firewallDropsUnlisted = 0
    public var firewallRewrites: [FirewallRewrite] = []
    public var explanation: Explanation?
    /// The attackers' streams; nil (absent from report.json) when the scenario has none.
    public var attacks: [Attack]?
    /// What the run simulated: nodes, routers, switches, firewalls, NetworkPolicies (what `report.html` draws).
    public var topology: Topology?

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}
