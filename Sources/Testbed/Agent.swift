import Foundation
import PacketWire
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGTERM: the agent's loops end and it reports what it has.
nonisolated(unsafe) private var agentStopRequested: Int32 = 0

/// What one agent reports when it ends: one JSON line on standard output.
public struct AgentResult: Codable, Sendable {
    public var role: String
    /// Datagrams or echo requests sent; for TCP, bytes written.
    public var sent = 0
    public var sendErrors: [String: Int] = [:]
    /// Servers: datagrams (UDP) or bytes (TCP) received per sender `address:port`.
    public var receivedFrom: [String: Int] = [:]
    public var echoReplies = 0
    /// ICMP errors the socket heard about (IP_RECVERR, or on the raw socket): `type/code` → count.
    public var icmpErrors: [String: Int] = [:]
    public var connected: Bool?
    public var connectError: String?
    public var connectSeconds: Double?
    public var completed: Bool?
    public var transferError: String?
    public var bytesAcknowledged: Int?
    /// tcp_info: tcpi_total_retrans, tcpi_snd_mss, tcpi_pmtu, tcpi_data_segs_out.
    public var retransmissions: Int?
    public var sendMSS: Int?
    public var pathMTU: Int?
    public var connections = 0
}

/// The small program `overlay-sim testbed` runs inside a pod's namespace (`ip netns exec NS overlay-sim
/// testbed-agent ...`): a UDP, TCP or ICMP sender, or a UDP or TCP server. Every loop is bounded by a
/// count and by a deadline on the wall clock.
public enum TestbedAgent {
    struct Arguments {
        var role = ""
        var destination = ""
        var port: UInt16 = 0
        var sourcePort: UInt16 = 0
        var size = 56
        var count = 1
        var intervalNanoseconds: UInt64 = 10_000_000
        /// nil: leave the kernel's default (IP_PMTUDISC_WANT).
        var dontFragment: Bool?
        var startAtNanoseconds: UInt64 = 0
        var deadlineNanoseconds: UInt64 = 0
    }

    /// Runs the agent with its command-line words; returns the exit status.
    public static func main(_ words: [String]) -> Int32 {
        var arguments = Arguments()
        var index = 0
        func value() -> String {
            index += 1
            return index < words.count ? words[index] : ""
        }
        while index < words.count {
            switch words[index] {
            case "--role": arguments.role = value()
            case "--destination": arguments.destination = value()
            case "--port": arguments.port = UInt16(value()) ?? 0
            case "--source-port": arguments.sourcePort = UInt16(value()) ?? 0
            case "--size": arguments.size = Int(value()) ?? 0
            case "--count": arguments.count = Int(value()) ?? 1
            case "--interval-ns": arguments.intervalNanoseconds = UInt64(value()) ?? 0
            case "--df":
                let text = value()
                arguments.dontFragment = text == "want" ? nil : text == "1"
            case "--start-at": arguments.startAtNanoseconds = UInt64(value()) ?? 0
            case "--deadline": arguments.deadlineNanoseconds = UInt64(value()) ?? 0
            default:
                FileHandle.standardError.write(Data("testbed-agent: unknown argument \(words[index])\n".utf8))
                return 2
            }
            index += 1
        }
        signal(SIGTERM) { _ in agentStopRequested = 1 }
        guard arguments.deadlineNanoseconds > 0 else {
            FileHandle.standardError.write(Data("testbed-agent: --deadline is required (every loop is bounded)\n".utf8))
            return 2
        }
        let result: AgentResult
        switch arguments.role {
        case "udp-server": result = udpServer(arguments)
        case "tcp-server": result = tcpServer(arguments)
        case "udp-client": result = udpClient(arguments)
        case "tcp-client": result = tcpClient(arguments)
        case "icmp-client": result = icmpClient(arguments)
        default:
            FileHandle.standardError.write(Data("testbed-agent: unknown role '\(arguments.role)'\n".utf8))
            return 2
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = (try? String(decoding: encoder.encode(result), as: UTF8.self)) ?? "{}"
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
        return 0
    }

    // MARK: - Clock

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func sleep(until target: UInt64) {
        while true {
            let current = now()
            guard current < target else { return }
            let remaining = target - current
            var request = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
            _ = nanosleep(&request, nil)
        }
    }

    /// Milliseconds left until `deadline`, at least 0.
    static func millisecondsLeft(_ deadline: UInt64) -> Int32 {
        let current = now()
        return current >= deadline || agentStopRequested != 0 ? 0 : Int32(min(UInt64(Int32.max), (deadline - current) / 1_000_000))
    }

    static func errorName(_ code: Int32) -> String {
        switch code {
        case EMSGSIZE: "EMSGSIZE"
        case ECONNREFUSED: "ECONNREFUSED"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case ENETUNREACH: "ENETUNREACH"
        case ETIMEDOUT: "ETIMEDOUT"
        case ECONNRESET: "ECONNRESET"
        case EPIPE: "EPIPE"
        case EINPROGRESS: "EINPROGRESS"
        default: String(cString: strerror(code))
        }
    }

    // MARK: - Addresses

    static func socketAddress(_ address: String, port: UInt16) -> sockaddr_in {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, address, &socketAddress.sin_addr)
        return socketAddress
    }

