import Foundation
import FuzzTargets

// libFuzzer's driver. SwiftPM links an executable with its own entry (`main` is the module's
// `overlay_sim_fuzz_main`), so libFuzzer's `main` is never linked in: this file's top-level code is
// the program, and it hands control to libFuzzer with LLVMFuzzerRunDriver (compiler-rt
// FuzzerInterface.h), passing the check for the target named on the command line.
//
//   overlay-sim-fuzz TARGET [libFuzzer flags] [CORPUS...]   fuzz one target (Fuzz/README.md)
//   overlay-sim-fuzz seeds TARGET FOLDER                    write TARGET's seed corpus into FOLDER
//   overlay-sim-fuzz list                                   the targets, one a line

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The check libFuzzer calls: set once, before the driver starts.
nonisolated(unsafe) var selectedCheck: (UnsafeRawBufferPointer) -> String? = { _ in nil }

/// libFuzzer's usual entry point, for tools that look for it; the driver below is given it directly.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    if let broken = selectedCheck(input) {
        // A broken promise is a crash for libFuzzer: it keeps the input and stops.
        FileHandle.standardError.write(Data("fuzz check failed: \(broken)\n".utf8))
        abort()
    }
    return 0
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("overlay-sim-fuzz: \(message)\n".utf8))
    exit(2)
}

var arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: overlay-sim-fuzz TARGET|seeds|list ...; targets: \(FuzzTargets.all.map(\.name).joined(separator: ", "))") }
switch arguments[1] {
case "list":
    for target in FuzzTargets.all { print(target.name) }
    exit(0)
case "seeds":
    guard arguments.count == 4, FuzzTargets.check(named: arguments[2]) != nil else { fail("usage: overlay-sim-fuzz seeds TARGET FOLDER") }
    let folder = URL(fileURLWithPath: arguments[3])
    let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let seeds = FuzzSeeds.seeds(for: arguments[2], root: root)
        for (index, seed) in seeds.enumerated() {
            try Data(seed).write(to: folder.appendingPathComponent(String(format: "seed-%04d", index)))
        }
        print("\(arguments[2]): \(seeds.count) seeds in \(folder.path)")
    } catch {
        fail("\(folder.path): \(error.localizedDescription)")
    }
    exit(0)
default:
    guard let check = FuzzTargets.check(named: arguments[1]) else {
        fail("no target '\(arguments[1])'; targets: \(FuzzTargets.all.map(\.name).joined(separator: ", "))")
    }
    selectedCheck = check
    // libFuzzer reads argv[1...] as its own flags and corpus folders: drop the target name.
    arguments.remove(at: 1)
    var argc = Int32(arguments.count)
    var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    let status = cArguments.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var argv = buffer.baseAddress
        return LLVMFuzzerRunDriver(&argc, &argv, { data, size in testOneInput(data, size) })
    }
    exit(status)
}
