import Foundation
import TurnoutCore
import XCTest

final class ConfigLoaderTests: XCTestCase {
    /// `config/turnout.yaml` at the package root.
    static let demoConfigPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/turnout.yaml").path

    func testLoadsTheDemoConfig() throws {
        let config = try ConfigLoader.load(path: Self.demoConfigPath)

        XCTAssertNil(config.workers)
        XCTAssertEqual(config.stateDir, ".turnout")
        XCTAssertEqual(config.admin, AdminConfig(bind: HostPort(host: "127.0.0.1", port: 9901), tokenFile: nil))
        XCTAssertEqual(config.listeners, [
            ListenerConfig(name: "production", bind: HostPort(host: "0.0.0.0", port: 8080),
                           forward: [WeightedGroup(group: "blue", weight: 100)]),
            ListenerConfig(name: "test", bind: HostPort(host: "0.0.0.0", port: 8081),
                           forward: [WeightedGroup(group: "green", weight: 100)]),
        ])
        XCTAssertEqual(config.targetGroups.map(\.name), ["blue", "green"])

        let blue = config.targetGroups[0]
        XCTAssertEqual(blue.targets, [HostPort(host: "127.0.0.1", port: 3000)])
        XCTAssertEqual(blue.algorithm, .roundRobin)
        XCTAssertEqual(blue.healthCheck.path, "/health")
        XCTAssertNil(blue.healthCheck.port)
        XCTAssertEqual(blue.healthCheck.interval, .seconds(5))
        XCTAssertEqual(blue.healthCheck.timeout, .seconds(2))
        XCTAssertEqual(blue.healthCheck.healthyThreshold, 2)
        XCTAssertEqual(blue.healthCheck.unhealthyThreshold, 2)
        XCTAssertEqual(blue.healthCheck.matcher, StatusMatcher.parse("200-399"))
        XCTAssertNil(blue.healthCheck.host)
        XCTAssertEqual(blue.deregistrationDelay, .seconds(30))

        let green = config.targetGroups[1]
        XCTAssertEqual(green, TargetGroupConfig(name: "green", targets: [HostPort(host: "127.0.0.1", port: 3001)]))

        XCTAssertEqual(config.timeouts, Timeouts(
            connect: .seconds(5), clientHeader: .seconds(10), clientIdle: .seconds(60),
            upstreamResponse: .seconds(15), upstreamIdle: .seconds(30), shutdownGrace: .seconds(10)
        ))
        XCTAssertEqual(config.limits, Limits(maxHeaderBytes: 16384, maxHeaders: 100, maxConnections: 10000))
        XCTAssertEqual(config.log, LogConfig(format: .text, level: .info))
    }

