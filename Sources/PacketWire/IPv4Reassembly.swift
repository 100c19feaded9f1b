// IPv4 fragment reassembly (RFC 791 §3.2, "An Example Reassembly Procedure"), with the rules the Linux
// kernel applies to what it refuses (net/ipv4/ip_fragment.c, `ip_frag_queue` and `ip_frag_reasm`).
//
// Fragments are grouped by RFC 791's key (source, destination, protocol, identification). A datagram is
// complete when its first fragment (offset 0) and last fragment (MF clear) have arrived and the bytes
// received fill the whole length. Linux's refusals, followed here:
// - an exact duplicate (same offset and end as a held fragment) is ignored;
// - any other overlap discards the whole datagram (RFC 5722's rule, which Linux applies to IPv4 too
//   since 4.19's FragmentSmack fixes);
// - a second last fragment with a different end, or data beyond a known end, discards the datagram;
// - a non-last fragment's data is cut to a multiple of 8 bytes; an empty fragment discards the datagram;
// - a datagram longer than 65535 bytes is discarded (Linux discards it when reassembling; it cannot
//   complete, so it is discarded as soon as it is seen);
// - a datagram still incomplete `timeout` after its first fragment arrived is dropped (`ipfrag_time`, 30 s).
// Memory is bounded: at most `maximumPendingDatagrams` incomplete datagrams of at most 64 KiB each;
// fragments of a new datagram are refused while the table is full, as Linux refuses them above
// `ipfrag_high_thresh`.

/// Reassembles IPv4 datagrams from their fragments, by capture time rather than wall time.
///
/// ```swift
/// var reassembler = IPv4Reassembler()
/// switch reassembler.add(packet, time: frame.timestampNanoseconds, tag: frame.number) {
/// case .complete(let datagram): decode(datagram.bytes)
/// case .notFragment: decode(packet)
/// default: break
/// }
/// ```
public struct IPv4Reassembler: Sendable {
    /// What identifies the fragments of one datagram (RFC 791 §3.2).
    public struct Key: Hashable, Sendable, CustomStringConvertible {
        public var source: IPv4Address
        public var destination: IPv4Address
        public var `protocol`: IPProtocol
        public var identification: UInt16

        public init(source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, identification: UInt16) {
            self.source = source
            self.destination = destination
            self.protocol = `protocol`
            self.identification = identification
        }

        public init(_ packet: IPv4Packet) {
            self.init(source: packet.source, destination: packet.destination, protocol: packet.protocol,
                      identification: packet.identification)
        }

        public var description: String {
            "\(source) > \(destination) \(self.protocol.name) id \(identification)"
        }
    }

    /// Limits on the state the reassembler keeps.
    public struct Configuration: Hashable, Sendable {
        /// How long an incomplete datagram is kept after its first fragment arrived, in nanoseconds of
        /// capture time. Linux's `net.ipv4.ipfrag_time` is 30 s.
        public var timeoutNanoseconds: UInt64
        /// How many incomplete datagrams are kept at once; fragments of further datagrams are refused.
        public var maximumPendingDatagrams: Int

        public init(timeoutNanoseconds: UInt64 = 30_000_000_000, maximumPendingDatagrams: Int = 64) {
            self.timeoutNanoseconds = timeoutNanoseconds
            self.maximumPendingDatagrams = max(1, maximumPendingDatagrams)
        }
    }

    /// A reassembled datagram.
    public struct Datagram: Hashable, Sendable {
        public var key: Key
        /// The whole datagram: the first fragment's header (options included) with the total length set,
        /// MF and the fragment offset cleared and the checksum recomputed, then all the data.
        public var bytes: [UInt8]
        /// Length of the header at the start of ``bytes``.
        public var headerLength: Int
        /// The tags the fragments were added with (frame numbers, say), in arrival order, duplicates
        /// excluded.
        public var tags: [Int]
    }

    /// Why a datagram was thrown away.
    public enum Discard: String, Hashable, Sendable, CustomStringConvertible {
        /// A fragment overlaps a held one without being its exact duplicate.
        case overlap
        /// A last fragment disagrees with the known end, or data lies beyond it.
        case inconsistentLength
        /// A fragment carries no data (after cutting a non-last fragment to a multiple of 8).
        case emptyFragment
        /// The datagram would be longer than 65535 bytes.
        case oversize

        public var description: String {
            switch self {
            case .overlap: "a fragment overlaps an earlier one without repeating it exactly"
            case .inconsistentLength: "fragments disagree about where the datagram ends"
            case .emptyFragment: "a fragment carries no data"
            case .oversize: "the fragments describe a datagram longer than 65535 bytes"
            }
        }
    }

