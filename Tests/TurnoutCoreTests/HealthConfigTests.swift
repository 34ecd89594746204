import TurnoutCore
import XCTest

/// `on_all_unhealthy`, `passive_ejection` and `health_check.enabled`: reading, defaults, errors, and how they
/// reach the routing table.
final class HealthConfigTests: XCTestCase {
    func testDefaults() throws {
        let group = try ConfigLoader.parse(yaml: minimalConfigYAML).targetGroups[0]
        XCTAssertEqual(group.onAllUnhealthy, .failOpen)
        XCTAssertEqual(group.passiveEjection, PassiveEjectionConfig(consecutiveFailures: 5, count5xx: true))
        XCTAssertTrue(group.passiveEjection.isEnabled)
        XCTAssertTrue(group.healthCheck.enabled)
    }

    func testReadsEveryKey() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                on_all_unhealthy: fail_closed
                passive_ejection: { consecutive_failures: 0, count_5xx: false }
                health_check: { enabled: false }
              green:
                on_all_unhealthy: fail_open
                passive_ejection: { consecutive_failures: 100 }
                health_check: { enabled: True, path: /ready }
            """)
        let blue = config.targetGroups[0], green = config.targetGroups[1]
        XCTAssertEqual(blue.onAllUnhealthy, .failClosed)
        XCTAssertEqual(blue.passiveEjection, PassiveEjectionConfig(consecutiveFailures: 0, count5xx: false))
        XCTAssertFalse(blue.passiveEjection.isEnabled)
        XCTAssertFalse(blue.healthCheck.enabled)
        XCTAssertEqual(green.onAllUnhealthy, .failOpen)
        XCTAssertEqual(green.passiveEjection, PassiveEjectionConfig(consecutiveFailures: 100, count5xx: true))
        XCTAssertTrue(green.healthCheck.enabled)
        XCTAssertEqual(green.healthCheck.path, "/ready")
    }

    func testTheDemoConfigSpellsOutTheDefaults() throws {
        let config = try ConfigLoader.load(path: ConfigLoaderTests.demoConfigPath)
        let blue = config.targetGroups[0]
        XCTAssertEqual(blue.onAllUnhealthy, .failOpen)
        XCTAssertEqual(blue.passiveEjection, PassiveEjectionConfig())
        XCTAssertTrue(blue.healthCheck.enabled)
        XCTAssertEqual(blue, TargetGroupConfig(
            name: "blue", targets: [HostPort(host: "127.0.0.1", port: 3000)],
            healthCheck: HealthCheckConfig(matcher: StatusMatcher.parse("200-399")!)))
    }

    func testUnknownPolicyNamesTheChoices() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                on_all_unhealthy: fail_opne
            """, key: "target_groups.blue.on_all_unhealthy", line: 5,
            message: "expected one of fail_open, fail_closed, got 'fail_opne'")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { on_all_unhealthy: [fail_open] }
            """, key: "target_groups.blue.on_all_unhealthy", line: 4,
            message: "expected one of fail_open, fail_closed, got a list")
    }

    func testUnknownKeysAreRefused() {
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                passive_ejection:
                  consecutive_failure: 3
            """, key: "target_groups.blue.passive_ejection.consecutive_failure", line: 6,
            message: "unknown key 'consecutive_failure'; did you mean 'consecutive_failures'?")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { on_all_unhealty: fail_open }
            """, key: "target_groups.blue.on_all_unhealty", line: 4,
            message: "did you mean 'on_all_unhealthy'?")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { health_check: { enable: false } }
            """, key: "target_groups.blue.health_check.enable", line: 4,
            message: "did you mean 'enabled'?")
    }

    func testBooleansMustBeUnquotedTrueOrFalse() {
        for (value, shown) in [("yes", "'yes'"), ("\"true\"", "'true'"), ("1", "'1'"), ("", "null"), ("[true]", "a list")] {
            assertConfigError("""
                listeners:
                  production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
                target_groups:
                  blue:
                    health_check:
                      enabled: \(value)
                """, key: "target_groups.blue.health_check.enabled", line: 6,
                message: "expected true or false, got \(shown)")
        }
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { passive_ejection: { count_5xx: off } }
            """, key: "target_groups.blue.passive_ejection.count_5xx", line: 4,
            message: "expected true or false, got 'off'")
    }

    func testConsecutiveFailuresRange() {
        for value in [-1, 101] {
            assertConfigError("""
                listeners:
                  production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
                target_groups:
                  blue:
                    passive_ejection:
                      consecutive_failures: \(value)
                """, key: "target_groups.blue.passive_ejection.consecutive_failures", line: 6,
                message: "expected an integer 0...100 (0 disables ejection), got \(value)")
        }
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { passive_ejection: { consecutive_failures: "5" } }
            """, key: "target_groups.blue.passive_ejection.consecutive_failures", line: 4,
            message: "expected an integer, got '5'")
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { passive_ejection: 5 }
            """, key: "target_groups.blue.passive_ejection", line: 4, message: "expected a mapping, got '5'")
    }

    func testValidateNamesTheKeyForAConfigBuiltInCode() {
        var config = TurnoutConfig(
            listeners: [ListenerConfig(name: "production", bind: HostPort(host: "0.0.0.0", port: 8080),
                                       forward: [WeightedGroup(group: "blue", weight: 100)])],
            targetGroups: [TargetGroupConfig(name: "blue", passiveEjection: PassiveEjectionConfig(consecutiveFailures: 200))]
        )
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "target_groups.blue.passive_ejection.consecutive_failures")
        }
        config.targetGroups[0].passiveEjection.consecutiveFailures = 0
        XCTAssertNoThrow(try config.validate())
    }

    func testRoutingTableCarriesTheSettingsThroughChanges() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100, green: 0 } }
            target_groups:
              blue:
                targets: [127.0.0.1:3000]
                on_all_unhealthy: fail_closed
                passive_ejection: { consecutive_failures: 3, count_5xx: false }
                health_check: { enabled: false, path: /ready, interval: 10s }
              green: { targets: [127.0.0.1:3001] }
            """)
        let table = RoutingTable(config: config, generation: 1)
        let expectedCheck = HealthCheckConfig(enabled: false, path: "/ready", interval: .seconds(10))

        func assertBlue(_ table: RoutingTable, targets: [String], line: UInt = #line) {
            let blue = table.groups[0]
            XCTAssertEqual(blue.targets.map(\.description), targets, line: line)
            XCTAssertEqual(blue.onAllUnhealthy, .failClosed, line: line)
            XCTAssertEqual(blue.passiveEjection, PassiveEjectionConfig(consecutiveFailures: 3, count5xx: false), line: line)
            XCTAssertEqual(blue.healthCheck, expectedCheck, line: line)
            XCTAssertEqual(blue.algorithm, .roundRobin, line: line)
            XCTAssertEqual(blue.deregistrationDelay, .seconds(30), line: line)
            let green = table.groups[1]
            XCTAssertEqual(green.onAllUnhealthy, .failOpen, line: line)
            XCTAssertEqual(green.passiveEjection, PassiveEjectionConfig(), line: line)
            XCTAssertEqual(green.healthCheck, HealthCheckConfig(), line: line)
        }

        assertBlue(table, targets: ["127.0.0.1:3000"])
        let moreTargets = try table.replacingTargets(["blue": [HostPort(host: "127.0.0.1", port: 3000), HostPort(host: "127.0.0.1", port: 3002)]])
        assertBlue(moreTargets, targets: ["127.0.0.1:3000", "127.0.0.1:3002"])
        let switched = try moreTargets.replacingForward(["production": [WeightedGroup(group: "green", weight: 100)]])
        assertBlue(switched, targets: ["127.0.0.1:3000", "127.0.0.1:3002"])
        XCTAssertEqual(switched.generation, 3)
    }
}
