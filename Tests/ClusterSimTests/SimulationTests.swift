import Capture
import ClusterSim
import Foundation
import PacketWire
import Testing

@Suite("Simulation")
struct SimulationTests {
    @Test("the same scenario and seed give byte-identical captures and reports")
    func deterministic() throws {
        let scenario = try loadScenario("default")
        let (first, firstFolder) = try runWithCaptures(scenario, label: "det1")
        let (second, secondFolder) = try runWithCaptures(scenario, label: "det2")
        #expect(first.json() == second.json())
        let files = try FileManager.default.contentsOfDirectory(atPath: firstFolder).sorted()
        #expect(files.count == 14 && files.contains("drops.pcap") && files.contains("drops.pcapng"),
                "6 node captures, 6 pod captures, drops.pcap and drops.pcapng: \(files)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: secondFolder).sorted() == files)
        for file in files {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(firstFolder)/\(file)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(secondFolder)/\(file)"))
            #expect(a == b, "\(file) differs between runs")
            #expect(a.count > 24, "\(file) holds frames")
        }
        // drops.pcap holds every frame dropped anywhere, one record per drop the report lists.
        let dropped = first.flows.flatMap(\.drops).reduce(0) { $0 + $1.count }
        let droppedFrames = try frames(in: "\(firstFolder)/drops.pcap").count
        #expect(dropped > 0 && droppedFrames == dropped)
        var reseeded = scenario
        reseeded.seed += 1
        let third = try Simulation(scenario: reseeded).run(captureDirectory: nil)
        #expect(third.json() != first.json(), "another seed gives another run")
    }

    @Test("the default on Linux: node-c's narrow link black-holes full-size TCP; ip_forward_use_pmtu=1 makes PMTU discovery converge")
    func pathMTUDiscovery() throws {
        var scenario = try loadScenario("default")
        let report = try Simulation(scenario: scenario).run(captureDirectory: nil)
        let flow = try #require(report.flows.first { $0.name == "sql-to-db" })
        // Flannel's routed VTEP: the router's ICMP reaches node-a, which learns 1400 and refuses its own
        // DF packets; the pod hears nothing and its segments never arrive.
        #expect(flow.connectionsCompleted == 0 && flow.lowestMSS == nil && flow.icmpErrorsReceived == 0)
        #expect(flow.drops.contains { $0.place == "node-a underlay" && $0.reason.contains("IpFragFails") })
        #expect(report.flows.flatMap(\.drops).contains { $0.place == "tor" && $0.reason.contains("exceeds the 1400-byte MTU of link node-c↔tor") })
        #expect(flow.bytesDelivered < 50_000)
        // Forwarding that honours the learned MTU answers the pod (1400 - 50 bytes of VXLAN - 40 of IP and TCP - 12 of timestamps).
        scenario.sysctls.ipForwardUsePMTU = true
        let fixed = try Simulation(scenario: scenario).run(captureDirectory: nil)
        let converged = try #require(fixed.flows.first { $0.name == "sql-to-db" })
        #expect(converged.connectionsCompleted == 2 && converged.lowestMSS == 1298 && converged.retransmissions > 0)
        #expect(converged.drops.contains { $0.place == "node-a routing" && $0.reason.contains("ICMP fragmentation needed (mtu 1350) sent to") && $0.reason.contains("from 10.244.0.1") })
        let web = try #require(fixed.flows.first { $0.name == "http-to-web" })
        #expect(web.connectionsCompleted == web.connections)
        #expect(converged.bytesDelivered >= 50_000, "all 50,000 bytes arrive in the end")
    }

