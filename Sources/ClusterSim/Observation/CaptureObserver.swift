import Capture
import PacketWire

/// Writes what passes each capture point into its pcap (the files are `CaptureSet`'s), and every dropped
/// frame into drops.pcap and, with its reason, drops.pcapng. A failed write does not stop the packet:
/// the first error is kept and the run reports it when it ends, leaving nothing under a final name.
final class CaptureObserver: PacketObserver {
    let files: CaptureSet
    /// Pod names, for the pod capture files.
    private let podName: (PodID) -> String
    /// The traffic entry a sender belongs to, for drops.pcapng's comments.
    private let flowName: (SenderID) -> String
    private(set) var failure: CaptureError?

    init(files: CaptureSet, podName: @escaping (PodID) -> String, flowName: @escaping (SenderID) -> String) {
        self.files = files
        self.podName = podName
        self.flowName = flowName
    }

    @inline(__always)
    func transmitted(_ frame: UnsafeRawBufferPointer, at point: CapturePoint, tag: PacketTag, time: Nanoseconds) {
        do {
            switch point {
            case .underlay(let node): try files.underlay(node.index, frame, at: time)
            case .vtep(let node): try files.vtep(node.index, frame, at: time)
            case .pod(let pod): try files.pod(podName(pod), frame, at: time)
            }
        } catch {
            if failure == nil { failure = error }
        }
    }

    func dropped(_ frame: UnsafeRawBufferPointer, tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds) {
        do {
            try files.drop(frame, at: time, place: place, reason: reason, flow: tag.sender.map(flowName))
        } catch { if failure == nil { failure = error } }
    }
}
