/// A 48-bit IEEE 802 MAC address.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address in the low 48 bits, first octet most significant.
    public let rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    public init(_ o0: UInt8, _ o1: UInt8, _ o2: UInt8, _ o3: UInt8, _ o4: UInt8, _ o5: UInt8) {
        self.init(rawValue: [o0, o1, o2, o3, o4, o5].reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).count == 6
            ? text.split(separator: ":", omittingEmptySubsequences: false)
            : text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, part.allSatisfy(\.isASCIIHexDigit),
                  let octet = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(octet)
        }
        self.init(rawValue: value)
    }

    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    public static let zero = MACAddress(rawValue: 0)

    /// The I/G bit: group (multicast or broadcast) addresses have it set.
    public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }
    public var isBroadcast: Bool { self == .broadcast }

    /// The address in the 6 bytes at `offset`, first octet first; the caller checks that they are there.
    @inlinable
    public init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        let high = UInt64(bytes.getInteger(at: offset, as: UInt16.self))
        let low = UInt64(bytes.getInteger(at: offset + 2, as: UInt32.self))
        self.rawValue = high << 32 | low
    }

    /// Writes the address into the 6 bytes at `offset`; the caller checks that they are there.
    @inlinable
    public func write(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.setInteger(UInt16(truncatingIfNeeded: rawValue >> 32), at: offset, as: UInt16.self)
        bytes.setInteger(UInt32(truncatingIfNeeded: rawValue), at: offset + 2, as: UInt32.self)
    }

    public var description: String {
        (0..<6).map { index in
            let octet = UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64(index)))
            return octet < 16 ? "0" + String(octet, radix: 16) : String(octet, radix: 16)
        }.joined(separator: ":")
    }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An IPv4 address (RFC 791 §3.1).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text; nil when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit),
                  let octet = UInt8(part, radix: 10) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.rawValue = value
    }

    /// The address in the 4 bytes at `offset`, network order; the caller checks that they are there.
    @inlinable
    public init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.rawValue = bytes.getInteger(at: offset, as: UInt32.self)
    }

    /// Writes the address into the 4 bytes at `offset`; the caller checks that they are there.
    @inlinable
    public func write(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.setInteger(rawValue, at: offset, as: UInt32.self)
    }

    public static let any = IPv4Address(rawValue: 0)
    public static let broadcast = IPv4Address(rawValue: 0xFFFF_FFFF)

    public var description: String {
        "\(rawValue >> 24).\(rawValue >> 16 & 0xFF).\(rawValue >> 8 & 0xFF).\(rawValue & 0xFF)"
    }

    @inlinable  // read per packet by the encapsulator (TTL 1 toward a multicast group)
    public var isMulticast: Bool { rawValue >> 28 == 0xE }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An IPv6 address (RFC 4291).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses RFC 4291 §2.2 text forms (with `::` compression and an embedded dotted quad); nil when
    /// malformed.
    public init?(_ text: some StringProtocol) {
        var groups: [UInt16] = []
        var text = Substring(text)
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        var tail: [UInt16] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = IPv4Address(text[text.index(after: lastColon)...]) else { return nil }
            tail = [UInt16(v4.rawValue >> 16), UInt16(v4.rawValue & 0xFFFF)]
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        var halves = [String(text)]
        if let range = text.firstRange(of: "::") {
            halves = [String(text[..<range.lowerBound]), String(text[range.upperBound...])]
            guard !halves[1].contains("::") else { return nil }
        }
        func parse(_ half: String) -> [UInt16]? {
            if half.isEmpty { return [] }
            var result: [UInt16] = []
            for piece in half.split(separator: ":", omittingEmptySubsequences: false) {
                guard !piece.isEmpty, piece.count <= 4, piece.allSatisfy(\.isASCIIHexDigit),
                      let value = UInt16(piece, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = parse(halves[0]) else { return nil }
        if halves.count == 2 {
            guard let rest = parse(halves[1]) else { return nil }
            let missing = 8 - head.count - rest.count - tail.count
            guard missing >= 1 else { return nil }
            groups = head + Array(repeating: 0, count: missing) + rest + tail
        } else {
            groups = head + tail
        }
        guard groups.count == 8 else { return nil }
        self.high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        self.low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    /// The address in the 16 bytes at `offset`, network order; the caller checks that they are there.
    @inlinable
    public init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.high = bytes.getInteger(at: offset, as: UInt64.self)
        self.low = bytes.getInteger(at: offset + 8, as: UInt64.self)
    }

    /// Writes the address into the 16 bytes at `offset`; the caller checks that they are there.
    @inlinable
    public func write(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.setInteger(high, at: offset, as: UInt64.self)
        bytes.setInteger(low, at: offset + 8, as: UInt64.self)
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    /// RFC 5952 canonical text: lower case, longest run of two or more zero groups compressed.
    public var description: String {
        let groups = self.groups
        var bestStart = -1, bestLength = 0, index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength && end - index >= 2 { bestStart = index; bestLength = end - index }
                index = end
            } else {
                index += 1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestStart < 0 { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    public var isMulticast: Bool { high >> 56 == 0xFF }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

/// An IPv4 or IPv6 address, for places that accept either (a VTEP's underlay, a firewall rule).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    public var isIPv6: Bool { if case .v6 = self { true } else { false } }

    /// The IPv4 address, or nil for an IPv6 one.
    @inlinable public var ipv4: IPv4Address? { if case .v4(let address) = self { address } else { nil } }
    /// The IPv6 address, or nil for an IPv4 one.
    @inlinable public var ipv6: IPv6Address? { if case .v6(let address) = self { address } else { nil } }
}

extension Character {
    /// `0`-`9` only. The integer initialisers that parse address text also accept a leading `+` or `-`
    /// (`UInt8("+1")` is 1, `UInt8("-0")` is 0), which no address form allows.
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
    /// `0`-`9`, `a`-`f`, `A`-`F` only.
    var isASCIIHexDigit: Bool { isASCII && isHexDigit }
}
