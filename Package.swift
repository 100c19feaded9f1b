// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "overlay-sim",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "PacketWire", targets: ["PacketWire"]),
        .library(name: "VXLAN", targets: ["VXLAN"]),
        .library(name: "Capture", targets: ["Capture"]),
        .library(name: "ClusterSim", targets: ["ClusterSim"]),
        // The measured loops and the suite behind `overlay-sim bench`, shared with Benchmarks/.
        .library(name: "OverlayBench", targets: ["OverlayBench"]),
        .library(name: "Firewall", targets: ["Firewall"]),
        .library(name: "Testbed", targets: ["Testbed"]),
        .executable(name: "overlay-sim", targets: ["overlay-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // ChaCha20-Poly1305 for WireGuard's transport messages (Crypto.ChaChaPoly): never a home-made cipher.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // Wire formats: byte views and header values. Knows nothing above it.
        .target(name: "PacketWire"),
        // VXLAN tunnel endpoint (RFC 7348) as the Linux vxlan driver behaves on the wire.
        .target(name: "VXLAN", dependencies: ["PacketWire"]),
        // libpcap, used for real: the project's capture engine.
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"]), .brew(["libpcap"])]
        ),
        .target(name: "Capture", dependencies: ["CPcap", "PacketWire"]),
        // Benchmark frames, kernels and suite: what `overlay-sim bench` and Benchmarks/ measure.
        .target(name: "OverlayBench", dependencies: ["PacketWire", "VXLAN", "Capture"]),
        // Firewalls, security groups and middleboxes: rules, conntrack, NAT, verdicts with explanations.
        // Knows nothing of the simulation; ClusterSim places the devices on the path.
        .target(name: "Firewall", dependencies: ["PacketWire"]),
        // Kubernetes manifests and CNI configurations read as values; NetworkPolicy evaluated with explanations.
        .target(name: "Kubernetes", dependencies: ["PacketWire", .product(name: "Yams", package: "Yams")]),
        // The cluster simulation: scenarios, the discrete-event engine, nodes, pods, Services, the report.
        .target(
            name: "ClusterSim",
            dependencies: [
                "PacketWire", "VXLAN", "Capture", "Firewall", "Kubernetes",
                .product(name: "Yams", package: "Yams"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The simulation is single-threaded and its parts are classes reached through each other: the
            // dynamic exclusivity checks cost a quarter of a packet's instructions (callgrind) and guard
            // against nothing a debug build does not already check, so release builds leave them out.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // The same scenario on this machine's kernel in network namespaces (`overlay-sim testbed`), and the
        // frame-by-frame comparison of a simulated run with a testbed run (`overlay-sim compare`).
        .target(name: "Testbed", dependencies: ["ClusterSim", "Capture", "CPcap", "PacketWire", "Firewall"]),
        .executableTarget(
            name: "overlay-sim",
            dependencies: [
                "PacketWire", "VXLAN", "Capture", "ClusterSim", "OverlayBench", "Testbed", "Kubernetes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Fixture files shared by the test targets: real kernel captures and scapy-made odd frames.
        .target(
            name: "TestFixtures",
            path: "Tests/TestFixtures",
            exclude: ["odd/make_odd.py", "odd/INDEX.md", "kernel_vectors.sh"],
            resources: [.copy("kernel"), .copy("odd")]
        ),
        // What each fuzz target checks on one input, and its seeds: shared by the libFuzzer driver
        // (Fuzz/Driver, built only for `make fuzz`) and the tests that replay Fuzz/Regressions/.
        .target(name: "FuzzTargets", dependencies: ["Capture", "ClusterSim", "Kubernetes", "PacketWire", "VXLAN"], path: "Fuzz/Targets"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "PacketWireTests", dependencies: ["PacketWire", "TestFixtures"]),
        .testTarget(name: "ClusterSimTests", dependencies: ["ClusterSim", "Capture", "PacketWire", "Firewall"], exclude: ["Fixtures"]),
        .testTarget(name: "FirewallTests", dependencies: ["Firewall", "PacketWire", "TestFixtures"]),
        // The Kubernetes e2e NetworkPolicy tests' model, shared by the policy engine's tests and probe's.
        .target(name: "NetpolE2EModel", dependencies: ["Kubernetes", .product(name: "Yams", package: "Yams")], path: "Tests/NetpolE2EModel"),
        .testTarget(name: "KubernetesTests", dependencies: ["Kubernetes", "PacketWire", "NetpolE2EModel", .product(name: "Yams", package: "Yams")], resources: [.copy("Fixtures")]),
        // Manifests through the simulator: `probe` on the upstream e2e fixtures, the catalogue's manifest
        // scenarios, the Calico cluster of issue 11's "done when".
        .testTarget(
            name: "ManifestSimTests",
            dependencies: ["ClusterSim", "Kubernetes", "PacketWire", "Capture", "NetpolE2EModel", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(name: "VXLANTests", dependencies: ["VXLAN", "PacketWire", "TestFixtures"]),
        .testTarget(name: "OverlayBenchTests", dependencies: ["OverlayBench", "PacketWire", "VXLAN", "Capture"]),
        .testTarget(
            name: "CaptureTests",
            dependencies: ["Capture", "PacketWire", "TestFixtures"],
            resources: [.copy("Fixtures")]
        ),
        // testbed + compare on the Linux-truth scenarios (root and network namespaces; skips without them).
        .testTarget(
            name: "TestbedTests",
            dependencies: ["Testbed", "ClusterSim", "Capture", "PacketWire", "overlay-sim"],
            resources: [.copy("Fixtures")]
        ),
        // report.html: the page's parts, and the page opened in headless Chromium (skips without one).
        .testTarget(name: "ReportHTMLTests", dependencies: ["ClusterSim", "overlay-sim", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The subcommands' logic, tested in-process (@testable import of the executable) and as a
        // subprocess; tshark comparisons of the decoder and of encap's output.
        .testTarget(
            name: "CLITests",
            dependencies: [
                "overlay-sim", "Capture", "VXLAN", "PacketWire", "TestFixtures", "ClusterSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ]
)

// The libFuzzer driver exists only in the fuzzing build (Fuzz/fuzz.sh sets OVERLAY_SIM_FUZZ=1 and builds
// into .build-fuzz with -sanitize=fuzzer,address): it cannot link without libFuzzer's runtime.
if Context.environment["OVERLAY_SIM_FUZZ"] == "1" {
    package.targets.append(.executableTarget(name: "overlay-sim-fuzz", dependencies: ["FuzzTargets"], path: "Fuzz/Driver"))
}
