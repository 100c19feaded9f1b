import Capture
import PacketWire

/// Runs one scenario: builds the network it describes, drives its events in virtual time, and reports.
/// Nothing here reads a wall clock or an unseeded random source, so the same scenario and seed give the
/// same captures and report, byte for byte.
public final class Simulation {
    public let scenario: Scenario
    let network: Network
    /// Called now and then with (virtual time, packets so far): the CLI draws its progress line.
    public var progress: ((Nanoseconds, Int) -> Void)?
    /// Packets and capture bytes the run may spend; `run` stops when one is reached.
    public var limits = RunLimits()
    /// Set when `run` stopped at a limit: the captures were abandoned and the report is partial.
    public private(set) var stopped: RunStop?
    /// The traffic entry whose packets `run` traces hop by hop (`overlay-sim run --explain FLOW`).
    public var explainFlow: String?

    /// Packet buffers ever allocated, and the longest the event queue got: both must stay flat as a
    /// scenario sends more packets, which is what keeps memory from growing with the packet count.
    public var buffersAllocated: Int { network.pool.allocated }
    public var peakQueuedEvents: Int { network.scheduler.peakQueued }
    /// Bytes of overlay headers per packet on this underlay.
    public var overhead: Int { network.overhead }

    /// - Throws: ``ScenarioError`` when the scenario is not one the simulation can build (the validator's
    ///   checks, run here too, so a scenario built in code meets the same rules as one read from a file).
    public init(scenario: Scenario) throws(ScenarioError) {
        var checked = scenario
        try ScenarioValidator.validate(&checked)
        // The checked scenario: its `choose: each` flows are expanded into one flow per pod.
        self.scenario = checked
        network = try Network(scenario: checked)
    }

    /// Runs the scenario to the end, writing captures under `directory` (nil: no captures), and returns
    /// the report. On a capture error nothing is left under a final file name.
    public func run(captureDirectory directory: String?) throws(CaptureError) -> Report {
        let observers = network.observers
        if let directory {
            let files = try CaptureSet(directory: directory, settings: scenario.captures,
                                       nodeNames: network.nodes.map(\.name), podCount: network.cluster.pods.count)
            let network = self.network
            let traffic = scenario.traffic, accounting = observers.accounting
            observers.captures = CaptureObserver(files: files, podName: { network[$0].name },
                                                 flowName: { traffic[accounting.flow(of: $0).index].name })
        }
        if let explainFlow, let flow = scenario.traffic.firstIndex(where: { $0.name == explainFlow }) {
            observers.explainer = Explainer(flow: FlowID(flow), accounting: observers.accounting)
        }
        startTraffic()
        for injector in network.injectors { network.scheduler.schedule(at: injector.spec.start, .injection(injector.id)) }
        for event in scenario.events { network.scheduler.schedule(at: event.at, .controlPlane(event.action)) }
        let maximumPackets = limits.maximumPackets ?? .max, maximumCaptureBytes = limits.maximumCaptureBytes ?? .max
        // The parts the loop asks per event, held here: reached through `network` they were retained and
        // released at each event.
        let scheduler = network.scheduler, pool = network.pool, captures = observers.captures
        while let (time, event) = scheduler.next() {
            handle(event, at: time)
            if case .controlPlane = event {} else { trafficEnd = time }
            if let failure = captures?.failure {
                captures?.files.abandon()
                throw failure
            }
            let packets = pool.taken
            if packets & 0xFFFF == 0 { progress?(time, packets) }
            if time > Units.maximumVirtualTime {
                stopped = RunStop(limit: .virtualTime(Units.maximumVirtualTime), virtualTime: time, packets: packets)
            } else if packets >= maximumPackets {
                stopped = RunStop(limit: .packets(maximumPackets), virtualTime: time, packets: packets)
            } else if let files = captures?.files, files.bytesWritten > maximumCaptureBytes {
                stopped = RunStop(limit: .captureBytes(maximumCaptureBytes), virtualTime: time, packets: packets)
            }
            if stopped != nil {
                observers.captures?.files.abandon()
                return ReportBuilder.report(of: network, captures: [], warnings: scenario.warnings)
            }
        }
        if let captures = observers.captures {
            do { try captures.files.close() } catch {
                captures.files.abandon()
                throw error
            }
        }
        return ReportBuilder.report(of: network, captures: observers.captures?.files.files ?? [],
                                    warnings: scenario.warnings + lateEvents())
    }

    /// When the last event that was not the control plane's happened: a packet, a sender's tick, a timer.
    private var trafficEnd: Nanoseconds = 0

    /// Events due after the traffic's last packet or timer: they happen when nothing is left to see them, so the
    /// scenario does not show what its author meant. Known only once the run is over (a TCP flow ends
    /// when its connection does), so they are warnings at the event's line.
    func lateEvents() -> [ScenarioWarning] {
        let end = trafficEnd
        return scenario.events.filter { $0.at > end }.map { event in
            ScenarioWarning(event.location, "the event at \(Units.format(event.at)) comes after the traffic has ended (its last packet or timer was at \(Units.format(end))): it changes nothing the run shows; move it earlier, or make the traffic last longer")
        }
    }

    /// One sender per client pod of each traffic entry, each starting at the entry's start (or when its
    /// pod is ready).
    private func startTraffic() {
        let cluster = network.cluster
        for (index, spec) in scenario.traffic.enumerated() {
            let clients: [PodID]
            switch spec.from {
            case .pod(let name): clients = cluster.pod(named: name).map { [$0] } ?? []
            case .selector(let selector): clients = cluster.pods(matching: selector, at: .max)
            case .service: clients = []
            }
            for client in clients {
                let id = network.observers.accounting.addSender(of: FlowID(index))
                network.addSender(Sender(id: id, flow: FlowID(index), spec: spec, client: cluster[client], network: network))
                network.scheduler.schedule(at: max(spec.start, cluster[client].readyAt), .senderTick(id))
            }
        }
    }

    private func handle(_ event: Event, at time: Nanoseconds) {
        switch event {
        case .senderTick(let sender):
            network.withSender(sender) { $0.tick() }
        case let .tcpTimer(sender, generation):
            network[sender].tcpTimerFired(generation: generation)
        case let .arrive(buffer, tag, place, direction):
            network.arrive(buffer, tag, at: place, via: direction)
        case .injection(let attack):
            network.injectors[attack.index].tick()
        case let .vethDelivery(buffer, tag, pod):
            guard !network.cluster.isDeleted(pod) else {
                let node = network[network.cluster[pod].node]
                network.drop(buffer, tag, at: node.routingPoint, DropReason(.noSuchPod, "pod \(network.cluster[pod].name) was deleted"))
                return
            }
            if tag.attack != nil { network.observers.attacks.reachedPod(tag) }
            network.withPod(pod) { $0.receive(buffer, tag) }
        case .reassemblyTimeout(.node(let node)):
            network[node].expireReassembly()
        case .reassemblyTimeout(.pod(let pod)):
            network[pod].expireReassembly()
        case .controlPlane(.deletePod(let name)):
            if let pod = network.cluster.pod(named: name) { delete(pod, at: time) }
        case .controlPlane(.deleteDeploymentPod(let deployment)):
            let pods = network.cluster.livePods.filter { $0.workload == deployment }
            if let pod = pods.min(by: { $0.name < $1.name }) { delete(pod.id, at: time) }
        }
    }

    /// The control plane deletes a pod; its controller's replacement gets a network stack.
    private func delete(_ pod: PodID, at time: Nanoseconds) {
        guard let replacement = try? network.cluster.deletePod(pod, at: time) else { return }
        network.addStack(for: replacement)
    }
}
