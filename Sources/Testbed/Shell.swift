import Foundation

/// Runs the system's own tools (`ip`, `nft`, `tc`, `ethtool`, `nstat`) as a person would type them, and
/// the agent inside a namespace with `ip netns exec`.
enum Shell {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `arguments` (the first a program looked up in PATH) to completion and returns what it said.
    /// `input` is written to its standard input (an nft ruleset).
    static func run(_ arguments: [String], input: String? = nil) throws(TestbedError) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do { try process.run() } catch {
            throw TestbedError(.commandFailed, "cannot run `\(arguments.joined(separator: " "))`: \(error)")
        }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        // Read both pipes to the end before waiting, so a chatty tool cannot block on a full pipe.
        let collectedErrors = ErrorCollector(errors.fileHandleForReading)
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = collectedErrors.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      errors: String(decoding: errorData, as: UTF8.self))
    }

    /// Runs `arguments` and throws when it fails.
    @discardableResult
    static func check(_ arguments: [String], input: String? = nil) throws(TestbedError) -> String {
        let result = try run(arguments, input: input)
        guard result.status == 0 else { throw TestbedError.command(arguments, status: result.status, errors: result.errors) }
        return result.output
    }

    /// `ip netns exec NAME arguments...`
    static func inNamespace(_ namespace: String, _ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", namespace] + arguments
    }

    /// Whether `program` is on PATH.
    static func has(_ program: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }
}

/// Reads a pipe to its end on another thread.
private final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
