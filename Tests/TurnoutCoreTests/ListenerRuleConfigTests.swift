import TurnoutCore
import XCTest

/// A listener's `rules:` read from YAML, and every refusal named by key and line.
final class ListenerRuleConfigTests: XCTestCase {
    /// The example, read whole: conditions, the three actions and the listener's forward as the default.
    func testRulesAreReadInOrderWithTheirConditionsAndActions() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production:
                bind: 0.0.0.0:8080
                rules:
                  - name: api
                    match: { host: api.example.com, path: /v1/*, method: [GET, HEAD], header: { X-Env: [beta, "canary*"] }, query: { v: "2" }, source: [10.0.0.0/8, "2001:db8::/32"] }
                    forward: { api-blue: 100 }
                  - name: docs
                    match: { host: "*.docs.example.com" }
                    forward: { docs-blue: 90, docs-green: 10 }
                  - name: maintenance
                    match: { path: /admin/* }
                    fixed_response: { status: 503, content_type: text/plain, body: "back soon" }
                  - name: old-paths
                    match: { path: /old/* }
                    redirect: { path: "/new/{path}", status: 301 }
                forward: { blue: 100 }
            target_groups: { blue: {}, api-blue: {}, docs-blue: {}, docs-green: {} }
            """)
        let rules = config.listeners[0].rules
        XCTAssertEqual(rules.map(\.name), ["api", "docs", "maintenance", "old-paths"])
        XCTAssertEqual(rules[0].match.hosts, ["api.example.com"])
        XCTAssertEqual(rules[0].match.paths, ["/v1/*"])
        XCTAssertEqual(rules[0].match.methods, ["GET", "HEAD"])
        XCTAssertEqual(rules[0].match.headers, [KeyedPatterns(key: "X-Env", patterns: ["beta", "canary*"])])
        XCTAssertEqual(rules[0].match.query, [KeyedPatterns(key: "v", patterns: ["2"])])
        XCTAssertEqual(rules[0].match.sources.map(\.description), ["10.0.0.0/8", "2001:db8::/32"])
        XCTAssertEqual(rules[0].action, .forward([WeightedGroup(group: "api-blue", weight: 100)]))
        XCTAssertEqual(rules[1].action, .forward([WeightedGroup(group: "docs-blue", weight: 90), WeightedGroup(group: "docs-green", weight: 10)]))
        XCTAssertEqual(rules[2].action, .fixedResponse(FixedResponse(status: 503, contentType: "text/plain", body: "back soon")))
        XCTAssertEqual(rules[3].action, .redirect(RedirectAction(path: "/new/{path}", status: 301)))
        XCTAssertEqual(config.listeners[0].forward, [WeightedGroup(group: "blue", weight: 100)])

        let table = RoutingTable(config: config, generation: 1)
        XCTAssertEqual(table.listeners[0].rules.map(\.name), ["api", "docs", "maintenance", "old-paths"])
        XCTAssertEqual(table.forward(ofRule: 1, listener: 0), [WeightedGroup(group: "docs-blue", weight: 90), WeightedGroup(group: "docs-green", weight: 10)])
        XCTAssertEqual(table.forward(ofRule: 2, listener: 0), [])
        // A change of the default forward keeps the rules.
        let changed = try table.replacingForward(["production": [WeightedGroup(group: "docs-green", weight: 100)]])
        XCTAssertEqual(changed.listeners[0].rules, table.listeners[0].rules)
    }

    /// Each mistake is refused with the key and the line of what is wrong.
    func testMistakesAreNamedByKeyAndLine() {
        func rules(_ text: String) -> String {
            """
            listeners:
              production:
                bind: 0.0.0.0:8080
                forward: { blue: 100 }
                rules:
            \(text)
            target_groups: { blue: {}, green: {} }
            """
        }
        assertConfigError(rules("""
                - name: api
                  match: { host: api.example.com }
                  forward: { purple: 100 }
            """), key: "listeners.production.rules[0].forward.purple", line: 8, message: "unknown target group 'purple'")
        assertConfigError(rules("""
                - name: all
                  match: { path: "/*" }
                  forward: { green: 100 }
                - name: later
                  match: { host: a.example.com }
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[1]", line: 9,
            message: "rule 'later' is never reached: rule 'all' before it matches every request")
        assertConfigError(rules("""
                - name: api
                  match: { host: "api example.com" }
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[0].match.host", line: 7,
            message: "a host pattern holds letters, digits, '-', '.', '*' and '?', got 'api example.com'")
        assertConfigError(rules("""
                - name: api
                  match: { path: "v1/*" }
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[0].match.path", line: 7, message: "a path pattern starts with '/'")
        assertConfigError(rules("""
                - name: api
                  match: { host: a.example.com }
                  forward: { blue: 100 }
                - name: api
                  match: { host: b.example.com }
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[1].name", line: 9, message: "rule 'api' is defined more than once")
        assertConfigError(rules("""
                - name: api
                  match: { source: 10.0.0.0/33 }
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[0].match.source", line: 7,
            message: "expected an address block such as 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32, got '10.0.0.0/33'")
        assertConfigError(rules("""
                - name: api
                  match: {}
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[0].match", line: 7, message: "expected at least one condition")
        assertConfigError(rules("""
                - name: api
                  match: { host: a.example.com }
                  forward: { blue: 100 }
                  redirect: { path: /x }
            """), key: "listeners.production.rules[0]", line: 6, message: "exactly one action")
        assertConfigError(rules("""
                - name: api
                  match: { host: a.example.com }
                  redirect: { path: "/new/{path}" }
            """), key: "listeners.production.rules[0].redirect.path", line: 8,
            message: "{path} stands for what a path pattern's '*' matched, and the rule has no path pattern with '*'")
        assertConfigError(rules("""
                - name: api
                  match: { host: a.example.com }
                  fixed_response: { status: 100 }
            """), key: "listeners.production.rules[0].fixed_response.status", line: 8, message: "expected a status 200...599, got 100")
        assertConfigError(rules("""
                - name: default
                  match: { host: a.example.com }
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[0].name", line: 6, message: "'default' names the listener's own forward")
        assertConfigError(rules("""
                - name: api
                  match: { host: a.example.com, cookie: x }
                  forward: { blue: 100 }
            """), key: "listeners.production.rules[0].match.cookie", line: 7, message: "unknown key 'cookie'")
    }

    /// A rule's forward changes alone: the listener's own, the other rules and the groups stay; what cannot be
    /// changed is refused naming the rule.
    func testARulesForwardIsReplacedAlone() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production:
                bind: 0.0.0.0:8080
                forward: { blue: 100 }
                rules:
                  - { name: api, match: { host: a.example }, forward: { blue: 100 } }
                  - { name: down, match: { path: "/x/*" }, fixed_response: { status: 503 } }
                  - { name: docs, match: { host: d.example }, forward: { green: 100 } }
            target_groups: { blue: {}, green: {} }
            """)
        let table = RoutingTable(config: config, generation: 4)
        let next = try table.replacingRuleForwards(["production": ["api": [WeightedGroup(group: "blue", weight: 90),
                                                                            WeightedGroup(group: "green", weight: 10)]]])
        XCTAssertEqual(next.generation, 5)
        XCTAssertEqual(next.forward(ofRule: 0, listener: 0), [WeightedGroup(group: "blue", weight: 90), WeightedGroup(group: "green", weight: 10)])
        XCTAssertEqual(next.forward(ofRule: 2, listener: 0), table.forward(ofRule: 2, listener: 0))
        XCTAssertEqual(next.forward(ofListener: 0), table.forward(ofListener: 0))
        XCTAssertEqual(next.listeners[0].rules[1], table.listeners[0].rules[1])
        XCTAssertFalse(next.routesLike(table))

        let green = [WeightedGroup(group: "green", weight: 100)]
        XCTAssertThrowsError(try table.replacingRuleForwards(["production": ["nope": green]])) {
            XCTAssertEqual($0 as? ConfigError, ConfigError(key: "listeners.production.rules.nope", message: "listener 'production' has no rule 'nope'"))
        }
        XCTAssertThrowsError(try table.replacingRuleForwards(["production": ["down": green]])) {
            XCTAssertEqual($0 as? ConfigError, ConfigError(key: "listeners.production.rules.down",
                                                           message: "rule 'down' answers by itself: it has no forward to change"))
        }
        XCTAssertThrowsError(try table.replacingRuleForwards(["production": ["api": [WeightedGroup(group: "red", weight: 100)]]])) {
            XCTAssertEqual(($0 as? ConfigError)?.key, "listeners.production.rules.api.forward.red")
        }
        XCTAssertThrowsError(try table.replacingRuleForwards(["staging": ["api": green]])) {
            XCTAssertEqual(($0 as? ConfigError)?.key, "listeners.staging")
        }
    }

    func testAddressBlocksHoldIPv4AsMappedIPv6() throws {
        let block = try XCTUnwrap(SourceCIDR.parse("10.1.0.0/16"))
        XCTAssertEqual(block.prefixLength, 112)
        XCTAssertTrue(block.contains(high: 0, low: 0xffff_0a01_0203))
        XCTAssertFalse(block.contains(high: 0, low: 0xffff_0a02_0203))
        let single = try XCTUnwrap(SourceCIDR.parse("192.0.2.7"))
        XCTAssertEqual(single.description, "192.0.2.7/32")
        XCTAssertTrue(single.contains(high: 0, low: 0xffff_c000_0207))
        XCTAssertFalse(single.contains(high: 0, low: 0xffff_c000_0208))
        let v6 = try XCTUnwrap(SourceCIDR.parse("2001:db8::/32"))
        XCTAssertTrue(v6.contains(high: 0x2001_0db8_ffff_0000, low: 1))
        XCTAssertFalse(v6.contains(high: 0x2001_0db9_0000_0000, low: 1))
        XCTAssertTrue(try XCTUnwrap(SourceCIDR.parse("0.0.0.0/0")).contains(high: 0, low: 0xffff_0102_0304))
        for bad in ["10.0.0.0/33", "10.0.0/8", "::1/129", "host/8", "10.0.0.0/", "10.0.0.0/8/8"] {
            XCTAssertNil(SourceCIDR.parse(bad), bad)
        }
    }
}
