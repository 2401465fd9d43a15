// swift-tools-version: 6.2
// Benchmarks live in their own package so they never slow the normal build or CI.
// Run: cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "VeilBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "veil", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CoreRules",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VeilCore", package: "veil"),
                .product(name: "VeilStore", package: "veil"),
                .product(name: "VeilMail", package: "veil"),
            ],
            path: "Benchmarks/CoreRules",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
