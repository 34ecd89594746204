import TurnoutCore
import XCTest

/// What a re-read configuration changes, and which of it a running proxy can apply.
final class ConfigChangesTests: XCTestCase {
    private let base = """
        workers: 2
        state_dir: /var/lib/turnout
        admin: { bind: 127.0.0.1:9901 }
        listeners:
          production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
          test: { bind: 0.0.0.0:8081, forward: { green: 100 } }
        target_groups:
          blue: { targets: [127.0.0.1:3000] }
          green: { targets: [127.0.0.1:3001] }
        """

    private func changes(_ edit: (inout String) -> Void) throws -> ConfigChanges {
        var edited = base
        edit(&edited)
        return ConfigChanges(from: try ConfigLoader.parse(yaml: base), to: try ConfigLoader.parse(yaml: edited))
    }

    private func replacing(_ old: String, _ new: String) -> (inout String) -> Void {
        { text in
            XCTAssertTrue(text.contains(old), old)
            text = text.replacingOccurrences(of: old, with: new)
        }
    }

    func testTheSameFileChangesNothing() throws {
        let none = try changes { _ in }
        XCTAssertTrue(none.isEmpty)
        XCTAssertEqual(none.appliedKeys, [])
        XCTAssertEqual(none.needRestart, [])
        // Writing a default out, or reordering sections, is no change either.
        let reordered = try changes { text in
            text = text.replacingOccurrences(of: "blue: { targets: [127.0.0.1:3000] }",
                                             with: "blue: { targets: [127.0.0.1:3000], deregistration_delay: 30s }")
            text += "\ntimeouts: { connect: 5s }"
        }
        XCTAssertTrue(reordered.isEmpty, "\(reordered)")
    }

    /// Rules are not applied by a reload yet: a file that changes them is refused, naming the listener's rules (and
    /// the test listener's, which follows production's).
    func testChangedRulesNeedARestart() throws {
        let changed = try changes(replacing(
            "production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }",
            "production: { bind: 0.0.0.0:8080, forward: { blue: 100 }, rules: [{ name: api, match: { host: a.example }, forward: { green: 100 } }] }"))
        XCTAssertEqual(changed.needRestart.map(\.description),
                       ["listeners.production.rules (rules changed)", "listeners.test.rules (rules changed)"])
        XCTAssertEqual(changed.appliedKeys, [])
    }

    /// A mirror comes from the file only: a reload that adds or changes one is refused, naming the listener.
    func testAChangedMirrorNeedsARestart() throws {
        let changed = try changes { text in
            text = text.replacingOccurrences(of: "forward: { blue: 100 }", with: "forward: { blue: 100 }, mirror: { group: green, percent: 5 }")
        }
        XCTAssertEqual(changed.needRestart.map(\.description), ["listeners.production (settings changed)"])
        XCTAssertEqual(changed.appliedKeys, [])
    }

    func testForwardsTargetsAndGroupSettingsApply() throws {
        let changed = try changes { text in
            text = text.replacingOccurrences(of: "forward: { blue: 100 }", with: "forward: { blue: 90, green: 10 }")
            text = text.replacingOccurrences(
                of: "blue: { targets: [127.0.0.1:3000] }",
                with: "blue: { targets: [127.0.0.1:3000, 127.0.0.1:3002], health_check: { path: /ready, interval: 3s }, deregistration_delay: 5s }")
            text = text.replacingOccurrences(of: "green: { targets: [127.0.0.1:3001] }",
                                             with: "green: { targets: [127.0.0.1:3001], algorithm: least_outstanding_requests, passive_ejection: { consecutive_failures: 0 }, on_all_unhealthy: fail_closed }")
        }
        XCTAssertEqual(changed.needRestart, [])
        XCTAssertEqual(changed.forwards, ["production": [WeightedGroup(group: "blue", weight: 90), WeightedGroup(group: "green", weight: 10)]])
        XCTAssertEqual(changed.targets, ["blue": [HostPort(host: "127.0.0.1", port: 3000), HostPort(host: "127.0.0.1", port: 3002)]])
        XCTAssertEqual(Set(changed.groupSettings.keys), ["blue", "green"])
        XCTAssertEqual(changed.groupSettings["blue"]?.healthCheck.path, "/ready")
        XCTAssertEqual(changed.appliedKeys, [
            "listeners.production.forward", "target_groups.blue.targets", "target_groups.blue.health_check",
            "target_groups.blue.deregistration_delay", "target_groups.green.algorithm",
            "target_groups.green.on_all_unhealthy", "target_groups.green.passive_ejection",
        ])
        XCTAssertFalse(changed.tokenFile)
    }

