/// An inclusive range of integers as rules write them: `4789`, `30000-32767`. Unlike `ClosedRange`
/// it can be empty (`5000-4000`), so a scenario can say what it wrote and be warned that it never
/// matches instead of being refused.
public struct ValueRange<Value: FixedWidthInteger & Sendable>: Hashable, Sendable, CustomStringConvertible {
    public var lower: Value
    public var upper: Value

    public init(_ lower: Value, _ upper: Value) {
        self.lower = lower
        self.upper = upper
    }

    public init(_ single: Value) { self.init(single, single) }

    public var isEmpty: Bool { lower > upper }

    public func contains(_ value: Value) -> Bool { value >= lower && value <= upper }

    /// Whether every value of `other` lies in this range (an empty range lies in any).
    public func covers(_ other: ValueRange) -> Bool { other.isEmpty || (lower <= other.lower && other.upper <= upper) }

    public var description: String { lower == upper ? "\(lower)" : "\(lower)-\(upper)" }
}

/// A UDP or TCP port range.
public typealias PortRange = ValueRange<UInt16>

extension Array {
    /// Whether any range of the list holds `value`.
    func containsValue<V>(_ value: V) -> Bool where Element == ValueRange<V> {
        for range in self where range.contains(value) { return true }
        return false
    }

    /// Whether every range of `other` lies inside some range of this list.
    func coversRanges<V>(_ other: [ValueRange<V>]) -> Bool where Element == ValueRange<V> {
        other.allSatisfy { inner in contains { $0.covers(inner) } }
    }

    /// `4789` or `{ 4789, 8472 }`.
    func rangesText<V>() -> String where Element == ValueRange<V> {
        count == 1 ? self[0].description : "{ " + map(\.description).joined(separator: ", ") + " }"
    }
}
