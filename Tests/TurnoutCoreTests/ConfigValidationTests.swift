import TurnoutCore
import XCTest

/// Errors found by `TurnoutConfig.validate()` after reading: ranges, names, duplicates, references. When the
/// configuration comes from YAML, the loader adds the line of the offending key.
final class ConfigValidationTests: XCTestCase {
    func testWeightsMustBe0To100WithTheLineOfTheWeight() {
        for weight in ["101", "1000", "-1"] {
            assertConfigError("""
                listeners:
                  production:
                    bind: 0.0.0.0:8080
                    forward:
                      blue: 10
                      green: \(weight)
                target_groups: { blue: {}, green: {} }
                """, key: "listeners.production.forward.green", line: 6,
                message: "weight must be a percentage 0...100, got \(weight)")
        }
    }

    /// Weights are percentages: anything that does not add up to 100 is refused on the forward's line, with the
    /// split the weights would make in proportion (what they meant when weights were relative).
    func testWeightsMustAddUpTo100() {
        let cases: [(forward: String, message: String)] = [
            ("{ green: 10 }", "weights are percentages and must add up to 100, not 10 (in proportion, these would send 100 % to green)"),
            ("{ blue: 3, green: 1 }", "weights are percentages and must add up to 100, not 4 (in proportion, these would send 75 % to blue and 25 % to green)"),
            ("{ blue: 90, green: 20 }", "weights are percentages and must add up to 100, not 110 (in proportion, these would send 81.8 % to blue and 18.2 % to green)"),
            ("{ blue: 1, green: 2, red: 0 }", "weights are percentages and must add up to 100, not 3 (in proportion, these would send 33.3 % to blue and 66.7 % to green)"),
            ("{ blue: 0, green: 0 }", "weights are percentages and must add up to 100, not 0"),
        ]
        for (forward, message) in cases {
            do {
                let config = try ConfigLoader.parse(yaml: """
                    listeners:
                      production:
                        bind: 0.0.0.0:8080
                        forward: \(forward)
                    target_groups: { blue: {}, green: {}, red: {} }
                    """)
                XCTFail("\(forward) was accepted: \(config.listeners[0].forward)")
            } catch {
                XCTAssertEqual(error as? ConfigError, ConfigError(key: "listeners.production.forward", line: 4, message: message))
            }
        }
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: {} }
            target_groups: { blue: {} }
            """, key: "listeners.production.forward", line: 2, message: "expected at least one target group")
    }

    func testAGroupAtZeroStaysListed() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100, green: 0 } }
            target_groups: { blue: {}, green: {} }
            """)
        XCTAssertEqual(config.listeners[0].forward, [WeightedGroup(group: "blue", weight: 100), WeightedGroup(group: "green", weight: 0)])
    }

    func testForwardMustNameAnExistingGroup() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
              test:
                bind: 0.0.0.0:8081
                forward: { purple: 100 }
            target_groups: { blue: {} }
            """, key: "listeners.test.forward.purple", line: 5, message: "unknown target group 'purple'")
    }

    func testAtLeastOneListener() {
        assertConfigError("listeners: {}\ntarget_groups: { blue: {} }", key: "listeners", line: 1,
                          message: "expected at least one listener")
        assertConfigError("target_groups: { blue: {} }", key: "listeners", message: "expected at least one listener")
        XCTAssertThrowsError(try ConfigLoader.parse(yaml: "target_groups: { blue: {} }")) { error in
            XCTAssertNil((error as? ConfigError)?.line)
        }
    }

    func testListenerBindsMustNotOverlap() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
              test:
                forward: { blue: 100 }
                bind: 0.0.0.0:8080
            target_groups: { blue: {} }
            """, key: "listeners.test.bind", line: 5,
            message: "bind 0.0.0.0:8080 overlaps listener 'production' (0.0.0.0:8080)")
        assertConfigError("""
            listeners:
              production: { bind: 127.0.0.1:8080, forward: { blue: 100 } }
              test: { bind: ":8080", forward: { blue: 100 } }
            target_groups: { blue: {} }
            """, key: "listeners.test.bind", line: 3, message: "overlaps listener 'production'")
        assertConfigError("""
            admin: { bind: 127.0.0.1:9000 }
            listeners:
              production: { bind: "[::]:9000", forward: { blue: 100 } }
            target_groups: { blue: {} }
            """, key: "listeners.production.bind", line: 3, message: "overlaps the admin bind 127.0.0.1:9000")
    }

    func testDistinctHostsAndEphemeralPortsDoNotOverlap() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              a: { bind: 127.0.0.1:8080, forward: { blue: 100 } }
              b: { bind: 127.0.0.2:8080, forward: { blue: 100 } }
              c: { bind: 0.0.0.0:0, forward: { blue: 100 } }
              d: { bind: 0.0.0.0:0, forward: { blue: 100 } }
            target_groups: { blue: {} }
            """)
        XCTAssertEqual(config.listeners.count, 4)
    }

    func testEmptyTargetGroupsAreAllowed() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { targets: [] }
            """)
        XCTAssertEqual(config.targetGroups[0].targets, [])
    }

    func testDuplicateTargetIsRefused() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                targets:
                  - 127.0.0.1:3000
                  - 127.0.0.1:3001
                  - 127.0.0.1:3000
            """, key: "target_groups.blue.targets[2]", line: 8,
            message: "duplicate target 127.0.0.1:3000 (also targets[0])")
    }

    func testTargetNeedsAPort() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { targets: [127.0.0.1:0] }
            """, key: "target_groups.blue.targets[0]", line: 4, message: "a target needs a port 1...65535")
    }

    func testHealthCheckTimeoutMustBeShorterThanInterval() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                health_check:
                  interval: 2s
                  timeout: 2s
            """, key: "target_groups.blue.health_check.timeout", line: 7,
            message: "must be shorter than interval (2s), got 2s")
        // The default interval is 5s.
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { health_check: { timeout: 6s } }
            """, key: "target_groups.blue.health_check.timeout", message: "must be shorter than interval (5s)")
    }

    func testHealthCheckThresholdsAre2To10() {
        for (key, value) in [("healthy_threshold", 1), ("unhealthy_threshold", 11)] {
            assertConfigError("""
                listeners:
                  production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
                target_groups:
                  blue:
                    health_check:
                      \(key): \(value)
                """, key: "target_groups.blue.health_check.\(key)", line: 6,
                message: "expected an integer 2...10, got \(value)")
        }
    }

    func testHealthCheckPathPortAndHost() {
        let prefix = """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                health_check:

            """
        assertConfigError(prefix + "      path: health", key: "target_groups.blue.health_check.path", line: 6,
                          message: "expected a path starting with '/', got 'health'")
        assertConfigError(prefix + "      port: 0", key: "target_groups.blue.health_check.port", line: 6,
                          message: "expected a port 1...65535, got 0")
        assertConfigError(prefix + "      host: \"\"", key: "target_groups.blue.health_check.host", line: 6,
                          message: "expected a Host header value")
        assertConfigError(prefix + "      interval: 0s", key: "target_groups.blue.health_check.interval", line: 6,
                          message: "must be above 0")
    }

    func testDeregistrationDelayIsAtMostAnHour() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { deregistration_delay: 61m }
            """, key: "target_groups.blue.deregistration_delay", line: 4, message: "expected 0s...3600s, got 61m")
    }

    func testTimeoutsMustBeAboveZero() {
        for key in ["connect", "client_header", "client_idle", "upstream_response", "upstream_idle", "shutdown_grace"] {
            assertConfigError(minimalConfigYAML + "\ntimeouts:\n  \(key): 0ms", key: "timeouts.\(key)", line: 6,
                              message: "must be above 0")
        }
    }

    func testLimits() {
        assertConfigError(minimalConfigYAML + "\nlimits:\n  max_header_bytes: 1023", key: "limits.max_header_bytes",
                          line: 6, message: "expected an integer 1024...1048576, got 1023")
        assertConfigError(minimalConfigYAML + "\nlimits:\n  max_headers: 0", key: "limits.max_headers", line: 6,
                          message: "must be above 0, got 0")
        assertConfigError(minimalConfigYAML + "\nlimits:\n  max_connections: -5", key: "limits.max_connections",
                          line: 6, message: "must be above 0, got -5")
    }

    func testWorkersRange() {
        for workers in [0, 257] {
            assertConfigError("workers: \(workers)\n" + minimalConfigYAML, key: "workers", line: 1,
                              message: "expected 'auto' or an integer 1...256, got \(workers)")
        }
    }

    func testStateDirMustNotBeEmpty() {
        assertConfigError("state_dir: ''\n" + minimalConfigYAML, key: "state_dir", line: 1, message: "got an empty string")
    }

    func testNonLoopbackAdminNeedsAToken() {
        assertConfigError(minimalConfigYAML + "\nadmin:\n  bind: 0.0.0.0:9901", key: "admin.bind", line: 6,
                          message: "a non-loopback admin bind (0.0.0.0:9901) requires admin.token_file")
        XCTAssertNoThrow(try ConfigLoader.parse(yaml: minimalConfigYAML + "\nadmin: { bind: \"[::1]:9901\" }"))
    }

    func testAllowedHostsAreHostNamesWithoutPorts() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML + "\nadmin: { allowed_hosts: [turnout, Admin.Internal] }")
        XCTAssertEqual(config.admin.allowedHosts, ["turnout", "Admin.Internal"])
        assertConfigError(minimalConfigYAML + "\nadmin:\n  allowed_hosts:\n    - turnout\n    - turnout:9901", key: "admin.allowed_hosts[1]",
                          line: 8, message: "expected a host name without a port, got 'turnout:9901'")
        assertConfigError(minimalConfigYAML + "\nadmin: { allowed_hosts: [\"http://turnout\"] }", key: "admin.allowed_hosts[0]",
                          message: "expected a host name without a port, got 'http://turnout'")
        assertConfigError(minimalConfigYAML + "\nadmin: { allowed_hosts: turnout }", key: "admin.allowed_hosts",
                          message: "expected a list of host names")
    }

    func testNamesAreRestrictedToURLSafeCharacters() {
        assertConfigError("""
            listeners:
              prod.v2: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups: { blue: {} }
            """, key: "listeners.prod.v2", line: 2, message: "listener name must be 1-64 letters, digits, '_' or '-'")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { "blue/1": 100 } }
            target_groups: { "blue/1": {} }
            """, key: "target_groups.blue/1", line: 3, message: "target group name must be")
    }

    func testValidateWorksOnConfigsBuiltInCode() {
        let blue = TargetGroupConfig(name: "blue")
        var config = TurnoutConfig(
            listeners: [ListenerConfig(name: "p", bind: HostPort(host: "0.0.0.0", port: 80),
                                       forward: [WeightedGroup(group: "blue", weight: 100)])],
            targetGroups: [blue, blue]
        )
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertEqual(error as? ConfigError, ConfigError(
                key: "target_groups.blue", line: nil, message: "target group 'blue' is defined more than once"
            ))
        }
        config.targetGroups = [blue]
        XCTAssertNoThrow(try config.validate())
        config.listeners.append(config.listeners[0])
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "listeners.p")
        }
    }
}