    @Test("a Deployment's replaced pod gets a new name and address; a StatefulSet's keeps both")
    func replacement() throws {
        let report = try Simulation(scenario: try loadScenario("rollout-replacement")).run(captureDirectory: nil)
        let web = report.pods.filter { $0.workload == "web" }
        #expect(web.count == 4 && web.filter(\.deleted).count == 2)
        for deleted in web where deleted.deleted {
            for live in web where !live.deleted {
                #expect(live.name != deleted.name && live.address != deleted.address)
            }
        }
        // The Service's UDP flow lost its endpoint at 30 ms; kube-proxy's conntrack cleanup sends the
        // next datagram to a live one.
        let udp = try #require(report.flows.first { $0.name == "udp-web" })
        #expect(udp.packetsDelivered == 60 && udp.packetsDropped == 0)
        #expect(udp.endpoints?.count == 2)
        let kafka = report.pods.filter { $0.name == "kafka-1" }
        #expect(kafka.count == 2 && kafka.filter(\.deleted).count == 1)
        #expect(Set(kafka.map(\.address)).count == 1, "the StatefulSet pod keeps its address")
        let ping = try #require(report.flows.first { $0.name == "ping-kafka-1" })
        #expect(ping.packetsDelivered > 50, "traffic reaches kafka-1 again after its replacement")
        #expect(ping.echoReplies == ping.packetsDelivered, "every request that arrives is answered")
        #expect(ping.drops.contains { $0.reason == "pod kafka-1 is not running yet" })
    }

    @Test("a switch port narrower than the overlay is a silent black hole: pings pass, full-size TCP segments vanish")
    func switchBlackHole() throws {
        let report = try Simulation(scenario: try loadScenario("switch-mtu-blackhole")).run(captureDirectory: nil)
        let pings = try #require(report.flows.first { $0.name == "small-pings" })
        #expect(pings.packetsDelivered == 5 && pings.packetsDropped == 0)
        let bulk = try #require(report.flows.first { $0.name == "bulk-tcp" })
        #expect(bulk.packetsDelivered == 1, "only the SYN arrives")
        #expect(bulk.connectionsFailed == 1 && bulk.lowestMSS == nil, "no ICMP, so no PMTU discovery")
        #expect(bulk.drops.allSatisfy { $0.place == "sw1" && $0.reason.contains("a switch drops it silently") })
    }

    @Test("datagrams larger than the pod MTU are fragmented by the pod, reassembled by the receiver, and NATed whole")
    func podFragmentation() throws {
        let yaml = """
        name: frag
        cluster:
          overlay: {vni: 1, mtu: 1450}
          nodes:
            - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
            - {name: b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
        workloads:
          - {kind: Pod, name: client, node: a}
          - {kind: Pod, name: server, node: b, labels: {app: server}}
        services:
          - {name: svc, clusterIP: 10.96.0.1, selector: {app: server}, ports: [{port: 53, targetPort: 5353, protocol: UDP}]}
        traffic:
          - {name: big, from: client, to: server, protocol: udp, size: 4000, count: 5, port: 9000, df: false}
          - {name: big-service, from: client, to: {service: svc}, protocol: udp, size: 4000, count: 5, df: false}
          - {name: big-df, from: client, to: server, protocol: udp, size: 4000, count: 5, port: 9000, df: true}
        """
        let scenario = try ScenarioParser.parse(yaml: yaml, file: "frag.yaml")
        let (report, folder) = try runWithCaptures(scenario, label: "frag")
        for name in ["big", "big-service"] {
            let flow = try #require(report.flows.first { $0.name == name })
            #expect(flow.packetsSent == 5 && flow.packetsDelivered == 5 && flow.packetsDropped == 0, "\(name): \(flow)")
            #expect(flow.bytesDelivered == 5 * (4000 + 28))
        }
        let dontFragment = try #require(report.flows.first { $0.name == "big-df" })
        #expect(dontFragment.packetsDelivered == 0)
        #expect(dontFragment.drops.first?.reason.contains("EMSGSIZE") == true)
        // 4,028 bytes of IP in 1,450-byte pieces: 3 fragments per datagram on the wire, 10 datagrams.
        let fragments = try frames(in: "\(folder)/pod-server.pcap").filter { $0.bytes[20] & 0x3F != 0 || $0.bytes[21] != 0 }
        #expect(fragments.count == 30)
    }