    /// What happened to a packet given to ``add(_:time:tag:)``.
    public enum Outcome: Hashable, Sendable {
        /// The packet is not a fragment; nothing was stored.
        case notFragment
        /// The fragment is held; the datagram is not complete yet.
        case held(Key, receivedBytes: Int, fragments: Int)
        /// The fragment completed its datagram, which is removed from the table.
        case complete(Datagram)
        /// The fragment repeats a held one exactly and was ignored.
        case duplicate(Key)
        /// The fragment made its datagram invalid; everything held for it was dropped.
        case discarded(Key, Discard)
        /// The fragment starts a new datagram but the table is full; it was dropped.
        case tableFull(Key)
    }

    /// Counters since the reassembler was made (Linux's `ReasmReqds`, `ReasmOKs`, `ReasmFails`, ...).
    public struct Statistics: Hashable, Sendable {
        public var fragments = 0
        public var completed = 0
        public var duplicates = 0
        public var discarded = 0
        public var timedOut = 0
        public var refused = 0
    }

    /// A datagram being reassembled (Linux `struct ipq`).
    struct Pending: Sendable {
        /// Capture time of the first fragment seen; the timeout counts from here.
        var created: UInt64
        /// The header of the fragment at offset 0, once it has arrived.
        var firstHeader: [UInt8]?
        /// Data by offset; grows as fragments arrive.
        var data: [UInt8] = []
        /// Held data ranges, sorted and disjoint.
        var pieces: [Range<Int>] = []
        /// The datagram's data length as known so far: the last fragment's end, or the highest end seen.
        var length = 0
        /// Whether the last fragment (MF clear) has arrived.
        var lastIn = false
        /// Bytes of data held.
        var received = 0
        var tags: [Int] = []
    }

    public let configuration: Configuration
    public private(set) var statistics = Statistics()
    var pending: [Key: Pending] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Incomplete datagrams held now.
    public var pendingCount: Int { pending.count }

    /// The largest IPv4 datagram, header included.
    public static let maximumDatagramLength = 65535

    /// Adds one packet. Whole packets are reported as ``Outcome/notFragment`` and not stored.
    ///
    /// Datagrams whose timeout has passed at `time` are dropped first.
    /// - Parameters:
    ///   - packet: a checked IPv4 packet; its header checksum is not looked at.
    ///   - time: capture time in nanoseconds; it should not go backwards, but nothing breaks if it does.
    ///   - tag: a number to remember the fragment by, returned in ``Datagram/tags``.
    public mutating func add(_ packet: IPv4Packet, time: UInt64, tag: Int = 0) -> Outcome {
        guard packet.isFragment else { return .notFragment }
        expire(now: time)
        statistics.fragments += 1
        let key = Key(packet)
        let headerLength = packet.headerLength
        let data = packet.payload
        let offset = packet.fragmentOffset
        var end = offset + data.count

        var queue: Pending
        if let existing = pending[key] {
            queue = existing
        } else {
            guard pending.count < configuration.maximumPendingDatagrams else {
                statistics.refused += 1
                return .tableFull(key)
            }
            queue = Pending(created: time)
        }

        if !packet.moreFragments {
            // The last fragment: nothing may lie beyond it, and a second one must agree.
            if end < queue.length || (queue.lastIn && end != queue.length) {
                return discard(key, .inconsistentLength)
            }
            queue.lastIn = true
            queue.length = end
        } else {
            // RFC 791: every fragment but the last carries a multiple of 8 bytes; Linux cuts the rest.
            end &= ~7
            if end > queue.length {
                if queue.lastIn { return discard(key, .inconsistentLength) }
                queue.length = end
            }
        }
        if end == offset { return discard(key, .emptyFragment) }
        if headerLength + end > Self.maximumDatagramLength { return discard(key, .oversize) }

        // Find where the new range goes; an exact repeat is ignored, any other overlap is fatal.
        var index = queue.pieces.count
        for (position, piece) in queue.pieces.enumerated() {
            if end <= piece.lowerBound {
                index = position
                break
            }
            if offset >= piece.upperBound { continue }
            if offset == piece.lowerBound && end == piece.upperBound {
                statistics.duplicates += 1
                return .duplicate(key)
            }
            return discard(key, .overlap)
        }
        queue.pieces.insert(offset..<end, at: index)
        if queue.data.count < end {
            queue.data.append(contentsOf: repeatElement(0, count: end - queue.data.count))
        }
        queue.data.withUnsafeMutableBytes { destination in
            let source = data.slice(0..<(end - offset))
            UnsafeMutableRawBufferPointer(rebasing: destination[offset..<end]).copyMemory(from: source)
        }
        queue.received += end - offset
        queue.tags.append(tag)
        if offset == 0 {
            queue.firstHeader = Array(packet.bytes.slice(0..<headerLength))
        }

        if let header = queue.firstHeader, queue.lastIn, queue.received == queue.length {
            pending[key] = nil
            statistics.completed += 1
            return .complete(Self.assemble(key: key, header: header, queue: queue))
        }
        pending[key] = queue
        return .held(key, receivedBytes: queue.received, fragments: queue.tags.count)
    }

