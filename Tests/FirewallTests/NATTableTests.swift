import Firewall
import PacketWire
import Testing

/// The project's one NAT: kube-proxy's Service DNAT and masquerade on a conntrack-backed table, with the
/// bytes a full checksum recomputation gives.
@Suite("NAT table")
struct NATTableTests {
    static let client = "10.244.0.5", service = "10.96.0.10", endpoint = "10.244.1.7"

    /// What ClusterSim's kube-proxy did before the table (`MutableIPv4Frame.rewrite`): write the fields,
    /// then recompute the IPv4 header checksum and the TCP or UDP checksum from scratch (a UDP checksum
    /// of 0 stays 0; a computed 0 is sent as 0xFFFF). The reference the incremental updates must equal.
    static func referenceRewrite(_ frame: inout [UInt8], source: (IPv4Address, UInt16)? = nil, destination: (IPv4Address, UInt16)? = nil) {
        frame.withUnsafeMutableBytes { bytes in
            let ihl = Int(bytes[14] & 0x0F) * 4, l4 = 14 + ihl
            if let (address, port) = source {
                bytes.setInteger(address.rawValue, at: 26, as: UInt32.self)
                bytes.setInteger(port, at: l4, as: UInt16.self)
            }
            if let (address, port) = destination {
                bytes.setInteger(address.rawValue, at: 30, as: UInt32.self)
                bytes.setInteger(port, at: l4 + 2, as: UInt16.self)
            }
            bytes.setInteger(0, at: 24, as: UInt16.self)
            bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(14..<l4))), at: 24, as: UInt16.self)
            let segment = bytes.slice(l4..<(14 + Int(bytes.getInteger(at: 16, as: UInt16.self))))
            let proto = IPProtocol(rawValue: bytes[23])
            let offset = proto == .tcp ? 16 : 6
            if proto == .udp && segment.getInteger(at: 6, as: UInt16.self) == 0 { return }
            segment.setInteger(0, at: offset, as: UInt16.self)
            let pseudo = PseudoHeader.ipv4(source: IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self)),
                                           destination: IPv4Address(rawValue: bytes.getInteger(at: 30, as: UInt32.self)))
            let sum = pseudo.checksum(of: UnsafeRawBufferPointer(segment), protocol: proto)
            segment.setInteger(proto == .udp && sum == 0 ? 0xFFFF : sum, at: offset, as: UInt16.self)
        }
    }

    static func address(_ text: String) -> IPv4Address { IPv4Address(text) ?? .any }

    func translate(_ table: inout NATTable, _ frame: [UInt8], now: UInt64 = 0, keep: (NATTable.Entry) -> Bool = { _ in true },
                   to target: NATTarget? = NATTarget(address: .v4(address(endpoint)), port: 8080)) -> (NATResult, [UInt8]) {
        var bytes = frame
        let result = bytes.withUnsafeMutableBytes { table.translateDestination($0, now: now, keep: keep) { _ in target } }
        return (result, bytes)
    }

    @Test("a new flow to a ClusterIP is DNATed to the chosen endpoint; its replies get the Service back as their source")
    func serviceDNAT() throws {
        var table = NATTable()
        let request = TestFrames.tcp(from: Self.client, 40000, to: Self.service, 80, flags: .syn, payload: 11)
        var chosen: [FlowKey] = []
        var bytes = request
        let result = bytes.withUnsafeMutableBytes {
            table.translateDestination($0, now: 0) { flow in
                chosen.append(flow)
                return NATTarget(address: .v4(Self.address(Self.endpoint)), port: 8080)
            }
        }
        guard case .translated(let entry) = result else { Issue.record("\(result)"); return }
        #expect(chosen.map(\.description) == ["tcp 10.244.0.5:40000 → 10.96.0.10:80"])
        #expect(entry.translatesDestination && !entry.translatesSource && entry.destination.description == "10.244.1.7:8080")
        var expected = request
        Self.referenceRewrite(&expected, destination: (Self.address(Self.endpoint), 8080))
        #expect(bytes == expected, "byte-identical to a full recomputation")

        let (again, second) = translate(&table, request, now: 1, to: nil)
        #expect(again == .translated(table.entry(original: entry.original) ?? entry) && second == expected, "the entry decides, not a new choice")

        let reply = TestFrames.tcp(from: Self.endpoint, 8080, to: Self.client, 40000, flags: [.syn, .ack], payload: 3)
        var restored = reply
        let back = restored.withUnsafeMutableBytes { table.translateDestination($0, now: 2) { _ in
            Issue.record("a reply is not a new flow"); return nil } }
        guard case .restored = back else { Issue.record("\(back)"); return }
        var expectedReply = reply
        Self.referenceRewrite(&expectedReply, source: (Self.address(Self.service), 80))
        #expect(restored == expectedReply)
        #expect(table.entry(original: entry.original)?.seenReply == true)
    }

    @Test("nil from the choice leaves the packet alone and records nothing; ICMP and later fragments are untouched")
    func untouched() throws {
        var table = NATTable()
        let other = TestFrames.udp(from: Self.client, 5000, to: "10.244.1.9", 53)
        let (result, bytes) = translate(&table, other, to: nil)
        #expect(result == .untouched && bytes == other && table.count == 0)
        let later = try TestFrames.kernel("frag-v4", 12)
        #expect(translate(&table, later).0 == .untouched)
    }

    @Test("an entry the caller no longer keeps (a UDP endpoint that is gone) is replaced by a new choice")
    func staleUDPEntry() {
        var table = NATTable()
        let datagram = TestFrames.udp(from: Self.client, 5000, to: Self.service, 53)
        _ = translate(&table, datagram)
        let replacement = NATTarget(address: .v4(Self.address("10.244.2.3")), port: 5353)
        let (result, bytes) = translate(&table, datagram, now: 1, keep: { $0.destination.address != .v4(Self.address(Self.endpoint)) },
                                        to: replacement)
        guard case .translated(let entry) = result else { Issue.record("\(result)"); return }
        #expect(entry.destination == replacement && table.count == 1)
        var expected = datagram
        Self.referenceRewrite(&expected, destination: (Self.address("10.244.2.3"), 5353))
        #expect(bytes == expected)
        #expect(table.entry(reply: FlowKey(protocol: .udp, source: .v4(Self.address(Self.endpoint)), sourcePort: 8080,
                                           destination: .v4(Self.address(Self.client)), destinationPort: 5000)) == nil,
                "the old endpoint's reply tuple went with its entry")
    }

    @Test("expiry off keeps entries for the run; Linux's conntrack timeouts expire an idle UDP entry after 30 s")
    func expiry() {
        let datagram = TestFrames.udp(from: Self.client, 5000, to: Self.service, 53)
        let reply = TestFrames.udp(from: Self.endpoint, 8080, to: Self.client, 5000)
        let hour: UInt64 = 3600 * ConntrackTimeouts.second
        var forever = NATTable()
        _ = translate(&forever, datagram)
        if case .restored = translate(&forever, reply, now: hour, to: nil).0 {} else { Issue.record("never expires") }

        var linux = NATTable(expiry: .conntrack(ConntrackTimeouts()))
        _ = translate(&linux, datagram)
        if case .restored = translate(&linux, reply, now: 29 * ConntrackTimeouts.second, to: nil).0 {} else { Issue.record("live at 29 s") }
        #expect(linux.entry(original: FlowKey(protocol: .udp, source: .v4(Self.address(Self.client)), sourcePort: 5000,
                                              destination: .v4(Self.address(Self.service)), destinationPort: 53))?.assured == false,
                "the first reply alone is no stream (nf_conntrack_udp_packet)")
        // A packet after the reply, the entry older than 2 s: the 120 s stream timeout applies.
        if case .restored = translate(&linux, reply, now: 30 * ConntrackTimeouts.second, to: nil).0 {} else { Issue.record("live at 30 s") }
        if case .restored = translate(&linux, reply, now: 140 * ConntrackTimeouts.second, to: nil).0 {} else { Issue.record("stream") }
        #expect(translate(&linux, reply, now: 261 * ConntrackTimeouts.second, to: nil).0 == .untouched, "a reply meets an expired entry")
        // Replied once, then silent: the 30 s timeout of a non-stream entry.
        var once = NATTable(expiry: .conntrack(ConntrackTimeouts()))
        _ = translate(&once, datagram)
        if case .restored = translate(&once, reply, now: 10 * ConntrackTimeouts.second, to: nil).0 {} else { Issue.record("live at 10 s") }
        #expect(translate(&once, reply, now: 41 * ConntrackTimeouts.second, to: nil).0 == .untouched, "30 s after its only reply")
        var chosen = 0
        var bytes = datagram
        _ = bytes.withUnsafeMutableBytes { linux.translateDestination($0, now: 262 * ConntrackTimeouts.second) { _ in
            chosen += 1; return NATTarget(address: .v4(Self.address(Self.endpoint)), port: 8080) } }
        #expect(chosen == 1, "after expiry the flow is new again")
    }

    @Test("a full table refuses a new flow and leaves its packet alone")
    func tableFull() {
        var table = NATTable(capacity: 1)
        _ = translate(&table, TestFrames.udp(from: Self.client, 1, to: Self.service, 53))
        let second = TestFrames.udp(from: Self.client, 2, to: Self.service, 53)
        let (result, bytes) = translate(&table, second)
        #expect(result == .tableFull && bytes == second)
    }

    @Test("hairpin: DNAT at prerouting, masquerade at postrouting on the same entry; the reply is restored in one step")
    func hairpin() {
        var table = NATTable()
        var ports = NATPortAllocator(range: PortRange(32768, 60999), seed: 1)
        let node = Self.address("10.244.0.1")
        // The pod reaches itself through its Service.
        var packet = TestFrames.tcp(from: Self.client, 40000, to: Self.service, 80, flags: .syn)
        let original = packet
        _ = packet.withUnsafeMutableBytes { table.translateDestination($0, now: 0) { _ in NATTarget(address: .v4(Self.address(Self.client)), port: 8080) } }
        let result = packet.withUnsafeMutableBytes { table.translateSource($0, now: 0, to: node, ports: &ports) }
        guard case .translated(let entry) = result else { Issue.record("\(result)"); return }
        #expect(entry.translatesDestination && entry.translatesSource && entry.source.description == "10.244.0.1:40000")
        var expected = original
        Self.referenceRewrite(&expected, source: (node, 40000), destination: (Self.address(Self.client), 8080))
        #expect(packet == expected)
        var reply = TestFrames.tcp(from: Self.client, 8080, to: "10.244.0.1", 40000, flags: [.syn, .ack])
        let replyBefore = reply
        let back = reply.withUnsafeMutableBytes { table.translate($0, now: 1) }
        guard case .restored = back else { Issue.record("\(back)"); return }
        var expectedReply = replyBefore
        Self.referenceRewrite(&expectedReply, source: (Self.address(Self.service), 80), destination: (Self.address(Self.client), 40000))
        #expect(reply == expectedReply)
        // The next packet of the flow gets both rewrites at prerouting; postrouting has nothing left to do.
        var next = TestFrames.tcp(from: Self.client, 40000, to: Self.service, 80, flags: .ack)
        let nextOriginal = next
        _ = next.withUnsafeMutableBytes { table.translateDestination($0, now: 2) { _ in nil } }
        let after = next
        _ = next.withUnsafeMutableBytes { table.translateSource($0, now: 2, to: node, ports: &ports) }
        var expectedNext = nextOriginal
        Self.referenceRewrite(&expectedNext, source: (node, 40000), destination: (Self.address(Self.client), 8080))
        #expect(after == expectedNext && next == expectedNext)
    }

    @Test("masquerade keeps a flow's own port when free, and picks another when two flows would share a reply tuple")
    func masqueradePorts() {
        var table = NATTable()
        var ports = NATPortAllocator(range: PortRange(1024, 65535), seed: 1)
        let node = Self.address("192.0.2.1")
        var a = TestFrames.udp(from: "10.244.0.5", 5000, to: "198.51.100.9", 53)
        var b = TestFrames.udp(from: "10.244.0.6", 5000, to: "198.51.100.9", 53)
        let first = a.withUnsafeMutableBytes { table.translateSource($0, now: 0, to: node, ports: &ports) }
        let second = b.withUnsafeMutableBytes { table.translateSource($0, now: 0, to: node, ports: &ports) }
        guard case .translated(let one) = first, case .translated(let two) = second else { Issue.record("\(first) \(second)"); return }
        #expect(one.source.port == 5000 && two.source.port != 5000 && one.reply != two.reply)
    }

    @Test("the rewrite equals a full recomputation on 3,000 random TCP and UDP packets, the 0 and 0xFFFF corners included")
    func checksumsMatchFullRecomputation() {
        var random = SplitMix64(seed: 0x6E61_7474)
        func word() -> UInt16 { UInt16(truncatingIfNeeded: random.next()) }
        func host() -> String { "10.\(random.next() % 256).\(random.next() % 256).\(random.next() % 254 + 1)" }
        var corners = 0
        for round in 0..<3000 {
            let tcp = round % 2 == 0
            let payload = Int(random.next() % 300)
            var packet = tcp
                ? TestFrames.tcp(from: host(), word(), to: host(), word(), flags: .ack, payload: payload)
                : TestFrames.udp(from: host(), word(), to: host(), word(), payload: payload)
            let payloadStart = tcp ? 54 : 42
            for index in payloadStart..<packet.count { packet[index] = UInt8(truncatingIfNeeded: random.next()) }
            Self.fillChecksum(&packet)
            let target = (Self.address(host()), word())
            // Every third packet is adjusted so that the rewritten checksum comes out as 0 (sent as
            // 0xFFFF for UDP): the corner where an update can differ from a recomputation.
            if round % 3 == 0, payload >= 2 {
                var probe = packet
                Self.referenceRewrite(&probe, destination: target)
                let offset = tcp ? 50 : 40
                let result = UInt16(probe[offset]) << 8 | UInt16(probe[offset + 1])
                let old = UInt16(packet[payloadStart]) << 8 | UInt16(packet[payloadStart + 1])
                let sum = UInt32(old) + UInt32(result == 0xFFFF && !tcp ? 0 : result)
                let adjusted = UInt16(truncatingIfNeeded: (sum & 0xFFFF) + (sum >> 16))
                packet[payloadStart] = UInt8(adjusted >> 8)
                packet[payloadStart + 1] = UInt8(truncatingIfNeeded: adjusted)
                Self.fillChecksum(&packet)
            }
            var expected = packet
            Self.referenceRewrite(&expected, destination: target)
            var table = NATTable()
            let (_, rewritten) = translate(&table, packet, to: NATTarget(address: .v4(target.0), port: target.1))
            #expect(rewritten == expected, "round \(round)")
            let offset = tcp ? 50 : 40
            let checksum = UInt16(expected[offset]) << 8 | UInt16(expected[offset + 1])
            if checksum == (tcp ? 0 : 0xFFFF) { corners += 1 }
        }
        #expect(corners > 300, "the corner cases were reached (\(corners))")
    }

    @Test("a UDP checksum of 0 (noudpcsum) stays 0")
    func zeroUDPChecksum() throws {
        var table = NATTable()
        let frame = try TestFrames.kernel("nocsum-v4", 8)
        let (result, bytes) = translate(&table, frame)
        guard case .translated = result else { Issue.record("\(result)"); return }
        #expect(bytes[40] == 0 && bytes[41] == 0)
        var expected = frame
        Self.referenceRewrite(&expected, destination: (Self.address(Self.endpoint), 8080))
        #expect(bytes == expected)
    }

    /// Fills the IPv4 and the TCP or UDP checksum of an Ethernet + IPv4 frame from scratch.
    static func fillChecksum(_ frame: inout [UInt8]) {
        frame.withUnsafeMutableBytes { bytes in
            guard let ip = try? MutableIPv4Packet(checking: bytes.dropFirst(count: 14), frameOffset: 14) else { return }
            ip.fillChecksum()
            let pseudo = PseudoHeader.ipv4(source: ip.source, destination: ip.destination)
            if ip.protocol == .udp, let udp = try? MutableUDPDatagram(checking: ip.payload) { udp.fillChecksum(pseudo) }
            if ip.protocol == .tcp, let tcp = try? MutableTCPSegment(checking: ip.payload) { tcp.fillChecksum(pseudo) }
        }
    }
}