    @Test("a slow link queues, tail-drops a burst beyond its queue, and loses packets at its loss rate")
    func queueAndLoss() throws {
        let yaml = """
        name: queue
        seed: 9
        cluster:
          nodes:
            - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
            - {name: b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
            - {name: c, address: 10.0.0.3, podCIDR: 10.244.2.0/24}
        underlay:
          links:
            - {between: [a, b], bandwidth: 10Mbps, latency: 1ms, queue: 5}
            - {between: [a, c], loss: 0.25}
        workloads:
          - {kind: Pod, name: sender, node: a}
          - {kind: Pod, name: slow, node: b}
          - {kind: Pod, name: lossy, node: c}
        traffic:
          - {name: burst, from: sender, to: slow, protocol: udp, size: 1000, count: 50, rate: 100000/s}
          - {name: lossy, from: sender, to: lossy, protocol: udp, size: 100, count: 400, rate: 10000/s}
        """
        let report = try Simulation(scenario: try ScenarioParser.parse(yaml: yaml, file: "q.yaml")).run(captureDirectory: nil)
        let burst = try #require(report.flows.first { $0.name == "burst" })
        // 1,078-byte frames take about 0.88 ms each at 10 Mbps while the pod sends one every 10 us.
        #expect(burst.packetsDropped > 30 && burst.packetsDelivered >= 5)
        #expect(burst.drops.allSatisfy { $0.place == "link a→b" && $0.reason == "queue of 5 packets full (tail drop)" })
        #expect(burst.packetsDelivered + burst.packetsDropped == 50)
        let latency = try #require(burst.latency)
        #expect(latency.maximumNanoseconds > latency.minimumNanoseconds + 3_000_000, "queued packets wait")
        let lossy = try #require(report.flows.first { $0.name == "lossy" })
        #expect(lossy.packetsDropped > 60 && lossy.packetsDropped < 140, "about a quarter of 400: \(lossy.packetsDropped)")
        #expect(lossy.drops.allSatisfy { $0.reason == "lost on the link (loss 0.25)" })
        let queueDrops = report.links.first { $0.from == "a" && $0.to == "b" }?.queueDrops
        #expect(queueDrops == burst.packetsDropped)
    }

    @Test("a Service spreads connections across its endpoints")
    func serviceSpread() throws {
        let report = try Simulation(scenario: try loadScenario("service-spread")).run(captureDirectory: nil)
        let flow = try #require(report.flows.first)
        let endpoints = try #require(flow.endpoints)
        #expect(endpoints.count == 3, "every endpoint gets connections: \(endpoints)")
        #expect(endpoints.values.reduce(0, +) == 24)
        #expect(endpoints.values.allSatisfy { $0 >= 3 }, "\(endpoints)")
        #expect(flow.connectionsCompleted == 24)
    }

