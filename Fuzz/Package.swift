// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets for TurnoutHTTP1's parsers. They link only when built with the fuzzer sanitizer, which
/// supplies the driver they run: `make fuzz` builds them with `-sanitize=fuzzer,address`. A package of its own,
/// so the main package's `swift build` and `swift test` never see them.
let package = Package(
    name: "TurnoutFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Turnout", path: "..")
    ],
    targets: [
        .systemLibrary(name: "CLibFuzzer"),
        .target(
            name: "FuzzSupport",
            dependencies: ["CLibFuzzer", .product(name: "TurnoutHTTP1", package: "Turnout")]),
    ]
        + ["fuzz-request-head", "fuzz-response-head", "fuzz-chunked-decoder"].map { name in
            .executableTarget(
                name: name, dependencies: ["FuzzSupport", .product(name: "TurnoutHTTP1", package: "Turnout")])
        }
)
