import CPcap
import Capture
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Live capture on one interface of one namespace through libpcap (pcap_create, pcap_activate,
/// pcap_dispatch), on a thread of its own that entered the namespace. Frames are kept in memory (the
/// traffic is bounded) and written to a pcap when capture stops, merged in time order with the other
/// interfaces of the same capture point.
final class LiveCapture: @unchecked Sendable {
    struct CapturedFrame {
        var timestampNanoseconds: UInt64
        var bytes: [UInt8]
        var originalLength: Int
    }

    let namespace: String
    let interface: String
    private(set) var frames: [CapturedFrame] = []
    private(set) var failure: TestbedError?
    private(set) var kernelDrops: UInt32 = 0
    private let stopLock = NSLock()
    private var stopRequested = false
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(namespace: String, interface: String) {
        self.namespace = namespace
        self.interface = interface
    }

    /// Starts capturing; returns once the handle is active (or failed).
    func start() throws(TestbedError) {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.start()
        ready.wait()
        if let failure { throw failure }
    }

    private var shouldStop: Bool {
        stopLock.lock()
        defer { stopLock.unlock() }
        return stopRequested
    }

    private func run() {
        do {
            try NetworkNamespace.enter(namespace)
        } catch {
            failure = error
            ready.signal()
            return
        }
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_create(interface, &errorBuffer) else {
            failure = TestbedError(.capture, "\(namespace) \(interface): pcap_create: \(String(cString: errorBuffer))")
            ready.signal()
            return
        }
        defer { pcap_close(handle) }
        pcap_set_snaplen(handle, 262_144)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_buffer_size(handle, 16 << 20)
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(handle)
        guard status >= 0 else {
            failure = TestbedError(.capture, "\(namespace) \(interface): pcap_activate: \(String(cString: pcap_geterr(handle)))")
            ready.signal()
            return
        }
        pcap_setnonblock(handle, 1, &errorBuffer)
        let descriptor = pcap_get_selectable_fd(handle)
        ready.signal()
        let context = Unmanaged.passUnretained(self).toOpaque()
        let callback: pcap_handler = { user, header, bytes in
            guard let user, let header, let bytes else { return }
            let capture = Unmanaged<LiveCapture>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
            let length = Int(header.pointee.caplen)
            let seconds = UInt64(max(0, header.pointee.ts.tv_sec)), fraction = UInt64(max(0, header.pointee.ts.tv_usec))
            capture.frames.append(CapturedFrame(timestampNanoseconds: seconds * 1_000_000_000 + fraction,
                                                bytes: Array(UnsafeBufferPointer(start: bytes, count: length)),
                                                originalLength: Int(header.pointee.len)))
        }
        var draining = 0
        while true {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, 50)
            let got = pcap_dispatch(handle, -1, callback, context.assumingMemoryBound(to: UInt8.self))
            if got < 0 { break }
            if shouldStop {
                // Take what the kernel still holds, then stop.
                draining += 1
                if got == 0 || draining > 20 { break }
            }
        }
        var statistics = pcap_stat()
        if pcap_stats(handle, &statistics) == 0 { kernelDrops = statistics.ps_drop }
    }

    /// Stops capturing and waits for the thread.
    func stop() {
        stopLock.lock()
        stopRequested = true
        stopLock.unlock()
        finished.wait()
    }

    /// Writes the frames of several interfaces, in time order, to one pcap at `path` (written under a
    /// temporary name and renamed, as PcapWriter does).
    static func write(_ captures: [LiveCapture], to path: String) throws(TestbedError) {
        let frames = captures.flatMap(\.frames).sorted { $0.timestampNanoseconds < $1.timestampNanoseconds }
        do {
            let writer = try PcapWriter(path: path)
            do {
                for frame in frames {
                    try writer.write(frame.bytes, timestampNanoseconds: frame.timestampNanoseconds, originalLength: frame.originalLength)
                }
                try writer.close()
            } catch {
                writer.abandon()
                throw error
            }
        } catch {
            throw TestbedError(.capture, "\(path): \(error)")
        }
    }
}
