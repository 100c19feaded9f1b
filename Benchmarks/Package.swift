// swift-tools-version: 6.1
// overlay-sim's package-benchmark suite: a package of its own, so the main package's `swift build`
// and `swift test` never build the benchmark tooling. Run from this folder:
//   swift package --allow-writing-to-package-directory benchmark
import PackageDescription

let package = Package(
    name: "overlay-sim-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Named, because a path dependency is otherwise known by its folder name, which differs per clone.
        .package(name: "overlay-sim", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // package-benchmark looks for benchmark targets under Benchmarks/<target> of the package.
        .executableTarget(
            name: "OverlayBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "OverlayBench", package: "overlay-sim"),
                .product(name: "PacketWire", package: "overlay-sim"),
                .product(name: "VXLAN", package: "overlay-sim"),
                .product(name: "Capture", package: "overlay-sim"),
                .product(name: "ClusterSim", package: "overlay-sim"),
            ],
            path: "Benchmarks/OverlayBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
