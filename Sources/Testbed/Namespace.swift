#if canImport(Glibc)
import Glibc
#endif

/// Moves the calling thread into a named network namespace (`ip netns add NAME` keeps it at
/// /run/netns/NAME), as `ip netns exec` does for a process: setns(2) with CLONE_NEWNET. A socket keeps
/// the namespace it was made in, so a capture handle opened here stays there.
enum NetworkNamespace {
    static let cloneNewNet: Int32 = 0x4000_0000

    static func enter(_ name: String) throws(TestbedError) {
        let descriptor = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw TestbedError(.capture, "cannot open /run/netns/\(name): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // Glibc's Swift module does not export setns(2) (it is behind _GNU_SOURCE): look it up.
        typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
        guard let library = dlopen(nil, RTLD_NOW), let symbol = dlsym(library, "setns") else {
            throw TestbedError(.capture, "setns(2) is not available in this C library")
        }
        let setns = unsafeBitCast(symbol, to: SetNamespace.self)
        guard setns(descriptor, cloneNewNet) == 0 else {
            throw TestbedError(.capture, "cannot enter network namespace \(name): \(String(cString: strerror(errno)))")
        }
    }
}
