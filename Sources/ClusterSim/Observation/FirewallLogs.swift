import Firewall

/// Firewall drops and NAT rewrites for the report, grouped by point, device, rule, flow and sentence, with
/// the first and last time each happened. Bounded: past `limit` groups, further new groups are only counted.
final class FirewallLog {
    struct DropKey: Hashable {
        var point: String
        var device: FirewallID
        var flow: FlowID?
        var verdict: Verdict
    }

    struct DropEntry {
        var order: Int
        var first: Nanoseconds
        var last: Nanoseconds
        var count: Int
    }

    struct RewriteKey: Hashable {
        var device: FirewallID
        var flow: FlowID?
        var point: String
    }

    struct RewriteEntry {
        var order: Int
        var first: Nanoseconds
        var count: Int
        var example: String
    }

    static let limit = 10_000
    private(set) var drops: [DropKey: DropEntry] = [:]
    /// Drops in groups that did not fit.
    private(set) var unlisted = 0
    private(set) var rewrites: [RewriteKey: RewriteEntry] = [:]

    func recordDrop(_ key: DropKey, time: Nanoseconds) {
        if var entry = drops[key] {
            entry.last = time
            entry.count += 1
            drops[key] = entry
        } else if drops.count < Self.limit {
            drops[key] = DropEntry(order: drops.count, first: time, last: time, count: 1)
        } else {
            unlisted += 1
        }
    }

    /// A NAT rewrote a packet: the first sentence is kept as the group's example.
    func recordRewrite(by device: FirewallID, flow: FlowID?, at point: String, sentence: @autoclosure () -> String, time: Nanoseconds) {
        let key = RewriteKey(device: device, flow: flow, point: point)
        if var entry = rewrites[key] {
            entry.count += 1
            rewrites[key] = entry
        } else if rewrites.count < Self.limit {
            rewrites[key] = RewriteEntry(order: rewrites.count, first: time, count: 1, example: sentence())
        }
    }
}
