import PacketWire

extension TunnelConfiguration {
    /// Why a list of `ip link ... type vxlan` words could not be read.
    public struct ArgumentError: Error, Hashable, Sendable, CustomStringConvertible {
        public let word: String
        public let reason: String
        public var description: String { "\(word): \(reason)" }
    }

    /// Reads the words `ip link add ... type vxlan` takes, or that `ip -d link show` prints after
    /// `vxlan`: `id`, `local`, `remote`, `dstport`, `srcport MIN MAX`, `ttl`, `tos`, `df`, `udpcsum`,
    /// `noudpcsum`, `udp6zerocsumtx`, `udp6zerocsumrx` (and their `no` forms), `gbp`. Words that do not
    /// change bytes on the wire (`dev`, `ageing`, `nolearning`, ...) are skipped with their values.
    ///
    /// `srcport 0 0` means Linux's default, the ephemeral port range.
    public init(ipLinkArguments words: [String]) throws(ArgumentError) {
        var vni: UInt32?
        var local: IPAddress?
        var configuration = TunnelConfiguration(vni: 0, local: .v4(.any))
        var index = 0
        func value(after word: String) throws(ArgumentError) -> String {
            guard index + 1 < words.count else { throw ArgumentError(word: word, reason: "needs a value") }
            index += 1
            return words[index]
        }
        func number<T: FixedWidthInteger>(_ text: String, for word: String, as: T.Type) throws(ArgumentError) -> T {
            let parsed = text.hasPrefix("0x") ? T(text.dropFirst(2), radix: 16) : T(text, radix: 10)
            guard let parsed else { throw ArgumentError(word: word, reason: "'\(text)' is not a number in range") }
            return parsed
        }
        func address(_ text: String, for word: String) throws(ArgumentError) -> IPAddress {
            guard let parsed = IPAddress(text) else {
                throw ArgumentError(word: word, reason: "'\(text)' is not an IPv4 or IPv6 address")
            }
            return parsed
        }
        let skippedWithValue: Set<String> = [
            "dev", "ageing", "maxaddress", "addrgenmode", "numtxqueues", "numrxqueues", "gso_max_size",
            "gso_max_segs", "tso_max_size", "tso_max_segs", "gro_max_size", "group", "flowlabel", "label",
            "gso_ipv4_max_size", "gro_ipv4_max_size", "mtu", "parentdev", "parentdevbus",
        ]
        while index < words.count {
            let word = words[index]
            switch word {
            case "id", "vni":
                let parsed = try number(try value(after: word), for: word, as: UInt32.self)
                guard parsed <= 0xFF_FFFF else { throw ArgumentError(word: word, reason: "VNI \(parsed) exceeds 24 bits") }
                vni = parsed
            case "local": local = try address(try value(after: word), for: word)
            case "remote": configuration.remote = try address(try value(after: word), for: word)
            case "dstport", "port":
                configuration.destinationPort = try number(try value(after: word), for: word, as: UInt16.self)
            case "srcport":
                let low = try number(try value(after: word), for: word, as: UInt16.self)
                let high = try number(try value(after: word), for: word, as: UInt16.self)
                if low == 0 && high == 0 {
                    configuration.sourcePortRange = Self.linuxEphemeralPorts
                } else {
                    guard low < high else { throw ArgumentError(word: word, reason: "MIN \(low) must be below MAX \(high)") }
                    configuration.sourcePortRange = low..<high
                }
            case "ttl", "hoplimit":
                let text = try value(after: word)
                switch text {
                case "auto", "0": configuration.ttl = .auto
                case "inherit": configuration.ttl = .inherit
                default: configuration.ttl = .fixed(try number(text, for: word, as: UInt8.self))
                }
            case "tos", "dsfield":
                let text = try value(after: word)
                configuration.tos = text == "inherit" ? .inherit
                    : .fixed(try number(text.hasPrefix("0x") ? text : "0x" + text, for: word, as: UInt8.self))
            case "df":
                let text = try value(after: word)
                guard let policy = DFPolicy(rawValue: text) else {
                    throw ArgumentError(word: word, reason: "'\(text)' is not unset, set or inherit")
                }
                configuration.df = policy
            case "udpcsum": configuration.udpChecksum = true
            case "noudpcsum": configuration.udpChecksum = false
            case "udp6zerocsumtx": configuration.udp6ZeroChecksumTx = true
            case "noudp6zerocsumtx": configuration.udp6ZeroChecksumTx = false
            case "udp6zerocsumrx": configuration.udp6ZeroChecksumRx = true
            case "noudp6zerocsumrx": configuration.udp6ZeroChecksumRx = false
            case "gbp": configuration.groupBasedPolicy = true
            case "external": configuration.collectMetadata = true
            case "noexternal": configuration.collectMetadata = false
            default:
                if skippedWithValue.contains(word) { index += 1 }
            }
            index += 1
        }
        // iproute2 ip/iplink_vxlan.c: `id` is required unless the device is `external`.
        guard let vni = vni ?? (configuration.collectMetadata ? 0 : nil) else {
            throw ArgumentError(word: "id", reason: "the VNI is required (or `external`)")
        }
        configuration.vni = vni
        configuration.local = local ?? configuration.local
        self = configuration
    }
}
