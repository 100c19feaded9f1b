import PacketWire

/// A table from IPv4 addresses to values for the lookups the packet path makes several times per packet
/// (the pod holding an address, the Service at a ClusterIP, the node owning a pod CIDR).
///
/// `Dictionary` hashes every key with SipHash-1-3 under a per-process seed, which made address lookups a
/// tenth of large-100-nodes. Addresses need no protection from chosen collisions here (the scenario is the
/// simulation's own input), so this table spreads a key with one multiplication by 2^64/φ (Fibonacci
/// hashing, Knuth TAOCP vol. 3 §6.4) and probes linearly in a power-of-two array kept at most half full.
/// Removal shifts the entries behind back into place (Knuth's Algorithm R), so no tombstones build up.
/// Lookups give the same answers as a dictionary; nothing iterates the table, so its order never shows.
struct IPv4AddressTable<Value> {
    private var keys: [UInt32]
    /// nil where a slot is empty.
    private var values: [Value?]
    /// 64 − log2(slot count): the multiplied key's top bits are the slot.
    private var shift: UInt64
    private(set) var count = 0

    init() {
        keys = Array(repeating: 0, count: 8)
        values = Array(repeating: nil, count: 8)
        shift = 64 - 3
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func home(of key: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func slot(of key: UInt32) -> (index: Int, found: Bool) {
        let mask = keys.count - 1
        var index = home(of: key)
        while values[index] != nil {
            if keys[index] == key { return (index, true) }
            index = (index + 1) & mask
        }
        return (index, false)
    }

    subscript(address: IPv4Address) -> Value? {
        @inline(__always)
        get {
            let (index, found) = slot(of: address.rawValue)
            return found ? values[index] : nil
        }
        set {
            if let newValue { insert(newValue, for: address.rawValue) } else { remove(address.rawValue) }
        }
    }

    @inline(__always)
    func contains(_ address: IPv4Address) -> Bool { slot(of: address.rawValue).found }

    private mutating func insert(_ value: Value, for key: UInt32) {
        var (index, found) = slot(of: key)
        if !found {
            if (count + 1) * 2 > keys.count {
                grow()
                index = slot(of: key).index
            }
            count += 1
            keys[index] = key
        }
        values[index] = value
    }

    private mutating func remove(_ key: UInt32) {
        var (hole, found) = slot(of: key)
        guard found else { return }
        values[hole] = nil
        count -= 1
        // Algorithm R: move back each following entry whose home is not between the hole and itself.
        let mask = keys.count - 1
        var next = (hole + 1) & mask
        while values[next] != nil {
            let wanted = home(of: keys[next])
            let stays = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next)
            if !stays {
                keys[hole] = keys[next]
                values[hole] = values[next]
                values[next] = nil
                hole = next
            }
            next = (next + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        values = Array(repeating: nil, count: oldKeys.count * 2)
        shift -= 1
        count = 0
        for index in oldKeys.indices {
            if let value = oldValues[index] { insert(value, for: oldKeys[index]) }
        }
    }
}
