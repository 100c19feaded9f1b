/// Why a testbed run or a comparison could not be done. `code` is for tests to match; `reason` is the
/// sentence a person reads.
public struct TestbedError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// Not root, or no `ip`, `nft` or `tc`: network namespaces cannot be made here.
        case unavailable
        /// A command that builds the topology failed.
        case commandFailed
        /// The scenario asks for something the testbed cannot build.
        case unsupported
        /// A capture could not be opened or written.
        case capture
        /// A file of a run (report.json, a pcap) is missing or unreadable.
        case input
        /// The agent inside a namespace failed.
        case agent
        /// SIGINT or SIGTERM arrived.
        case interrupted
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }

    static func command(_ arguments: [String], status: Int32, errors: String) -> TestbedError {
        let text = errors.trimmingCharacters(in: .whitespacesAndNewlines)
        return TestbedError(.commandFailed, "`\(arguments.joined(separator: " "))` failed (exit \(status))" + (text.isEmpty ? "" : ": \(text)"))
    }
}
