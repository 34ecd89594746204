// swift-tools-version:6.0
import PackageDescription

/// The data plane's modules skip Swift's run-time exclusivity checks in release builds: every
/// `inout` use of a connection's stored property (readiness flags, cursors) would otherwise call
/// into the runtime, a few percent of a small request's CPU time. Debug builds (and so the unit
/// and integration tests) keep the checks, so a conflicting access still traps there.
let dataPlaneSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Turnout",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "turnout", targets: ["turnout"]),
        .executable(name: "turnout-demo-backend", targets: ["turnout-demo-backend"]),
        // For the libFuzzer targets in Fuzz/, a package of their own.
        .library(name: "TurnoutHTTP1", targets: ["TurnoutHTTP1"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.12.0"),  // LogEvent, with its error
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // What Glibc's Swift module hides: epoll, eventfd, timerfd, accept4, pipe2, splice.
        .target(name: "CTurnoutLinux"),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // The model: configuration, routing snapshot, weighted picking. No sockets.
        .target(
            name: "TurnoutCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Syscall wrappers (EINTR retried in one place), sockets, epoll, timers, pipes.
        .target(name: "TurnoutPosix", dependencies: ["CTurnoutLinux"]),
        // HTTP/1.1 head parsing and chunked framing over raw bytes. No syscalls.
        .target(name: "TurnoutHTTP1", swiftSettings: dataPlaneSettings),
        // OpenSSL: digests, certificates, per-worker server contexts, non-blocking TLS sessions.
        .target(name: "TurnoutTLS", dependencies: ["COpenSSL", "CTurnoutLinux", "TurnoutCore", "TurnoutPosix", "TurnoutMetrics"]),
        // Per-worker counters (relaxed atomics on worker-owned memory) and Prometheus exposition.
        .target(name: "TurnoutMetrics", dependencies: ["CTurnoutLinux"]),
        // Workers, listeners, connection state machines, upstream pools, forwarding loop.
        .target(
            name: "TurnoutProxy",
            dependencies: [
                "TurnoutCore", "TurnoutPosix", "TurnoutHTTP1", "TurnoutMetrics", "TurnoutTLS",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: dataPlaneSettings
        ),
        // Admin API, health checks, durable state, metrics exposition: the control thread.
        .target(
            name: "TurnoutControl",
            dependencies: [
                "TurnoutCore", "TurnoutPosix", "TurnoutHTTP1", "TurnoutMetrics", "TurnoutTLS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "turnout",
            dependencies: [
                "TurnoutCore", "TurnoutProxy", "TurnoutTLS", "TurnoutControl", "TurnoutPosix", "TurnoutHTTP1",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),  // deployment spec files
            ]
        ),
        // The demo backend of `make run`, the tests and the benchmarks, on the project's own HTTP/1.1 codec and
        // syscall wrappers.
        .executableTarget(
            name: "turnout-demo-backend",
            dependencies: ["TurnoutHTTP1", "TurnoutPosix", "TurnoutTLS"]
        ),
        .testTarget(name: "TurnoutCoreTests", dependencies: ["TurnoutCore"]),
        .testTarget(name: "TurnoutHTTP1Tests", dependencies: ["TurnoutHTTP1"]),
        .testTarget(name: "TurnoutPosixTests", dependencies: ["TurnoutPosix"]),
        .testTarget(name: "TurnoutMetricsTests", dependencies: ["TurnoutMetrics"]),
        .testTarget(name: "TurnoutTLSTests", dependencies: ["TurnoutTLS", "TurnoutCore"]),
        .testTarget(
            name: "TurnoutControlTests",
            dependencies: [
                "TurnoutControl", "TurnoutCore", "TurnoutPosix", "TurnoutHTTP1", "TurnoutMetrics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),  // reads openapi/turnout-admin.yaml
            ]
        ),
        .testTarget(name: "TurnoutProxyTests", dependencies: ["TurnoutProxy", "TurnoutCore", "TurnoutPosix"]),
    ]
)
