import Firewall
import PacketWire
import TestFixtures

/// Frames for the tests: real kernel captures (numbered as tshark numbers them) and frames built with
/// PacketWire's header values, lengths and checksums filled by emit.
enum TestFrames {
    struct Missing: Error {}

    /// Frame `number` of `kernel/<scenario>.pcap`.
    static func kernel(_ scenario: String, _ number: Int) throws -> [UInt8] {
        let records = try Fixtures.kernelCapture(scenario)
        guard records.indices.contains(number - 1) else { throw Missing() }
        return records[number - 1].bytes
    }

    /// Ethernet + IPv4 + UDP with `payload` pattern bytes and a computed checksum.
    static func udp(from source: String, _ sourcePort: UInt16, to destination: String, _ destinationPort: UInt16,
                    payload: Int = 32, dontFragment: Bool = false) -> [UInt8] {
        let source = IPv4Address(source) ?? .any, destination = IPv4Address(destination) ?? .any
        var bytes = [UInt8](repeating: 0, count: 42 + payload)
        bytes.withUnsafeMutableBytes { frame in
            for index in 0..<payload { frame[42 + index] = UInt8(truncatingIfNeeded: index) }
            UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload)
                .emit(into: frame.slice(34..<frame.count), checksum: .ipv4(source: source, destination: destination))
            IPv4Header(identification: 7, dontFragment: dontFragment, protocol: .udp, source: source, destination: destination,
                       payloadLength: 8 + payload).emit(into: frame.slice(14..<34))
            EthernetHeader(destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1), etherType: .ipv4)
                .emit(into: frame.slice(0..<14))
        }
        return bytes
    }

    /// Ethernet + IPv4 + TCP with the given flags and `payload` pattern bytes.
    static func tcp(from source: String, _ sourcePort: UInt16, to destination: String, _ destinationPort: UInt16,
                    flags: TCPFlags, payload: Int = 0) -> [UInt8] {
        let source = IPv4Address(source) ?? .any, destination = IPv4Address(destination) ?? .any
        let header = TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort, sequenceNumber: 1000,
                               acknowledgmentNumber: flags.contains(.ack) ? 1 : 0, flags: flags, window: 65535)
        var bytes = [UInt8](repeating: 0, count: 34 + header.length + payload)
        bytes.withUnsafeMutableBytes { frame in
            for index in 0..<payload { frame[34 + header.length + index] = UInt8(truncatingIfNeeded: index &* 7) }
            header.emit(into: frame.slice(34..<frame.count), checksum: .ipv4(source: source, destination: destination))
            IPv4Header(protocol: .tcp, source: source, destination: destination, payloadLength: header.length + payload)
                .emit(into: frame.slice(14..<34))
            // The header's emit sums the header; the checksum covers the data too.
            if payload > 0, let segment = try? MutableTCPSegment(checking: frame.slice(34..<frame.count), frameOffset: 34) {
                segment.fillChecksum(.ipv4(source: source, destination: destination))
            }
            EthernetHeader(destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1), etherType: .ipv4)
                .emit(into: frame.slice(0..<14))
        }
        return bytes
    }

    /// Ethernet + IPv4 + ICMP echo request with identifier `identifier`.
    static func echoRequest(from source: String, to destination: String, identifier: UInt16) -> [UInt8] {
        let source = IPv4Address(source) ?? .any, destination = IPv4Address(destination) ?? .any
        var bytes = [UInt8](repeating: 0, count: 34 + 16)
        bytes.withUnsafeMutableBytes { frame in
            let icmp = frame.slice(34..<frame.count)
            icmp.setInteger(8, at: 0, as: UInt8.self)
            icmp.setInteger(identifier, at: 4, as: UInt16.self)
            icmp.setInteger(1, at: 6, as: UInt16.self)
            icmp.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(icmp)), at: 2, as: UInt16.self)
            IPv4Header(protocol: .icmp, source: source, destination: destination, payloadLength: icmp.count)
                .emit(into: frame.slice(14..<34))
            EthernetHeader(destination: MACAddress(2, 0, 0, 0, 0, 2), source: MACAddress(2, 0, 0, 0, 0, 1), etherType: .ipv4)
                .emit(into: frame.slice(0..<14))
        }
        return bytes
    }

    /// ICMP fragmentation needed (type 3 code 4, RFC 1191) from `router` to the sender of `offending`.
    static func fragmentationNeeded(from router: String, about offending: [UInt8], mtu: UInt16) -> [UInt8] {
        let quoted = Array(offending[14..<min(offending.count, 14 + 28)])
        let source = IPv4Address(router) ?? .any
        let destination = IPv4Address(offending[26], offending[27], offending[28], offending[29])
        var bytes = [UInt8](repeating: 0, count: 34 + 8 + quoted.count)
        bytes.withUnsafeMutableBytes { frame in
            let icmp = frame.slice(34..<frame.count)
            icmp.setInteger(3, at: 0, as: UInt8.self)
            icmp.setInteger(4, at: 1, as: UInt8.self)
            icmp.setInteger(mtu, at: 6, as: UInt16.self)
            quoted.withUnsafeBytes { icmp.slice(8..<icmp.count).copyMemory(from: $0) }
            icmp.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(icmp)), at: 2, as: UInt16.self)
            IPv4Header(protocol: .icmp, source: source, destination: destination, payloadLength: icmp.count)
                .emit(into: frame.slice(14..<34))
            EthernetHeader(destination: MACAddress(2, 0, 0, 0, 0, 1), source: MACAddress(2, 0, 0, 0, 0, 9), etherType: .ipv4)
                .emit(into: frame.slice(0..<14))
        }
        return bytes
    }
}

extension FirewallDevice {
    /// Inspects a copy of `frame`; returns the decision and the frame as the device left it.
    func inspect(_ frame: [UInt8], at hook: Hook, seconds: Double = 0) -> (Decision, [UInt8]) {
        var bytes = frame
        let decision = bytes.withUnsafeMutableBytes { inspect($0, at: hook, now: UInt64(seconds * 1e9)) }
        return (decision, bytes)
    }

    /// Inspects a copy of `frame` with a trace; returns the decision and the steps it recorded.
    func traced(_ frame: [UInt8], at hook: Hook, seconds: Double = 0) -> (Decision, [String]) {
        var bytes = frame
        let trace = DecisionTrace()
        let decision = bytes.withUnsafeMutableBytes { inspect($0, at: hook, now: UInt64(seconds * 1e9), trace: trace) }
        return (decision, trace.steps)
    }
}

/// The lab's two nodes, as the kernel captures address them.
let labNames = AddressBook([.v4(IPv4Address(192, 0, 2, 1)): "node-a", .v4(IPv4Address(192, 0, 2, 2)): "node-b",
                            .v4(IPv4Address(198, 51, 100, 1)): "tor"])

func rule(_ action: RuleAction, _ build: (inout RuleMatch) -> Void) -> Rule {
    var match = RuleMatch()
    build(&match)
    return Rule(match: match, action: action)
}

func prefix(_ text: String) -> [IPPrefix] { IPPrefix(text).map { [$0] } ?? [] }
