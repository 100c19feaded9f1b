import PacketWire

/// A condition on TCP flags as nftables writes it, `tcp flags & (syn | ack) == syn`: the flags in `mask`
/// must equal `value` (iptables' `--tcp-flags SYN,ACK SYN`). Written in scenarios as a list of flag names,
/// a `!` before those that must be clear: `[syn, "!ack"]` is a connection's first packet.
public struct TCPFlagCondition: Hashable, Sendable, CustomStringConvertible {
    public var mask: TCPFlags
    public var value: TCPFlags

    public init(mask: TCPFlags, value: TCPFlags) {
        self.mask = mask
        self.value = TCPFlags(rawValue: value.rawValue & mask.rawValue)
    }

    public static let names: [(String, TCPFlags)] = [
        ("fin", .fin), ("syn", .syn), ("rst", .rst), ("psh", .psh),
        ("ack", .ack), ("urg", .urg), ("ecn", .ece), ("cwr", .cwr),
    ]

    /// Reads `[syn, "!ack"]`-style names; nil names the first word that is not a flag.
    public static func parse(_ words: [String]) -> Result<TCPFlagCondition, UnknownFlag> {
        var mask = TCPFlags(), value = TCPFlags()
        for word in words {
            let clear = word.hasPrefix("!")
            let name = (clear ? String(word.dropFirst()) : word).lowercased()
            guard let flag = names.first(where: { $0.0 == name })?.1 else { return .failure(UnknownFlag(word: word)) }
            mask.insert(flag)
            if !clear { value.insert(flag) }
        }
        return .success(TCPFlagCondition(mask: mask, value: value))
    }

    public struct UnknownFlag: Error, Hashable, Sendable { public let word: String }

    public func matches(_ flags: TCPFlags) -> Bool { flags.rawValue & mask.rawValue == value.rawValue }

    private static func text(_ flags: TCPFlags) -> String {
        let set = names.filter { flags.contains($0.1) }.map(\.0)
        return set.count == 1 ? set[0] : set.isEmpty ? "0x0" : "(" + set.joined(separator: " | ") + ")"
    }

    /// `tcp flags & (syn | ack) == syn`, as `nft list ruleset` prints it.
    public var description: String { "tcp flags & \(Self.text(mask)) == \(Self.text(value))" }
}