    static func bind(_ descriptor: Int32, port: UInt16) -> Bool {
        var address = socketAddress("0.0.0.0", port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func connect(_ descriptor: Int32, to address: String, port: UInt16) -> Int32 {
        var target = socketAddress(address, port: port)
        let status = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return status == 0 ? 0 : errno
    }

    static func text(_ address: sockaddr_in) -> String {
        var copy = address.sin_addr
        var buffer = [CChar](repeating: 0, count: 32)
        inet_ntop(AF_INET, &copy, &buffer, 32)
        return "\(String(cString: buffer)):\(UInt16(bigEndian: address.sin_port))"
    }

    static func setOption(_ descriptor: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        _ = setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    // Linux uapi/linux/in.h: IP_MTU_DISCOVER values, IP_RECVERR; uapi/linux/errqueue.h.
    static let ipMTUDiscover: Int32 = 10, ipRecvErr: Int32 = 11
    static let pmtuDiscoveryDont: Int32 = 0, pmtuDiscoveryDo: Int32 = 2
    static let messageErrorQueue: Int32 = 0x2000

    /// DF as the traffic entry says: IP_PMTUDISC_DO (set, and EMSGSIZE above the path MTU) or
    /// IP_PMTUDISC_DONT (clear, fragmented by the pod's own IP layer).
    static func setDontFragment(_ descriptor: Int32, _ on: Bool?) {
        guard let on else { return }
        setOption(descriptor, Int32(IPPROTO_IP), ipMTUDiscover, on ? pmtuDiscoveryDo : pmtuDiscoveryDont)
    }

    /// Drains the socket's error queue (IP_RECVERR): each entry an ICMP error the kernel matched to it.
    static func drainErrors(_ descriptor: Int32, into result: inout AgentResult) {
        var data = [UInt8](repeating: 0, count: 2048)
        var control = [UInt8](repeating: 0, count: 512)
        for _ in 0..<10_000 {
            var received = 0
            var controlLength = 0
            data.withUnsafeMutableBytes { dataBytes in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: dataBytes.baseAddress, iov_len: dataBytes.count)
                    withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        received = recvmsg(descriptor, &message, messageErrorQueue | Int32(MSG_DONTWAIT))
                        controlLength = Int(message.msg_controllen)
                    }
                }
            }
            guard received >= 0 else { return }
            // struct cmsghdr (16 bytes on 64-bit) then struct sock_extended_err: errno (4), origin (1),
            // type (1), code (1), pad (1), info (4), data (4).
            var offset = 0
            while offset + 16 <= controlLength {
                let length = control.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset, as: UInt.self)) } // cmsghdr, sock_extended_err: not a packet
                let level = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self) } // cmsghdr, sock_extended_err: not a packet
                let type = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self) } // cmsghdr, sock_extended_err: not a packet
                if level == Int32(IPPROTO_IP), type == ipRecvErr, offset + 16 + 16 <= controlLength {
                    let origin = control[offset + 20], icmpType = control[offset + 21], icmpCode = control[offset + 22] // cmsghdr, sock_extended_err: not a packet
                    let info = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 24, as: UInt32.self) } // cmsghdr, sock_extended_err: not a packet
                    // SO_EE_ORIGIN_ICMP = 2: an ICMP error; LOCAL = 1: the kernel's own (EMSGSIZE).
                    let key = origin == 2 ? "\(icmpType)/\(icmpCode)" + (icmpType == 3 && icmpCode == 4 ? " mtu \(info)" : "")
                        : "local" + (info > 0 ? " mtu \(info)" : "")
                    result.icmpErrors[key, default: 0] += 1
                }
                guard length >= 16 else { break }
                offset += (length + 7) & ~7
            }
        }
    }

    // MARK: - UDP

    static func udpServer(_ arguments: Arguments) -> AgentResult {
        var result = AgentResult(role: "udp-server")
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0, bind(descriptor, port: arguments.port) else {
            result.transferError = "bind: \(errorName(errno))"
            return result
        }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for _ in 0..<10_000_000 {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let left = millisecondsLeft(arguments.deadlineNanoseconds)
            guard left > 0, poll(&poller, 1, min(left, 200)) >= 0 else { break }
            guard poller.revents & Int16(POLLIN) != 0 else { continue }
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let received = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length) }
            }
            if received >= 0 { result.receivedFrom[text(from), default: 0] += 1 }
        }
        return result
    }

    static func udpClient(_ arguments: Arguments) -> AgentResult {
        var result = AgentResult(role: "udp-client")
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { return result }
        defer { close(descriptor) }
        _ = bind(descriptor, port: arguments.sourcePort)
        setDontFragment(descriptor, arguments.dontFragment)
        setOption(descriptor, Int32(IPPROTO_IP), ipRecvErr, 1)
        let status = connect(descriptor, to: arguments.destination, port: arguments.port)
        guard status == 0 else {
            result.sendErrors[errorName(status), default: 0] += 1
            return result
        }
        let payload = [UInt8](repeating: 0x5A, count: arguments.size)
        sleep(until: arguments.startAtNanoseconds)
        for sequence in 0..<arguments.count {
            let due = arguments.startAtNanoseconds + UInt64(sequence) * arguments.intervalNanoseconds
            guard due < arguments.deadlineNanoseconds else { break }
            sleep(until: due)
            // A connected UDP socket reports an earlier ICMP error on the next send (ECONNREFUSED);
            // Linux then drops that datagram, so it is tried once more as an application would.
            var sent = send(descriptor, payload, payload.count, 0)
            if sent < 0 {
                result.sendErrors[errorName(errno), default: 0] += 1
                drainErrors(descriptor, into: &result)
                if errno != EMSGSIZE { sent = send(descriptor, payload, payload.count, 0) }
            }
            if sent >= 0 { result.sent += 1 }
            drainErrors(descriptor, into: &result)
        }
        // Errors for the last datagrams arrive a round trip later.
        sleep(until: min(arguments.deadlineNanoseconds, now() + 300_000_000))
        drainErrors(descriptor, into: &result)
        return result
    }

    // MARK: - ICMP echo

    static func icmpClient(_ arguments: Arguments) -> AgentResult {
        var result = AgentResult(role: "icmp-client")
        let descriptor = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        guard descriptor >= 0 else {
            result.transferError = "socket: \(errorName(errno))"
            return result
        }
        defer { close(descriptor) }
        setDontFragment(descriptor, arguments.dontFragment)
        var target = socketAddress(arguments.destination, port: 0)
        let identifier = arguments.sourcePort
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func receive(until deadline: UInt64) {
            for _ in 0..<100_000 {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let left = millisecondsLeft(deadline)
                guard left > 0, poll(&poller, 1, left) > 0 else { return }
                let received = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                // A raw ICMP socket hands over the IP header too.
                guard received >= IPv4Packet.minimumHeaderLength + ICMPv4Message.headerLength else { continue }
                buffer.withUnsafeBytes { whole in
                    let bytes = whole.slice(0..<received)
                    let header = IPv4Packet(unchecked: bytes).headerLength
                    guard received >= header + ICMPv4Message.headerLength else { return }
                    let icmp = ICMPv4Message(unchecked: bytes.dropFirst(count: header))
                    let type = icmp.type.rawValue, code = icmp.code
                    if icmp.type == .echoReply, icmp.identifier == identifier {
                        result.echoReplies += 1
                    } else if icmp.type == .destinationUnreachable || icmp.type == .timeExceeded {
                        // The quote: IP header, then our echo request's identifier.
                        let quoted = icmp.payload
                        guard quoted.count >= IPv4Packet.minimumHeaderLength else { return }
                        let quotedHeader = IPv4Packet(unchecked: quoted).headerLength
                        guard quoted.count >= quotedHeader + ICMPv4Message.Field.identifier.upperBound,
                              ICMPv4Message(unchecked: quoted.dropFirst(count: quotedHeader)).identifier == identifier else { return }
                        let mtu = icmp.type == .destinationUnreachable && code == ICMPv4UnreachableCode.fragmentationNeeded.rawValue
                            ? " mtu \(icmp.nextHopMTU)" : ""
                        result.icmpErrors["\(type)/\(code)\(mtu)", default: 0] += 1
                    }
                }
            }
        }
        sleep(until: arguments.startAtNanoseconds)
        for sequence in 0..<arguments.count {
            let due = arguments.startAtNanoseconds + UInt64(sequence) * arguments.intervalNanoseconds
            guard due < arguments.deadlineNanoseconds else { break }
            receive(until: due)
            var packet = [UInt8](repeating: 0, count: ICMPv4Message.headerLength + arguments.size)
            for index in ICMPv4Message.headerLength..<packet.count { packet[index] = UInt8(truncatingIfNeeded: index) }
            packet.withUnsafeMutableBytes { bytes in
                guard let echo = try? MutableICMPv4Message(checking: bytes) else { return }
                echo.type = .echoRequest
                echo.code = 0
                echo.identifier = identifier
                echo.sequenceNumber = UInt16(truncatingIfNeeded: sequence + 1)
                echo.fillChecksum() // RFC 1071 over the whole message
            }
            let sent = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, packet, packet.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if sent >= 0 { result.sent += 1 } else { result.sendErrors[errorName(errno), default: 0] += 1 }
        }
        receive(until: min(arguments.deadlineNanoseconds, now() + 1_000_000_000))
        return result
    }

    // MARK: - TCP

    /// Linux's struct tcp_info (uapi/linux/tcp.h) at the offsets of the fields read here.
    static func tcpInfo(_ descriptor: Int32, into result: inout AgentResult) {
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0, length >= 160 else { return }
        info.withUnsafeBytes { bytes in
            result.sendMSS = Int(bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)) // struct tcp_info: not a packet
            result.pathMTU = Int(bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self)) // struct tcp_info: not a packet
            result.retransmissions = Int(bytes.loadUnaligned(fromByteOffset: 100, as: UInt32.self)) // struct tcp_info: not a packet
            result.bytesAcknowledged = Int(bytes.loadUnaligned(fromByteOffset: 120, as: UInt64.self)) // struct tcp_info: not a packet
        }
    }

    static func tcpServer(_ arguments: Arguments) -> AgentResult {
        var result = AgentResult(role: "tcp-server")
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { return result }
        defer { close(listener) }
        setOption(listener, SOL_SOCKET, SO_REUSEADDR, 1)
        guard bind(listener, port: arguments.port), listen(listener, 64) == 0 else {
            result.transferError = "listen: \(errorName(errno))"
            return result
        }
        var open: [(descriptor: Int32, peer: String)] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for _ in 0..<10_000_000 {
            let left = millisecondsLeft(arguments.deadlineNanoseconds)
            guard left > 0 else { break }
            var pollers = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                + open.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            guard poll(&pollers, nfds_t(pollers.count), min(left, 200)) >= 0 else { break }
            var closed: [Int] = []
            for (index, connection) in open.enumerated() where pollers[index + 1].revents != 0 {
                let received = recv(connection.descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if received > 0 {
                    result.receivedFrom[connection.peer, default: 0] += received
                } else if received == 0 || errno != EAGAIN {
                    close(connection.descriptor)
                    closed.append(index)
                }
            }
            for index in closed.reversed() { open.remove(at: index) }
            if pollers[0].revents & Int16(POLLIN) != 0 {
                var from = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let accepted = withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &length) }
                }
                if accepted >= 0 {
                    open.append((accepted, text(from)))
                    result.connections += 1
                    result.receivedFrom[text(from), default: 0] += 0
                }
            }
        }
        for connection in open { close(connection.descriptor) }
        return result
    }

    static func tcpClient(_ arguments: Arguments) -> AgentResult {
        var result = AgentResult(role: "tcp-client")
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return result }
        defer { close(descriptor) }
        setOption(descriptor, SOL_SOCKET, SO_REUSEADDR, 1)
        _ = bind(descriptor, port: arguments.sourcePort)
        let flags = fcntl(descriptor, F_GETFL, 0)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        sleep(until: arguments.startAtNanoseconds)
        let started = now()
        var status = connect(descriptor, to: arguments.destination, port: arguments.port)
        if status == EINPROGRESS {
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, millisecondsLeft(arguments.deadlineNanoseconds))
            if ready > 0 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
                status = error
            } else {
                status = ETIMEDOUT
            }
        }
        tcpInfo(descriptor, into: &result)
        guard status == 0 else {
            result.connected = false
            // ETIMEDOUT here is the testbed's deadline, not the kernel's tcp_syn_retries.
            result.connectError = status == ETIMEDOUT ? "still connecting at the deadline" : errorName(status)
            result.connectSeconds = Double(now() - started) / 1e9
            return result
        }
        result.connected = true
        result.connectSeconds = Double(now() - started) / 1e9
        let chunk = [UInt8](repeating: 0x5A, count: 65_536)
        var written = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while written < arguments.size {
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let left = millisecondsLeft(arguments.deadlineNanoseconds)
            guard left > 0, poll(&poller, 1, left) > 0 else { result.transferError = "deadline"; break }
            let sent = chunk.withUnsafeBytes { send(descriptor, $0.baseAddress, min($0.count, arguments.size - written), Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EAGAIN { continue }
                result.transferError = errorName(errno)
                break
            }
            written += sent
        }
        result.sent = written
        if result.transferError == nil {
            shutdown(descriptor, Int32(SHUT_WR))
            // Wait for the server's FIN: the transfer is complete once everything is acknowledged and closed.
            for _ in 0..<100_000 {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let left = millisecondsLeft(arguments.deadlineNanoseconds)
                guard left > 0, poll(&poller, 1, left) > 0 else { result.transferError = "deadline"; break }
                let received = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if received == 0 { result.completed = true; break }
                if received < 0 && errno != EAGAIN { result.transferError = errorName(errno); break }
            }
        }
        if result.completed == nil { result.completed = false }
        tcpInfo(descriptor, into: &result)
        return result
    }
}