    /// Drops the datagrams whose timeout has passed at `now` and returns their keys.
    @discardableResult
    public mutating func expire(now: UInt64) -> [Key] {
        expireDatagrams(now: now).map(\.key)
    }

    /// A datagram given up on because its timeout passed (Linux `ip_expire`).
    public struct Expired: Hashable, Sendable {
        public var key: Key
        /// The fragment at offset 0 as it arrived (its header, its data), nil when it never came: Linux
        /// sends ICMP time exceeded (fragment reassembly) only when it has it (`INET_FRAG_FIRST_IN`), and
        /// quotes it.
        public var firstFragment: [UInt8]?
        /// Fragments and data bytes held.
        public var fragments: Int
        public var receivedBytes: Int
        /// The tags the held fragments were added with, in arrival order.
        public var tags: [Int]
        /// When the first fragment (of any offset) arrived; the timeout counted from here.
        public var created: UInt64
    }

    /// Drops the datagrams whose timeout has passed at `now` (net/ipv4/ip_fragment.c `ip_expire`, when
    /// the queue's timer, armed `ipfrag_time` after its first fragment, fires) and returns them, oldest
    /// first, with the first fragment an ICMP error would quote.
    public mutating func expireDatagrams(now: UInt64) -> [Expired] {
        let timeout = configuration.timeoutNanoseconds
        var expired: [Expired] = []
        for (key, queue) in pending {
            let (deadline, overflow) = queue.created.addingReportingOverflow(timeout)
            guard !overflow, deadline <= now else { continue }
            var first: [UInt8]?
            if let header = queue.firstHeader, header.count >= IPv4Packet.minimumHeaderLength {
                // The header kept its total length: the first fragment's data is what follows it.
                let total = Int(header.withUnsafeBytes { $0.getInteger(at: IPv4Packet.Field.totalLength.lowerBound, as: UInt16.self) })
                let dataLength = min(max(0, total - header.count), queue.data.count)
                first = header + queue.data[0..<dataLength]
            }
            expired.append(Expired(key: key, firstFragment: first, fragments: queue.tags.count, receivedBytes: queue.received,
                                   tags: queue.tags, created: queue.created))
        }
        expired.sort { ($0.created, $0.key.source.rawValue, $0.key.destination.rawValue, $0.key.protocol.rawValue, $0.key.identification)
            < ($1.created, $1.key.source.rawValue, $1.key.destination.rawValue, $1.key.protocol.rawValue, $1.key.identification) }
        for item in expired { pending[item.key] = nil }
        statistics.timedOut += expired.count
        return expired
    }

    /// The incomplete datagrams held now, with how many fragments and bytes each has.
    public var pendingDatagrams: [(key: Key, fragments: Int, receivedBytes: Int)] {
        pending.map { (key: $0.key, fragments: $0.value.tags.count, receivedBytes: $0.value.received) }
    }

    private mutating func discard(_ key: Key, _ reason: Discard) -> Outcome {
        pending[key] = nil
        statistics.discarded += 1
        return .discarded(key, reason)
    }

    /// Builds the datagram from the first fragment's header and the data, as `ip_frag_reasm` does:
    /// total length set, MF, reserved bit and offset cleared (DF kept), checksum recomputed.
    private static func assemble(key: Key, header: [UInt8], queue: Pending) -> Datagram {
        var bytes = header
        bytes.append(contentsOf: queue.data[0..<queue.length])
        let headerLength = header.count
        bytes.withUnsafeMutableBytes { buffer in
            // The first fragment's header passed IPv4Packet's checks, and the length below is the buffer's.
            let packet = MutableIPv4Packet(unchecked: buffer, frameOffset: 0)
            packet.totalLength = headerLength + queue.length
            packet.reservedFlag = false
            packet.moreFragments = false
            packet.fragmentOffset = 0
            packet.fillChecksum()
        }
        return Datagram(key: key, bytes: bytes, headerLength: headerLength, tags: queue.tags)
    }
}
