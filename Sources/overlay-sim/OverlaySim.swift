import ArgumentParser

@main
struct OverlaySim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlay-sim",
        abstract: "Simulate a Kubernetes VXLAN overlay at the byte level.",
        version: OverlaySim.version,
        subcommands: [RunCommand.self, ProbeCommand.self, ScenariosCommand.self, Decode.self, Encap.self, Decap.self, BenchCommand.self, SweepCommand.self, TestbedCommand.self, TestbedAgentCommand.self, CompareCommand.self]
    )

    /// What `overlay-sim --version` prints.
    static let version = "overlay-sim 0.15.0"
}
