import TurnoutCore
import XCTest

/// A route's `mirror:` read from YAML, carried into the routing table, and every refusal named by key and line.
final class RouteMirrorConfigTests: XCTestCase {
    func testAListenersAndARulesMirrorAreReadWithTheirDefaults() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production:
                bind: 0.0.0.0:8080
                forward: { blue: 100 }
                mirror: { group: green, percent: 10, max_body: 64KiB }
                rules:
                  - name: api
                    match: { host: api.example.com }
                    forward: { blue: 100 }
                    mirror: { group: green }
            target_groups: { blue: {}, green: {} }
            """)
        XCTAssertEqual(config.listeners[0].mirror, RouteMirror(group: "green", percent: 10, maxBody: 65536))
        XCTAssertEqual(config.listeners[0].rules[0].mirror, RouteMirror(group: "green", percent: 100, maxBody: 65536))
        let table = RoutingTable(config: config, generation: 1)
        XCTAssertEqual(table.listeners[0].mirror?.percent, 10)
        XCTAssertEqual(table.rules(ofListener: 0)[0].mirror?.group, "green")
        // A switch of the route keeps its mirror.
        let switched = try table.replacingForward(["production": [WeightedGroup(group: "green", weight: 100)]])
        XCTAssertEqual(switched.listeners[0].mirror, table.listeners[0].mirror)
    }

    func testSizesAreBytesOrCarryTheirUnit() {
        XCTAssertEqual(RouteMirror.parseSize("65536"), 65536)
        XCTAssertEqual(RouteMirror.parseSize("512B"), 512)
        XCTAssertEqual(RouteMirror.parseSize("64KiB"), 65536)
        XCTAssertEqual(RouteMirror.parseSize("1MiB"), 1 << 20)
        for bad in ["", "64 KiB", "64KB", "-1", "1.5KiB", "KiB", "64kib"] {
            XCTAssertNil(RouteMirror.parseSize(bad), bad)
        }
    }

    func testMistakesAreNamedByKeyAndLine() {
        func listener(_ mirror: String, rules: String = "") -> String {
            """
            listeners:
              production:
                bind: 0.0.0.0:8080
                forward: { blue: 100 }
                mirror: \(mirror)
            \(rules)
            target_groups: { blue: {}, green: {}, secure: { tls: { verify: false } } }
            """
        }
        assertConfigError(listener("{ group: purple }"), key: "listeners.production.mirror.group", line: 5,
                          message: "unknown target group 'purple'")
        assertConfigError(listener("{ group: green, percent: 101 }"), key: "listeners.production.mirror.percent", line: 5,
                          message: "expected a percentage 0...100, got 101")
        assertConfigError(listener("{ group: green, percent: -1 }"), key: "listeners.production.mirror.percent",
                          message: "expected a percentage 0...100")
        assertConfigError(listener("{ group: green, max_body: 2MiB }"), key: "listeners.production.mirror.max_body",
                          message: "expected a size of at most 1MiB")
        assertConfigError(listener("{ group: green, max_body: lots }"), key: "listeners.production.mirror.max_body",
                          message: "expected a size in bytes")
        assertConfigError(listener("{ percent: 10 }"), key: "listeners.production.mirror", message: "mirror needs a group")
        assertConfigError(listener("{ group: green, share: 10 }"), key: "listeners.production.mirror.share",
                          message: "unknown key 'share'")
        assertConfigError(listener("{ group: secure }"), key: "listeners.production.mirror.group",
                          message: "mirroring to a target group with tls is not supported yet")
        assertConfigError(listener("{ group: green }", rules: """
                rules:
                  - name: api
                    match: { host: api.example.com }
                    forward: { blue: 100 }
                    mirror: { group: purple }
            """), key: "listeners.production.rules[0].mirror.group", line: 10, message: "unknown target group 'purple'")
        assertConfigError(listener("{ group: green }", rules: """
                rules:
                  - name: down
                    match: { path: /x }
                    fixed_response: { status: 503 }
                    mirror: { group: green }
            """), key: "listeners.production.rules[0].mirror", message: "mirror applies to a forward action only")
    }
}
