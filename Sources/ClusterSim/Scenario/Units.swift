/// Virtual time in nanoseconds. The simulation never reads a wall clock.
public typealias Nanoseconds = UInt64

/// Reads the quantities scenario files use: durations (`250us`, `1.5ms`, `2s`), bandwidths (`10Gbps`,
/// `100Mbit`), sizes in bytes and rates (`100/s`, `1000pps`).
enum Units {
    /// The longest duration a scenario may give (a latency, a start, a timeout, a flow's whole sending
    /// time): ten years. Linux's longest conntrack timeout is five days; anything beyond this is a typo,
    /// and keeping every duration this short keeps virtual-time sums far from 2⁶⁴ ns.
    static let maximumDuration: Nanoseconds = 10 * 365 * 86_400 * 1_000_000_000
    /// The virtual time a run stops at (2⁶¹ ns, about 73 years): short of the end of pcap timestamps
    /// (2106, seen from the captures' 2026 epoch), and of overflow.
    static let maximumVirtualTime: Nanoseconds = 1 << 61
    /// Bandwidths from 1 bit/s to 1 Pbit/s: serialisation delay is bits × 10⁹ / bandwidth, so a
    /// bandwidth below 1 bit/s would divide by zero once made a whole number.
    static let bandwidthRange: ClosedRange<Double> = 1...1e15
    /// Packets per second, from one per ``maximumDuration`` to one a nanosecond.
    static let rateRange: ClosedRange<Double> = (1e9 / Double(maximumDuration))...1e9

    /// Nanoseconds, not yet range-checked (it may be negative, or beyond UInt64).
    static func durationValue(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9)]
        return scaled(text, units: units)
    }

    /// A duration within 0...``maximumDuration``, or nil.
    static func duration(_ text: String) -> Nanoseconds? {
        durationValue(text).flatMap { $0 >= 0 && $0 <= Double(maximumDuration) ? Nanoseconds($0.rounded()) : nil }
    }

    /// Bits per second, not yet range-checked.
    static func bandwidthValue(_ text: String) -> Double? {
        let units: [(String, Double)] = [
            ("Tbps", 1e12), ("Gbps", 1e9), ("Mbps", 1e6), ("Kbps", 1e3), ("kbps", 1e3), ("bps", 1),
            ("Tbit", 1e12), ("Gbit", 1e9), ("Mbit", 1e6), ("Kbit", 1e3), ("kbit", 1e3), ("bit", 1),
        ]
        return scaled(text, units: units)
    }

    /// Bits per second within ``bandwidthRange``, or nil.
    static func bandwidth(_ text: String) -> UInt64? {
        bandwidthValue(text).flatMap { bandwidthRange.contains($0) ? UInt64($0) : nil }
    }

    /// Packets per second from `100/s`, `100pps`, `1/ms` or a plain number, not yet range-checked.
    static func rateValue(_ text: String) -> Double? {
        let units: [(String, Double)] = [("/s", 1), ("pps", 1), ("/ms", 1e3)]
        if let value = scaled(text, units: units) { return value }
        if let value = Double(text.trimmingCharacters(in: " ")), value.isFinite { return value }
        return nil
    }

    /// Packets per second within ``rateRange``, or nil.
    static func rate(_ text: String) -> Double? {
        rateValue(text).flatMap { rateRange.contains($0) ? $0 : nil }
    }

    /// The number before a unit, times the unit; nil for no known unit or no finite number. A product
    /// past Double's range is infinite, which every range check refuses.
    private static func scaled(_ text: String, units: [(String, Double)]) -> Double? {
        let trimmed = text.trimmingCharacters(in: " ")
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: " ")
            guard let value = Double(number), value.isFinite else { return nil }
            return value * factor
        }
        return nil
    }

    /// `1.5ms`-style text for reports.
    static func format(_ nanoseconds: Nanoseconds) -> String {
        switch nanoseconds {
        case ..<1_000: return "\(nanoseconds)ns"
        case ..<1_000_000: return decimal(Double(nanoseconds) / 1e3) + "us"
        case ..<1_000_000_000: return decimal(Double(nanoseconds) / 1e6) + "ms"
        default: return decimal(Double(nanoseconds) / 1e9) + "s"
        }
    }

    /// Exact text for traces, every nanosecond kept: `4.302ms`, `1.000200488s`.
    static func exact(_ nanoseconds: Nanoseconds) -> String {
        let (unit, scale): (String, UInt64) = switch nanoseconds {
        case ..<1_000: ("ns", 1)
        case ..<1_000_000: ("us", 1_000)
        case ..<1_000_000_000: ("ms", 1_000_000)
        default: ("s", 1_000_000_000)
        }
        let whole = nanoseconds / scale, fraction = nanoseconds % scale
        guard fraction > 0 else { return "\(whole)\(unit)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: String(scale - 1).count - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)\(unit)"
    }

    /// Fixed three-decimal text, trimmed: deterministic on every platform.
    static func decimal(_ value: Double) -> String {
        let thousandths = Int64((value * 1000).rounded())
        let whole = thousandths / 1000, fraction = abs(thousandths % 1000)
        if fraction == 0 { return "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(thousandths < 0 && whole == 0 ? "-" : "")\(whole).\(digits)"
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}

extension Substring {
    func trimmingCharacters(in character: Character) -> String { String(self).trimmingCharacters(in: character) }
}
