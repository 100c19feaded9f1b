/// Latency summary in bounded memory: exact minimum and maximum, and a median read from a log-linear
/// histogram (16 sub-buckets per power of two, within about 3% of the true value), so a million-packet
/// run holds no more than a ten-packet one.
///
/// Only the buckets from the lowest to the highest one used are stored (a flow's latencies span a few
/// powers of two: 16 buckets each, 8 bytes a bucket), so a traffic entry that has delivered nothing
/// holds no buckets at all and a typical one a few hundred bytes, where all 1,024 buckets were 8 KiB.
/// The buckets and the median are the same as with the full array.
struct LatencyHistogram: Sendable {
    /// Counts of buckets `firstBucket ..< firstBucket + counts.count`.
    private var counts: [UInt64] = []
    private var firstBucket = 0
    private(set) var count: UInt64 = 0
    private(set) var minimum: Nanoseconds = .max
    private(set) var maximum: Nanoseconds = 0

    mutating func record(_ value: Nanoseconds) {
        count += 1
        minimum = min(minimum, value)
        maximum = max(maximum, value)
        let bucket = Self.bucket(value)
        if counts.isEmpty {
            firstBucket = bucket
            counts = [0]
        } else if bucket < firstBucket {
            counts.insert(contentsOf: repeatElement(0, count: firstBucket - bucket), at: 0)
            firstBucket = bucket
        } else if bucket >= firstBucket + counts.count {
            counts.append(contentsOf: repeatElement(0, count: bucket - firstBucket - counts.count + 1))
        }
        counts[bucket - firstBucket] += 1
    }

    /// Bytes of bucket storage held (for the memory estimate and its test).
    var bucketBytes: Int { counts.capacity * MemoryLayout<UInt64>.stride }

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
        for (offset, inBucket) in counts.enumerated() where inBucket > 0 {
            seen += inBucket
            if seen >= middle {
                let index = firstBucket + offset
                let low = Self.lowerBound(index), high = Self.lowerBound(index + 1)
                // (low + high) / 2 without overflow near 2⁶⁴ (the last bucket's upper bound wraps to 0).
                let middleOfBucket = low / 2 + high / 2 + (low & high & 1)
                return min(max(middleOfBucket, minimum), maximum)
            }
        }
        return maximum
    }
}
