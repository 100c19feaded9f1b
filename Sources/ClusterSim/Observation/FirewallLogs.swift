import Firewall

/// Firewall drops for the report, grouped by point, device, rule, flow and sentence, with the first
/// and last time each happened. Bounded: past `limit` groups, further new groups are only counted.
struct FirewallDropLog {
    struct Key: Hashable {
        var point: String
        var device: Int
        var flow: Int
        var verdict: Verdict
    }

    struct Entry {
        var order: Int
        var first: Nanoseconds
        var last: Nanoseconds
        var count: Int
    }

    static let limit = 10_000
    var entries: [Key: Entry] = [:]
    /// Drops in groups that did not fit.
    var unlisted = 0

    mutating func record(_ key: Key, at time: Nanoseconds) {
        if var entry = entries[key] {
            entry.last = time
            entry.count += 1
            entries[key] = entry
        } else if entries.count < Self.limit {
            entries[key] = Entry(order: entries.count, first: time, last: time, count: 1)
        } else {
            unlisted += 1
        }
    }
}

/// What NATs rewrote, grouped by device and flow, with the first sentence as the example.
struct FirewallRewriteLog {
    struct Key: Hashable {
        var device: Int
        var flow: Int
        var point: String
    }

    struct Entry {
        var order: Int
        var first: Nanoseconds
        var count: Int
        var example: String
    }

    var entries: [Key: Entry] = [:]
}