    @Test("same-node traffic is routed locally, never encapsulated")
    func sameNodeNotEncapsulated() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("flannel-two-nodes"), label: "samenode")
        let cache = try #require(report.pods.first { $0.name == "cache" })
        let cacheAddress = try #require(IPv4Address(cache.address))
        for file in ["node-1-vtep.pcap", "node-1-underlay.pcap", "node-2-underlay.pcap"] {
            let seen = try frames(in: "\(folder)/\(file)").filter { frame in
                guard let (destination, port) = ipv4Destination(frame.bytes) else { return false }
                return destination == cacheAddress && port == 6379
            }
            #expect(seen.isEmpty, "\(file) carries same-node traffic")
        }
        #expect(try frames(in: "\(folder)/pod-cache.pcap").count == 20)
        let sameNode = try #require(report.flows.first { $0.name == "same-node-cache" })
        #expect(sameNode.packetsDelivered == 20)
        // ... while the cross-node flow does cross the VTEP.
        let backend = try frames(in: "\(folder)/node-1-vtep.pcap").filter { ipv4Destination($0.bytes)?.1 == 9000 }
        #expect(backend.count == 50)
    }

    @Test("learning mode replicates unknown unicast to every VTEP until it has learned")
    func headEndReplication() throws {
        let report = try Simulation(scenario: try loadScenario("learning-fdb")).run(captureDirectory: nil)
        let flow = try #require(report.flows.first)
        #expect(flow.packetsDelivered == flow.packetsSent)
        #expect(flow.echoReplies == nil, "a UDP flow has no echo replies")
        // node-1 sends its first packet to the spine three times (to node-2, node-3 and node-4).
        let spineBound = report.links.first { $0.from == "node-1" && $0.to == "spine" }
        #expect((spineBound?.packets ?? 0) > 10, "replicated copies plus the learned unicast")
    }

    /// Every example but the 1,000,000-packet one, which the scale test covers.
    static let exampleScenarios: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: scenariosFolder)) ?? []
        return ["default"] + names.filter { $0.hasSuffix(".yaml") && $0 != "large-100-nodes.yaml" }
            .map { String($0.dropLast(".yaml".count)) }.sorted()
    }()

    @Test("every capture of every example decodes in tshark with good checksums and the scenario's VNI",
          .enabled(if: tsharkInstalled), arguments: exampleScenarios)
    func capturesDecodeInTshark(name: String) throws {
        let scenario = try loadScenario(name)
        let (_, folder) = try runWithCaptures(scenario, label: "tshark-\(name)")
        // fw-checksum-offload-bug's NAT breaks outer UDP checksums on purpose: tshark must see them.
        let brokenOnPurpose = name == "fw-checksum-offload-bug"
        var badFrames = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where file.hasSuffix(".pcap") && file != "drops.pcap" {
            let path = "\(folder)/\(file)"
            // Pod payloads are patterns, not DNS or TAPA: keep tshark from dissecting them by port. An ICMP
            // error quotes up to 548 bytes of a segment (as Linux does): tshark recomputes the quoted TCP or
            // UDP checksum over the truncated bytes, so those are checked only outside ICMP errors.
            let common = ["-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                          "-o", "tcp.check_checksum:TRUE", "-d", "udp.port==\(scenario.overlay.destinationPort),vxlan",
                          "--disable-protocol", "dns", "--disable-protocol", "mdns", "--disable-protocol", "tapa"]
            let bad = try #require(tshark(common + ["-Y", "_ws.malformed || ip.checksum.status == 0 || (udp.checksum.status == 0 && !icmp) || (tcp.checksum.status == 0 && !icmp) || icmp.checksum.status == 0"]))
            badFrames += bad.split(separator: "\n").count
            if !brokenOnPurpose { #expect(bad.isEmpty, "\(name)/\(file): \(bad.prefix(500))") }
            if file.hasSuffix("-underlay.pcap") {
                let vnis = try #require(tshark(common + ["-Y", "vxlan", "-T", "fields", "-e", "vxlan.vni"]))
                let values = Set(vnis.split(separator: "\n"))
                #expect(values.isSubset(of: ["\(scenario.overlay.vni)"]), "\(name)/\(file) VNIs: \(values)")
            }
        }
        if brokenOnPurpose { #expect(badFrames > 0, "the offload bug's bad checksums show in tshark") }
    }

    @Test("100 nodes, 5,000 pods, 1,000,000 packets: buffers and queued events stay as they were at 100,000")
    func flatMemory() throws {
        var smaller = try loadScenario("large-100-nodes")
        smaller.traffic[0].count = 1_000
        let full = try loadScenario("large-100-nodes")
        let smallerRun = try Simulation(scenario: smaller)
        let smallerReport = try smallerRun.run(captureDirectory: nil)
        let fullRun = try Simulation(scenario: full)
        let fullReport = try fullRun.run(captureDirectory: nil)
        #expect(fullReport.pods.count == 5000 && fullReport.links.count == 100 * 99)
        #expect(smallerReport.flows[0].packetsDelivered == 100_000)
        #expect(fullReport.flows[0].packetsDelivered == 1_000_000)
        // Memory is the buffer pool and the event queue (captures stream to disk): neither may grow.
        #expect(fullRun.buffersAllocated == smallerRun.buffersAllocated, "\(smallerRun.buffersAllocated) → \(fullRun.buffersAllocated)")
        #expect(fullRun.peakQueuedEvents <= smallerRun.peakQueuedEvents + 10, "\(smallerRun.peakQueuedEvents) → \(fullRun.peakQueuedEvents)")
    }

    @Test("a capture folder that cannot be written fails cleanly, leaving nothing behind")
    func unwritableCaptureFolder() throws {
        let folder = "/proc/overlay-sim-cannot-write-here"
        let error = #expect(throws: CaptureError.self) {
            try Simulation(scenario: try loadScenario("flannel-two-nodes")).run(captureDirectory: folder)
        }
        #expect(error?.description.contains(folder) == true)
    }
}
