import TurnoutCore
import XCTest

/// `target_groups.<name>.timeouts`: reading, validation naming the key, and the limit each group's route carries.
final class GroupTimeoutsTests: XCTestCase {
    private let twoGroups = """
        listeners:
          production: { bind: 0.0.0.0:8080, forward: { blue: 100, green: 0 } }
        target_groups:
          blue:
            targets: [127.0.0.1:3000]
            timeouts: { upstream_response: 2m }
          green: { targets: [127.0.0.1:3001] }
        """

    func testAGroupMaySetItsOwnUpstreamResponseLimit() throws {
        let config = try ConfigLoader.parse(yaml: twoGroups + "\ntimeouts: { upstream_response: 20s }")
        XCTAssertEqual(config.targetGroups[0].timeouts, GroupTimeouts(upstreamResponse: .seconds(120)))
        XCTAssertEqual(config.targetGroups[1].timeouts, GroupTimeouts())
        let table = RoutingTable(config: config, generation: 1)
        XCTAssertEqual(table.groups.map(\.upstreamResponseTimeout), [.seconds(120), .seconds(20)])
    }

    func testGroupsWithoutTheirOwnTakeTheDefault() throws {
        let config = try ConfigLoader.parse(yaml: minimalConfigYAML)
        XCTAssertEqual(config.timeouts.upstreamResponse, .seconds(15))
        XCTAssertEqual(RoutingTable(config: config, generation: 1).groups[0].upstreamResponseTimeout, .seconds(15))
        let explicitNull = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { timeouts: { upstream_response: null } }
            """)
        XCTAssertNil(explicitNull.targetGroups[0].timeouts.upstreamResponse)
    }

    func testTheLimitSurvivesTargetChanges() throws {
        let table = RoutingTable(config: try ConfigLoader.parse(yaml: twoGroups), generation: 1)
        let changed = try table.replacingTargets(["blue": [HostPort(host: "127.0.0.1", port: 3002)]])
        XCTAssertEqual(changed.groups[0].upstreamResponseTimeout, .seconds(120))
    }

    func testErrorsNameTheKeyAndLine() {
        let prefix = """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue:
                timeouts:

            """
        assertConfigError(prefix + "      upstream_respons: 5s", key: "target_groups.blue.timeouts.upstream_respons",
                          line: 6, message: "unknown key 'upstream_respons'; did you mean 'upstream_response'?")
        assertConfigError(prefix + "      connect: 5s", key: "target_groups.blue.timeouts.connect", line: 6,
                          message: "unknown key 'connect'")
        assertConfigError(prefix + "      upstream_response: 5", key: "target_groups.blue.timeouts.upstream_response",
                          line: 6, message: "expected a duration with a unit")
        assertConfigError(prefix + "      upstream_response: 0s", key: "target_groups.blue.timeouts.upstream_response",
                          line: 6, message: "must be above 0")
        assertConfigError(prefix + "      - 5s", key: "target_groups.blue.timeouts", line: 6, message: "expected a mapping")
    }
}
