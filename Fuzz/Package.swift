// swift-tools-version: 6.2
// libFuzzer targets for Veil's parsers, in their own package so the normal build never sees the
// sanitizer flags. Build and run: Fuzz/run.sh (see the README's "Fuzzing").
import PackageDescription

let package = Package(
    name: "VeilFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "veil", path: "..")],
    targets: [
        .executableTarget(
            name: "veil-fuzz",
            dependencies: [
                .product(name: "VeilCore", package: "veil"),
                .product(name: "VeilMail", package: "veil"),
                .product(name: "VeilSMTP", package: "veil"),
            ],
            // libFuzzer brings `main`; the target only defines LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
