import PacketWire

/// Why a frame could not be encapsulated.
public struct EncapsulationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case noDestination, addressFamilyMismatch, insufficientHeadroom
    }

    public let code: Code
    public let reason: String

    public var description: String { reason }

    public static func noDestination() -> EncapsulationError {
        EncapsulationError(code: .noDestination,
                           reason: "no destination VTEP: neither the packet nor the device names a remote")
    }

    public static func addressFamilyMismatch(local: IPAddress, remote: IPAddress) -> EncapsulationError {
        EncapsulationError(code: .addressFamilyMismatch,
                           reason: "local \(local) and remote \(remote) are different address families")
    }

    public static func insufficientHeadroom(needed: Int, available: Int) -> EncapsulationError {
        EncapsulationError(code: .insufficientHeadroom,
                           reason: "the buffer has \(available) bytes of headroom; the outer headers need \(needed)")
    }
}

/// Why a VTEP refused a frame, the way `vxlan_rcv` would refuse it.
public struct DecapsulationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The outer headers do not parse (truncated, bad length or version, bad checksum, I flag clear).
        case malformed
        case notIP, notUDP, fragment, wrongPort, zeroChecksumOverIPv6, unknownVNI
        /// A flag or reserved field the device does not use is set (`vxlan_rcv`'s `reserved_bits`).
        case reservedBits
    }

    public let code: Code
    public let reason: String
    /// The decoding error behind a `malformed` refusal.
    public let decodeError: DecodeError?

    public var description: String { reason }

    @usableFromInline
    init(code: Code, reason: String, decodeError: DecodeError? = nil) {
        self.code = code
        self.reason = reason
        self.decodeError = decodeError
    }

    public static func malformed(_ error: DecodeError) -> DecapsulationError {
        DecapsulationError(code: .malformed, reason: error.description, decodeError: error)
    }

    public static func notIP(_ etherType: EtherType) -> DecapsulationError {
        DecapsulationError(code: .notIP, reason: "outer EtherType \(etherType) is neither IPv4 nor IPv6")
    }

    public static func notUDP(_ protocol: IPProtocol) -> DecapsulationError {
        DecapsulationError(code: .notUDP, reason: "outer protocol \(`protocol`) is not UDP")
    }

    public static func fragment(offset: Int, more: Bool) -> DecapsulationError {
        DecapsulationError(code: .fragment,
                           reason: "outer packet is a fragment (offset \(offset)\(more ? ", more fragments" : "")); "
                               + "it must be reassembled first (RFC 7348 §4.3)")
    }

    public static func wrongPort(found: UInt16, expected: UInt16) -> DecapsulationError {
        DecapsulationError(code: .wrongPort,
                           reason: "UDP destination port \(found) is not this VTEP's dstport \(expected)")
    }

    public static func zeroChecksumOverIPv6() -> DecapsulationError {
        DecapsulationError(code: .zeroChecksumOverIPv6,
                           reason: "zero UDP checksum over IPv6 refused: the device lacks udp6zerocsumrx (RFC 6935)")
    }

    /// The VXLAN header sets bits outside those the device uses: Linux's `vxlan_rcv` (drivers/net/vxlan/
    /// vxlan_core.c) compares the header with `cfg.reserved_bits` (by default every bit but I, and with
    /// `gbp` also G and bytes 1-3; never byte 7), drops the packet and counts `rx_frame_errors`.
    public static func reservedBits(header: UInt64, groupBasedPolicy: Bool, offset: Int) -> DecapsulationError {
        let hex = String(header, radix: 16)
        let bytes = String(repeating: "0", count: max(0, 16 - hex.count)) + hex
        let allowed = groupBasedPolicy ? "I (0x08), G (0x80) and the group policy bytes 1-3" : "only the I flag (0x08)"
        var reason = "VXLAN header \(bytes) at byte \(offset) sets bits this device does not use (it allows \(allowed); "
            + "byte 7 is reserved)"
        if header >> 56 & 0x04 != 0 && header & 0x00FF_FF00_0000_0000 == 0 {
            reason += "; the P flag and next protocol \(header >> 32 & 0xFF) say VXLAN-GPE (UDP 4790), which a plain VXLAN device drops"
        } else if !groupBasedPolicy && header >> 56 & 0x80 != 0 {
            reason += "; the G flag says VXLAN-GBP, which only a device with gbp accepts"
        }
        return DecapsulationError(code: .reservedBits,
                                  reason: reason + ": Linux drops it and counts rx_frame_errors")
    }

    public static func unknownVNI(_ vni: UInt32, expected: UInt32) -> DecapsulationError {
        DecapsulationError(code: .unknownVNI, reason: "VNI \(vni) is not this VTEP's VNI \(expected)")
    }
}
