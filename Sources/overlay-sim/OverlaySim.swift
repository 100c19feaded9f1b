import ArgumentParser

@main
struct OverlaySim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlay-sim",
        abstract: "Simulate a Kubernetes VXLAN overlay at the byte level.",
        subcommands: [RunCommand.self, ProbeCommand.self, ScenariosCommand.self, Decode.self, Encap.self, Decap.self, BenchCommand.self, SweepCommand.self, TestbedCommand.self, TestbedAgentCommand.self, CompareCommand.self]
    )
}
