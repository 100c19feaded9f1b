import Foundation

/// Debian's `chromium` run headless on a file: the DOM after the page's scripts ran (`--dump-dom`), a
/// screenshot (`--screenshot`), and every console message the page produced.
///
/// With `--enable-logging=stderr --v=0` Chromium writes each console message, whatever its level
/// (`console.log`, `console.error`, an uncaught exception, a Content-Security-Policy violation, a failed
/// load), to stderr as `INFO:CONSOLE(line)] "text", source: URL (line)`. A report page writes nothing to
/// the console, so every such line is a failure; `BrowserTests` shows that a page with a deliberate
/// script error is caught this way.
struct HeadlessChromium {
    struct Result {
        var stdout: String
        var consoleMessages: [String]
        var status: Int32
    }

    let executable: String

    /// The browser, or why there is none: not installed, or installed but unable to start here.
    static let found: (browser: HeadlessChromium?, reason: String) = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        guard let executable = path.split(separator: ":").flatMap({ folder in names.map { "\(folder)/\($0)" } })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return (nil, "no Chromium on PATH (Debian: apt-get install chromium; `make test` installs it)")
        }
        let browser = HeadlessChromium(executable: executable)
        do {
            let result = try browser.run(["--dump-dom", "about:blank"])
            guard result.status == 0, result.stdout.contains("<html") else {
                return (nil, "\(executable) cannot run headless here (exit \(result.status))")
            }
        } catch {
            return (nil, "\(executable) cannot be started: \(error)")
        }
        return (browser, "")
    }()

    /// Runs the browser with a fresh profile; stops it after `timeout` seconds.
    func run(_ arguments: [String], windowSize: String = "1400,1800", timeout: TimeInterval = 90) throws -> Result {
        let profile = NSTemporaryDirectory() + "overlay-sim-chromium-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--no-default-browser-check",
                             "--disable-extensions", "--hide-scrollbars", "--user-data-dir=\(profile)",
                             "--window-size=\(windowSize)", "--enable-logging=stderr", "--v=0"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = profile
        process.environment = environment
        // Output into files, not pipes: nothing can fill up and stall the browser, and nothing is shared
        // between threads.
        let outputPath = profile + "/stdout", errorPath = profile + "/stderr"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        FileManager.default.createFile(atPath: errorPath, contents: nil)
        guard let output = FileHandle(forWritingAtPath: outputPath), let errors = FileHandle(forWritingAtPath: errorPath) else {
            throw CocoaError(.fileWriteUnknown)
        }
        defer { try? output.close(); try? errors.close() }
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let outputData = FileManager.default.contents(atPath: outputPath) ?? Data()
        let errorData = FileManager.default.contents(atPath: errorPath) ?? Data()
        let messages = String(decoding: errorData, as: UTF8.self).split(separator: "\n")
            .filter { $0.contains(":CONSOLE") }.map(String.init)
        return Result(stdout: String(decoding: outputData, as: UTF8.self), consoleMessages: messages, status: process.terminationStatus)
    }

    /// The DOM of `file` after its scripts ran, and the console messages.
    func dumpDOM(of file: String) throws -> Result {
        try run(["--dump-dom", URL(fileURLWithPath: file).absoluteString])
    }

    /// A screenshot of `file` written to `png`, and the console messages.
    func screenshot(of file: String, to png: String, windowSize: String = "1400,1800") throws -> Result {
        try run(["--screenshot=\(png)", URL(fileURLWithPath: file).absoluteString], windowSize: windowSize)
    }
}
