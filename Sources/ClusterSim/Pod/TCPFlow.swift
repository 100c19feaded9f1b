import Capture
import PacketWire

extension Simulation {
    func openConnection(_ index: Int, to target: (address: IPv4Address, port: UInt16)) throws(CaptureError) {
        var flow = flows[index]
        let spec = scenario.traffic[flow.spec]
        var generator = SplitMix64(seed: scenario.seed ^ stableHash(flow.clientName) ^ UInt64(index))
        let isn = UInt32(truncatingIfNeeded: generator.next())
        flow.tcp = TCPConnection(serverAddress: target.address, serverPort: target.port, initialSequence: isn,
                                 unacknowledged: isn, nextToSend: isn &+ 1, total: spec.size,
                                 mss: scenario.overlay.mtu - 40, serverSequence: UInt32(truncatingIfNeeded: generator.next()))
        flows[index] = flow
        stats[flow.spec].connections += 1
        try sendSYN(index)
    }

    func sendSYN(_ index: Int) throws(CaptureError) {
        guard var connection = flows[index].tcp else { return }
        let header = TCPHeader(sourcePort: flows[index].sourcePort, destinationPort: connection.serverPort,
                               sequenceNumber: connection.initialSequence, flags: .syn, window: 64240,
                               options: [.maximumSegmentSize(UInt16(scenario.overlay.mtu - 40))])
        connection.timerGeneration += 1
        flows[index].tcp = connection
        try sendClientSegment(index, header: header, isData: true)
        events.schedule(after: TCPConnection.synTimeout, .tcpTimeout(index, generation: connection.timerGeneration))
    }

    /// Sends as many segments as the window allows from `nextToSend`.
    func sendData(_ index: Int) throws(CaptureError) {
        guard var connection = flows[index].tcp, connection.phase == .established else { return }
        let windowBytes = TCPConnection.window * connection.mss
        var sentAny = false
        while connection.sentBytes < connection.total && connection.sentBytes - connection.acknowledgedBytes < windowBytes {
            let size = min(connection.mss, connection.total - connection.sentBytes)
            let header = TCPHeader(sourcePort: flows[index].sourcePort, destinationPort: connection.serverPort,
                                   sequenceNumber: connection.nextToSend, acknowledgmentNumber: connection.clientReceiveNext,
                                   flags: [.ack, .psh], window: 64240, payloadLength: size)
            connection.nextToSend &+= UInt32(size)
            flows[index].tcp = connection
            try sendClientSegment(index, header: header, isData: true)
            connection = flows[index].tcp ?? connection
            sentAny = true
        }
        if connection.sentBytes >= connection.total && connection.acknowledgedBytes >= connection.total && connection.phase == .established {
            connection.phase = .finSent
            let header = TCPHeader(sourcePort: flows[index].sourcePort, destinationPort: connection.serverPort,
                                   sequenceNumber: connection.nextToSend, acknowledgmentNumber: connection.clientReceiveNext,
                                   flags: [.fin, .ack], window: 64240)
            flows[index].tcp = connection
            try sendClientSegment(index, header: header, isData: false)
            sentAny = true
        }
        if sentAny, var armed = flows[index].tcp {
            armed.timerGeneration += 1
            flows[index].tcp = armed
            events.schedule(after: TCPConnection.dataTimeout, .tcpTimeout(index, generation: armed.timerGeneration))
        }
    }

    func sendClientSegment(_ index: Int, header: TCPHeader, isData: Bool) throws(CaptureError) {
        var flow = flows[index]
        guard let connection = flow.tcp, !cluster.pods[flow.client].deleted else { return }
        let buffer = takeBuffer()
        PodPackets.tcp(buffer, addressing(from: flow.client, to: connection.serverAddress, dontFragment: true, flow: &flow), header: header)
        flows[index] = flow
        if isData {
            stats[flow.spec].packetsSent += 1
            stats[flow.spec].bytesSent += buffer.count - 14
        }
        try podSend(flow.client, buffer, PacketTag(flow: Int32(index), role: .toServer, sentAt: events.now, isData: isData))
    }

    func tcpTimeout(_ index: Int, generation: Int) throws(CaptureError) {
        guard var connection = flows[index].tcp, connection.timerGeneration == generation, connection.phase != .closed else { return }
        let spec = flows[index].spec
        connection.timeouts += 1
        guard connection.timeouts <= (connection.phase == .synSent ? TCPConnection.synRetries : TCPConnection.dataRetries) else {
            // Linux gives up after tcp_syn_retries (6) or tcp_retries2 (15) timeouts.
            connection.phase = .closed
            flows[index].tcp = connection
            stats[spec].connectionsFailed += 1
            return
        }
        flows[index].tcp = connection
        switch connection.phase {
        case .synSent:
            stats[spec].retransmissions += 1
            try sendSYN(index)
        case .established, .finSent:
            // Go back N: everything after the last acknowledgment goes again.
            let outstanding = connection.sentBytes - connection.acknowledgedBytes
            stats[spec].retransmissions += max(1, (outstanding + connection.mss - 1) / connection.mss)
            connection.nextToSend = connection.unacknowledged
            if connection.phase == .finSent { connection.phase = .established }
            flows[index].tcp = connection
            try sendData(index)
        case .closed:
            break
        }
    }

