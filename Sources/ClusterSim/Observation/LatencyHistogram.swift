/// Latency summary in constant memory: exact minimum and maximum, and a median read from a log-linear
/// histogram (16 sub-buckets per power of two, within about 3% of the true value), so a million-packet
/// run holds the same few kilobytes as a ten-packet one.
struct LatencyHistogram: Sendable {
    private var buckets = [UInt64](repeating: 0, count: 64 * 16)
    private(set) var count: UInt64 = 0
    private(set) var minimum: Nanoseconds = .max
    private(set) var maximum: Nanoseconds = 0

    mutating func record(_ value: Nanoseconds) {
        count += 1
        minimum = min(minimum, value)
        maximum = max(maximum, value)
        buckets[Self.bucket(value)] += 1
    }

    static func bucket(_ value: Nanoseconds) -> Int {
        guard value >= 16 else { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let mantissa = Int((value >> UInt64(exponent - 4)) & 0xF)
        return (exponent - 3) * 16 + mantissa
    }

    static func lowerBound(_ bucket: Int) -> Nanoseconds {
        guard bucket >= 16 else { return Nanoseconds(bucket) }
        let exponent = bucket / 16 + 3, mantissa = UInt64(bucket % 16)
        return (16 + mantissa) << UInt64(exponent - 4)
    }

    /// The median: the middle of the bucket holding the middle sample, clamped to the exact extremes.
    var median: Nanoseconds? {
        guard count > 0 else { return nil }
        var seen: UInt64 = 0
        let middle = (count + 1) / 2
        for (index, inBucket) in buckets.enumerated() where inBucket > 0 {
            seen += inBucket
            if seen >= middle {
                let low = Self.lowerBound(index), high = Self.lowerBound(index + 1)
                return min(max((low + high) / 2, minimum), maximum)
            }
        }
        return maximum
    }
}
