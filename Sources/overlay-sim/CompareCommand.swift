import ArgumentParser
import Foundation
import Testbed

/// `overlay-sim compare SIMDIR REALDIR [--json]`: what differs between a simulated and a testbed run.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a simulated run with a testbed run, per capture point and per flow; exit 1 when they differ beyond tolerance."
    )

    @Argument(help: "The folder of `overlay-sim run --out`.")
    var simulated: String

    @Argument(help: "The folder of `overlay-sim testbed --out`.")
    var real: String

    @Option(help: "The scenario both ran (default: the one named in the folders' report.json, from Scenarios/).")
    var scenario: String?

    @Flag(help: "Print the differences as JSON.")
    var json = false

    func run() throws {
        let simulatedReport = try Comparison.loadReport(simulated)
        let loaded = try ScenarioLoader.load(scenario ?? simulatedReport.scenario)
        let comparison: Comparison
        do {
            comparison = try Comparison(scenario: loaded, simulatedDirectory: simulated, realDirectory: real)
        } catch {
            throw RunFailure("overlay-sim compare: \(error.reason)")
        }
        print(json ? comparison.json() : comparison.table())
        if !comparison.agrees { throw ExitCode(1) }
    }
}