    func testTheAdminTokenFileAndAllowedHostsApply() throws {
        let changed = try changes(replacing("admin: { bind: 127.0.0.1:9901 }",
                                            "admin: { bind: 127.0.0.1:9901, token_file: /etc/turnout/token, allowed_hosts: [turnout] }"))
        XCTAssertEqual(changed.needRestart, [])
        XCTAssertTrue(changed.tokenFile)
        XCTAssertTrue(changed.allowedHosts)
        XCTAssertEqual(changed.appliedKeys, ["admin.token_file", "admin.allowed_hosts"])
    }

    func testBindsWorkersAndStateDirNeedARestart() throws {
        let changed = try changes { text in
            text = text.replacingOccurrences(of: "workers: 2", with: "workers: auto")
            text = text.replacingOccurrences(of: "state_dir: /var/lib/turnout", with: "state_dir: /srv/turnout")
            text = text.replacingOccurrences(of: "bind: 127.0.0.1:9901", with: "bind: 127.0.0.1:9902")
            text = text.replacingOccurrences(of: "bind: 0.0.0.0:8080, forward: { blue: 100 }", with: "bind: 0.0.0.0:8090, forward: { green: 100 }")
        }
        XCTAssertEqual(changed.needRestart.map(\.description), [
            "workers (2 → auto)", "state_dir (/var/lib/turnout → /srv/turnout)", "admin.bind (127.0.0.1:9901 → 127.0.0.1:9902)",
            "listeners.production.bind (0.0.0.0:8080 → 0.0.0.0:8090)",
        ])
        XCTAssertFalse(changed.isEmpty)
    }

    func testListenersAndGroupsAddedOrRemovedNeedARestart() throws {
        let changed = try changes { text in
            text = text.replacingOccurrences(of: "  test: { bind: 0.0.0.0:8081, forward: { green: 100 } }\n",
                                             with: "  canary: { bind: 0.0.0.0:8082, forward: { spare: 100 } }\n")
            text += "\n  spare: { targets: [127.0.0.1:3003] }"
        }
        XCTAssertEqual(changed.needRestart.map(\.description), [
            "listeners.test (removed)", "listeners.canary (added)", "target_groups.spare (added)",
        ])
        let removed = try changes { text in
            text = text.replacingOccurrences(of: "\n  green: { targets: [127.0.0.1:3001] }", with: "")
            text = text.replacingOccurrences(of: "forward: { green: 100 }", with: "forward: { blue: 100 }")
        }
        XCTAssertEqual(removed.needRestart.map(\.description), ["target_groups.green (removed)"])
    }

    func testDataPlaneTimeoutsAndLimitsNeedARestart() throws {
        let changed = try changes { text in
            text += "\ntimeouts: { client_idle: 30s, shutdown_grace: 10s }\nlimits: { max_headers: 50 }"
        }
        XCTAssertEqual(changed.needRestart.map(\.description), [
            "timeouts.client_idle (1m → 30s)", "limits.max_headers (100 → 50)",
        ])
    }

    func testTheLogNeedsARestart() throws {
        let changed = try changes { text in text += "\nlog: { format: json, level: debug }" }
        XCTAssertEqual(changed.needRestart.map(\.description), ["log.format (text → json)", "log.level (info → debug)"])
        XCTAssertEqual(changed.appliedKeys, [])
        XCTAssertTrue(try changes { text in text += "\nlog: { format: text, level: info }" }.isEmpty)
    }

    func testUpstreamResponseTimeoutTravelsWithTheGroupsThatDoNotSetTheirOwn() throws {
        let changed = try changes { text in
            text = text.replacingOccurrences(of: "green: { targets: [127.0.0.1:3001] }",
                                             with: "green: { targets: [127.0.0.1:3001], timeouts: { upstream_response: 2s } }")
            text += "\ntimeouts: { upstream_response: 30s }"
        }
        XCTAssertEqual(changed.needRestart, [])
        XCTAssertEqual(changed.appliedKeys, ["target_groups.green.timeouts", "timeouts.upstream_response"])
        XCTAssertEqual(Set(changed.groupSettings.keys), ["blue", "green"])
    }
}