    /// RFC 1191 §6.3 / Linux tcp_v4_mtu_reduced: lower the MSS and resend what is outstanding at once.
    func tcpPathMTUReduced(_ index: Int, mtu: Int) throws(CaptureError) {
        guard var connection = flows[index].tcp, mtu - 40 < connection.mss, mtu >= 68 else { return }
        connection.mss = mtu - 40
        let spec = flows[index].spec
        stats[spec].lowestMSS = min(stats[spec].lowestMSS ?? .max, connection.mss)
        let outstanding = connection.sentBytes - connection.acknowledgedBytes
        if outstanding > 0 { stats[spec].retransmissions += (outstanding + connection.mss - 1) / connection.mss }
        connection.nextToSend = connection.unacknowledged &+ (connection.phase == .synSent ? 1 : 0)
        if connection.phase == .finSent { connection.phase = .established }
        flows[index].tcp = connection
        try sendData(index)
    }

    /// A TCP segment reaches the client or the server.
    func tcpReceive(_ index: Int, at pod: Int, _ bytes: UnsafeRawBufferPointer, role: PacketTag.Role) throws(CaptureError) {
        guard var connection = flows[index].tcp else { return }
        let ipHeader = Int(bytes[14] & 0x0F) * 4
        let l4 = 14 + ipHeader
        let totalLength = Int(bytes.getInteger(at: 16, as: UInt16.self))
        let dataOffset = Int(bytes[l4 + 12] >> 4) * 4
        let payload = totalLength - ipHeader - dataOffset
        let sequence = bytes.getInteger(at: l4 + 4, as: UInt32.self), acknowledgment = bytes.getInteger(at: l4 + 8, as: UInt32.self)
        let flags = TCPFlags(rawValue: bytes[l4 + 13])
        let spec = flows[index].spec
        if role == .toServer {
            // Server: answer SYN, acknowledge in-order data cumulatively, answer FIN with FIN.
            let client = IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self))
            let clientPort = bytes.getInteger(at: l4, as: UInt16.self)
            var reply: TCPHeader?
            if flags.contains(.syn) {
                connection.serverReceiveNext = sequence &+ 1
                reply = TCPHeader(sourcePort: bytes.getInteger(at: l4 + 2, as: UInt16.self), destinationPort: clientPort,
                                  sequenceNumber: connection.serverSequence, acknowledgmentNumber: connection.serverReceiveNext,
                                  flags: [.syn, .ack], window: 65160,
                                  options: [.maximumSegmentSize(UInt16(scenario.overlay.mtu - 40))])
            } else {
                if sequence == connection.serverReceiveNext {
                    connection.serverReceiveNext &+= UInt32(payload) &+ (flags.contains(.fin) ? 1 : 0)
                }
                let finishing = flags.contains(.fin) && sequence &+ UInt32(payload) &+ 1 == connection.serverReceiveNext
                if payload > 0 || finishing {
                    reply = TCPHeader(sourcePort: bytes.getInteger(at: l4 + 2, as: UInt16.self), destinationPort: clientPort,
                                      sequenceNumber: connection.serverSequence &+ 1 &+ (connection.serverFinished ? 1 : 0),
                                      acknowledgmentNumber: connection.serverReceiveNext,
                                      flags: finishing ? [.fin, .ack] : [.ack], window: 65160)
                    if finishing { connection.serverFinished = true }
                }
            }
            flows[index].tcp = connection
            guard let reply else { return }
            let buffer = takeBuffer()
            var flow = flows[index]
            PodPackets.tcp(buffer, addressing(from: pod, to: client, dontFragment: true, flow: &flow), header: reply)
            flows[index] = flow
            try podSend(pod, buffer, PacketTag(flow: Int32(index), role: .toClient, sentAt: events.now, isData: false))
            return
        }
        // Client.
        if flags.contains(.syn) && flags.contains(.ack) && connection.phase == .synSent {
            connection.phase = .established
            connection.unacknowledged = connection.initialSequence &+ 1
            connection.nextToSend = connection.unacknowledged
            connection.clientReceiveNext = sequence &+ 1
            flows[index].tcp = connection
            let ack = TCPHeader(sourcePort: flows[index].sourcePort, destinationPort: connection.serverPort,
                                sequenceNumber: connection.nextToSend, acknowledgmentNumber: connection.clientReceiveNext,
                                flags: .ack, window: 64240)
            try sendClientSegment(index, header: ack, isData: false)
            try sendData(index)
            return
        }
        guard connection.phase == .established || connection.phase == .finSent else { return }
        let advanced = Int32(bitPattern: acknowledgment &- connection.unacknowledged) > 0
        if advanced {
            connection.unacknowledged = acknowledgment
            connection.timeouts = 0
        }
        if flags.contains(.fin) && connection.phase == .finSent {
            connection.phase = .closed
            connection.timerGeneration += 1
            connection.clientReceiveNext = sequence &+ 1
            flows[index].tcp = connection
            stats[spec].connectionsCompleted += 1
            let ack = TCPHeader(sourcePort: flows[index].sourcePort, destinationPort: connection.serverPort,
                                sequenceNumber: connection.nextToSend &+ 1, acknowledgmentNumber: connection.clientReceiveNext,
                                flags: .ack, window: 64240)
            try sendClientSegment(index, header: ack, isData: false)
            return
        }
        flows[index].tcp = connection
        if advanced { try sendData(index) }
    }
}
