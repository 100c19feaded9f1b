import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The namespaces and agent processes a run made, so they are removed on every way out: the end of the
/// run, an error, SIGINT and SIGTERM.
final class Cleanup: @unchecked Sendable {
    static let shared = Cleanup()
    private let lock = NSLock()
    /// Held for a whole removal, so a second caller (the run's own `defer` while a signal handler is
    /// removing) waits until everything is gone before the process may exit.
    private let removal = NSLock()
    private var namespaces: [String] = []
    private var processes: [Process] = []
    private var signalSources: [DispatchSourceSignal] = []
    private(set) var interrupted = false

    /// Catches SIGINT and SIGTERM: remove everything, then exit with 128 + the signal, as a shell reports it.
    func installSignalHandlers() {
        lock.lock()
        defer { lock.unlock() }
        guard signalSources.isEmpty else { return }
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                FileHandle.standardError.write(Data("overlay-sim testbed: signal \(number): removing the namespaces it made\n".utf8))
                removal.lock()
                lock.lock()
                interrupted = true
                lock.unlock()
                removal.unlock()
                removeAll()
                exit(128 + number)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    func register(namespace: String) {
        lock.lock()
        namespaces.append(namespace)
        lock.unlock()
    }

    func register(process: Process) {
        lock.lock()
        processes.append(process)
        lock.unlock()
    }

    /// Ends the agents this run started (by their own process), then deletes its namespaces.
    func removeAll() {
        removal.lock()
        defer { removal.unlock() }
        lock.lock()
        let running = processes, made = namespaces
        processes = []
        namespaces = []
        lock.unlock()
        for process in running where process.isRunning { process.terminate() }
        for process in running where process.isRunning {
            let deadline = Date().addingTimeInterval(1)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        for namespace in made.reversed() { _ = try? Shell.run(["ip", "netns", "del", namespace]) }
    }
}