    func testMinimalConfigTakesEveryDefault() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
            """)
        XCTAssertEqual(config, TurnoutConfig(
            listeners: [ListenerConfig(name: "production", bind: HostPort(host: "0.0.0.0", port: 8080),
                                       forward: [WeightedGroup(group: "blue", weight: 100)])],
            targetGroups: [TargetGroupConfig(name: "blue")]
        ))
        XCTAssertEqual(config.admin.bind, HostPort(host: "127.0.0.1", port: 9901))
        XCTAssertEqual(config.stateDir, ".turnout")
        XCTAssertEqual(config.timeouts.upstreamIdle, .seconds(30))
        XCTAssertEqual(config.log, LogConfig(format: .text, level: .info))
    }

    func testReadsTheLogSection() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML + "\nlog: { format: json, level: warning }")
        XCTAssertEqual(config.log, LogConfig(format: .json, level: .warning))
        XCTAssertEqual(try ConfigLoader.parse(yaml: minimalConfigYAML + "\nlog: { level: debug }").log,
                       LogConfig(format: .text, level: .debug))
    }

    func testKeepsFileOrderOfListenersGroupsAndWeights() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              zeta: { bind: ":9002", forward: { red: 0, green: 10, blue: 90 } }
              alpha: { bind: ":9001", forward: { blue: 100 } }
              mid: { bind: ":9003", forward: { red: 100 } }
            target_groups:
              red: {}
              green: { targets: [] }
              blue: { targets: [127.0.0.1:3000, "[::1]:3000", localhost:3001] }
            """)
        XCTAssertEqual(config.listeners.map(\.name), ["zeta", "alpha", "mid"])
        XCTAssertEqual(config.targetGroups.map(\.name), ["red", "green", "blue"])
        XCTAssertEqual(config.listeners[0].forward, [
            WeightedGroup(group: "red", weight: 0), WeightedGroup(group: "green", weight: 10),
            WeightedGroup(group: "blue", weight: 90),
        ])
        XCTAssertEqual(config.targetGroups[2].targets.map(\.description), ["127.0.0.1:3000", "[::1]:3000", "localhost:3001"])
        XCTAssertEqual(config.targetGroups[0].targets, [])
    }

    func testReadsEveryOptionalSetting() throws {
        let config = try ConfigLoader.parse(yaml: """
            workers: 4
            state_dir: /var/lib/turnout
            admin: { bind: 0.0.0.0:9901, token_file: /etc/turnout/token }
            listeners:
              production: { bind: "[::]:8080", forward: { blue: 90, green: 10 } }
            target_groups:
              blue:
                targets: [10.0.0.1:80, 10.0.0.2:80]
                algorithm: least_outstanding_requests
                health_check: { path: /ready, port: 8081, interval: 1500ms, timeout: 1s, healthy_threshold: 3, unhealthy_threshold: 10, matcher: 200, host: blue.internal }
                deregistration_delay: 0s
              green: { targets: [10.0.1.1:80] }
            timeouts: { connect: 250ms, client_header: 1s, client_idle: 2m, upstream_response: 1m30s, upstream_idle: 5s, shutdown_grace: 1s }
            limits: { max_header_bytes: 1024, max_headers: 1, max_connections: 1 }
            """)
        XCTAssertEqual(config.workers, 4)
        XCTAssertEqual(config.stateDir, "/var/lib/turnout")
        XCTAssertEqual(config.admin, AdminConfig(bind: HostPort(host: "0.0.0.0", port: 9901), tokenFile: "/etc/turnout/token"))
        XCTAssertEqual(config.listeners[0].bind, HostPort(host: "::", port: 8080))
        let blue = config.targetGroups[0]
        XCTAssertEqual(blue.algorithm, .leastOutstandingRequests)
        XCTAssertEqual(blue.healthCheck, HealthCheckConfig(
            path: "/ready", port: 8081, interval: .milliseconds(1500), timeout: .seconds(1),
            healthyThreshold: 3, unhealthyThreshold: 10, matcher: StatusMatcher.parse("200")!, host: "blue.internal"
        ))
        XCTAssertEqual(blue.deregistrationDelay, .seconds(0))
        XCTAssertEqual(config.timeouts, Timeouts(
            connect: .milliseconds(250), clientHeader: .seconds(1), clientIdle: .seconds(120),
            upstreamResponse: .seconds(90), upstreamIdle: .seconds(5), shutdownGrace: .seconds(1)
        ))
        XCTAssertEqual(config.limits, Limits(maxHeaderBytes: 1024, maxHeaders: 1, maxConnections: 1))
    }

    func testWorkersAutoAndNullMeanAutomatic() throws {
        let rest = """

            listeners: { p: { bind: ":80", forward: { b: 100 } } }
            target_groups: { b: {} }
            """
        XCTAssertNil(try ConfigLoader.parse(yaml: "workers: auto" + rest).workers)
        XCTAssertNil(try ConfigLoader.parse(yaml: "workers: null" + rest).workers)
        XCTAssertEqual(try ConfigLoader.parse(yaml: "workers: 256" + rest).workers, 256)
    }

    func testYAMLAnchorsAndAliasesAreFollowed() throws {
        let config = try ConfigLoader.parse(yaml: """
            target_groups:
              blue: { health_check: &check { path: /ping, interval: 10s } }
              green: { health_check: *check }
            listeners:
              production: { bind: ":8080", forward: { blue: 100 } }
            """)
        XCTAssertEqual(config.targetGroups[1].healthCheck.path, "/ping")
        XCTAssertEqual(config.targetGroups[1].healthCheck.interval, .seconds(10))
    }

    func testMissingFileIsAConfigError() {
        XCTAssertThrowsError(try ConfigLoader.load(path: "does/not/exist/turnout.yaml")) { error in
            let configError = error as? ConfigError
            XCTAssertEqual(configError?.key, "")
            XCTAssertNil(configError?.line)
            XCTAssertTrue(configError?.message.hasPrefix("cannot read config file 'does/not/exist/turnout.yaml'") ?? false,
                          "\(error)")
        }
    }

    func testErrorDescriptionNamesKeyAndLine() {
        XCTAssertEqual(ConfigError(key: "listeners.production.forward.blue", line: 7, message: "m").description,
                       "listeners.production.forward.blue (line 7): m")
        XCTAssertEqual(ConfigError(key: "listeners", line: nil, message: "m").description, "listeners: m")
        XCTAssertEqual(ConfigError(key: "", line: 3, message: "m").description, "line 3: m")
        XCTAssertEqual(ConfigError(key: "", line: nil, message: "m").description, "m")
    }
}
