import Foundation
import FuzzTargets
import Testing

/// Every input a fuzz run kept (Fuzz/Regressions/TARGET/, where `make fuzz` and `make test` copy what
/// libFuzzer saved as a crash) and every seed (Tests/TestFixtures, Scenarios/) goes through the same
/// check the fuzz target makes: a crash fixed stays fixed without a fuzzer.
@Suite("Fuzz regressions and seeds replay cleanly")
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let targets = FuzzTargets.all.map(\.name)

    static func regressionInputs(_ target: String) -> [URL] {
        let folder = root.appendingPathComponent("Fuzz/Regressions/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test("every target has a regression folder", arguments: targets)
    func folderExists(target: String) {
        var isDirectory: ObjCBool = false
        let path = Self.root.appendingPathComponent("Fuzz/Regressions/\(target)").path
        #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue,
                "Fuzz/Regressions/\(target)/ holds the inputs fuzzing found; make fuzz copies crashes there")
    }

    @Test("kept inputs pass the target's check", arguments: targets)
    func regressions(target: String) throws {
        let check = try #require(FuzzTargets.check(named: target))
        for input in Self.regressionInputs(target) {
            let bytes = try [UInt8](Data(contentsOf: input))
            let failure = bytes.withUnsafeBytes { check($0) }
            #expect(failure == nil, "\(input.lastPathComponent): \(failure ?? "")")
        }
    }

    @Test("seeds pass the target's check", arguments: targets)
    func seeds(target: String) throws {
        let check = try #require(FuzzTargets.check(named: target))
        let seeds = FuzzSeeds.seeds(for: target, root: Self.root)
        #expect(seeds.count >= 4, "the seed corpus of \(target) is made from the repository's fixtures and scenarios")
        for (index, seed) in seeds.enumerated() {
            let failure = seed.withUnsafeBytes { check($0) }
            #expect(failure == nil, "seed \(index): \(failure ?? "")")
        }
    }
}
